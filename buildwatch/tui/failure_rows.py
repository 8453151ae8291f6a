"""How failure groups look: their table's columns and rows, their status as a word, and the one
sentence that sums a group up ("failed in 7 builds since Mon 09:12 on 2 branches; flaky").

Statuses are words first (`NEW`, `FLAKY`, `recurring`), in one of the 16 basic colours on top, so
they read the same in a 16-colour terminal and without colour. Every name, branch and headline
came from a server: `TableModel` sanitises cells, and `group_summary` sanitises what it quotes.
"""

from __future__ import annotations

import time

from rich.style import Style
from rich.text import Text

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.history.codec import invocation_updated_ms
from buildwatch.core.monitor.store import BuildEntry
from buildwatch.core.sanitize import sanitize_line
from buildwatch.core.triage.groups import FailureGroup
from buildwatch.core.triage.model import STATUS_WORDS, STATUSES, FailureKind, GroupStatus
from buildwatch.tui.rows import relative_time
from buildwatch.tui.widgets.table_model import Column, TableRow

GROUP_COLUMNS = (
    Column("status", "Status", width=9),
    Column("kind", "Kind", width=6, hide_order=4),
    Column("name", "Name", min_width=20, share=4),
    Column("count", "Count", width=5, align="right"),
    Column("branches", "Branches", min_width=8, share=1, hide_order=3),
    Column("first", "First seen", width=10, align="right", hide_order=1),
    Column("last", "Last seen", width=11, align="right"),
    Column("headline", "Headline", min_width=12, share=3, hide_order=2),
)
"""In a narrow terminal the first sighting goes first, then the headline (the group's screen
shows both): status, name, count and last sighting stay."""

RUN_COLUMNS = (
    Column("source", "Run", width=10),
    Column("id", "Id", min_width=13, share=2),
    Column("project", "Project", min_width=8, share=1, hide_order=3),
    Column("branch", "Branch", min_width=6, share=1, hide_order=1),
    Column("commit", "Commit", width=8),
    Column("beside", "Other tool, same commit", min_width=28, share=6),
    Column("user", "User", min_width=6, hide_order=2),
    Column("when", "When", width=9, align="right"),
)
"""A group's builds and invocations, each beside what the other tool failed on its commit; in a
narrow terminal the branch, user and project go first."""

_STYLES: dict[GroupStatus, Style] = {
    "new": Style(color="red", bold=True), "flaky": Style(color="yellow", bold=True),
}
_BADGES = {status: Text(STATUS_WORDS[status], style=_STYLES.get(status, Style()))
           for status in STATUSES}
_STATUS_PLACES = {status: place for place, status in enumerate(STATUSES)}
"""Each status's place when sorting by status: the ones to act on first."""
_WEEK_MS = 7 * 86_400_000


def group_key(kind: FailureKind, name: str) -> str:
    """A group's row key: its kind (one word), a space, its name."""
    return f"{kind} {name}"


def status_badge(status: GroupStatus) -> Text:
    """The status as its word, coloured (one shared `Text` per status: cells are never
    changed in place)."""
    return _BADGES[status]


def group_row(group: FailureGroup, now_ms: int) -> TableRow:
    """The table row of a group."""
    cells = (
        status_badge(group.status),
        group.kind,
        group.name,
        f"{group.count:,}",
        ", ".join(group.branches) or "-",
        relative_time(group.first_seen_ms, now_ms),
        relative_time(group.last_seen_ms, now_ms),
        group.headline,
    )
    sort_values = (
        _STATUS_PLACES[group.status],
        group.kind,
        group.name.casefold(),
        # Ties go to the other order, as in `TriageIndex.groups`.
        (group.count, group.last_seen_ms),
        ", ".join(group.branches).casefold(),
        group.first_seen_ms,
        (group.last_seen_ms, group.count),
        group.headline.casefold(),
    )
    return TableRow(group_key(group.kind, group.name), cells, sort_values)


def build_run_row(build_id: str, entry: BuildEntry | None, beside: str, now_ms: int) -> TableRow:
    """The row of a build a group failed in; what the store knows of it (it may know nothing
    yet, while the history loads), and `beside`, what the other tool failed on its commit."""
    summary = entry.summary if entry is not None else None
    published = entry.published_ms if entry is not None else None
    return _run_row(
        "build", build_id, published, now_ms, beside,
        (summary.project, summary.git_branch, summary.git_commit, summary.user)
        if summary is not None else (None, None, None, None),
    )


def invocation_run_row(
    invocation_id: str, invocation: Invocation | None, beside: str, now_ms: int
) -> TableRow:
    """The row of an invocation a group failed in, beside what the other tool failed on its
    commit."""
    if invocation is None:
        return _run_row("invocation", invocation_id, None, now_ms, beside,
                        (None, None, None, None))
    return _run_row(
        "invocation", invocation_id, invocation_updated_ms(invocation) or None, now_ms, beside,
        (invocation.repo_url, invocation.branch_name, invocation.commit_sha, invocation.user),
    )


def run_key(source: str, run_id: str) -> str:
    """A run's row key: `build` or `invocation`, a space, its id."""
    return f"{source} {run_id}"


def _run_row(source: str, run_id: str, when_ms: int | None, now_ms: int, beside: str,
             about: tuple[str | None, str | None, str | None, str | None]) -> TableRow:
    project, branch, commit, user = (value or "-" for value in about)
    beside = beside or "-"
    cells = (source, run_id, project, branch, commit[:8], beside, user,
             relative_time(when_ms, now_ms))
    sort_values = (source, run_id, project, branch, commit, beside.casefold(), user, when_ms)
    return TableRow(run_key(source, run_id), cells, sort_values)


def moment_text(epoch_ms: int, now_ms: int) -> str:
    """A time in local time, as on-call people say it: `Mon 09:12` within the week before
    `now_ms`, else `Nov 23`."""
    moment = time.localtime(epoch_ms / 1000)
    if now_ms - epoch_ms < _WEEK_MS:
        return time.strftime("%a %H:%M", moment)
    return time.strftime("%b %d", moment)


def group_summary(group: FailureGroup, now_ms: int) -> str:
    """One sanitised sentence: how often, since when, where, and the status in words."""
    runs = []
    if group.builds:
        runs.append(_plural(len(group.builds), "build"))
    if group.invocations:
        runs.append(_plural(len(group.invocations), "invocation"))
    sentence = f"failed in {' and '.join(runs) or '0 runs'} since "
    sentence += moment_text(group.first_seen_ms, now_ms)
    if group.branches:
        sentence += " on " + (
            sanitize_line(group.branches[0]) if len(group.branches) == 1
            else _plural(len(group.branches), "branch", "branches")
        )
    sentence += "; " + group.status
    if group.broken_since:
        sentence += f", broken since {sanitize_line(group.broken_since)}"
    return sentence


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else many or one + 's'}"
