"""Reading the servers into the history before grouping: every build of the window and the
finished invocations of their commits are recorded with their failures, once; what the history
already holds is not asked for again. Against the simulator's triage world."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.git_values import DEFAULT_GIT_VALUE_NAMES
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.store import HistoryStore
from buildwatch.core.secrets import Secret
from buildwatch.core.triage.refresh import refresh_history
from buildwatch.sim import SimConfig, Simulator
from buildwatch.sim import triage as world

pytestmark = pytest.mark.timeout(120)
BUILDS = 35
SUMMARY_ONLY_TYPES = ("BuildFinished", "MvnBuildFinished", "BzlBuildFinished", "NpmBuildFinished")


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(SimConfig(seed=4, builds=BUILDS, world="triage", not_ready_s=0.0))
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    opened = open_history(tmp_path / "history.sqlite3")
    yield opened.store
    opened.store.close()


class Said:
    """What a refresh warned about and said it was doing."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.progress: list[str] = []


async def refresh(
    sim: Simulator, store: HistoryStore, since_ms: int = 0, *, buildbuddy: bool = True
) -> Said:
    said = Said()
    async with AsyncExitStack() as stack:
        develocity = await stack.enter_async_context(DevelocityClient(
            DevelocityConnection(sim.develocity_url, token=Secret("sim-token"))
        ))
        bb = None
        if buildbuddy:
            bb = await stack.enter_async_context(BuildBuddyClient(
                BuildBuddyConnection(sim.buildbuddy_url, api_key=Secret("sim-api-key"))
            ))
        await refresh_history(
            store, develocity, bb, since_ms, DEFAULT_GIT_VALUE_NAMES, said.warnings.append,
            said.progress.append,
        )
    return said


async def published(sim: Simulator) -> list[dict[str, Any]]:
    """The simulator's builds, in publication order (asked on the loop the simulator runs on)."""
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{sim.develocity_url}/_sim/develocity/builds")
    listed: list[dict[str, Any]] = answer.json()
    return listed


def recorded(store: HistoryStore, source: str) -> dict[str, Any]:
    return {run.run_id: (run, failures) for run, failures in store.triage_runs()
            if run.source == source}


async def test_every_build_of_the_window_is_recorded_with_what_failed(
    sim: Simulator, store: HistoryStore
) -> None:
    said = await refresh(sim, store)

    builds = recorded(store, "develocity")
    listed = await published(sim)
    assert said.warnings == []
    assert sorted(builds) == sorted(build["buildId"] for build in listed)
    for build in listed:
        run, failures = builds[build["buildId"]]
        assert run.succeeded is not build["failed"]
        assert bool(failures) or not build["failed"]


async def test_the_finished_invocations_of_the_builds_commits_are_recorded_with_their_targets(
    sim: Simulator, store: HistoryStore
) -> None:
    await refresh(sim, store)

    invocations = recorded(store, "buildbuddy")
    commits = {run.commit for run, _ in recorded(store, "develocity").values()}
    assert invocations and all(run.commit in commits for run, _ in invocations.values())
    flaky = [failure for _, failures in invocations.values() for failure in failures
             if failure.name == world.FLAKY_TARGET]
    assert len(flaky) == len(invocations) and all(f.passed_on_retry for f in flaky)


async def hold_a_run_of_a_built_commit(sim: Simulator, scratch: Path) -> str:
    """Start a BuildBuddy run, held in progress, of a commit the simulator's builds name (read
    into a history of its own, so the store under test has not seen them)."""
    scout = open_history(scratch / "scout.sqlite3").store
    try:
        await refresh(sim, scout, buildbuddy=False)
        commit = next(run.commit for run, _ in recorded(scout, "develocity").values()
                      if run.commit)
    finally:
        scout.close()
    return sim.hold_invocation(commit)


async def test_running_invocations_are_stored_but_not_recorded(
    sim: Simulator, store: HistoryStore, tmp_path: Path
) -> None:
    running = await hold_a_run_of_a_built_commit(sim, tmp_path)

    await refresh(sim, store)

    stored = {invocation.invocation_id for invocation in store.load_invocations()}
    assert running in stored
    assert running not in recorded(store, "buildbuddy")
    assert set(recorded(store, "buildbuddy")) == stored - {running}


async def test_only_the_builds_of_the_window_are_read(
    sim: Simulator, store: HistoryStore
) -> None:
    builds = await published(sim)
    since = builds[20]["timestamp"]

    await refresh(sim, store, since)

    assert sorted(recorded(store, "develocity")) == sorted(b["buildId"] for b in builds[20:])


async def test_a_second_refresh_asks_only_for_new_builds_and_unfinished_invocations(
    sim: Simulator, store: HistoryStore, tmp_path: Path
) -> None:
    await hold_a_run_of_a_built_commit(sim, tmp_path)
    await refresh(sim, store)
    asked = len(sim.ctx.requests)
    unfinished = {
        invocation.commit_sha for invocation in store.load_invocations()
        if invocation.invocation_id not in recorded(store, "buildbuddy")
    }

    said = await refresh(sim, store)

    again = sim.ctx.requests[asked:]
    assert [r.path.rsplit("/", 2)[-2] for r in again if r.api == "develocity"] == ["sinceBuild"]
    assert len([r for r in again if r.api == "buildbuddy"]) == len(unfinished)
    assert len(unfinished) == 1
    assert said.progress == [
        f"asking BuildBuddy about the invocations of {len(unfinished):,} commits"
    ]


async def test_a_build_whose_summary_is_stored_is_only_asked_what_failed(
    sim: Simulator, store: HistoryStore, tmp_path: Path
) -> None:
    await refresh(sim, store, buildbuddy=False)
    # A history written before failures were recorded: summaries, no records.
    with sqlite3.connect(tmp_path / "history.sqlite3") as older:
        older.execute("DELETE FROM triage_failures")
        older.execute("DELETE FROM triage_runs")
    asked = len(sim.ctx.requests)

    await refresh(sim, store, buildbuddy=False)

    events = [r for r in sim.ctx.requests[asked:] if r.path.endswith("/events")]
    failed = {b["buildId"] for b in await published(sim) if b["failed"] and b["toolType"] != "npm"}
    assert {r.path.rsplit("/", 2)[-2] for r in events} == failed
    assert not any(name in r.query for r in events for name in SUMMARY_ONLY_TYPES)
    assert len(recorded(store, "develocity")) == BUILDS


async def test_progress_says_how_many_builds_and_commits_are_read(
    sim: Simulator, store: HistoryStore
) -> None:
    said = await refresh(sim, store)

    assert said.progress[0] == f"reading the failures of {BUILDS} builds"
    assert said.progress[1].startswith("asking BuildBuddy about the invocations of ")


async def test_without_buildbuddy_no_invocation_is_read(
    sim: Simulator, store: HistoryStore
) -> None:
    await refresh(sim, store, buildbuddy=False)

    assert recorded(store, "buildbuddy") == {}
    assert not [r for r in sim.ctx.requests if r.api == "buildbuddy"]
