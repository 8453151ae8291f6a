"""State every simulated endpoint shares: the config, the world, the faults and a request log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from buildwatch.sim.config import FaultSpec, SimConfig
from buildwatch.sim.world import World

Refusal = Literal["unavailable", "quota", "throttle", "gateway"]
_REFUSALS: tuple[Refusal, ...] = ("unavailable", "quota", "throttle")

GATEWAY_STATUSES = (502, 504, 507, 520, 521, 522, 523, 524, 530)
"""What the `gateway` fault answers with: gateway errors, and a CDN's own when the origin is down."""

Publisher = Callable[[int], Sequence[str]]
"""Publishes that many new builds on one simulated server and returns their ids."""


@dataclass
class RequestRecord:
    """One request a simulated API answered, for tests that count calls or check retries."""

    api: str
    method: str
    path: str
    query: str
    status: int


@dataclass
class InFlight:
    """How many requests of one route are being answered now, and the most there ever were."""

    now: int = 0
    peak: int = 0


class SimContext:
    """What both simulated servers read and write while they run.

    Everything runs on the simulator's event loop; other threads go through `SimulatorThread`.
    """

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.world = World(config.seed, config.log_text)
        self.faults: FaultSpec = config.faults
        self.requests: list[RequestRecord] = []
        self.in_flight: dict[str, InFlight] = {}
        """Per route (its path pattern, e.g. `/build-export/v{version}/build/{build_id}/events`),
        the requests under way, so a test can check how hard a client leans on the server."""
        self.publishers: list[Publisher] = []
        """Each simulated server registers how it publishes new builds (see `publish`)."""
        self.fault_rng = config.fault_rng()
        """The one random source of fault decisions, so a seed replays the same faults."""
        self._started = time.monotonic()
        self._burst_kind: Refusal | None = None
        self._burst_left = 0
        self._pass_next = False

    def now_ms(self) -> int:
        """The simulator's clock in epoch ms: the fixed start plus elapsed time, or real time."""
        if self.config.now_ms is None:
            return int(time.time() * 1000)
        return self.config.now_ms + int((time.monotonic() - self._started) * 1000)

    def should(self, probability: float) -> bool:
        """Decide whether a fault with this probability happens now."""
        return probability > 0 and self.fault_rng.random() < probability

    def set_faults(self, spec: FaultSpec) -> None:
        """Inject `spec` from now on; a refusal burst of the old faults ends here."""
        self.faults = spec
        self._burst_left = 0
        self._pass_next = False

    def refusal(self, kinds: Sequence[Refusal] = _REFUSALS) -> Refusal | None:
        """Whether to refuse this request and how; a refusal repeats for `faults.burst` requests.

        `kinds` limits the refusals an API can express (Develocity has no quota error).
        """
        if self._pass_next:
            # Every burst ends with one request let through, so even probability 1 means
            # "bursts of N with a success between them" and a retrying client can finish.
            self._pass_next = False
            return None
        if self._burst_left > 0 and self._burst_kind in kinds:
            self._burst_left -= 1
            self._pass_next = self._burst_left == 0
            return self._burst_kind
        for kind in kinds:
            if self.should(getattr(self.faults, kind)):
                self._burst_kind = kind
                self._burst_left = self.faults.burst - 1
                self._pass_next = self._burst_left == 0
                return kind
        return None

    def gateway_page(self) -> web.Response:
        """A proxy's or CDN's HTML error page (the `gateway` fault): the origin is down."""
        status = self.fault_rng.choice(GATEWAY_STATUSES)
        return web.Response(
            status=status,
            content_type="text/html",
            text=f"<!DOCTYPE html><html><body><h1>Error {status}</h1>origin unreachable</body></html>",
        )

    async def pause_if_slow(self) -> None:
        """Wait up to `faults.slow` seconds, as a slow server would before its first byte."""
        if self.faults.slow > 0:
            await asyncio.sleep(self.fault_rng.uniform(0, self.faults.slow))

    def record(self, api: str, request: web.BaseRequest, status: int) -> None:
        """Log that `api` answered `request` with `status`."""
        self.requests.append(
            RequestRecord(api, request.method, request.path, request.query_string, status)
        )

    @contextmanager
    def answering(self, route: str) -> Iterator[None]:
        """Count a request to `route` as in flight while the block runs (its whole body, for a
        streamed response)."""
        gauge = self.in_flight.setdefault(route, InFlight())
        gauge.now += 1
        gauge.peak = max(gauge.peak, gauge.now)
        try:
            yield
        finally:
            gauge.now -= 1

    def publish(self, count: int) -> list[str]:
        """Publish `count` new builds on every simulated server and return their ids."""
        return [build_id for publish in self.publishers for build_id in publish(count)]
