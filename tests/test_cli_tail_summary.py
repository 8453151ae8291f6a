"""`buildwatch tail --summary` and `--summary --json` over both API versions: real processes
against the simulator (and a server whose every string is hostile)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
from hostile_server import HOSTILE, serve

from buildwatch.sim import SimConfig, SimulatorThread
from buildwatch.sim.develocity_data import build_events, build_id, plan_build
from buildwatch.sim.develocity_model import BuildSummary as Plan

pytestmark = pytest.mark.timeout(60)
SEED = 8
SUMMARY_FIELDS = [
    "buildId", "tool", "toolVersion", "outcome", "project", "user", "host", "branch", "commit",
    "requested", "tags", "startedMs", "finishedMs", "durationMs", "failure", "failedTasks",
    "failedTests",
]  # fmt: skip


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=SEED, builds=16, not_ready_s=0.0)) as running:
        yield running


def buildwatch(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ, "BUILDWATCH_DEVELOCITY_URL": url, "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token"
    }
    return subprocess.run(
        [sys.executable, "-m", "buildwatch", *args],
        env=environment, capture_output=True, text=True, timeout=30,
    )


def plans(sim: SimulatorThread) -> dict[str, Plan]:
    """What the simulator made each published build from, by id."""
    listed: list[dict[str, Any]] = httpx.get(f"{sim.develocity_url}/_sim/develocity/builds").json()
    return {
        build["buildId"]: plan_build(sim.ctx.world, index, build["timestamp"])
        for index, build in enumerate(listed)
    }


def summaries(sim: SimulatorThread, api_version: str) -> dict[str, dict[str, Any]]:
    done = buildwatch(
        sim.develocity_url, "tail", "--since", "0", "--summary", "--json",
        "--api-version", api_version,
    )
    assert (done.returncode, done.stderr) == (0, "")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return {line["buildId"]: line for line in lines}


def test_summary_json_prints_one_line_per_build_with_every_field(sim: SimulatorThread) -> None:
    printed = summaries(sim, "2")
    assert list(printed) == list(plans(sim))
    assert all(list(summary) == SUMMARY_FIELDS for summary in printed.values())


@pytest.mark.parametrize("api_version", ["1", "2"])
def test_summary_json_of_a_maven_build_names_maven_its_outcome_and_who_built_it(
    sim: SimulatorThread, api_version: str
) -> None:
    plan = next(plan for plan in plans(sim).values() if plan.tool_type == "maven")
    summary = summaries(sim, api_version)[plan.build_id]
    assert (summary["tool"], summary["toolVersion"]) == ("maven", plan.tool_version)
    assert summary["outcome"] == ("failed" if plan.failed else "succeeded")
    assert (summary["project"], summary["user"]) == (plan.project, plan.user)
    assert summary["host"].startswith(plan.host)
    assert (summary["branch"], summary["commit"]) == (plan.commit.branch, plan.commit.sha)


def test_summary_json_of_a_failed_build_names_its_failure_and_times(sim: SimulatorThread) -> None:
    plan = next(
        plan for plan in plans(sim).values()
        if plan.tool_type == "gradle" and plan.failed and not plan.target_events
    )
    summary = summaries(sim, "2")[plan.build_id]
    assert summary["outcome"] == "failed" and summary["failure"]
    assert summary["durationMs"] == summary["finishedMs"] - summary["startedMs"]
    assert summary["requested"] and summary["tags"]


def test_summary_text_of_a_maven_build_listed_over_v1_names_maven(sim: SimulatorThread) -> None:
    plan = next(plan for plan in plans(sim).values() if plan.tool_type == "maven")
    done = buildwatch(
        sim.develocity_url, "tail", "--since", "0", "--summary", "--api-version", "1"
    )
    line = next(line for line in done.stdout.splitlines() if line.startswith(plan.build_id))
    assert f"maven {plan.tool_version}" in line
    assert ("failed" if plan.failed else "success") in line


def test_summary_json_escapes_every_control_character_a_server_sends() -> None:
    done = buildwatch(serve(), "tail", "--since", "0", "--summary", "--json")
    assert done.returncode == 0
    assert done.stdout.isascii()
    assert not any(ord(c) < 0x20 and c != "\n" for c in done.stdout)
    projects = [json.loads(line)["project"] for line in done.stdout.splitlines()]
    assert HOSTILE in projects


# --- Failed tasks and tests ---------------------------------------------------------------


@pytest.fixture(scope="module")
def failing_sim() -> Iterator[SimulatorThread]:
    """Builds of which a Gradle, a Maven, a Bazel and an npm one failed."""
    with SimulatorThread(SimConfig(seed=5, builds=24, not_ready_s=0.0)) as running:
        yield running


def failed_in_events(sim: SimulatorThread, plan: Plan) -> tuple[list[str], list[str]]:
    """The failed tasks (Gradle) or goals (Maven, as `artifactId surefire:test (execution)`) and
    the failed tests as `Class.name`, straight from the events the simulator makes."""
    started: dict[object, dict[str, Any]] = {}
    artifacts: dict[object, str] = {}
    tasks, tests = [], []
    for event in build_events(plan, sim.ctx.world):
        data = cast("dict[str, Any]", event.data)
        kind = event.event_type
        if kind == "MvnProjectStructure":
            artifacts.update((project["id"], project["artifactId"]) for project in data["projects"])
        elif kind in ("TestStarted", "MvnTestStarted", "MvnGoalExecutionStarted"):
            started[(kind, data.get("task") or data.get("goalId"), data["id"])] = data
        elif kind == "TaskFinished" and data["outcome"] == "failed":
            tasks.append(data["path"])
        elif kind == "MvnGoalExecutionFinished" and data["outcome"] == "failed":
            goal = started[("MvnGoalExecutionStarted", None, data["id"])]
            tasks.append(f"{artifacts[goal['projectId']]} surefire:test ({goal['executionId']})")
        elif (kind == "TestFinished" and data["failed"]) or (
            kind == "MvnTestFinished" and data["outcome"] == "failed"
        ):
            owner = data.get("task") or data.get("goalId")
            test = started[(kind.replace("Finished", "Started"), owner, data["id"])]
            if not test.get("suite") and test["parent"] is not None:  # leaves only
                tests.append(f"{test['className']}.{test['name']}")
    return tasks, tests


def failed_bazel_in_events(sim: SimulatorThread, plan: Plan) -> tuple[list[str], list[str]]:
    """The labels of the failed targets and the failed tests as `Suite.test`, from the events."""
    labels: dict[object, str] = {}
    started: dict[object, dict[str, Any]] = {}
    targets, tests = [], []
    for event in build_events(plan, sim.ctx.world):
        data = cast("dict[str, Any]", event.data)
        if event.event_type == "BzlTarget":
            labels[data["id"]] = data["label"]
        elif event.event_type == "BzlTargetCompleted" and not data["success"]:
            targets.append(labels[data["id"]])
        elif event.event_type == "BzlTestStarted":
            started[data["id"]] = data
        elif event.event_type == "BzlTestFinished" and data["outcome"] == "failed":
            test = started[data["id"]]
            if not test["isSuite"]:
                tests.append(f"{started[test['parentId']]['name']}.{test['name']}")
    return targets, tests


def events_requests(sim: SimulatorThread, build_id: str) -> list[str]:
    """The query of every request made for the build's events so far."""
    return [r.query for r in sim.requests if r.path.endswith(f"/build/{build_id}/events")]


def failed_plan(sim: SimulatorThread, tool: str) -> Plan:
    return next(plan for plan in plans(sim).values() if plan.tool_type == tool and plan.failed)


def test_summary_json_of_a_failed_gradle_build_lists_its_failed_task_and_tests(
    failing_sim: SimulatorThread,
) -> None:
    plan = next(
        plan for plan in plans(failing_sim).values()
        if plan.tool_type == "gradle" and plan.failed
        and failed_in_events(failing_sim, plan)[1]
    )
    summary = summaries(failing_sim, "2")[plan.build_id]
    tasks, tests = failed_in_events(failing_sim, plan)
    assert tasks and (summary["failedTasks"], summary["failedTests"]) == (tasks, tests)


@pytest.mark.parametrize("api_version", ["1", "2"])
def test_summary_json_of_a_failed_maven_build_lists_its_failed_goal_and_test(
    failing_sim: SimulatorThread, api_version: str
) -> None:
    plan = failed_plan(failing_sim, "maven")
    summary = summaries(failing_sim, api_version)[plan.build_id]
    tasks, tests = failed_in_events(failing_sim, plan)
    assert tasks and tests
    assert (summary["failedTasks"], summary["failedTests"]) == (tasks, tests)


def test_summary_json_of_a_failed_bazel_build_lists_its_failed_target_and_test(
    failing_sim: SimulatorThread,
) -> None:
    plan = failed_plan(failing_sim, "bazel")
    summary = summaries(failing_sim, "2")[plan.build_id]
    targets, tests = failed_bazel_in_events(failing_sim, plan)
    assert targets and tests
    assert (summary["failedTasks"], summary["failedTests"]) == (targets, tests)


def test_the_failed_work_of_a_failed_build_costs_one_request_for_its_tools_work_and_tests(
    failing_sim: SimulatorThread,
) -> None:
    plan = failed_plan(failing_sim, "gradle")
    before = len(events_requests(failing_sim, plan.build_id))
    summaries(failing_sim, "2")
    asked = {query for query in events_requests(failing_sim, plan.build_id)[before:]}
    assert len(asked) == 2
    assert "eventTypes=TaskStarted,TaskFinished,TestStarted,TestFinished" in asked


def test_a_build_that_did_not_fail_has_no_failed_work_and_costs_no_extra_request(
    failing_sim: SimulatorThread,
) -> None:
    plan = next(plan for plan in plans(failing_sim).values() if not plan.failed)
    before = len(events_requests(failing_sim, plan.build_id))
    summary = summaries(failing_sim, "2")[plan.build_id]
    asked = {query for query in events_requests(failing_sim, plan.build_id)[before:]}
    assert (summary["outcome"], summary["failedTasks"], summary["failedTests"]) == (
        "succeeded", [], []
    )
    assert len(asked) == 1


def test_a_failed_npm_build_has_no_known_failed_work_and_costs_no_extra_request(
    failing_sim: SimulatorThread,
) -> None:
    plan = failed_plan(failing_sim, "npm")
    before = len(events_requests(failing_sim, plan.build_id))
    summary = summaries(failing_sim, "2")[plan.build_id]
    asked = {query for query in events_requests(failing_sim, plan.build_id)[before:]}
    assert (summary["outcome"], summary["failedTasks"], summary["failedTests"]) == (
        "failed", None, None
    )
    assert len(asked) == 1


def test_summary_json_leaves_out_a_test_that_passed_on_retry() -> None:
    with SimulatorThread(
        SimConfig(seed=SEED, builds=7, not_ready_s=0.0, world="triage")
    ) as triage:
        printed = summaries(triage, "2")
    gradle_retry = printed[build_id(SEED, 3)]

    assert gradle_retry["failedTasks"] == [":web:checkstyleMain"]
    assert gradle_retry["failedTests"] == []
