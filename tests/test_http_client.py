"""The HTTP client under both server clients reads a big body in pieces bigger than httpcore's
64 KiB, against a real server on 127.0.0.1 sending faster than the client reads."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import httpx
import pytest
from thread_server import QuietHandler, served

from buildwatch.core.http_client import READ_BYTES, async_client

pytestmark = pytest.mark.timeout(60)

BODY_BYTES = 16 * 1024 * 1024
"""Sent in one write: loopback brings it faster than Python reads it."""
HTTPCORE_DEFAULT_READ = 64 * 1024


class _BigBody(QuietHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(BODY_BYTES))
        self.end_headers()
        self.wfile.write(bytes(BODY_BYTES))


@pytest.fixture
def big_body_url() -> Iterator[str]:
    with served(ThreadingHTTPServer(("127.0.0.1", 0), _BigBody)) as port:
        yield f"http://127.0.0.1:{port}/"


async def test_a_big_body_is_read_in_pieces_bigger_than_httpcores_default(
    big_body_url: str,
) -> None:
    sizes = []
    client = async_client(big_body_url, timeout=httpx.Timeout(10.0))
    async with client, client.stream("GET", big_body_url) as response:
        async for piece in response.aiter_raw():
            sizes.append(len(piece))
    assert sum(sizes) == BODY_BYTES
    assert max(sizes) > HTTPCORE_DEFAULT_READ
    assert max(sizes) <= READ_BYTES
