"""Which tasks, goals or targets and which tests failed a build, read with one filtered request.

The build screen reads every event of a build; a script or a list of builds wants only the names
of what failed. `read_failure_details` asks for just the event types that name work and tests
(`failure_detail_event_types`), and reduces them through `BuildDetail`, the reader the build
screen uses, so both agree on what failed and how it is named (keeping only the work and tests:
no event log, no summary).

A retried test is several executions of one test in one build, each its own pair of events
(Gradle's test retry, surefire's reruns, Bazel's `--flaky_test_attempts`): one whose last
execution passed after a failed one passed on retry; it did not fail the build.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from buildwatch.core.develocity.detail import BuildDetail, TestResult

if TYPE_CHECKING:
    from buildwatch.core.develocity.client import DevelocityClient

_FAILURE_DETAIL_EVENT_TYPES_BY_TOOL: dict[str, tuple[str, ...]] = {
    "gradle": ("TaskStarted", "TaskFinished", "TestStarted", "TestFinished"),
    # A goal is named after its module, which only the project structure says.
    "maven": (
        "MvnProjectStructure",
        "MvnGoalExecutionStarted",
        "MvnGoalExecutionFinished",
        "MvnTestStarted",
        "MvnTestFinished",
    ),
    # A target's label is in BzlTarget, its outcome in BzlTargetCompleted; a test's class is
    # the suite its BzlTestStarted names as parent, its target the attempt it ran in.
    "bazel": (
        "BzlTarget",
        "BzlTargetCompleted",
        "BzlTestTargetAttemptStarted",
        "BzlTestStarted",
        "BzlTestFinished",
    ),
}
"""npm's event model has no task or test events: an npm build's failed work is not known."""


@dataclass(frozen=True)
class FailedItem:
    """A failed task, goal, target or test, with the id of its failure in the build's exception
    data when the events name one."""

    kind: Literal["task", "goal", "target", "test"]
    name: str
    """Sanitised: a task path (Gradle), a goal as `module plugin:goal (execution)` (Maven), a
    target label (Bazel); a test as `Class.method` (Gradle, Maven) or `Suite.test` (Bazel), the
    bare name without a class."""
    failure_id: int | None = None
    owner: str = ""
    """A test's task, goal or target, as `name` names work (empty if not known)."""
    passed_on_retry: bool = False
    """A test that failed, then passed on a later execution in the same build."""


@dataclass(frozen=True)
class FailureDetails:
    """The failed work and tests of a build, in the order they ran."""

    failed_work: tuple[FailedItem, ...]
    failed_tests: tuple[FailedItem, ...]
    """Every test that failed once, those that passed on retry included (and marked)."""

    @property
    def work(self) -> tuple[str, ...]:
        """The names of the failed tasks, goals or targets."""
        return tuple(item.name for item in self.failed_work)

    @property
    def tests(self) -> tuple[str, ...]:
        """The names of the tests that failed for good (not those that passed on retry)."""
        return tuple(item.name for item in self.failed_tests if not item.passed_on_retry)


def failure_detail_event_types(tool_type: str | None) -> tuple[str, ...]:
    """The event types naming a `tool_type` build's work and tests; none for a tool without
    such events (npm) or an unknown one."""
    return _FAILURE_DETAIL_EVENT_TYPES_BY_TOOL.get(tool_type or "", ())


async def read_failure_details(
    client: DevelocityClient,
    build_id: str,
    tool_type: str | None,
    *,
    attempts: int | None = None,
    pause: Callable[[], Awaitable[None]] | None = None,
) -> FailureDetails | None:
    """The failed work and tests of a build, from one request for their event types only.

    None, without a request, for a tool whose events name no work or tests. Raises what the
    client raises (`UnavailableError` once `attempts` connections in a row failed, by default
    the client's `max_failures`). `pause`, if given, is awaited before each batch is taken
    in (and the next one read): a failed build can bring thousands of events, and the monitor
    holds them while a key is answered.
    """
    event_types = failure_detail_event_types(tool_type)
    if not event_types:
        return None
    detail = BuildDetail(work_only=True)
    async with aclosing(client.event_batches(build_id, event_types, attempts=attempts)) as batches:
        async for batch in batches:
            if pause is not None:
                await pause()
            detail.add(batch)
    return FailureDetails(
        failed_work=tuple(
            FailedItem(item.kind, item.path, item.failure_id) for item in detail.failed_work()
        ),
        failed_tests=_failed_tests(detail.tests.values()),
    )


def _failed_tests(executions: Iterable[TestResult]) -> tuple[FailedItem, ...]:
    """Each test that failed at least once, in the order of its first failure; executions of
    one test are those of the same task, goal or target, class and name."""
    first_failure: dict[tuple[str, str, str], TestResult] = {}
    last_outcome: dict[tuple[str, str, str], str] = {}
    for test in executions:
        key = (test.owner, test.class_name, test.name)
        if test.outcome == "failed":
            first_failure.setdefault(key, test)
        last_outcome[key] = test.outcome
    return tuple(
        FailedItem("test", test_signature_name(test), test.failure_id, test.owner,
                   passed_on_retry=last_outcome[key] == "passed")
        for key, test in first_failure.items()
    )


def test_signature_name(test: TestResult) -> str:
    """The name a failed test is recorded under for triage: `Class.name`, or its name alone."""
    return f"{test.class_name}.{test.name}" if test.class_name else test.name
