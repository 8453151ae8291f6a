"""The local history and builds listed over Export API v1, whose listing names no tool."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_monitor_feeds import running, until

from buildwatch.core.config import UiPreferences
from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.models import Build
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.resume import ResumePoint
from buildwatch.core.history.writer import HistoryWriter
from buildwatch.core.monitor.feeds import DevelocityFeed
from buildwatch.core.monitor.history import MonitorHistory
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=8, builds=16, not_ready_s=0.0)) as started:
        yield started


def v1(sim: SimulatorThread) -> DevelocityConnection:
    return DevelocityConnection(
        base_url=sim.develocity_url, api_version=1, token=Secret("sim-token")
    )


async def stored_with_a_gradle_guess(sim: SimulatorThread, path: Path) -> str:
    """Store the v1 listing as an earlier buildwatch did: a Maven build summarised as a Gradle
    build from no event at all. Returns the Maven build's id."""
    listed = httpx.get(f"{sim.develocity_url}/_sim/develocity/builds").json()
    maven = next(str(b["buildId"]) for b in listed if b["toolType"] == "maven")
    async with DevelocityClient(v1(sim)) as client:
        builds = [m async for m in client.builds(since=0) if isinstance(m, Build)]
    build = next(b for b in builds if b.build_id == maven)
    guess = BuildSummary(maven, "gradle", build.tool_version, build.timestamp, "unknown")
    writer = HistoryWriter(path)
    writer.record_builds(builds)
    writer.record_summaries([guess])
    assert writer.close()
    return maven


async def loaded(
    sim: SimulatorThread, path: Path
) -> tuple[str, MonitorStore, MonitorHistory, ResumePoint]:
    """The history of `stored_with_a_gradle_guess`, loaded into a store: the Maven build's id,
    the store, the open history and where the listing resumes."""
    maven = await stored_with_a_gradle_guess(sim, path)
    store = MonitorStore()
    history = MonitorHistory(path, UiPreferences())
    return maven, store, history, await history.load(store)


async def test_a_maven_build_stored_as_a_gradle_guess_is_read_again_and_stored_as_maven(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    path = tmp_path / "history.sqlite3"
    maven, store, history, point = await loaded(sim, path)
    async with DevelocityClient(v1(sim)) as listing, DevelocityClient(v1(sim)) as events:
        feed = DevelocityFeed(listing, events, store, history=history, point=point)
        async with running(feed.run()):
            await until(lambda: (entry := store.builds[maven]).summary is not None
                        and entry.summary.tool_type == "maven")
    await asyncio.to_thread(history.close)

    reader = open_history(path).store
    try:
        stored = next(item.summary for item in reader.load_recent() if item.build.build_id == maven)
    finally:
        reader.close()
    assert stored is not None and stored.tool_type == "maven"


async def test_a_stored_maven_build_shows_no_gradle_guess_while_it_is_read_again(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    maven, store, history, _ = await loaded(sim, tmp_path / "history.sqlite3")
    await asyncio.to_thread(history.close)

    assert store.builds[maven].summary is None
    assert store.builds[maven].tool_type is None
