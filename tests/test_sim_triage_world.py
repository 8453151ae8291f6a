"""The simulator's triage world: builds whose failures follow the script lane by lane, and
BuildBuddy invocations on the same commits with flaky and failed targets."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from sim_sse import parse_sse
from test_sim_cli import url_of
from triage_world import BUILDS, SEED, buildbuddy_client, scenario, triage_config

from buildwatch.core.buildbuddy.models import TargetStatus
from buildwatch.sim import Simulator
from buildwatch.sim.develocity_data import build_events
from buildwatch.sim.develocity_model import BuildSummary
from buildwatch.sim.triage import (
    FLAKY_TARGET,
    FLAKY_TEST,
    LANES,
    NEW_RUNS,
    NEW_TEST,
    RECURRING_TEST,
    RETRIED_TEST,
    TOKENS_TARGET,
)
from buildwatch.sim.world import World

pytestmark = pytest.mark.timeout(60)
RUNS = BUILDS // LANES


def lane_runs(lane: int) -> list[tuple[int, int]]:
    """(index, run) of every backfill build of `lane`."""
    return [(lane + run * LANES, run) for run in range(RUNS)]


def requested(plan: BuildSummary) -> list[str]:
    """The tasks the build's BuildRequestedTasks event asks for."""
    [event] = [e for e in build_events(plan, World(SEED)) if e.event_type == "BuildRequestedTasks"]
    return list(event.data["requested"])


def test_the_triage_world_is_the_same_for_a_seed() -> None:
    first, again = scenario(), scenario()

    assert [first.plan_build(i, 0) for i in range(BUILDS)] == [
        again.plan_build(i, 0) for i in range(BUILDS)
    ]
    assert [p.invocation_id for p in first.invocations(0, 3_600_000)] == [
        p.invocation_id for p in again.invocations(0, 3_600_000)
    ]


def test_the_recurring_test_fails_every_third_run_each_on_a_commit_of_its_own() -> None:
    plans = [scenario().plan_build(index, 0) for index, _ in lane_runs(0)]

    assert [plan.failed for plan in plans] == [run % 3 == 1 for run in range(RUNS)]
    assert all(plan.script and plan.script.failing_tests == (RECURRING_TEST,)
               for plan in plans if plan.failed)
    assert len({plan.commit.sha for plan in plans}) == RUNS


def test_the_new_test_fails_only_in_the_last_runs_of_the_backfill() -> None:
    plans = [scenario().plan_build(index, 0) for index, _ in lane_runs(1)]

    assert [plan.failed for plan in plans] == [run >= RUNS - NEW_RUNS for run in range(RUNS)]
    assert plans[-1].script and plans[-1].script.failing_tests == (NEW_TEST,)


def test_the_flaky_test_fails_then_passes_on_one_commit() -> None:
    first, second = (scenario().plan_build(index, 0) for index, _ in lane_runs(2)[:2])

    assert first.commit == second.commit
    assert first.script and first.script.failing_tests == (FLAKY_TEST,)
    assert (first.failed, second.failed) == (True, False)


def test_the_flaky_tests_pass_is_a_ci_rerun_of_the_same_requested_tasks() -> None:
    first, second = (scenario().plan_build(index, 0) for index, _ in lane_runs(2)[:2])

    assert first.on_ci and second.on_ci
    assert requested(first) == requested(second) == ["build"]


def test_a_retried_gradle_test_runs_twice_in_its_task_failing_then_passing() -> None:
    plan = scenario().plan_build(3, 0)
    events = list(build_events(plan, World(SEED)))
    started = {
        (e.data["task"], e.data["id"]): e.data for e in events
        if e.event_type == "TestStarted" and e.data["className"] == RETRIED_TEST[0]
        and e.data["name"] == f"{RETRIED_TEST[1]}()"
    }
    outcomes = [
        e.data["failed"] for e in events
        if e.event_type == "TestFinished" and (e.data["task"], e.data["id"]) in started
    ]

    assert outcomes == [True, False]
    assert len({task for task, _ in started}) == 1


async def test_buildbuddy_has_flaky_and_failed_targets_on_the_commits_of_bazel_builds() -> None:
    simulator = Simulator(triage_config())
    await simulator.start()
    try:
        commit = scenario().plan_build(5, 0).commit.sha
        async with buildbuddy_client(simulator) as client:
            [invocation] = [i async for i in client.invocations(commit_sha=commit)]
            statuses = {t.label: t.status async for t in client.targets(invocation.invocation_id)}
    finally:
        await simulator.stop()

    assert statuses[FLAKY_TARGET] is TargetStatus.FLAKY
    assert statuses[TOKENS_TARGET] is TargetStatus.FAILED


def test_sim_world_triage_serves_the_lanes_builds() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "sim", "--world", "triage", "--builds", "7",
         "--seed", str(SEED)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        url = url_of(process.stdout.readline(), "Develocity")
        response = httpx.get(
            f"{url}/build-export/v2/builds/since/0", headers={"Authorization": "Bearer sim-token"}
        )
    finally:
        process.kill()
        process.communicate()

    tools = [json.loads(message.data)["toolType"] for message in parse_sse(response.text)]
    assert tools == ["gradle"] * 4 + ["maven", "bazel", "npm"]
