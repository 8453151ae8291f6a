"""A reader that stops early closes its stream's connection then, not when the garbage collector
finds the generator: seen from the simulator, which counts the requests it is still answering."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import aclosing

import httpx
import pytest

from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.history.catch_up import resumed_listing
from buildwatch.core.history.resume import ResumePoint
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(60)

SINCE = "/build-export/v{version}/builds/since/{date}"
LISTING = "/build-export/v{version}/builds/sinceBuild/{build_id}"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    # A followed listing never ends by itself: only the reader can end its request.
    with SimulatorThread(SimConfig(builds=3, heartbeat_s=0.2)) as running:
        yield running


def answering(sim: SimulatorThread, route: str) -> int:
    """How many requests for `route` the simulator is answering now."""
    gauges = httpx.get(f"{sim.develocity_url}/_sim/in-flight").json()
    return int(gauges.get(route, {}).get("now", 0))


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.02)


def builds(sim: SimulatorThread) -> list[str]:
    listed = httpx.get(f"{sim.develocity_url}/_sim/develocity/builds").json()
    return [build["buildId"] for build in listed]


def client_of(sim: SimulatorThread) -> DevelocityClient:
    return DevelocityClient(DevelocityConnection(sim.develocity_url, token=Secret("sim-token")))


async def read_one_then_leave(stream: AsyncGenerator[object, None]) -> None:
    """What a reader that has seen enough does: take one item and leave the `aclosing` block,
    while still holding the generator (so that nothing but closing it ends its request)."""
    async with aclosing(stream):
        async for _ in stream:
            break


@pytest.mark.parametrize(
    "open_stream",
    [
        lambda client: client.build_batches(since=0, stream=True),
        lambda client: client.builds(since=0, stream=True),
    ],
    ids=["in batches", "one build at a time"],
)
def test_leaving_a_followed_listing_early_ends_its_request(
    sim: SimulatorThread, open_stream: Callable[[DevelocityClient], AsyncGenerator[object, None]]
) -> None:
    async def run() -> None:
        async with client_of(sim) as client:
            stream = open_stream(client)
            await read_one_then_leave(stream)
            await until(lambda: answering(sim, SINCE) == 0, "the listing is still open")
            del stream  # held until here: only closing it could end the request

    asyncio.run(run())


def test_leaving_a_followed_catch_up_early_ends_its_listing(sim: SimulatorThread) -> None:
    first = builds(sim)[0]

    async def run() -> None:
        async with client_of(sim) as client:
            listing = resumed_listing(client, ResumePoint(since_build=first, since=0))
            async with aclosing(listing):
                while (await anext(listing)).catching_up:
                    pass
                # The replay is over; the live listing brings the next build published.
                live = asyncio.ensure_future(anext(listing))
                await until(lambda: answering(sim, LISTING) == 1, "the listing never followed")
                sim.publish_builds(1)
                assert (await live).builds
            await until(lambda: answering(sim, LISTING) == 0, "the listing is still open")

    asyncio.run(run())
