"""What a run's failures are recorded as, read from the simulator's triage world over HTTP: a
failed build's tests (those retried to a pass marked), tasks, goals and targets, or its own
failure when nothing finer is known; an invocation's failed and flaky targets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from triage_world import (
    buildbuddy_client,
    develocity_client,
    gradle_test,
    plain_test,
    run_id,
    scenario,
    triage_config,
)

from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.failure_details import (
    FailedItem,
    FailureDetails,
    read_failure_details,
)
from buildwatch.core.develocity.models import Build
from buildwatch.core.develocity.summary import BuildSummary, Outcome, SummaryBuilder
from buildwatch.core.develocity.summary_reader import read_summary
from buildwatch.core.triage.groups import TriageIndex
from buildwatch.core.triage.model import Failure, TriageRecord
from buildwatch.core.triage.records import build_record, invocation_record
from buildwatch.sim import SimulatorThread
from buildwatch.sim.triage import (
    BAZEL_FAILING_TEST,
    BAZEL_FLAKY_TEST,
    FLAKY_TARGET,
    GATEWAY_TARGET,
    MAVEN_FAILING_TEST,
    MAVEN_RETRIED_TEST,
    RETRIED_TEST,
    TIMEOUT_TARGET,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(triage_config()) as simulator:
        yield simulator


async def listed(client: DevelocityClient, build_id: str) -> Build:
    """The build as the listing of every build gives it."""
    [build] = [m async for m in client.builds(since=0)
               if isinstance(m, Build) and m.build_id == build_id]
    return build


async def read_build(sim: SimulatorThread, build_id: str) -> tuple[BuildSummary, FailureDetails | None]:
    """The build's summary and, as the monitor reads them for a failed build, its details."""
    async with develocity_client(sim) as client:
        builder = SummaryBuilder(await listed(client, build_id))
        await read_summary(client, builder)
        summary = builder.result()
        return summary, await read_failure_details(client, build_id, summary.tool_type)


async def record_of(sim: SimulatorThread, build_id: str) -> TriageRecord:
    return build_record(*await read_build(sim, build_id))


async def test_a_gradle_test_that_passed_on_retry_is_marked_and_not_among_the_failed_tests(
    sim: SimulatorThread,
) -> None:
    _, details = await read_build(sim, run_id(3, 0))

    assert details is not None
    [retried] = [item for item in details.failed_tests if item.name == gradle_test(RETRIED_TEST)]
    assert retried.passed_on_retry
    assert gradle_test(RETRIED_TEST) not in details.tests


class HeldPause:
    """A reader's `pause` that holds it until `released`, as a closed input gate does."""

    def __init__(self) -> None:
        self.calls = 0
        self._go = asyncio.Event()

    async def __call__(self) -> None:
        self.calls += 1
        await self._go.wait()

    async def released(self, reading: asyncio.Task[Any]) -> None:
        """Once the reader waits on its pause, check it has not finished, and let it go on."""
        while not self.calls:
            await asyncio.sleep(0.01)
        assert not reading.done()
        self._go.set()


async def test_failure_details_wait_for_their_pause_before_each_batch_and_read_the_same(
    sim: SimulatorThread,
) -> None:
    summary, unpaused = await read_build(sim, run_id(3, 0))
    pause = HeldPause()

    async with develocity_client(sim) as client:
        reading = asyncio.create_task(read_failure_details(
            client, summary.build_id, summary.tool_type, pause=pause))
        await pause.released(reading)
        assert await reading == unpaused


async def test_a_summary_waits_for_its_pause_before_each_batch_and_reads_the_same(
    sim: SimulatorThread,
) -> None:
    unpaused, _ = await read_build(sim, run_id(3, 0))
    pause = HeldPause()

    async with develocity_client(sim) as client:
        builder = SummaryBuilder(await listed(client, unpaused.build_id))
        reading = asyncio.create_task(read_summary(client, builder, pause=pause))
        await pause.released(reading)
        await reading
    assert builder.result() == unpaused


async def test_the_failed_task_is_named_as_work(sim: SimulatorThread) -> None:
    _, details = await read_build(sim, run_id(3, 0))

    assert details is not None
    assert details.work == (":web:checkstyleMain",)
    assert [item.kind for item in details.failed_work] == ["task"]


async def test_a_failed_task_is_recorded_under_its_project_and_path(sim: SimulatorThread) -> None:
    _, failures = await record_of(sim, run_id(3, 0))

    assert [f.name for f in failures if f.kind == "task"] == ["auth-gateway :web:checkstyleMain"]


async def test_a_failed_goal_is_recorded_under_its_project_and_module(sim: SimulatorThread) -> None:
    _, failures = await record_of(sim, run_id(4, 0))

    [goal] = [f.name for f in failures if f.kind == "goal"]
    assert goal.startswith("ledger-core ledger-core-") and goal.endswith("surefire:test (default-test)")


def test_one_task_path_failing_in_two_projects_is_two_groups_each_with_its_own_status() -> None:
    details = FailureDetails(failed_work=(FailedItem("task", ":core:test"),), failed_tests=())

    def build(number: int, project: str, outcome: Outcome) -> TriageRecord:
        summary = BuildSummary(f"b{number}", "gradle", "8.14", number * 1000, outcome,
                               project=project, git_commit=f"{project}-commit")
        return build_record(summary, details if outcome == "failed" else None)

    index = TriageIndex()
    # billing's commit failed and passed (flaky); search's only failed.
    for record in (build(1, "billing", "failed"), build(2, "billing", "success"),
                   build(3, "search", "failed")):
        index.add(*record)

    statuses = {group.name: (group.status, group.projects) for group in index.groups()}
    assert statuses == {"billing :core:test": ("flaky", ("billing",)),
                        "search :core:test": ("recurring", ("search",))}


async def test_a_surefire_rerun_that_passed_is_marked_and_the_failing_test_is_not(
    sim: SimulatorThread,
) -> None:
    _, failures = await record_of(sim, run_id(4, 0))

    tests = {failure.name: failure.passed_on_retry for failure in failures if failure.kind == "test"}
    assert tests == {plain_test(MAVEN_RETRIED_TEST): True, plain_test(MAVEN_FAILING_TEST): False}
    assert [f.kind for f in failures if f.kind != "test"] == ["goal"]


async def test_a_bazel_test_whose_second_attempt_passed_is_marked(sim: SimulatorThread) -> None:
    _, failures = await record_of(sim, run_id(5, 0))

    assert Failure(
        "test", plain_test(BAZEL_FLAKY_TEST), "", passed_on_retry=True
    ) in failures
    failed = [f for f in failures if not f.passed_on_retry]
    assert {(f.kind, f.name) for f in failed} == {
        ("test", plain_test(BAZEL_FAILING_TEST)), ("target", "//libs/auth:token_test"),
    }
    assert all(BAZEL_FAILING_TEST[1] in f.headline for f in failed)


async def test_a_failed_test_carries_its_normalised_exception_as_headline(sim: SimulatorThread) -> None:
    _, failures = await record_of(sim, run_id(4, 0))

    [failing] = [f for f in failures if f.name == plain_test(MAVEN_FAILING_TEST)]
    assert failing.headline == "org.opentest4j.AssertionFailedError: expected: <#> but was: <-#>"


async def test_an_npm_failure_is_one_build_failure_named_alike_in_every_run(
    sim: SimulatorThread,
) -> None:
    first, again = await record_of(sim, run_id(6, 0)), await record_of(sim, run_id(6, 2))

    assert [f.kind for f in first[1]] == ["build"]
    assert first[1] == again[1]
    assert "#" in first[1][0].name and "<tmp>" in first[1][0].name


async def test_a_build_that_passed_is_a_run_without_failures(sim: SimulatorThread) -> None:
    summary, _ = await read_build(sim, run_id(0, 0))

    run, failures = build_record(summary, None)

    assert (run.succeeded, failures) == (True, ())
    assert (run.run_id, run.project, run.commit) == (
        run_id(0, 0), "payments-service", scenario().commit(0, 0).sha
    )


async def test_a_build_is_a_run_of_its_requested_tasks(sim: SimulatorThread) -> None:
    summary, _ = await read_build(sim, run_id(2, 0))

    run, _ = build_record(summary, None)

    assert (summary.requested, run.work) == (("build",), "build")


async def test_an_invocation_is_a_run_of_its_command_and_pattern(sim: SimulatorThread) -> None:
    async with buildbuddy_client(sim) as client:
        [invocation] = [i async for i in client.invocations(commit_sha=scenario().commit(3, 0).sha)]

    run, _ = invocation_record(invocation, [])

    assert run.work == "test //..."


async def test_an_invocation_records_failed_and_timed_out_targets_and_flaky_ones_as_retried(
    sim: SimulatorThread,
) -> None:
    commit = scenario().commit(3, 0).sha
    async with buildbuddy_client(sim) as client:
        [invocation] = [i async for i in client.invocations(commit_sha=commit)]
        targets = [t async for t in client.targets(invocation.invocation_id)]

    run, failures = invocation_record(invocation, targets)

    assert {(f.name, f.headline, f.passed_on_retry) for f in failures} == {
        (FLAKY_TARGET, "flaky", True), (GATEWAY_TARGET, "failed", False),
        (TIMEOUT_TARGET, "timed out", False),
    }
    assert (run.source, run.succeeded, run.commit) == ("buildbuddy", False, commit)
    assert run.project == "https://github.com/acme/monorepo"

