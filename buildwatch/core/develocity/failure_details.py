"""Which tasks, goals or targets and which tests failed a build, read with one filtered request.

The build screen reads every event of a build; a script or a list of builds wants only the names
of what failed. `read_failure_details` asks for just the event types that name work and tests
(`failure_detail_event_types`), and reduces them through `BuildDetail`, the reader the build
screen uses, so both agree on what failed and how it is named.
"""

from __future__ import annotations

from contextlib import aclosing
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
    # the suite its BzlTestStarted names as parent.
    "bazel": ("BzlTarget", "BzlTargetCompleted", "BzlTestStarted", "BzlTestFinished"),
}
"""npm's event model has no task or test events: an npm build's failed work is not known."""


@dataclass(frozen=True)
class FailureDetails:
    """The failed work and tests of a build, in the order they ran."""

    work: tuple[str, ...]
    """Task paths (Gradle), goals as `module plugin:goal (execution)` (Maven), target labels
    (Bazel)."""
    tests: tuple[str, ...]
    """`Class.method` (Gradle, Maven), `Suite.test` (Bazel); the bare name without a class."""


def failure_detail_event_types(tool_type: str | None) -> tuple[str, ...]:
    """The event types naming a `tool_type` build's work and tests; none for a tool without
    such events (npm) or an unknown one."""
    return _FAILURE_DETAIL_EVENT_TYPES_BY_TOOL.get(tool_type or "", ())


async def read_failure_details(
    client: DevelocityClient, build_id: str, tool_type: str | None
) -> FailureDetails | None:
    """The failed work and tests of a build, from one request for their event types only.

    None, without a request, for a tool whose events name no work or tests. Raises what the
    client raises.
    """
    event_types = failure_detail_event_types(tool_type)
    if not event_types:
        return None
    detail = BuildDetail()
    async with aclosing(client.event_batches(build_id, event_types)) as batches:
        async for batch in batches:
            detail.add(batch)
    return FailureDetails(
        work=tuple(item.path for item in detail.failed_work()),
        tests=tuple(map(_test_name, detail.failed_tests())),
    )


def _test_name(test: TestResult) -> str:
    return f"{test.class_name}.{test.name}" if test.class_name else test.name
