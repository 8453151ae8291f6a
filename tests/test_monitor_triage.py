"""The monitor records every run's failures in the history as it summarises builds and polls
invocations: against the simulator's triage world, over HTTP, with the real feeds."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_monitor_feeds import running, until
from triage_world import (
    BUILDS,
    buildbuddy_client,
    develocity_client,
    gradle_test,
    plain_test,
    run_id,
    scenario,
    triage_config,
)

from buildwatch.core.config import UiPreferences
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.store import HistoryStore
from buildwatch.core.monitor.feeds import TARGET_READS_PER_POLL, BuildBuddyPoller, DevelocityFeed
from buildwatch.core.monitor.history import MonitorHistory
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.triage.model import Failure, Run
from buildwatch.sim import SimulatorThread
from buildwatch.sim.triage import (
    BAZEL_FAILING_TEST,
    BAZEL_FLAKY_TEST,
    FLAKY_TARGET,
    FLAKY_TEST,
    GATEWAY_TARGET,
    MAVEN_FAILING_TEST,
    MAVEN_RETRIED_TEST,
    NEW_TEST,
    RECURRING_TEST,
    RETRIED_TEST,
    TOKENS_TARGET,
)

pytestmark = pytest.mark.timeout(90)
WATCHED = (scenario().commit(3, 4).sha, scenario().commit(5, 4).sha)
"""The commits whose invocations the tests watch: a Gradle task's and a Bazel build's."""

Recorded = dict[str, tuple[Run, tuple[Failure, ...]]]


def recorded(path: Path) -> Recorded:
    """What the history holds, by run id."""
    store = open_history(path).store
    try:
        return {run.run_id: (run, failures) for run, failures in store.triage_runs()}
    finally:
        store.close()


async def monitor(
    sim: SimulatorThread, path: Path, done: Callable[[HistoryStore, MonitorStore], bool]
) -> None:
    """Run both feeds on the history at `path`, as the monitor does, until `done`."""
    history = MonitorHistory(path, UiPreferences())
    store = MonitorStore()
    point = await history.load(store)
    for commit in WATCHED:
        store.watch(commit, "you")
    reader = open_history(path).store
    try:
        async with (develocity_client(sim) as listing, develocity_client(sim) as events,
                    buildbuddy_client(sim) as client):
            feed = DevelocityFeed(listing, events, store, history=history, point=point)
            poller = BuildBuddyPoller(client, store, interval_s=0.05, history=history)
            async with running(feed.run()), running(poller.run()):
                await until(lambda: done(reader, store), timeout=60)
    finally:
        reader.close()
        await asyncio.to_thread(history.close)


def everything_recorded(reader: HistoryStore, _: MonitorStore) -> bool:
    """Every build, and the invocations of the watched commits, are recorded."""
    runs = reader.triage_runs()
    builds = sum(run.source == "develocity" for run, _ in runs)
    commits = {run.commit for run, _ in runs if run.source == "buildbuddy"}
    return builds == BUILDS and set(WATCHED) <= commits


def events_reads(sim: SimulatorThread, since: int = 0) -> list[tuple[str, str]]:
    """(build id, query) of every events stream the simulator served (not the 204s ending them)."""
    return [
        (record.path.split("/")[-2], record.query)
        for record in sim.requests[since:]
        if record.path.endswith("/events") and record.status == 200
    ]


def target_reads(sim: SimulatorThread, since: int = 0) -> int:
    return sum(record.path.endswith("/GetTarget") for record in sim.requests[since:])


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimulatorThread, Path]]:
    """A simulator of the triage world and a history the monitor filled from it."""
    path = tmp_path_factory.mktemp("history") / "history.sqlite3"
    with SimulatorThread(triage_config()) as sim:
        asyncio.run(monitor(sim, path, everything_recorded))
        yield sim, path


@pytest.fixture(scope="module")
def runs(first_run: tuple[SimulatorThread, Path]) -> Recorded:
    return recorded(first_run[1])


def failed(runs: Recorded, lane: int) -> list[int]:
    """The runs of `lane` recorded as failed."""
    return [run for run in range(BUILDS // 7) if runs[run_id(lane, run)][0].succeeded is False]


def with_details(runs: Recorded) -> set[str]:
    """The failed builds whose events name their failed work and tests (all but npm's)."""
    return {run_id for run_id, (run, _) in runs.items() if run.source == "develocity"
            and run.succeeded is False and run.project != "@acme/web-frontend"}


def failures_of(runs: Recorded, lane: int, run: int) -> set[tuple[str, str, bool]]:
    return {(f.kind, f.name, f.passed_on_retry) for f in runs[run_id(lane, run)][1]}


def test_every_build_is_recorded_with_its_project_commit_and_outcome(runs: Recorded) -> None:
    run, failures = runs[run_id(0, 0)]

    assert (run.source, run.project, run.commit, run.succeeded) == (
        "develocity", "payments-service", scenario().commit(0, 0).sha, True
    )
    assert failures == ()
    assert sum(run.source == "develocity" for run, _ in runs.values()) == BUILDS


def test_a_recurring_test_is_recorded_in_every_build_it_failed(runs: Recorded) -> None:
    assert failed(runs, 0) == [1, 4]
    assert failures_of(runs, 0, 4) == {
        ("test", gradle_test(RECURRING_TEST), False), ("task", "payments-service :core:test", False),
    }


def test_a_new_failure_is_recorded_in_the_last_builds_only(runs: Recorded) -> None:
    assert failed(runs, 1) == [3, 4, 5]
    assert ("test", gradle_test(NEW_TEST), False) in failures_of(runs, 1, 3)


def test_a_failure_on_a_commit_whose_next_build_passed_is_recorded_with_both_runs(
    runs: Recorded,
) -> None:
    red, green = runs[run_id(2, 0)], runs[run_id(2, 1)]

    assert red[0].commit == green[0].commit
    assert ("test", gradle_test(FLAKY_TEST), False) in failures_of(runs, 2, 0)
    assert (green[0].succeeded, green[1]) == (True, ())


@pytest.mark.parametrize(
    ("lane", "retried", "failing"),
    [
        (3, ("test", gradle_test(RETRIED_TEST)), ("task", "auth-gateway :web:checkstyleMain")),
        (4, ("test", plain_test(MAVEN_RETRIED_TEST)), ("test", plain_test(MAVEN_FAILING_TEST))),
        (5, ("test", plain_test(BAZEL_FLAKY_TEST)), ("test", plain_test(BAZEL_FAILING_TEST))),
    ],
    ids=["gradle-retry", "surefire-rerun", "bazel-attempt"],
)
def test_a_test_that_passed_on_retry_is_recorded_as_such_beside_what_failed(
    runs: Recorded, lane: int, retried: tuple[str, str], failing: tuple[str, str]
) -> None:
    failures = failures_of(runs, lane, 2)

    assert (*retried, True) in failures
    assert (*failing, False) in failures


def test_a_failure_known_only_by_its_message_is_one_build_failure_named_alike(
    runs: Recorded,
) -> None:
    names = {runs[run_id(6, run)][1] for run in failed(runs, 6)}

    assert failed(runs, 6) == [0, 2, 4]
    [[failure]] = names
    assert failure.kind == "build" and "<tmp>" in failure.name


def test_buildbuddy_flaky_targets_are_recorded_as_passed_on_retry_and_failed_ones_as_failed(
    runs: Recorded,
) -> None:
    invocations = {run.commit: failures for run, failures in runs.values()
                   if run.source == "buildbuddy"}

    gradle_commit, bazel_commit = WATCHED
    assert Failure("target", FLAKY_TARGET, "flaky", True) in invocations[gradle_commit]
    assert Failure("target", GATEWAY_TARGET, "failed") in invocations[gradle_commit]
    assert Failure("target", TOKENS_TARGET, "failed") in invocations[bazel_commit]


def test_only_a_failed_build_costs_a_second_events_request(
    first_run: tuple[SimulatorThread, Path], runs: Recorded
) -> None:
    sim, _ = first_run
    reads: dict[str, int] = {}
    for build_id, _query in events_reads(sim):
        reads[build_id] = reads.get(build_id, 0) + 1

    assert {build_id for build_id, count in reads.items() if count == 2} == with_details(runs)
    assert set(reads.values()) == {1, 2}


async def test_a_second_run_reads_nothing_already_recorded(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with SimulatorThread(triage_config()) as sim:
        await monitor(sim, path, everything_recorded)
        before = len(sim.requests)
        newest: list[str] = []

        def published_and_recorded(reader: HistoryStore, store: MonitorStore) -> bool:
            if not newest:
                newest.extend(sim.publish_builds(1)[:1])
            return newest[0] in reader.triage_run_ids("develocity") and all(
                any(i.commit_sha == sha for i in store.invocations.values()) for sha in WATCHED
            )

        await monitor(sim, path, published_and_recorded)

        assert {build_id for build_id, _ in events_reads(sim, before)} == set(newest)
        assert target_reads(sim, before) == 0


async def test_a_stored_summary_without_failures_has_only_its_failures_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite3"
    with SimulatorThread(triage_config()) as sim:
        await monitor(sim, path, everything_recorded)
        connection = sqlite3.connect(path)
        connection.execute("DELETE FROM triage_runs WHERE source = 'develocity'")
        connection.commit()
        connection.close()
        before = len(sim.requests)

        await monitor(sim, path, everything_recorded)

        reads = events_reads(sim, before)
    assert {build_id for build_id, _ in reads} == with_details(recorded(path))
    assert len(reads) == len(with_details(recorded(path)))
    assert all("TestFinished" in query for _, query in reads)


async def test_a_poll_reads_a_few_invocations_targets_and_the_next_polls_the_rest(
    tmp_path: Path,
) -> None:
    commits = [scenario().commit(lane, run).sha for lane in (3, 5) for run in range(6)]
    history = MonitorHistory(tmp_path / "history.sqlite3", UiPreferences())
    store = MonitorStore()
    await history.load(store)
    for commit in commits:
        store.watch(commit, "you")
    with SimulatorThread(triage_config()) as sim:
        async with buildbuddy_client(sim) as client:
            poller = BuildBuddyPoller(client, store, interval_s=3600, history=history)
            async with running(poller.run()):
                # The poll's end says how many commits are watched (an answer alone says live).
                await until(lambda: "watched" in store.buildbuddy.detail)
                first = target_reads(sim)
                poller.wake()
                await until(lambda: target_reads(sim) == len(commits))
    await asyncio.to_thread(history.close)

    assert first == TARGET_READS_PER_POLL < len(commits)
