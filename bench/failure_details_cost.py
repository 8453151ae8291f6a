"""What naming a failed build's failed work and tests costs `tail --summary --json`, per build.

For each failed build of three simulated worlds (a Gradle, Maven, Bazel and npm failure in one; a
Gradle failure among 210,000 events in the other; the triage world's scripted failures, retried
tests among them, in the third), the failure-details read is compared with
the summary read of the same build, the baseline every build pays: HTTP requests (a read is
its body, ended whole, or resumed until the 204 that ends it), bytes on the wire (gzip, as the
client asks) and the median time of a read. The ratio is details over summary.

    python bench/failure_details_cost.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from functools import partial

import httpx

from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.failure_details import (
    failure_detail_event_types,
    read_failure_details,
)
from buildwatch.core.develocity.models import Build
from buildwatch.core.develocity.summary import SummaryBuilder, summary_event_types
from buildwatch.core.develocity.summary_reader import read_summary
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimConfig, SimulatorThread
from buildwatch.sim.config import WorldKind

TOKEN = "sim-token"
WORLDS: tuple[tuple[int, int, WorldKind], ...] = ((5, 24, "default"), (1, 8, "default"),
                                                 (4, 14, "triage"))
"""(seed, builds, world): seed 5's first 24 builds fail once per tool; seed 1's 8th is the big
one; the triage world's first 14 are two runs of each of its lanes."""


def wire_bytes(origin: str, build_id: str, event_types: tuple[str, ...]) -> int:
    """The compressed size of the build's events of `event_types`, as the client receives them."""
    url = f"{origin}/build-export/v2/build/{build_id}/events"
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "text/event-stream",
               "Accept-Encoding": "gzip"}
    with httpx.stream("GET", url, params={"eventTypes": ",".join(event_types)},
                      headers=headers, timeout=120) as response:
        return sum(len(chunk) for chunk in response.iter_raw())


async def median_s(read: Callable[[], Awaitable[object]], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await read()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def measure(sim: SimulatorThread, rounds: int) -> None:
    connection = DevelocityConnection(sim.develocity_url, token=Secret(TOKEN))
    async with DevelocityClient(connection) as client:
        builds = [message async for message in client.builds(since=0)]
        for build in builds:
            if not isinstance(build, Build):
                continue
            builder = SummaryBuilder(build)
            await read_summary(client, builder)  # also makes the simulator encode the build
            summary = builder.result()
            if summary.outcome != "failed":
                continue
            tool = summary.tool_type
            summary_read = partial(read_summary_of, client, build)
            details_read = partial(read_failure_details, client, build.build_id, tool)
            before = len(sim.requests)
            await summary_read()
            summary_requests = len(sim.requests) - before
            before = len(sim.requests)
            await details_read()
            details_requests = len(sim.requests) - before
            summary_time = await median_s(summary_read, rounds)
            summary_size = wire_bytes(sim.develocity_url, build.build_id,
                                      summary_event_types(tool or ""))
            line = (
                f"{build.build_id}  {tool or '?':6}  requests {summary_requests} + "
                f"{details_requests}  bytes {summary_size:>7} + "
            )
            types = failure_detail_event_types(tool)
            if not types:
                print(f"{line}      0  time {summary_time * 1000:6.1f} + 0 ms (no such events)")
                continue
            details_size = wire_bytes(sim.develocity_url, build.build_id, types)
            details_time = await median_s(details_read, rounds)
            print(
                f"{line}{details_size:>7} (x{details_size / summary_size:5.1f})  "
                f"time {summary_time * 1000:6.1f} + {details_time * 1000:6.1f} ms "
                f"(x{details_time / summary_time:5.1f})"
            )


async def read_summary_of(client: DevelocityClient, build: Build) -> None:
    await read_summary(client, SummaryBuilder(build))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="reads timed per build (median)")
    args = parser.parse_args()
    print("build          tool    summary + details (ratio: details / summary)")
    for seed, count, world in WORLDS:
        config = SimConfig(seed=seed, builds=count, not_ready_s=0.0, world=world)
        with SimulatorThread(config) as sim:
            asyncio.run(measure(sim, args.rounds))


if __name__ == "__main__":
    main()
