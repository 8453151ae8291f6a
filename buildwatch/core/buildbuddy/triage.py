"""What an invocation's screen shows, as safe display strings: its header, targets and files.

Every value here came from the BuildBuddy server, so each passes through the sanitiser once, here,
before any widget sees it. Targets sort failures first (`Target.triage_rank`); files are listed
one row per file, with actions that left none getting a row of their own.

The server never updates a target Bazel skipped or aborted (`--nokeep_going` after a failure, an
interrupt): it stays BUILDING after the invocation finished. Once the invocation is no longer in
progress, such a target is shown as not built, among the skipped ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from buildwatch.core.buildbuddy.models import (
    TRIAGE_ORDER,
    Action,
    File,
    Invocation,
    InvocationStatus,
    Target,
    TargetStatus,
)
from buildwatch.core.sanitize import sanitize_line

FAILED_STATUSES = frozenset({
    TargetStatus.FAILED, TargetStatus.FAILED_TO_BUILD, TargetStatus.TIMED_OUT,
    TargetStatus.TOOL_FAILED, TargetStatus.FLAKY,
})
PASSED_STATUSES = frozenset({TargetStatus.PASSED, TargetStatus.BUILT})
NOT_BUILT = "not built"
"""The status shown for a target still BUILDING once its invocation has finished."""
_NO_STATUS = "no status"

InvocationResult = Literal["running", "succeeded", "failed", "cancelled", "disconnected", "unknown"]
"""How an invocation stands: still running, or how it ended as far as the server knows."""

_HEADLINES: dict[InvocationResult, str] = {
    "running": "IN PROGRESS", "succeeded": "SUCCESS", "failed": "FAILED",
    "cancelled": "CANCELLED", "disconnected": "DISCONNECTED", "unknown": "UNKNOWN",
}


def invocation_result(invocation: Invocation) -> InvocationResult:
    """How `invocation` stands, from every field the server filled in.

    `invocationStatus` exists only on servers since late 2024 and `bazelExitCode` since mid
    2023; `success` and the exit code are set when the invocation ends, and zero values are
    left out of the JSON. So a run with neither a status nor a result is still going on, one
    with a duration but no `success` ended without succeeding, and one whose status this
    client does not know is judged by its result fields alone. Bazel's INTERRUPTED exit (Ctrl-C,
    a CI job superseded) is a cancellation, not a failure; a disconnected run lost its build
    events before the end, whatever result was filled in for it.
    """
    status = invocation.status
    if status is InvocationStatus.PARTIAL_INVOCATION_STATUS:
        return "running"
    if status is InvocationStatus.DISCONNECTED_INVOCATION_STATUS:
        return "disconnected"
    exit_code = invocation.bazel_exit_code.upper()
    if invocation.success or exit_code == "SUCCESS":
        return "succeeded"
    if exit_code == "INTERRUPTED":
        return "cancelled"
    if exit_code or status is InvocationStatus.COMPLETE_INVOCATION_STATUS:
        return "failed"
    if status is InvocationStatus.UNKNOWN_INVOCATION_STATUS:
        return "failed" if invocation.duration is not None else "running"
    return "unknown"


def is_running(invocation: Invocation) -> bool:
    """Whether the server is still receiving the invocation's build events, as far as it says."""
    return invocation_result(invocation) == "running"


def enum_text(name: str) -> str:
    """A proto or Bazel enum name in words, `BUILD_FAILURE` -> `build failure`: users never see
    an enum's raw name. Sanitised before it is lowered: lowering first turns an escape sequence's
    final byte into another one's, and the sanitiser would leave part of it behind."""
    return sanitize_line(name).replace("_", " ").lower()


def duration_text(value: timedelta | None) -> str:
    """`12.5s`, `3m07s`, `2h05m`; empty when unknown."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, second = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{second:02d}s"
    hours, minute = divmod(minutes, 60)
    return f"{hours}h{minute:02d}m"


def size_text(count: int) -> str:
    """`216 B`, `7.0 MB`; empty for zero or unknown."""
    if count <= 0:
        return ""
    value, unit = float(count), "B"
    for larger in ("kB", "MB", "GB", "TB"):
        if value < 1000:
            break
        value, unit = value / 1000, larger
    return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"


def invocation_header(
    invocation: Invocation, web_url: str | None, *, last_seen: bool = False, typical: str = ""
) -> list[tuple[str, str]]:
    """(label, value) pairs for the header, in reading order; unknown values are left out.

    `last_seen` when `invocation` is a stored state rather than the server's answer: a run
    seen in progress is then not claimed to be going on still. `typical` is how long its
    command and pattern usually take (`Typical.text()`), if known.
    """
    result = invocation_result(invocation)
    outcome = _HEADLINES[result]
    if result in ("failed", "cancelled") and invocation.bazel_exit_code:
        outcome += f" ({enum_text(invocation.bazel_exit_code)})"
    if result == "running" and last_seen:
        outcome += " (when last seen)"
    pairs = [
        ("status", outcome),
        ("duration", duration_text(invocation.duration)),
        ("typical", typical),
        ("command", f"bazel {invocation.command} {invocation.pattern}".strip()),
        ("actions", str(invocation.action_count) if invocation.action_count else ""),
        ("link", web_url or ""),
        ("user", invocation.user),
        ("host", invocation.host),
        ("role", invocation.role),
        ("repo", invocation.repo_url),
        ("branch", invocation.branch_name),
        ("commit", invocation.commit_sha[:12]),
    ]
    return [(label, sanitize_line(value)) for label, value in pairs if value]


@dataclass(frozen=True)
class TargetRow:
    """A target as its table row shows it."""

    key: str
    label: str
    status: str
    rule_type: str
    language: str
    duration: str
    duration_s: float | None
    tags: str
    rank: int
    failed: bool
    passed: bool


def target_row(target: Target, *, invocation_finished: bool) -> TargetRow:
    """The display form of a target; `invocation_finished` when its invocation is no longer in
    progress (`not is_running(invocation)`), which turns a target left BUILDING into "not built"."""
    duration = target.timing.duration if target.timing else None
    status, rank = target_status_text(target), target.triage_rank
    if invocation_finished and target.status is TargetStatus.BUILDING:
        status, rank = NOT_BUILT, TRIAGE_ORDER.index(TargetStatus.SKIPPED)
    return TargetRow(
        key=sanitize_line(target.target_id or target.label),
        label=sanitize_line(target.label),
        status=status,
        rule_type=sanitize_line(target.rule_type),
        language=sanitize_line(target.language),
        duration=duration_text(duration),
        duration_s=duration.total_seconds() if duration else None,
        tags=sanitize_line(",".join(target.tags)),
        rank=rank,
        failed=target.status in FAILED_STATUSES,
        passed=target.status in PASSED_STATUSES,
    )


def target_status_text(target: Target) -> str:
    """A target's status in words (`failed to build`), the server's own name for one this
    client does not know."""
    if target.status is TargetStatus.STATUS_UNSPECIFIED:
        return _NO_STATUS
    return enum_text(target.status_name)


@dataclass(frozen=True)
class FileRow:
    """A file an action left, or an action without files (`file` None), as a table row."""

    key: str
    target: str
    action: str
    name: str
    size: str
    size_bytes: int
    file: File | None


def file_rows(action: Action) -> list[FileRow]:
    """The rows of one action: one per file, or one for the action itself."""
    target = sanitize_line(action.target_label)
    kind = sanitize_line(action.kind)
    base = f"{action.target_id}/{action.configuration_id}/{action.action_id}"
    if not action.files:
        return [FileRow(base, target, kind, "", "", 0, None)]
    return [
        FileRow(f"{base}/{index}", target, kind, sanitize_line(file.name), size_text(file.size_bytes),
                file.size_bytes, file)
        for index, file in enumerate(action.files)
    ]
