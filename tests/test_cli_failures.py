"""`buildwatch failures`: failure groups as JSON lines or a table, from a history file alone
(`--offline`) or after reading the simulator's triage world. Real processes throughout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hostile_server as hostile
import pytest
from terminal import run_in_pty

from buildwatch.core.history.location import history_path
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.store import HistoryBatch
from buildwatch.core.triage.model import Failure, Run, TriageRecord
from buildwatch.core.triage.normalise import normalise
from buildwatch.sim import SimConfig, SimulatorThread
from buildwatch.sim import triage as world

pytestmark = pytest.mark.timeout(120)
FIELDS = [
    "kind", "name", "count", "builds", "invocations", "firstSeenMs", "lastSeenMs", "branches",
    "users", "projects", "status", "brokenSince", "headline", "sameCommit",
]  # fmt: skip
OFFLINE_URL = "http://127.0.0.1:9"
"""A Develocity server the offline tests name but never reach."""
T0 = 1_800_000_000_000
MINUTE = 60_000

CART = Failure("test", "com.acme.CartTest.total", "expected: <#> but was: <#>")
CHECK = Failure("task", ":app:check", "Execution failed for task ':app:check'.")
RECURRING = Failure("test", "com.acme.PriceTest.rounds", "expected: <#.#> but was: <#.#>")
SESSION = Failure("test", "com.acme.SessionTest.expires", "timed out after #s")
LEDGER = Failure("target", "//payments:ledger_test", "flaky", passed_on_retry=True)


def build(minute: int, succeeded: bool, project: str = "app", **fields: str) -> Run:
    return Run(
        "develocity", f"b{minute:02d}", T0 + minute * MINUTE, succeeded, project,
        fields.get("branch", "main"), fields.get("commit", f"c{minute:02d}"), "ana",
    )


HISTORY: list[TriageRecord] = [
    (build(0, False), (RECURRING,)),
    (build(1, True), ()),
    (Run("buildbuddy", "inv-1", T0 + 90_000, True, "https://github.com/acme/mono", "main",
         "c01", "bo"), (LEDGER,)),
    (build(2, False), (CART,)),
    (build(3, False, branch="feature/\x1b]52;c;aGk=\x07cart"), (CART, CHECK, RECURRING)),
    (build(4, True, "web", commit="w1"), ()),
    (build(5, False, "web", commit="w1"), (SESSION,)),
]
"""`app` passes at minute 1, then breaks: CART since b02, CHECK since b03 (both new);
RECURRING failed before that pass too; SESSION failed and passed on commit w1 and LEDGER passed
on retry (both flaky)."""


def buildwatch(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "buildwatch", *args],
        env={**os.environ, **environment}, capture_output=True, text=True, timeout=90,
    )


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty state directory of this test's own, for this process and the commands."""
    monkeypatch.setenv("BUILDWATCH_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("BUILDWATCH_DEVELOCITY_URL", OFFLINE_URL)
    return tmp_path


@pytest.fixture
def history(state: Path) -> Path:
    """The history of `OFFLINE_URL`, holding `HISTORY`."""
    path = history_path(OFFLINE_URL)
    store = open_history(path).store
    store.write(HistoryBatch(triage=HISTORY))
    store.close()
    return path


def groups(*args: str) -> dict[str, dict[str, Any]]:
    done = buildwatch("failures", "--offline", "--json", *args)
    assert (done.returncode, done.stderr) == (0, "")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return {line["name"]: line for line in lines}


# --- From the history alone -----------------------------------------------------------------


def test_json_prints_one_group_per_line_with_every_field(history: Path) -> None:
    printed = groups("--since", "0")

    assert sorted(printed) == sorted(f.name for f in (CART, CHECK, RECURRING, SESSION, LEDGER))
    assert all(list(group) == FIELDS for group in printed.values())


def test_json_says_each_groups_status_and_since_which_build_a_new_one_broke(
    history: Path,
) -> None:
    printed = groups("--since", "0")

    statuses = {name: (group["status"], group["brokenSince"]) for name, group in printed.items()}
    assert statuses == {
        CART.name: ("new", "b02"),
        CHECK.name: ("new", "b03"),
        RECURRING.name: ("recurring", None),
        SESSION.name: ("flaky", None),
        LEDGER.name: ("flaky", None),
    }


def test_json_lists_builds_and_invocations_newest_first_with_count_and_times(
    history: Path,
) -> None:
    printed = groups("--since", "0")

    recurring, ledger = printed[RECURRING.name], printed[LEDGER.name]
    assert (recurring["count"], recurring["builds"], recurring["invocations"]) == (
        2, ["b03", "b00"], []
    )
    assert (recurring["firstSeenMs"], recurring["lastSeenMs"]) == (T0, T0 + 3 * MINUTE)
    assert (ledger["builds"], ledger["invocations"]) == ([], ["inv-1"])
    assert ledger["projects"] == ["https://github.com/acme/mono"]


def test_groups_come_most_recently_failed_first(history: Path) -> None:
    done = buildwatch("failures", "--offline", "--json", "--since", "0")

    names = [json.loads(line)["name"] for line in done.stdout.splitlines()]
    assert names[0] == SESSION.name and names[-1] == LEDGER.name


def test_status_keeps_only_the_groups_with_that_status(history: Path) -> None:
    assert sorted(groups("--since", "0", "--status", "new")) == sorted([CART.name, CHECK.name])


def test_since_keeps_the_groups_failed_in_the_window_counted_over_the_whole_history(
    history: Path,
) -> None:
    printed = groups("--since", str(T0 + 3 * MINUTE))

    assert sorted(printed) == sorted([CART.name, CHECK.name, RECURRING.name, SESSION.name])
    assert printed[RECURRING.name]["count"] == 2


def test_the_table_puts_each_column_under_its_header_with_status_words(history: Path) -> None:
    done = buildwatch("failures", "--offline", "--since", "0")

    header, *rows = done.stdout.splitlines()
    assert header.split() == [
        "STATUS", "COUNT", "LAST", "SEEN", "FIRST", "SEEN", "BRANCHES", "KIND", "NAME", "HEADLINE"
    ]
    name_column = header.index("NAME")
    by_name = {row[name_column:].split()[0]: row for row in rows}
    assert sorted(by_name) == sorted(f.name for f in (CART, CHECK, RECURRING, SESSION, LEDGER))
    assert by_name[CART.name].startswith("NEW ")
    assert by_name[SESSION.name].startswith("FLAKY ")
    assert by_name[RECURRING.name].startswith("recurring ")


def test_no_escape_sequence_a_server_sent_reaches_the_table_or_the_json(history: Path) -> None:
    table = buildwatch("failures", "--offline", "--since", "0").stdout
    lines = buildwatch("failures", "--offline", "--since", "0", "--json").stdout

    assert "\x1b" not in table and "\x07" not in table
    assert lines.isascii() and not any(c < " " for c in lines.replace("\n", ""))
    assert "cart" in table


def test_nothing_a_hostile_server_sends_reaches_the_terminal(state: Path) -> None:
    server = {"BUILDWATCH_DEVELOCITY_URL": hostile.serve(), "BUILDWATCH_DEVELOCITY_TOKEN": "t"}
    table = buildwatch("failures", "--since", "0", **server)
    lines = buildwatch("failures", "--since", "0", "--json", "--offline", **server)

    assert (table.returncode, lines.returncode) == (0, 0)
    hostile.assert_harmless(
        (table.stdout + table.stderr + lines.stdout + lines.stderr).encode(),
        hostile.HOSTILE_SHOWN.encode(),
    )


def test_options_may_come_before_the_command(history: Path) -> None:
    done = buildwatch("--offline", "--since", "0", "failures", "--json")

    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 5


def test_since_now_is_refused_in_one_line(history: Path) -> None:
    done = buildwatch("failures", "--offline", "--since", "now")

    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("buildwatch: --since now") and done.stderr.count("\n") == 1


def test_offline_without_a_history_says_so_and_creates_none(state: Path) -> None:
    done = buildwatch("failures", "--offline")

    assert (done.returncode, done.stdout) == (0, "")
    assert "no history" in done.stderr and done.stderr.count("\n") == 1
    assert not history_path(OFFLINE_URL).exists()


# --- Reading the simulator first ------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(
        SimConfig(seed=3, builds=140, world="triage", not_ready_s=0.0)
    ) as running:
        yield running


@pytest.fixture(scope="module")
def sim_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The state directory the commands against the simulator share."""
    return tmp_path_factory.mktemp("sim-state")


def online(sim: SimulatorThread, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return buildwatch(
        "failures", "--since", "0", *args,
        BUILDWATCH_STATE_DIR=str(state),
        BUILDWATCH_DEVELOCITY_URL=sim.develocity_url, BUILDWATCH_DEVELOCITY_TOKEN="sim-token",
        BUILDWATCH_BUILDBUDDY_URL=sim.develocity_url, BUILDWATCH_BUILDBUDDY_API_KEY="sim-api-key",
    )


@pytest.fixture(scope="module")
def first_read(sim: SimulatorThread, sim_state: Path) -> list[dict[str, Any]]:
    """The groups the first command against the simulator printed."""
    done = online(sim, sim_state, "--json")
    assert (done.returncode, done.stderr) == (0, "")
    return [json.loads(line) for line in done.stdout.splitlines()]


def gradle_test(test: tuple[str, str]) -> str:
    """A JUnit 5 test's name as Gradle reports it: `Class.method()`."""
    return f"{test[0]}.{test[1]}()"


def test_reading_the_servers_shows_every_status_of_the_triage_world(
    first_read: list[dict[str, Any]],
) -> None:
    status = {group["name"]: group["status"] for group in first_read}

    assert status[gradle_test(world.RECURRING_TEST)] == "recurring"
    assert status[gradle_test(world.NEW_TEST)] == "new"
    assert status[gradle_test(world.FLAKY_TEST)] == "flaky"
    assert status[gradle_test(world.RETRIED_TEST)] == "flaky"
    assert status[world.FLAKY_TARGET] == "flaky"


def test_a_flaky_buildbuddy_target_lists_its_invocations(
    first_read: list[dict[str, Any]],
) -> None:
    target = next(group for group in first_read if group["name"] == world.FLAKY_TARGET)

    assert target["invocations"] and not target["builds"]


def test_a_gradle_task_and_the_bazel_targets_failing_on_its_commits_name_each_other(
    first_read: list[dict[str, Any]],
) -> None:
    by_name = {group["name"]: group for group in first_read}
    task = by_name[f"auth-gateway :web:{world.FAILING_TASK}"]
    target = by_name[world.GATEWAY_TARGET]

    beside_task = {failure["name"]: failure for failure in task["sameCommit"]}
    assert {world.GATEWAY_TARGET, world.FLAKY_TARGET} <= set(beside_task)
    assert all(f["invocations"] and not f["builds"] for f in beside_task.values())
    assert set(beside_task[world.GATEWAY_TARGET]["invocations"]) <= set(target["invocations"])
    beside_target = [f for f in target["sameCommit"] if f["name"] == task["name"]]
    assert beside_target and all(set(f["builds"]) <= set(task["builds"]) for f in beside_target)
    assert {f["commit"] for f in beside_target} == {
        f["commit"] for f in task["sameCommit"] if f["name"] == world.GATEWAY_TARGET
    }


def test_a_group_whose_commits_the_other_tool_did_not_fail_on_has_nothing_beside_it(
    first_read: list[dict[str, Any]],
) -> None:
    new = next(group for group in first_read if group["name"] == gradle_test(world.NEW_TEST))

    assert new["sameCommit"] == []


def test_a_new_failure_is_broken_since_the_first_build_of_its_streak(
    first_read: list[dict[str, Any]],
) -> None:
    new = next(group for group in first_read if group["name"] == gradle_test(world.NEW_TEST))

    assert new["count"] == world.NEW_RUNS
    assert new["brokenSince"] == new["builds"][-1]


def test_one_npm_failure_with_changing_numbers_and_paths_is_one_group(
    first_read: list[dict[str, Any]],
) -> None:
    npm = [
        group for group in first_read
        if group["kind"] == "build" and normalise(world.npm_failure_message(0)) in group["name"]
    ]

    assert len(npm) == 1 and npm[0]["count"] > 1


def test_a_second_run_asks_develocity_only_for_the_builds_published_since(
    sim: SimulatorThread, sim_state: Path, first_read: list[dict[str, Any]]
) -> None:
    asked = len(sim.ctx.requests)
    second = online(sim, sim_state, "--json")

    develocity = [r for r in sim.ctx.requests[asked:] if r.api == "develocity"]
    assert [r.path.rsplit("/", 2)[-2] for r in develocity] == ["sinceBuild"]
    assert [json.loads(line) for line in second.stdout.splitlines()] == first_read


def test_on_a_terminal_a_first_run_says_how_many_builds_it_reads(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    """(A script is not told: `first_read`, whose stderr is a pipe, finds it empty.)"""
    output = run_in_pty(
        [sys.executable, "-m", "buildwatch", "failures", "--since", "0", "--json"], [],
        env={"BUILDWATCH_STATE_DIR": str(tmp_path), "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url,
             "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token"},
        timeout=60,
    )

    assert b"buildwatch: reading the failures of 140 builds" in output


def test_refused_credentials_exit_3_in_one_line(sim: SimulatorThread, state: Path) -> None:
    done = buildwatch(
        "failures", BUILDWATCH_DEVELOCITY_URL=sim.develocity_url,
        BUILDWATCH_DEVELOCITY_TOKEN="wrong",
    )

    assert (done.returncode, done.stdout) == (3, "")
    assert done.stderr.count("\n") == 1 and "wrong" not in done.stderr
