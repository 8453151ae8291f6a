"""What the collector's tests share: a team store made on the test PostgreSQL, a collector on the
simulator with short waits, and reads of what the store and the simulator's request log hold."""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
from postgres_server import PostgresServer

from buildwatch.core.backoff import Backoff
from buildwatch.core.collector.log import CollectorLog
from buildwatch.core.collector.service import Collector, CollectorSettings
from buildwatch.core.config import Profile, UiPreferences
from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
from buildwatch.core.monitor.session import MonitorSettings
from buildwatch.core.secrets import Secret
from buildwatch.core.teamstore.admin import init_store
from buildwatch.core.teamstore.location import StoreLocation, store_location
from buildwatch.core.teamstore.store import TeamStore
from buildwatch.sim import SimConfig, SimulatorThread
from buildwatch.sim.context import RequestRecord

BACKFILL = 30
SIM_CONFIG = SimConfig(seed=5, builds=BACKFILL, heartbeat_s=0.2, not_ready_s=0.2)


def created_store(url: str) -> StoreLocation:
    """The team store at `url`, its schema created."""
    location = store_location(url)
    init_store(location)
    return location


def fast_retries() -> Backoff:
    return Backoff(base_s=0.01, cap_s=0.1)


def settings(sim: SimulatorThread, location: StoreLocation, **changes: Any) -> CollectorSettings:
    """A collector of the simulator into `location`, every wait a fraction of a second."""
    monitor = MonitorSettings(
        Profile(name="test", ui=UiPreferences(retry_max_seconds=0.5)),
        develocity=DevelocityConnection(base_url=sim.develocity_url, token=Secret("sim-token")),
        buildbuddy=BuildBuddyConnection(base_url=sim.buildbuddy_url, api_key=Secret("sim-api-key")),
    )
    base = CollectorSettings(
        location, monitor, name="collector-1", standby_retry_s=0.1, heartbeat_s=0.1,
        report_s=0.2, store_backoff=fast_retries, close_timeout_s=5.0,
    )
    return replace(base, **changes)


class LogLines(io.StringIO):
    """A log stream the test reads line by line."""

    @property
    def lines(self) -> list[str]:
        return self.getvalue().splitlines()

    def saying(self, words: str) -> list[str]:
        """The lines that contain `words`."""
        return [line for line in self.lines if words in line]


@asynccontextmanager
async def collecting(collector_settings: CollectorSettings) -> AsyncIterator[tuple[Collector, LogLines]]:
    """A collector running in this event loop; stopped (and flushed) at the end."""
    log = LogLines()
    collector = Collector(collector_settings, CollectorLog(log))
    task = asyncio.create_task(collector.run())
    try:
        yield collector, log
    finally:
        collector.stop()
        await asyncio.wait_for(task, 20)


async def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Wait for `condition`, looking every 50 ms; fail naming `what` after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(condition):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)


def stored(location: StoreLocation) -> dict[str, bool]:
    """Build id -> whether its summary is stored, for every build in the store."""
    store = TeamStore.connect(location, read_only=True)
    try:
        return {item.build.build_id: item.summary is not None for item in store.load_recent()}
    finally:
        store.close()


def stored_count(location: StoreLocation) -> int:
    """How many builds the store holds."""
    store = TeamStore.connect(location, read_only=True)
    try:
        return store.build_count()
    finally:
        store.close()


def all_done(location: StoreLocation, expected: set[str]) -> bool:
    """Whether the store holds exactly `expected`, each summarised and its failures recorded."""
    store = TeamStore.connect(location, read_only=True)
    try:
        builds = {item.build.build_id: item.summary for item in store.load_recent()}
        return (
            set(builds) == expected
            and all(summary is not None for summary in builds.values())
            and not store.unfinished_builds(0)
        )
    finally:
        store.close()


def listing_requests(requests: list[RequestRecord]) -> Counter[str]:
    """The build listing's requests answered: how many streamed ("stream") and how many
    replayed ("replay")."""
    return Counter(
        "stream" if "stream" in record.query else "replay"
        for record in requests
        if "/builds/since" in record.path and record.status == 200
    )


def events_reads(requests: list[RequestRecord]) -> Counter[tuple[str, str]]:
    """How often each (build id, event types asked) was read and answered."""
    return Counter(
        (record.path.split("/")[-2], record.query)
        for record in requests
        if record.path.endswith("/events") and record.status == 200
    )


_databases = iter(range(1, 1_000_000))


def new_database(server: PostgresServer) -> str:
    """The URL of a new, empty database on `server` (one a module's tests share)."""
    import psycopg

    name = f"collector_{next(_databases)}"
    with psycopg.connect(server.url(), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return server.url(name)


def published(sim: SimulatorThread) -> set[str]:
    """Every Develocity build the simulator has published."""
    builds = httpx.get(f"{sim.develocity_url}/_sim/develocity/builds", timeout=10).json()
    return {str(build["buildId"]) for build in builds}
