"""What a run's failures are, from what the monitor reads anyway: a Develocity build's summary
with its failure details, a BuildBuddy invocation with its targets.

A failed build is named by its failed tests and work (as `signature_name` names them: tasks and
goals with their project); one whose events name neither (an npm build, a failure before any task
ran) by its own failure, its exception class and normalised message, so that the same failure
groups across builds. Headlines come from the exception data
the summary already holds, joined on failure ids: naming failures costs no request beyond the
failure details themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from buildwatch.core.buildbuddy.models import Invocation, Target, TargetStatus
from buildwatch.core.buildbuddy.triage import enum_text, invocation_result
from buildwatch.core.develocity.failure_details import FailedItem, FailureDetails
from buildwatch.core.develocity.models import FailureInfo
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.history.codec import invocation_updated_ms
from buildwatch.core.sanitize import sanitize_line
from buildwatch.core.triage.model import Failure, Run, TriageRecord, signature_name, work_prefix
from buildwatch.core.triage.normalise import build_failure_name
from buildwatch.core.triage.work import build_requested, invocation_requested

FAILED_TARGET_STATUSES = frozenset({
    TargetStatus.FAILED, TargetStatus.TIMED_OUT, TargetStatus.FAILED_TO_BUILD,
})
"""Target statuses recorded as failures; FLAKY is recorded as one that passed on retry."""


def build_run(summary: BuildSummary) -> Run:
    """The run a summarised build is."""
    succeeded = {"success": True, "failed": False}.get(summary.outcome)
    return Run(
        source="develocity",
        run_id=summary.build_id,
        time_ms=summary.published_ms or summary.finished_ms or 0,
        succeeded=succeeded,
        project=_clean(summary.project),
        branch=_clean(summary.git_branch),
        commit=_clean(summary.git_commit),
        user=_clean(summary.user),
        work=_clean(build_requested(summary)),
    )


def build_record(summary: BuildSummary, details: FailureDetails | None) -> TriageRecord:
    """The build's run and failures: its failed tests (those that passed on retry marked) and
    work, or else the build's own failure. `details` is None where the build's events name no
    work (npm) or where it did not fail."""
    run = build_run(summary)
    if run.succeeded is not False:
        return run, ()
    decisive = _headline(summary.failure)
    failures: list[Failure] = []
    items = (details.failed_tests + details.failed_work) if details else ()
    headlines = _headlines(summary, items)
    for item in items:
        if item.failure_id in headlines:
            headline = headlines[item.failure_id]
        elif item.kind == "test":
            # Bazel's test events name no failure; their target's does.
            headline = next((headlines[work.failure_id] for work in items
                             if work.kind != "test" and work.name == item.owner
                             and work.failure_id in headlines), "")
        else:
            headline = decisive
        name = signature_name(item.kind, item.name, run.project)
        failures.append(Failure(item.kind, name, headline, item.passed_on_retry))
    if all(failure.passed_on_retry for failure in failures):
        # Nothing finer failed the build: it is known by its own failure.
        failure = summary.failure
        name = build_failure_name(failure.class_name if failure else None,
                                  failure.message if failure else None)
        failures.append(Failure("build", name, decisive))
    return run, tuple(failures)


def recorded_details(record: TriageRecord) -> FailureDetails:
    """What `build_record` recorded of a build's failure details, read back: the names of its
    failed work and tests, in the order they ran, tests that passed on retry marked. Failure ids
    and the work a test ran in are not recorded (nor are they in `FailureDetails.work` and
    `.tests`). A task or goal is named again without the project `signature_name` put first."""
    run, failures = record
    project = work_prefix(run.project)
    work: list[FailedItem] = []
    tests: list[FailedItem] = []
    for failure in failures:
        if failure.kind == "test":
            tests.append(FailedItem("test", failure.name, passed_on_retry=failure.passed_on_retry))
        elif failure.kind in ("task", "goal"):
            work.append(FailedItem(failure.kind, failure.name.removeprefix(project)))
        elif failure.kind == "target":
            work.append(FailedItem("target", failure.name))
    return FailureDetails(failed_work=tuple(work), failed_tests=tuple(tests))


def invocation_run(invocation: Invocation) -> Run:
    """The run a BuildBuddy invocation is; its project is its repository."""
    result = invocation_result(invocation)
    return Run(
        source="buildbuddy",
        run_id=invocation.invocation_id,
        time_ms=invocation_updated_ms(invocation),
        succeeded={"succeeded": True, "failed": False}.get(result),
        project=_clean(invocation.repo_url),
        branch=_clean(invocation.branch_name),
        commit=_clean(invocation.commit_sha),
        user=_clean(invocation.user),
        work=_clean(invocation_requested(invocation)),
    )


def invocation_record(invocation: Invocation, targets: Iterable[Target]) -> TriageRecord:
    """The invocation's run and its failed targets (FLAKY ones as passed on retry), in label
    order."""
    run = invocation_run(invocation)
    failures = [
        Failure("target", signature_name("target", sanitize_line(target.label), run.project),
                enum_text(target.status_name), passed_on_retry=target.status is TargetStatus.FLAKY)
        for target in sorted(targets, key=lambda target: target.label)
        if target.status in FAILED_TARGET_STATUSES or target.status is TargetStatus.FLAKY
    ]
    return run, tuple(failures)


def _headlines(summary: BuildSummary, items: Iterable[FailedItem]) -> dict[int | None, str]:
    """The headline of each failure id `items` name, from the build's exception data."""
    wanted = {item.failure_id for item in items if item.failure_id is not None}
    return {info.failure_id: _headline(info) for info in summary.failures
            if info.failure_id in wanted}


def _headline(info: FailureInfo | None) -> str:
    if info is None or not (info.class_name or info.message):
        return ""
    return build_failure_name(info.class_name, info.message)


def _clean(value: str | None) -> str | None:
    return sanitize_line(value) if value else None
