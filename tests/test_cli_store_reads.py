"""`buildwatch tail --store` and `buildwatch failures --store`: headless reads of the team store on
a real PostgreSQL (see postgres_server), in the lines the same commands print from the servers.
A connection writing as the collector does stands for the collector."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from postgres_server import _team_store_database, postgres_server, sessions, store_database
from test_history_store import make_build, make_summary
from test_history_triage import FAILED_TASK, build_run

from buildwatch.cli import main
from buildwatch.core.history.store import HistoryBatch
from buildwatch.core.teamstore.location import store_location
from buildwatch.core.teamstore.store import TeamStore

__all__ = ["_team_store_database", "postgres_server", "store_database"]
"""The fixtures imported above: pytest finds them by name, so they are exported to be kept."""

pytestmark = pytest.mark.timeout(60)
HOUR_MS = 3_600_000


@pytest.fixture
def collector(store_database: str) -> Iterator[TeamStore]:
    """An empty team store, and a connection writing to it as the collector does."""
    store = TeamStore.connect(store_location(store_database))
    yield store
    store.close()


def now_ms() -> int:
    return int(time.time() * 1000)


def published(numbers: range, at_ms: int, *, summarised: bool = True) -> HistoryBatch:
    """Builds `numbers`, published a second apart from `at_ms`, with their summaries."""
    builds = [make_build(n, at_ms + n * 1_000) for n in numbers]
    return HistoryBatch(builds=builds,
                        summaries=[make_summary(b) for b in builds] if summarised else [])


def run(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    """Run `buildwatch ARGS` in this process: its exit code, lines of output and error."""
    code = main(list(args))
    out, err = capfd.readouterr()
    return code, out.splitlines(), err


def ids(lines: list[str]) -> list[str]:
    return [json.loads(line)["buildId"] for line in lines]


def test_tail_lists_the_stored_builds_of_the_window_oldest_first_as_the_server_sent_them(
    collector: TeamStore, store_database: str, capfd: pytest.CaptureFixture[str]
) -> None:
    collector.write(published(range(1, 3), now_ms() - 5 * HOUR_MS))
    window = published(range(3, 6), now_ms() - HOUR_MS // 2)
    collector.write(window)

    code, lines, err = run(capfd, "tail", "--store", store_database, "--since", "2h", "--json")

    assert (code, err) == (0, "")
    assert lines == [build.source.decode() for build in window.builds]


def test_tail_summary_json_prints_the_collectors_summaries(
    collector: TeamStore, store_database: str, capfd: pytest.CaptureFixture[str]
) -> None:
    collector.write(published(range(1, 3), now_ms() - 60_000))

    code, lines, _ = run(capfd, "tail", "--store", store_database, "--since", "1h", "--summary",
                         "--json", "--query", "outcome:failed user:ana")

    assert code == 0
    summaries = [json.loads(line) for line in lines]
    assert [s["buildId"] for s in summaries] == ["b000000000001", "b000000000002"]
    assert summaries[0]["outcome"] == "failed" and summaries[0]["failure"] == (
        "org.gradle.Failure: boom")
    assert summaries[0]["failedTasks"] is None


def test_tail_refuses_an_option_that_only_the_server_can_honour(
    collector: TeamStore, store_database: str, capfd: pytest.CaptureFixture[str]
) -> None:
    code, lines, err = run(capfd, "tail", "--store", store_database, "--since-build", "b1")

    assert (code, lines) == (2, [])
    assert err == "buildwatch: --since-build reads the server; it does not apply with --store\n"


def test_tail_refuses_an_idle_timeout_which_only_a_server_stream_has(
    store_database: str, capfd: pytest.CaptureFixture[str]
) -> None:
    code, lines, err = run(capfd, "tail", "--store", store_database, "--idle-timeout", "5")

    assert (code, lines) == (2, [])
    assert err == "buildwatch: --idle-timeout reads the server; it does not apply with --store\n"


def test_tail_on_a_store_that_cannot_be_reached_exits_as_store_status_does(
    capfd: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]

    code, lines, err = run(capfd, "tail", "--store", f"postgresql://reader:secret@127.0.0.1:{port}/bw")

    assert (code, lines) == (5, [])
    assert err.count("\n") == 1 and "cannot reach the store" in err and "secret" not in err


def test_tail_follow_prints_each_build_the_collector_commits_and_ctrl_c_exits_0(
    collector: TeamStore, store_database: str
) -> None:
    collector.write(published(range(1, 2), now_ms() - 60_000))
    process = subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "tail", "--store", store_database, "--since", "0",
         "--follow", "--json"],
        env=os.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        deadline = time.monotonic() + 20
        while not sessions(store_database, "query LIKE 'LISTEN%'"):
            assert time.monotonic() < deadline, "tail never listened"
            time.sleep(0.02)
        collector.write(published(range(2, 3), now_ms(), summarised=False))
        collector.write(HistoryBatch(summaries=[make_summary(make_build(2, now_ms()))]))
        collector.write(published(range(3, 4), now_ms()))
        followed = [process.stdout.readline(), process.stdout.readline()]
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=10)
    finally:
        process.kill()
    assert code == 0
    assert ids([first, *followed]) == ["b000000000001", "b000000000002", "b000000000003"]


def test_failures_groups_the_stores_triage_runs(
    collector: TeamStore, store_database: str, capfd: pytest.CaptureFixture[str]
) -> None:
    recent = now_ms() - 60_000
    collector.write(HistoryBatch(triage=[
        (build_run(1, recent - 2_000, succeeded=True), ()),
        (build_run(2, recent - 1_000), (FAILED_TASK,)),
        (build_run(3, recent), (FAILED_TASK,)),
    ]))

    code, lines, err = run(capfd, "failures", "--store", store_database, "--json")

    assert (code, err) == (0, "")
    [group] = [json.loads(line) for line in lines]
    assert (group["kind"], group["name"], group["count"]) == ("task", FAILED_TASK.name, 2)
    assert group["builds"] == ["b000000000003", "b000000000002"]


def test_the_monitor_on_a_store_refuses_what_only_a_monitor_of_the_servers_does(
    capfd: pytest.CaptureFixture[str],
) -> None:
    code, lines, err = run(capfd, "--store", "postgresql://reader:secret@db.example/bw",
                           "--offline")

    assert (code, lines) == (2, [])
    assert err == ("buildwatch: --offline does not apply when viewing the team store "
                   "postgresql://reader:****@db.example/bw\n")
