"""A build's header and triage summary as display text, made from a `BuildDetail`.

Every value is sanitised on the way in (by `BuildDetail`) or here (the summary's strings), so a
screen can show these without further care.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from buildwatch.core.develocity.detail import BuildDetail, TestResult, WorkItem
from buildwatch.core.develocity.failure_details import test_signature_name
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.durations import duration_text, ms_to_seconds
from buildwatch.core.sanitize import sanitize_line
from buildwatch.core.triage.model import FailureKind

WORK_NAMES = {"gradle": "Tasks", "maven": "Goals", "bazel": "Targets", "npm": "Tasks"}
"""What a tool's units of work are called, for tab titles."""

_LISTED = 50
GroupNote = Callable[[FailureKind, str], str | None]
"""What to say of the failure group of a failed item, by its kind and name (None: nothing)."""


def _time(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def header_pairs(
    summary: BuildSummary, scan_url: str | None, typical: str = ""
) -> list[tuple[str, str]]:
    """(label, value) pairs for a build's header, unknown values left out; `typical` is how
    long its work usually takes (`Typical.text()`), if known."""
    outcome = {"failed": "FAILED", "success": "SUCCESS"}.get(summary.outcome, "IN PROGRESS / UNKNOWN")
    tool = " ".join(part for part in (summary.tool_type, summary.tool_version) if part)
    branch_commit = " @ ".join(part for part in (summary.git_branch, (summary.git_commit or "")[:12])
                               if part)
    pairs = [
        ("outcome", outcome),
        ("duration", duration_text(ms_to_seconds(summary.duration_ms))),
        ("typical", typical),
        ("tool", tool),
        ("project", summary.project or ""),
        ("requested", " ".join(summary.requested)),
        ("scan", scan_url or ""),
        ("user", summary.user or ""),
        ("host", summary.host or ""),
        ("branch", branch_commit),
        ("tags", ", ".join(summary.tags)),
        ("started", _time(summary.started_ms)),
    ]
    return [(label, sanitize_line(value)) for label, value in pairs if value]


def _work_line(item: WorkItem) -> str:
    took = duration_text(ms_to_seconds(item.duration_ms))
    return f"  {item.path}" + (f"  ({took})" if took else "")


def _test_line(detail: BuildDetail, test: TestResult, group_note: GroupNote) -> list[str]:
    lines = [f"  {test.class_name}.{test.name}" + (f"  [{test.owner}]" if test.owner else "")]
    chain = detail.failure(test.failure_id)
    if chain is not None:
        lines.append(f"      {chain.headline}")
    note = group_note("test", test_signature_name(test))
    if note:
        lines.append(f"      {note}")
    return lines


def summary_text(
    detail: BuildDetail, work_name: str, group_note: GroupNote = lambda _kind, _name: None
) -> str:
    """The Summary tab: failures with their exception chains, then failed work and tests, each
    with what `group_note` says of its failure group, if anything."""
    summary = detail.summary()
    if summary is None:
        return "Loading the build…\n"
    lines: list[str] = []
    if summary.outcome == "failed":
        lines.append("BUILD FAILED")
    elif summary.outcome == "success":
        lines.append("BUILD SUCCESSFUL")
    else:
        lines.append("Build outcome not known yet")
    for chain in detail.build_failures():
        lines.append("")
        lines.extend(chain.lines())
    failed_work = detail.failed_work()
    if failed_work:
        lines += ["", f"Failed {work_name.lower()} ({len(failed_work)}):"]
        for item in failed_work[:_LISTED]:
            lines.append(_work_line(item))
            note = group_note(item.kind, item.path)
            if note:
                lines.append(f"      {note}")
    failed_tests = detail.failed_tests()
    if failed_tests:
        lines += ["", f"Failed tests ({len(failed_tests)}):"]
        for test in failed_tests[:_LISTED]:
            lines.extend(_test_line(detail, test, group_note))
    hidden = max(0, len(failed_work) - _LISTED) + max(0, len(failed_tests) - _LISTED)
    if hidden:
        lines.append(f"… and {hidden} more: see the tabs")
    if summary.links:
        lines += ["", "Links:"]
        lines.extend(sanitize_line(f"  {label or ''} {url or ''}") for label, url in summary.links)
    if summary.custom_values:
        lines += ["", "Custom values:"]
        lines.extend(sanitize_line(f"  {key}: {value or ''}") for key, value in summary.custom_values)
    return "\n".join(lines) + "\n"


def work_text(detail: BuildDetail, item: WorkItem) -> str:
    """What Enter on a task, goal or target shows."""
    lines = [item.path, f"outcome: {item.outcome}"]
    if item.detail:
        lines.append(f"type: {item.detail}")
    if item.duration_ms is not None:
        lines.append(f"duration: {duration_text(ms_to_seconds(item.duration_ms))}")
    if item.cacheable is not None:
        lines.append(f"cacheable: {'yes' if item.cacheable else 'no'}")
    if item.from_cache:
        lines.append("from cache: yes")
    chain = detail.failure(item.failure_id)
    if chain is not None:
        lines += ["", *chain.lines()]
    return "\n".join(lines) + "\n"


def test_text(detail: BuildDetail, test: TestResult) -> str:
    """What Enter on a test shows: its outcome, failure chain and output."""
    lines = [f"{test.class_name}.{test.name}", f"outcome: {test.outcome}"]
    if test.owner:
        lines.append(f"run by: {test.owner}")
    if test.duration_ms is not None:
        lines.append(f"duration: {duration_text(ms_to_seconds(test.duration_ms))}")
    chain = detail.failure(test.failure_id)
    if chain is not None:
        lines += ["", *chain.lines()]
    if test.output:
        lines += ["", "Output:", "".join(test.output).rstrip("\n")]
    return "\n".join(lines) + "\n"
