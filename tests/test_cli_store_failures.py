"""`buildwatch tail --store URL --summary --json` names a failed build's tasks and tests from the
failures the collector recorded for triage, as `tail --summary --json` names them from the
server: the real collector fills a real PostgreSQL (see postgres_server) from the simulator, and
both commands' lines are compared."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from collector_harness import (
    SIM_CONFIG,
    all_done,
    collecting,
    created_store,
    new_database,
    published,
    settings,
    until,
)
from postgres_server import (
    PostgresServer,
    _team_store_database,
    postgres_server,
    sessions,
    store_database,
)
from test_history_store import make_build, make_summary
from test_history_triage import build_run

from buildwatch.cli import main
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.history.store import HistoryBatch
from buildwatch.core.teamstore.location import store_location
from buildwatch.core.teamstore.store import TeamStore
from buildwatch.core.triage.model import Failure
from buildwatch.sim import SimulatorThread

__all__ = ["_team_store_database", "postgres_server", "store_database"]
"""The fixtures imported above: pytest finds them by name, so they are exported to be kept."""

pytestmark = pytest.mark.timeout(60)


def lines_of(capfd: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    """The JSON lines `buildwatch ARGS`, run in this process, prints (it must exit 0)."""
    code = main(list(args))
    out, _ = capfd.readouterr()
    assert code == 0
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def collected(postgres_server: PostgresServer) -> Iterator[tuple[SimulatorThread, str]]:
    """The simulator, and a team store into which the collector stored every build of it."""
    url = new_database(postgres_server)
    location = created_store(url)

    async def collect(sim: SimulatorThread) -> None:
        async with collecting(settings(sim, location)):
            await until(lambda: all_done(location, published(sim)), "every build stored")

    with SimulatorThread(SIM_CONFIG) as sim:
        asyncio.run(collect(sim))
        yield sim, url


def test_store_tail_names_failed_tasks_and_tests_as_the_server_tail_does(
    collected: tuple[SimulatorThread, str],
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, url = collected
    monkeypatch.setenv("BUILDWATCH_DEVELOCITY_URL", sim.develocity_url)
    monkeypatch.setenv("BUILDWATCH_DEVELOCITY_TOKEN", "sim-token")

    server = lines_of(capfd, "tail", "--summary", "--json", "--since", "0")
    store = lines_of(capfd, "tail", "--store", url, "--summary", "--json", "--since", "0")

    failed = [line for line in server if line["outcome"] == "failed"]
    # The simulator's failed builds: Gradle tasks and tests, a Maven goal, a Bazel target, npm.
    assert {line["tool"] for line in failed} == {"gradle", "maven", "bazel", "npm"}
    assert any(line["failedTests"] for line in failed)
    assert sorted(store, key=lambda line: line["buildId"]) == sorted(
        server, key=lambda line: line["buildId"])


@pytest.fixture
def collector(store_database: str) -> Iterator[TeamStore]:
    """An empty team store, and a connection writing to it as the collector does."""
    store = TeamStore.connect(store_location(store_database))
    yield store
    store.close()


def failed_build(number: int, at_ms: int) -> HistoryBatch:
    """Build `number`, failed (Gradle, project `app`), with its summary."""
    build = make_build(number, at_ms)
    return HistoryBatch(builds=[build], summaries=[make_summary(build)])


def succeeded(summary: BuildSummary) -> BuildSummary:
    return replace(summary, outcome="success", failures=(), exit_code=0)


RECORDED = (
    Failure("test", "com.acme.LedgerTest.flaky()", "AssertionError", passed_on_retry=True),
    Failure("test", "com.acme.LedgerTest.balances()", "AssertionError"),
    Failure("task", "app :ledger:test", "There were failing tests"),
    Failure("build", "BuildFailure", "There were failing tests"),
)
"""What the collector records of a failed build of project `app`: `build_record`'s names."""


def test_store_tail_names_recorded_failures_without_the_project_or_the_retried_tests(
    collector: TeamStore, store_database: str, capfd: pytest.CaptureFixture[str]
) -> None:
    at_ms = int(time.time() * 1000) - 60_000
    collector.write(failed_build(1, at_ms))
    collector.write(HistoryBatch(triage=[(build_run(1, at_ms), RECORDED)]))

    [line] = lines_of(capfd, "tail", "--store", store_database, "--summary", "--json",
                      "--since", "1h")

    assert (line["failedTasks"], line["failedTests"]) == (
        [":ledger:test"], ["com.acme.LedgerTest.balances()"])


def test_store_tail_leaves_the_failures_of_a_build_not_recorded_yet_null_and_says_so(
    collector: TeamStore, store_database: str, capfd: pytest.CaptureFixture[str]
) -> None:
    collector.write(failed_build(1, int(time.time() * 1000) - 60_000))

    code = main(["tail", "--store", store_database, "--summary", "--json", "--since", "1h"])
    out, err = capfd.readouterr()

    assert code == 0
    assert (json.loads(out)["failedTasks"], json.loads(out)["failedTests"]) == (None, None)
    assert err == "buildwatch: warning: 1 failed builds have no failures recorded in the store yet\n"


def test_store_tail_follow_prints_a_failed_build_once_its_failures_are_recorded(
    collector: TeamStore, store_database: str
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "tail", "--store", store_database, "--since", "now",
         "--follow", "--summary", "--json"],
        env=os.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 20
        while not sessions(store_database, "query LIKE 'LISTEN%'"):
            assert time.monotonic() < deadline, "tail never listened"
            time.sleep(0.02)
        now = int(time.time() * 1000)
        collector.write(failed_build(1, now))
        passed = make_build(2, now + 1)
        collector.write(HistoryBatch(builds=[passed], summaries=[succeeded(make_summary(passed))]))
        first = json.loads(process.stdout.readline())
        collector.write(HistoryBatch(triage=[(build_run(1, now), RECORDED)]))
        second = json.loads(process.stdout.readline())
    finally:
        process.kill()
        process.communicate(timeout=10)
    assert first["buildId"] == "b000000000002"
    assert (second["buildId"], second["failedTasks"]) == ("b000000000001", [":ledger:test"])
