"""`--health-port`: a liveness answer over HTTP on 127.0.0.1, for systemd, a container runtime or
a load balancer.

Any GET is answered with a small JSON body: the collector's role (`starting`, `standby` or
`active`), whether the store is reachable, and when the collector last wrote to it. The status is
200 while the store is reachable and 503 while it is not, so a check that only reads the status
sees a collector cut off from its store as unhealthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from buildwatch.core.errors import ConfigError

Role = Literal["starting", "standby", "active"]
_REQUEST_LIMIT = 8_192
"""Bytes of request head read at most: the answer does not depend on it."""
_READ_TIMEOUT_S = 5.0


@dataclass
class CollectorState:
    """What the health answer reports; the collector keeps it up to date."""

    role: Role = "starting"
    store_reachable: bool = False
    last_write_s: float | None = None
    """When the collector last wrote to the store (epoch seconds); None before the first."""

    def answer(self, now_s: float) -> tuple[int, dict[str, object]]:
        """The HTTP status and JSON body for a check at `now_s`."""
        body: dict[str, object] = {
            "role": self.role,
            "store_reachable": self.store_reachable,
            "last_write_ms": None if self.last_write_s is None else int(self.last_write_s * 1000),
            "last_write_age_s": (
                None if self.last_write_s is None else round(now_s - self.last_write_s, 1)
            ),
        }
        return (200 if self.store_reachable else 503), body


async def serve_health(
    port: int, state: Callable[[], CollectorState], clock: Callable[[], float] = time.time
) -> asyncio.Server:
    """Answer liveness checks on 127.0.0.1:`port` until the server is closed; a `ConfigError`
    if the port cannot be listened on."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                                 asyncio.LimitOverrunError):
            async with asyncio.timeout(_READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            method = head.split(b" ", 1)[0]
            if method in (b"GET", b"HEAD"):
                status, body = state().answer(clock())
                content = json.dumps(body).encode() + b"\n"
            else:
                status, content = 405, b'{"error": "only GET and HEAD"}\n'
            writer.write(_response(status, content, with_body=method != b"HEAD"))
            await writer.drain()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    try:
        return await asyncio.start_server(answer, "127.0.0.1", port, limit=_REQUEST_LIMIT)
    except OSError as error:
        raise ConfigError(
            f"--health-port {port}: cannot listen on 127.0.0.1:{port}: {error.strerror or error}"
        ) from None


_REASONS = {200: "OK", 405: "Method Not Allowed", 503: "Service Unavailable"}


def _response(status: int, content: bytes, *, with_body: bool) -> bytes:
    head = (
        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(content)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    return head + content if with_body else head
