"""`buildwatch collect`'s core in this process: the simulator's builds into a real team store
(PostgreSQL, see postgres_server), once each, summarised, with their failures, while the log says
what happens and the health port answers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace

import httpx
import pytest
from collector_harness import (
    BACKFILL,
    SIM_CONFIG,
    LogLines,
    all_done,
    collecting,
    created_store,
    events_reads,
    listing_requests,
    new_database,
    published,
    settings,
    stored_count,
    until,
)
from ports import free_port
from postgres_server import SUPERUSER_PASSWORD, PostgresServer, postgres_server
from tcp_proxy import proxy_to

from buildwatch.core.collector.log import CollectorLog
from buildwatch.core.collector.service import Collector
from buildwatch.core.errors import ConfigError
from buildwatch.core.teamstore.location import StoreLocation, store_location
from buildwatch.core.teamstore.store import Heartbeat, TeamStore
from buildwatch.sim import SimulatorThread
from buildwatch.sim.context import RequestRecord

__all__ = ["postgres_server"]
"""The fixture imported above: pytest finds it by name, so it is exported to be kept."""

pytestmark = pytest.mark.timeout(60)
PUBLISHED_LIVE = 5
PUBLISHED_WHILE_STOPPED = 4
OVERFLOWED = 8


@dataclass
class Runs:
    """Two runs of a collector on one store, the second after builds were published meanwhile."""

    location: StoreLocation
    published: set[str] = field(default_factory=set)
    first_requests: list[RequestRecord] = field(default_factory=list)
    second_requests: list[RequestRecord] = field(default_factory=list)
    published_while_stopped: list[str] = field(default_factory=list)
    first_log: LogLines = field(default_factory=LogLines)
    second_log: LogLines = field(default_factory=LogLines)
    heartbeats: list[Heartbeat] = field(default_factory=list)


async def collect_twice(sim: SimulatorThread, location: StoreLocation) -> Runs:
    runs = Runs(location)
    viewer = TeamStore.connect(location, read_only=True)

    def beats_twice() -> bool:
        beat = viewer.heartbeat()
        if beat is not None and beat not in runs.heartbeats:
            runs.heartbeats.append(beat)
        return len(runs.heartbeats) >= 2

    try:
        async with collecting(settings(sim, location)) as (_, runs.first_log):
            await until(lambda: all_done(location, published(sim)), "the backfill stored")
            sim.publish_builds(PUBLISHED_LIVE)
            await until(lambda: all_done(location, published(sim)), "the new builds stored")
            await until(beats_twice, "two heartbeats")
        runs.first_requests = sim.requests
        runs.published_while_stopped = sim.publish_builds(PUBLISHED_WHILE_STOPPED)[
            :PUBLISHED_WHILE_STOPPED]
        async with collecting(settings(sim, location)) as (_, runs.second_log):
            await until(lambda: all_done(location, published(sim)), "the builds of meanwhile")
        runs.second_requests = sim.requests[len(runs.first_requests):]
        runs.published = published(sim)
    finally:
        viewer.close()
    return runs


@pytest.fixture(scope="module")
def runs(postgres_server: PostgresServer) -> Iterator[Runs]:
    with SimulatorThread(SIM_CONFIG) as sim:
        yield asyncio.run(collect_twice(sim, created_store(new_database(postgres_server))))


def test_every_build_is_stored_once_with_its_summary_and_failures(runs: Runs) -> None:
    store = TeamStore.connect(runs.location, read_only=True)
    try:
        stored = [item.build.build_id for item in store.load_recent()]
        assert store.unfinished_builds(0) == []
    finally:
        store.close()

    assert len(runs.published) == BACKFILL + PUBLISHED_LIVE + PUBLISHED_WHILE_STOPPED
    assert sorted(stored) == sorted(runs.published)


def test_one_listing_stream_and_one_read_of_each_builds_events(runs: Runs) -> None:
    reads = events_reads(runs.first_requests)

    assert listing_requests(runs.first_requests) == {"replay": 1, "stream": 1}
    assert {build_id for build_id, _ in reads} == runs.published - set(
        runs.published_while_stopped)
    assert set(reads.values()) == {1}, "a build's summary or failures were read twice"


def test_a_restart_resumes_after_the_last_stored_build_and_reads_only_the_new_ones(
    runs: Runs,
) -> None:
    reads = events_reads(runs.second_requests)

    assert runs.second_log.saying("resumed after build ")
    assert {build_id for build_id, _ in reads} == set(runs.published_while_stopped)
    assert set(reads.values()) == {1}


def test_the_log_says_what_happened_and_never_the_password(runs: Runs) -> None:
    log = runs.first_log

    assert log.saying("started as collector-1, store postgresql://postgres:****@127.0.0.1:")
    assert log.saying("active: this collector holds the store's collector lock")
    assert log.saying("connected to the store")
    assert log.saying("no recent stream position in the store: listing the builds since ")
    assert log.saying("Develocity: connected")
    assert log.saying("BuildBuddy: connected")
    assert sum(written(line, "builds") for line in log.lines) == BACKFILL + PUBLISHED_LIVE
    assert sum(written(line, "summaries") for line in log.lines) == BACKFILL + PUBLISHED_LIVE
    assert log.lines[-1].endswith(" buildwatch collect: stopped")
    assert all(SUPERUSER_PASSWORD not in line for line in log.lines + runs.second_log.lines)


def written(line: str, what: str) -> int:
    """How many `what` a `written: 3 builds, 2 summaries, ...` line counts (0 for others)."""
    if "written: " not in line:
        return 0
    counts: dict[str, str] = {}
    for part in line.split("written: ")[1].split(", "):
        number, name = part.split(" ", 1)
        counts[name] = number
    return int(counts[what].replace(",", ""))


def test_the_collector_beats_while_active(runs: Runs) -> None:
    first, second = runs.heartbeats[:2]

    assert first.collector == second.collector == "collector-1"
    assert first.started_ms == second.started_ms < second.beat_ms
    assert second.beat_ms > first.beat_ms


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SIM_CONFIG) as running:
        yield running


@pytest.fixture
def location(postgres_server: PostgresServer) -> StoreLocation:
    return created_store(new_database(postgres_server))


async def test_a_store_cut_off_loses_and_doubles_nothing_and_the_health_port_says_so(
    sim: SimulatorThread, location: StoreLocation
) -> None:
    port = free_port()
    real_port = int(location.shown.rsplit(":", 1)[1].split("/")[0])
    with proxy_to(real_port) as proxy:
        proxied = store_location(location.url.reveal().replace(f":{real_port}/", f":{proxy.port}/"))
        async with (collecting(settings(sim, proxied, health_port=port)) as (_, log),
                    httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as health):
            await until(lambda: all_done(location, published(sim)), "the backfill stored")
            answer = await health.get("/")
            body = json.loads(answer.text)
            assert answer.status_code == 200
            assert body["role"] == "active" and body["store_reachable"] is True
            assert isinstance(body["last_write_ms"], int)

            proxy.cut()
            sim.publish_builds(PUBLISHED_LIVE)
            await until_async(lambda: status(health, 503), "a 503 while the store is cut off")
            proxy.restore()
            await until_async(lambda: status(health, 200), "a 200 once it is back")
            await until(lambda: all_done(location, published(sim)), "the builds of the outage")

    assert len(log.saying("store unreachable, retrying with backoff: ")) == 1, log.getvalue()
    assert len(log.saying("the store is reachable again")) == 1, log.getvalue()
    assert set(events_reads(sim.requests).values()) == {1}


async def status(health: httpx.AsyncClient, expected: int) -> bool:
    """Whether the health port answers `expected`, its body saying whether the store answers."""
    answer = await health.get("/")
    return answer.status_code == expected and (
        json.loads(answer.text)["store_reachable"] is (expected == 200)
    )


async def until_async(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait for `check` to answer True, asking every 50 ms; fail naming `what` after 20 s."""
    for _ in range(400):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def test_a_store_without_the_schema_stops_the_collector_saying_how_to_create_it(
    sim: SimulatorThread, postgres_server: PostgresServer
) -> None:
    empty = store_location(new_database(postgres_server))
    log = LogLines()

    with pytest.raises(ConfigError) as refused:
        await asyncio.wait_for(Collector(settings(sim, empty), CollectorLog(log)).run(), 20)

    assert "holds no buildwatch schema; create it with `buildwatch store init`" in str(
        refused.value)
    assert log.lines[-1].endswith("buildwatch collect: stopped")


async def test_a_buffer_that_overflows_starts_over_from_the_stores_position_losing_nothing(
    location: StoreLocation,
) -> None:
    with SimulatorThread(replace(SIM_CONFIG, builds=OVERFLOWED)) as sim:
        # A buffer smaller than what the summary reads under way record: it overflows at once.
        tiny = settings(sim, location, max_pending=1, high_water=0)
        async with collecting(tiny) as (_, log):
            await until(lambda: all_done(location, published(sim)), "every build stored")

    assert log.saying("the buffer overflowed (")
    assert stored_count(location) == OVERFLOWED


