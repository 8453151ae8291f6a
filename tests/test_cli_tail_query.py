"""`buildwatch tail --query`: each field of a build through real processes against the
simulator, every output mode, and how a bad query is reported."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from terminal import run_in_pty
from test_cli_tail_summary import SUMMARY_FIELDS, buildwatch, plans

from buildwatch.sim import SimConfig, SimulatorThread
from buildwatch.sim.develocity_model import BuildSummary as Plan

pytestmark = pytest.mark.timeout(120)
Summary = dict[str, Any]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=8, builds=16, not_ready_s=0.0)) as running:
        yield running


@pytest.fixture(scope="module")
def reference(sim: SimulatorThread) -> list[tuple[Summary, Plan]]:
    """Every build in listing order: its summary as `tail --summary --json` prints it, and what
    the simulator made it from."""
    done = buildwatch(sim.develocity_url, "tail", "--since", "0", "--summary", "--json")
    assert (done.returncode, done.stderr) == (0, "")
    made = plans(sim)
    summaries = [json.loads(line) for line in done.stdout.splitlines()]
    return [(summary, made[summary["buildId"]]) for summary in summaries]


def matched(sim: SimulatorThread, query: str, *options: str) -> list[str]:
    """The ids `tail --json --query` lists (`--query=-x`: argparse reads `-x` as an option)."""
    done = buildwatch(sim.develocity_url, "tail", "--since", "0", "--json", f"--query={query}",
                      *options)  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    return [json.loads(line)["buildId"] for line in done.stdout.splitlines()]


def expected(reference: list[tuple[Summary, Plan]], holds: Callable[[Summary, Plan], bool]) -> list[str]:
    """The ids `holds` picks, which must be some but not all builds (else the test proves nothing)."""
    ids = [summary["buildId"] for summary, plan in reference if holds(summary, plan)]
    assert 0 < len(ids) < len(reference)
    return ids


def _words(summary: Summary) -> str:
    texts = [summary[key] or "" for key in ("buildId", "tool", "outcome", "project", "user",
                                            "host", "branch", "commit")]  # fmt: skip
    return "\n".join(texts + summary["requested"] + summary["tags"]).casefold()


FIELD_CASES: dict[str, Callable[[Summary, Plan], bool]] = {
    "outcome:failed": lambda summary, plan: plan.failed,
    "-outcome=failed": lambda summary, plan: not plan.failed,
    "outcome=success": lambda summary, plan: not plan.failed,
    "project:SERVICE": lambda summary, plan: "service" in plan.project,
    "project~^ledger": lambda summary, plan: plan.project.startswith("ledger"),
    "tool=maven": lambda summary, plan: plan.tool_type == "maven",
    "user=ci": lambda summary, plan: plan.user == "ci",
    "host:mbp": lambda summary, plan: "mbp" in summary["host"],
    "branch=main": lambda summary, plan: plan.commit.branch == "main",
    "!branch:feature/": lambda summary, plan: "feature/" not in plan.commit.branch,
    "commit~^[0-7]": lambda summary, plan: plan.commit.sha[0] in "01234567",
    "tag=linux": lambda summary, plan: "Linux" in summary["tags"],
    "-tag:CI": lambda summary, plan: not plan.on_ci,
    "requested=build": lambda summary, plan: "build" in summary["requested"],
    'value:"CI provider"="GitHub Actions"': lambda summary, plan: plan.on_ci,
    "duration>1m": lambda summary, plan: summary["durationMs"] > 60_000,
    "duration<=30s": lambda summary, plan: summary["durationMs"] <= 30_000,
    "ledger": lambda summary, plan: "ledger" in _words(summary),
    "-ledger": lambda summary, plan: "ledger" not in _words(summary),
    "tool=gradle outcome:succeeded -user=ci": lambda summary, plan: (
        plan.tool_type == "gradle" and not plan.failed and not plan.on_ci
    ),
}


@pytest.mark.parametrize("query", FIELD_CASES)
def test_tail_lists_the_builds_a_field_query_matches(
    sim: SimulatorThread, reference: list[tuple[Summary, Plan]], query: str
) -> None:
    assert matched(sim, query) == expected(reference, FIELD_CASES[query])


def test_an_id_query_needs_no_summary_and_finds_the_build(
    sim: SimulatorThread, reference: list[tuple[Summary, Plan]]
) -> None:
    wanted = reference[3][0]["buildId"]
    assert matched(sim, f"id={wanted.upper()}") == [wanted]


def test_published_compares_with_an_absolute_local_time(
    sim: SimulatorThread, reference: list[tuple[Summary, Plan]]
) -> None:
    middle = reference[len(reference) // 2][1].timestamp
    moment = datetime.fromtimestamp(middle / 1000).isoformat(timespec="milliseconds")
    holds = expected(reference, lambda summary, plan: plan.timestamp >= middle)
    assert matched(sim, f"published>={moment}") == holds


def test_me_means_the_profiles_names(
    sim: SimulatorThread, reference: list[tuple[Summary, Plan]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.default.ui]\nme = ["Alice", "bob"]\n', encoding="utf-8")
    monkeypatch.setenv("BUILDWATCH_CONFIG", str(config))
    holds = expected(reference, lambda summary, plan: plan.user in ("alice", "bob"))
    assert matched(sim, "user=me") == holds


def test_with_summary_json_the_matching_builds_summaries_are_printed(
    sim: SimulatorThread, reference: list[tuple[Summary, Plan]]
) -> None:
    done = buildwatch(sim.develocity_url, "tail", "--since", "0", "--summary", "--json",
                      "--query", "outcome:failed")  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    assert printed == [summary for summary, plan in reference if plan.failed]
    assert all(list(summary) == SUMMARY_FIELDS for summary in printed)


@pytest.mark.parametrize("options", [("--summary",), ()])
def test_as_text_only_the_matching_builds_lines_are_printed(
    sim: SimulatorThread, reference: list[tuple[Summary, Plan]], options: tuple[str, ...]
) -> None:
    done = buildwatch(sim.develocity_url, "tail", "--since", "0", "--query", "outcome:failed",
                      *options)  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == expected(reference, lambda s, plan: plan.failed)
    assert all(("failed" in line) == bool(options) for line in lines)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("projct:x", "unknown field 'projct': did you mean 'project'? at column 1"),
        ("branch:main duration>5x", "bad duration '5x': expected e.g. 90s, 5m or 1h30m at column 22"),
        ("branch~(main", "bad regular expression: missing ), unterminated subpattern at column 8"),
        ('user:"alice', "unclosed quote at column 6"),
    ],
)
def test_a_bad_query_exits_2_with_one_line_naming_the_column(query: str, message: str) -> None:
    # The query is compiled before any connection: no server is needed to refuse it.
    done = buildwatch("http://127.0.0.1:9", "tail", "--query", query)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"buildwatch: query: {message}\n")


def test_on_a_terminal_a_caret_points_at_the_fault() -> None:
    command = [sys.executable, "-m", "buildwatch", "tail", "--query", "branch:main durtion>5m"]
    output = run_in_pty(command, keys=[], env={}, timeout=20).decode()
    assert "at column 13\r\n  branch:main durtion>5m\r\n              ^\r\n" in output
