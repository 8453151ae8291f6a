"""The simulated Develocity builds: deterministic for a seed and shaped like real build scans."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sim_sse import AUTH, parse_sse

from buildwatch.sim import SimConfig, SimulatorThread
from buildwatch.sim.develocity_data import FAILURE_RATE, plan_build
from buildwatch.sim.develocity_git import (
    BAZEL_NAMINGS,
    NAMINGS,
    GitNaming,
    branch_value,
    git_naming,
)
from buildwatch.sim.world import LogText, World

pytestmark = pytest.mark.timeout(60)

V2 = "/build-export/v2"
FIXED_NOW = 1_780_000_000_000
TASK_OUTCOMES = {
    "success",
    "failed",
    "up_to_date",
    "skipped",
    "from_cache",
    "no_source",
    "avoided_for_unknown_reason",
}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=3, builds=60, now_ms=FIXED_NOW)) as running:
        yield running


@pytest.fixture(scope="module")
def client(sim: SimulatorThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.develocity_url, headers=AUTH, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def builds(client: httpx.Client) -> list[dict[str, Any]]:
    overview: list[dict[str, Any]] = client.get("/_sim/develocity/builds").json()
    return overview


def events(client: httpx.Client, build_id: str, types: str | None = None) -> list[dict[str, Any]]:
    query = f"?eventTypes={types}" if types else ""
    response = client.get(f"{V2}/build/{build_id}/events{query}")
    assert response.status_code == 200
    return [json.loads(m.data) for m in parse_sse(response.text)[1:]]


def first_build(builds: list[dict[str, Any]], tool: str, failed: bool = False) -> str:
    return next(
        b["buildId"]
        for b in builds
        if b["toolType"] == tool and b["failed"] == failed and not b["eventCount"]
    )


def values(client: httpx.Client, build_id: str) -> dict[str, str]:
    return {
        e["data"]["key"]: e["data"]["value"] for e in events(client, build_id, "UserNamedValue")
    }


def test_the_same_seed_serves_the_same_builds_and_events(
    client: httpx.Client, builds: list[dict[str, Any]]
) -> None:
    build_id = first_build(builds, "gradle")
    with (
        SimulatorThread(SimConfig(seed=3, builds=60, now_ms=FIXED_NOW)) as again,
        httpx.Client(base_url=again.develocity_url, headers=AUTH) as other,
    ):
        assert other.get(f"{V2}/builds/since/0").text == client.get(f"{V2}/builds/since/0").text
        path = f"{V2}/build/{build_id}/events"
        assert other.get(path).text == client.get(path).text


def test_another_seed_serves_other_builds(builds: list[dict[str, Any]]) -> None:
    with SimulatorThread(SimConfig(seed=4, builds=60, now_ms=FIXED_NOW)) as other:
        other_ids = {
            b["buildId"] for b in httpx.get(f"{other.develocity_url}/_sim/develocity/builds").json()
        }
    assert other_ids.isdisjoint(b["buildId"] for b in builds)


def test_build_ids_are_13_lowercase_letters_and_digits(builds: list[dict[str, Any]]) -> None:
    for build in builds:
        assert len(build["buildId"]) == 13
        assert all(c.isdigit() or "a" <= c <= "z" for c in build["buildId"])


def test_about_15_percent_of_builds_fail() -> None:
    world = World(seed=8)
    failed = sum(plan_build(world, index, FIXED_NOW).failed for index in range(2000))
    assert abs(failed / 2000 - FAILURE_RATE) < 0.03


def test_builds_come_from_all_four_build_tools(builds: list[dict[str, Any]]) -> None:
    assert {b["toolType"] for b in builds} == {"gradle", "maven", "bazel", "npm"}


def test_builds_are_run_by_several_users_on_several_hosts(
    client: httpx.Client, builds: list[dict[str, Any]]
) -> None:
    agents = [
        events(client, b["buildId"], "BuildAgent")[0]["data"]
        for b in builds[:25]
        if b["toolType"] == "gradle" and not b["eventCount"]
    ]
    assert len({a["username"] for a in agents}) >= 3
    assert len({a["localHostname"] for a in agents}) >= 3


def test_gradle_builds_name_their_git_commit_branch_and_repository(
    sim: SimulatorThread, client: httpx.Client, builds: list[dict[str, Any]]
) -> None:
    index, build = next(
        (i, b) for i, b in enumerate(builds) if b["toolType"] == "gradle" and not b["eventCount"]
    )
    naming = git_naming(3, index)
    named = values(client, build["buildId"])
    commit = next(c for c in sim.ctx.world.commits if c.sha == named[naming.commit])
    assert named[naming.branch] == branch_value(naming, commit.branch)
    assert named[str(naming.repository)] == sim.ctx.world.repo_url


def test_maven_builds_name_their_git_commit_too(
    builds: list[dict[str, Any]], client: httpx.Client
) -> None:
    index, build = next((i, b) for i, b in enumerate(builds) if b["toolType"] == "maven")
    named = {
        e["data"]["key"]: e["data"]["value"]
        for e in events(client, build["buildId"], "MvnUserNamedValue")
    }
    assert len(named[git_naming(3, index).commit]) == 40


@pytest.mark.parametrize("namings", [NAMINGS, BAZEL_NAMINGS], ids=["user-data", "bazel"])
def test_the_builds_of_a_seed_use_every_git_naming(namings: tuple[GitNaming, ...]) -> None:
    assert {git_naming(3, index, namings) for index in range(100)} == set(namings)


def test_the_same_commit_is_built_several_times(builds: list[dict[str, Any]]) -> None:
    world = World(seed=3)
    commits = Counter(
        plan_build(world, index, FIXED_NOW).commit.sha for index in range(len(builds))
    )
    assert commits.most_common(1)[0][1] >= 3


@pytest.mark.parametrize(
    ("tool", "first", "last", "also"),
    [
        (
            "gradle",
            "BuildStarted",
            "BuildFinished",
            {
                "BuildRequestedTasks",
                "BuildModes",
                "BuildAgent",
                "ProjectStructure",
                "Hardware",
                "Os",
                "Jvm",
                "UserTag",
                "UserLink",
                "UserNamedValue",
                "PlannedTask",
                "TaskStarted",
                "TaskFinished",
                "OutputStyledTextEvent",
            },
        ),
        (
            "maven",
            "MvnBuildStarted",
            "MvnBuildFinished",
            {
                "MvnBuildRequestedGoals",
                "MvnProjectStructure",
                "MvnGoalExecutionStarted",
                "MvnGoalExecutionFinished",
                "MvnTestStarted",
                "MvnTestFinished",
            },
        ),
        (
            "bazel",
            "BzlBuildStarted",
            "BzlBuildFinished",
            {"BzlTarget", "BzlTargetCompleted", "BzlTestStarted"},
        ),
        (
            "npm",
            "NpmBuildStarted",
            "NpmBuildFinished",
            {"NpmBuildAgent", "NpmPackage", "NpmUserNamedValue"},
        ),
    ],
)
def test_each_build_tool_has_its_own_event_names(
    client: httpx.Client,
    builds: list[dict[str, Any]],
    tool: str,
    first: str,
    last: str,
    also: set[str],
) -> None:
    types = [e["type"]["eventType"] for e in events(client, first_build(builds, tool))]
    assert (types[0], types[-1]) == (first, last)
    assert also <= set(types)


def test_event_timestamps_never_go_backwards_and_precede_publication(
    client: httpx.Client, builds: list[dict[str, Any]]
) -> None:
    build = next(b for b in builds if b["buildId"] == first_build(builds, "gradle"))
    stamps = [e["timestamp"] for e in events(client, build["buildId"])]
    assert stamps == sorted(stamps)
    assert stamps[-1] < build["timestamp"]


def test_task_outcomes_are_the_event_models_lowercase_values(
    client: httpx.Client, builds: list[dict[str, Any]]
) -> None:
    gradle = [b["buildId"] for b in builds if b["toolType"] == "gradle" and not b["eventCount"]][:8]
    outcomes = {
        e["data"]["outcome"]
        for build_id in gradle
        for e in events(client, build_id, "TaskFinished")
    }
    assert outcomes <= TASK_OUTCOMES
    assert {"success", "from_cache", "up_to_date"} <= outcomes


def test_every_task_that_started_finished_with_the_same_id(
    client: httpx.Client, builds: list[dict[str, Any]]
) -> None:
    tasks = events(client, first_build(builds, "gradle"), "TaskStarted,TaskFinished")
    started = [e["data"]["id"] for e in tasks if e["type"]["eventType"] == "TaskStarted"]
    finished = [e["data"]["id"] for e in tasks if e["type"]["eventType"] == "TaskFinished"]
    assert started == finished


def test_a_successful_gradle_build_finishes_without_a_failure(
    client: httpx.Client, builds: list[dict[str, Any]]
) -> None:
    finished = events(client, first_build(builds, "gradle"), "BuildFinished")
    assert finished[0]["data"] == {"failure": None, "failureId": None}


def test_a_failed_gradle_build_names_its_failure_in_exception_data(
    client: httpx.Client, builds: list[dict[str, Any]]
) -> None:
    build_id = first_build(builds, "gradle", failed=True)
    found = events(client, build_id, "ExceptionData,BuildFinished,TaskFinished")
    exceptions = next(e for e in found if e["type"]["eventType"] == "ExceptionData")["data"][
        "exceptions"
    ]
    failure_id = found[-1]["data"]["failureId"]
    assert str(failure_id) in exceptions
    assert exceptions[str(failure_id)]["message"].startswith("Execution failed for task")
    assert any(e["data"].get("outcome") == "failed" for e in found)


def test_a_failed_gradle_build_explains_itself_in_its_log(
    client: httpx.Client, builds: list[dict[str, Any]]
) -> None:
    build_id = first_build(builds, "gradle", failed=True)
    text = "".join(
        span["text"]
        for e in events(client, build_id, "OutputStyledTextEvent")
        for span in e["data"]["spans"]
    )
    assert "BUILD FAILED in" in text
    assert "* What went wrong:" in text


def test_a_failed_maven_build_lists_its_failure_ids(
    client: httpx.Client, builds: list[dict[str, Any]]
) -> None:
    finished = events(client, first_build(builds, "maven", failed=True), "MvnBuildFinished")[0][
        "data"
    ]
    assert finished["failed"] is True
    assert finished["failureIds"]


def test_a_big_build_has_over_100000_events_served_in_order(
    client: httpx.Client, builds: list[dict[str, Any]]
) -> None:
    big = next(b for b in builds if b["eventCount"])
    assert big["eventCount"] > 100_000
    with client.stream("GET", f"{V2}/build/{big['buildId']}/events") as response:
        body = b"".join(response.iter_bytes())
    last_id = body[body.rindex(b"\nid: ") + 5 :].split(b"\n", 1)[0]
    assert body.count(b"\nevent: BuildEvent\n") == big["eventCount"]
    assert int(last_id) == big["eventCount"]


def test_huge_build_events_adds_one_gradle_build_of_that_size_after_the_usual_ones() -> None:
    usual = SimConfig(seed=3, builds=4, now_ms=FIXED_NOW)
    with (
        SimulatorThread(usual) as plain,
        SimulatorThread(SimConfig(seed=3, builds=4, now_ms=FIXED_NOW,
                                  huge_build_events=40_000)) as sized,
    ):
        before = httpx.get(f"{plain.develocity_url}/_sim/develocity/builds").json()
        after = httpx.get(f"{sized.develocity_url}/_sim/develocity/builds").json()
        huge = after[-1]
        with httpx.Client(base_url=sized.develocity_url, headers=AUTH, timeout=30) as http:
            served = events(http, huge["buildId"])
    assert after[:-1] == before
    assert (huge["toolType"], huge["eventCount"], len(served)) == ("gradle", 40_000, 40_000)


# Under `utf8` every bulk line carries non-ASCII text; the build's few other lines need not.
@pytest.mark.parametrize(("log_text", "least", "most"), [("ascii", 0.0, 0.0), ("utf8", 0.9, 1.0)])
def test_log_text_sets_the_script_of_a_big_builds_log_lines_and_nothing_else(
    log_text: LogText, least: float, most: float
) -> None:
    def verbose_lines(config: SimConfig) -> tuple[list[str], list[dict[str, Any]]]:
        with SimulatorThread(config) as running, httpx.Client(
            base_url=running.develocity_url, headers=AUTH, timeout=30
        ) as http:
            huge = http.get("/_sim/develocity/builds").json()[-1]["buildId"]
            served = events(http, huge, "OutputStyledTextEvent")
        texts = [span["text"] for e in served for span in e["data"]["spans"]]
        return texts, [{**e, "data": None} for e in served]

    usual = SimConfig(seed=3, builds=1, now_ms=FIXED_NOW, huge_build_events=40_000)
    mixed_lines, mixed_events = verbose_lines(usual)
    lines, other_fields = verbose_lines(replace(usual, log_text=log_text))
    share = sum(not line.isascii() for line in lines) / len(lines)
    assert 0.05 < sum(not line.isascii() for line in mixed_lines) / len(mixed_lines) < 0.2
    assert least <= share <= most
    assert other_fields == mixed_events
