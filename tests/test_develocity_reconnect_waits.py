"""How long the Develocity client waits between connections: at once after progress, briefly
after a cut, and longer only for each failure in a row. Waits are recorded, never slept."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from hostile_server import serve_app

from buildwatch.core.backoff import CUT_MAX_DELAY_S, Backoff, RetryNotice
from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.models import Build
from buildwatch.core.errors import UnavailableError
from buildwatch.core.secrets import Secret
from buildwatch.sim import FaultSpec, SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(60)

BUILDS = 300


class LongestJitter(random.Random):
    """Full jitter that always draws its upper bound, so every wait shows the backoff whole."""

    def uniform(self, a: float, b: float) -> float:
        return b


@dataclass
class RecordedWaits(Backoff):
    """A stream's backoff that records each wait instead of sleeping."""

    waits: list[float] = field(default_factory=list)

    async def wait(self, delay_s: float) -> None:
        self.waits.append(delay_s)
        await asyncio.sleep(0)


@pytest.fixture
def backoffs() -> list[RecordedWaits]:
    return []


def listed(
    sim: SimulatorThread, backoffs: list[RecordedWaits]
) -> tuple[list[str], list[RetryNotice]]:
    """Every build id the listing delivered, and the client's notices of its reconnections."""
    notices: list[RetryNotice] = []

    def backoff() -> RecordedWaits:
        backoffs.append(RecordedWaits(base_s=1.0, cap_s=30.0, rng=LongestJitter()))
        return backoffs[-1]

    async def run() -> list[str]:
        connection = DevelocityConnection(sim.develocity_url, token=Secret("sim-token"))
        async with DevelocityClient(
            connection, max_failures=None, backoff=backoff, on_retry=notices.append
        ) as client:
            return [
                message.build_id
                async for batch in client.build_batches(since=0)
                for message in batch
                if isinstance(message, Build)
            ]

    return asyncio.run(run()), notices



def test_a_listing_cut_again_and_again_reconnects_without_backing_off(
    backoffs: list[RecordedWaits],
) -> None:
    with SimulatorThread(SimConfig(builds=BUILDS, faults=FaultSpec(drop=0.8))) as sim:
        ids, notices = listed(sim, backoffs)
    cuts = [notice for notice in notices if notice.failures == 0]
    assert len(ids) == len(set(ids)) == BUILDS
    assert len(cuts) >= 10
    assert all(notice.delay_s <= CUT_MAX_DELAY_S for notice in cuts)
    # Cuts in a row before a message wait longer each time, but never as long as an outage.
    assert max(backoffs[0].waits) <= CUT_MAX_DELAY_S


def test_only_failures_in_a_row_back_off_each_twice_as_long(
    backoffs: list[RecordedWaits],
) -> None:
    faults = FaultSpec(unavailable=0.5, burst=3, drop=0.7)
    with SimulatorThread(SimConfig(builds=BUILDS, faults=faults)) as sim:
        ids, notices = listed(sim, backoffs)
    runs = [notice.failures for notice in notices]
    assert len(ids) == len(set(ids)) == BUILDS
    assert max(runs) >= 2 and runs.count(1) >= 2  # failures in a row, and a run started again
    assert [notice.delay_s for notice in notices if notice.failures] == [
        min(30.0, 2.0 ** (failures - 1)) for failures in runs if failures
    ]


def test_a_server_that_always_cuts_before_a_message_is_asked_less_often_and_given_up_on(
    backoffs: list[RecordedWaits],
) -> None:
    async def half_a_message(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'event: Build\nid: b1\ndata: {"buildId":')
        request.transport.close()  # type: ignore[union-attr]
        return response

    url = serve_app(lambda app: app.router.add_get(
        "/build-export/v2/builds/since/0", half_a_message))
    notices: list[RetryNotice] = []

    def backoff() -> RecordedWaits:
        backoffs.append(RecordedWaits(base_s=1.0, cap_s=30.0, rng=LongestJitter()))
        return backoffs[-1]

    async def run() -> None:
        connection = DevelocityConnection(url, token=Secret("t"))
        async with DevelocityClient(
            connection, max_failures=4, backoff=backoff, on_retry=notices.append
        ) as client:
            async for _ in client.build_batches(since=0):
                pass

    with pytest.raises(UnavailableError):
        asyncio.run(run())
    # The first cut is followed soon; each one after it waits twice as long as the last.
    waits = Backoff()
    assert [notice.delay_s for notice in notices] == [waits.cut_delay(n) for n in (1, 2, 3)]
    assert waits.cut_delay(1) < waits.cut_delay(2) < waits.cut_delay(3) <= CUT_MAX_DELAY_S
