"""How a build and an invocation look as table rows: columns, cells, sort values.

Outcomes are words with a symbol, and colour only on top. Relative times are computed against
`now_ms`, which the screen passes in (a frozen clock gives stable screenshots). A row holds the
pane's usual columns (`buildwatch.core.columns.USUAL_COLUMNS`), then the others its saved views
show (`extra_cell`), read through the query's fields so that a column and a query read a
custom value alike. What a build's summary tells shows `…` until the summary arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from rich.style import Style
from rich.text import Text

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.buildbuddy.triage import InvocationResult, invocation_result, is_running
from buildwatch.core.columns import USUAL_COLUMNS, custom_value_name
from buildwatch.core.durations import duration_text, rough_duration_text
from buildwatch.core.links import build_scan_url, invocation_url
from buildwatch.core.monitor.store import BuildEntry, relative_seconds
from buildwatch.core.query import PANE_FIELDS, Pane
from buildwatch.core.query.fields import KeyedField, TextField
from buildwatch.core.query.folded import casefolded
from buildwatch.core.sanitize import sanitize_line
from buildwatch.core.shared_values import shared
from buildwatch.core.triage.typical_durations import Typical, invocation_duration_ms
from buildwatch.tui.widgets.table_model import Cell, Column, Link, TableRow

# In a narrow terminal the columns with a hide_order go first, lowest first: what an on-call
# reader needs (outcome, what was built, how long, how recent) stays.
_COLUMNS: dict[Pane, dict[str, Column]] = {
    "builds": {column.key: column for column in (
        Column("outcome", "Outcome", width=11),
        Column("id", "Build", width=13),
        Column("project", "Project", min_width=8, share=2),
        Column("tool", "Tool", width=14, hide_order=3),
        Column("requested", "Requested", min_width=10, share=3),
        Column("user", "User", min_width=6, hide_order=4),
        Column("host", "Host", min_width=6, hide_order=1),
        Column("branch", "Branch", min_width=6, hide_order=5),
        Column("commit", "Commit", width=8, hide_order=5),
        Column("tag", "Tags", min_width=4, hide_order=2),
        Column("duration", "Duration", width=11, align="right"),
        Column("published", "Published", width=11, align="right"),
    )},
    "invocations": {column.key: column for column in (
        Column("status", "Status", width=14),
        Column("id", "Invocation", min_width=10, share=2),
        Column("command", "Command", width=8),
        Column("pattern", "Pattern", min_width=8, share=3),
        Column("user", "User", min_width=6, hide_order=4),
        Column("host", "Host", min_width=6, hide_order=1),
        Column("role", "Role", width=10, hide_order=3),
        Column("branch", "Branch", min_width=6, hide_order=5),
        Column("repo", "Repository", min_width=10, share=2, hide_order=1),
        Column("duration", "Duration", width=11, align="right"),
        Column("actions", "Actions", width=7, align="right", hide_order=2),
        Column("commit", "Commit", width=8, hide_order=5),
        Column("created", "Created", width=9, align="right"),
    )},
}

BUILD_COLUMNS = tuple(_COLUMNS["builds"][key] for key in USUAL_COLUMNS["builds"])
INVOCATION_COLUMNS = tuple(_COLUMNS["invocations"][key] for key in USUAL_COLUMNS["invocations"])


def table_columns(pane: Pane, keys: Sequence[str], titles: Mapping[str, str]) -> tuple[Column, ...]:
    """The columns `keys` of `pane` (as `buildwatch.core.columns.column_key` gives them); a
    custom value's column is titled as `titles` says (its name as a view writes it)."""
    known = _COLUMNS[pane]
    return tuple(known.get(key) or Column(key, sanitize_line(titles.get(key, key)), min_width=8,
                                          share=2)
                 for key in keys)


ExtraCell = Callable[[Any], tuple[str, ...] | None]
"""How a column beyond the usual ones reads a row: its texts, None while they are unknown."""


def extra_cell(pane: Pane, key: str) -> ExtraCell:
    """How the column `key` (not one of `pane`'s usual ones) reads a row: through the query's
    field of that name, or its custom value field for `value:NAME`."""
    fields = PANE_FIELDS[pane]
    name = custom_value_name(key)
    if name is not None:
        keyed = fields["value"]
        assert isinstance(keyed, KeyedField)  # the builds pane's `value`, as `column_key` knows
        read_value = keyed.read
        return lambda row: read_value(row, name)
    field = fields[key]
    assert isinstance(field, TextField)  # every number field is a usual column
    return field.read


_FAILED = Style(color="red", bold=True)
_SUCCEEDED = Style(color="green")
_RUNNING = Style(color="yellow")
_QUIET = Style(dim=True)
_OFF_TYPICAL = Style(color="dark_orange")
_SLOW = Style(color="dark_orange", bold=True)
_TOOLS = {"gradle": "Gradle", "maven": "Maven", "bazel": "Bazel", "npm": "npm"}


_MINUTE_MS, _HOUR_MS, _DAY_MS = 60_000, 3_600_000, 86_400_000


def relative_time(epoch_ms: int | None, now_ms: int) -> str:
    """`<1m ago`, `5m ago`, `3h ago`, or `-` for an unknown time.

    Whole minutes at least, so a table of 100,000 rows is not rewritten every second.
    """
    if epoch_ms is None:
        return "-"
    if now_ms - epoch_ms < _MINUTE_MS:
        return "<1m ago"
    return shared(f"{relative_seconds((now_ms - epoch_ms) / 1000)} ago")


def next_change_ms(epoch_ms: int, now_ms: int) -> int:
    """When `relative_time(epoch_ms, ...)` will next read differently than at `now_ms`."""
    age = max(0, now_ms - epoch_ms)
    unit = _MINUTE_MS if age < _HOUR_MS else _HOUR_MS if age < _DAY_MS else _DAY_MS
    return epoch_ms + (age // unit + 1) * unit


def linked(text: str, to: Callable[[str, str], str], server: str | None) -> Cell:
    """`text` (an id from a server, sanitised here) as a terminal hyperlink (OSC 8) to its page
    on `server`, `to(server, text)`; the local terminal opens it. Plain text without a server."""
    shown = sanitize_line(text)
    return Link(shown, to, server, text) if server else shown


# One Text per outcome, shared by every row that shows it (the table copies a cell to draw it):
# a backfill builds 100,000 rows.
_UNREADABLE = Text("? unreadable", style=_QUIET)
_RETRYING = Text("… retrying", style=_QUIET)
_READING = Text("… reading", style=_QUIET)
_NOT_READ = Text("· not read", style=_QUIET)
_BUILD_OUTCOMES = {"failed": Text("✗ FAILED", style=_FAILED),
                   "success": Text("✓ succeeded", style=_SUCCEEDED)}
_UNKNOWN = Text("? unknown", style=_QUIET)
_PENDING = Text("…", style=_QUIET)
"""A cell whose text the summary, still being read, will tell."""


def build_outcome(entry: BuildEntry, *, reading: bool = True) -> Text:
    """The build's outcome as a word with a symbol (a shared Text: copy it to change it)."""
    if entry.summary is None:
        if entry.problem and not entry.retrying:
            return _UNREADABLE
        if not reading:
            return _NOT_READ
        # A read that failed for now is tried again: the build is not unreadable.
        return _RETRYING if entry.retrying else _READING
    return _BUILD_OUTCOMES.get(entry.summary.outcome, _UNKNOWN)


def duration_cell(seconds: float | None, typical: Typical | None) -> str | Text:
    """A finished run's duration, and how many times its work's typical one it took when that
    is notably more (`16m40s x2.4`)."""
    shown = shared(duration_text(seconds, unknown="-", tenths=False))
    if seconds is None or typical is None:
        return shown
    deviation = typical.deviation(int(seconds * 1000))
    if not deviation.notable:
        return shown
    ratio = deviation.ratio
    times = f"x{ratio:.1f}" if ratio < 10 else f"x{ratio:.0f}"
    return Text.assemble(shown, " ", (times, _SLOW if deviation.slow else _OFF_TYPICAL))


def build_row(
    entry: BuildEntry, now_ms: int, develocity_url: str | None, *, reading: bool = True,
    typical: Typical | None = None, extras: Sequence[ExtraCell] = (),
) -> TableRow:
    """The table row of a build: the usual columns, then `extras`. Without `reading`
    (offline), a build with no summary yet is shown as not read rather than as being read.
    With its work's `typical` duration, a build that took notably longer says how many times
    longer."""
    summary = entry.summary
    # A v1 listing does not name the tool: the summary's events do.
    tool_type = (summary.tool_type if summary else None) or entry.tool_type
    tool_name = _TOOLS.get(tool_type, tool_type) if tool_type else None
    # Joined texts and their folded forms are shared (`shared`): builds repeat them.
    tool = shared(" ".join(filter(None, (tool_name, entry.tool_version))))
    outcome = build_outcome(entry, reading=reading)
    # Offline or unreadable, a summary will not come: its cells stay blank, not pending.
    missing: Cell = _PENDING if outcome is _READING or outcome is _RETRYING else ""
    duration_s = None
    if summary is None:
        project = requested = user = host = branch = tags = missing
        duration = missing or "-"
    else:
        project, requested = _clean(summary.project), _clean(shared(" ".join(summary.requested)))
        user, host, branch = _clean(summary.user), _clean(summary.host), _clean(summary.git_branch)
        tags = _clean(shared(", ".join(summary.tags)))
        duration_s = summary.duration_ms / 1000 if summary.duration_ms is not None else None
        duration = duration_cell(duration_s, typical)
    cells = (
        outcome, linked(entry.build_id, build_scan_url, develocity_url), project, sanitize_line(tool) if tool else missing,
        requested, user, host, branch, tags, duration, relative_time(entry.published_ms, now_ms),
        *(_extra(read(entry), missing) for read in extras),
    )  # fmt: skip
    numbers = {9: -1.0 if duration_s is None else duration_s, 10: entry.published_ms or 0}
    return TableRow(entry.build_id, cells, _sort_values(cells, numbers))


_INVOCATION_STATUSES: dict[InvocationResult, tuple[str, Style]] = {
    "running": ("⟳ in progress", _RUNNING),
    "failed": ("✗ FAILED", _FAILED),
    "succeeded": ("✓ succeeded", _SUCCEEDED),
    "cancelled": ("■ cancelled", _QUIET),
    "disconnected": ("? disconnected", _QUIET),
    "unknown": ("? unknown", _QUIET),
}


def invocation_status(invocation: Invocation, *, polled: bool = True, slow: bool = False) -> Text:
    """The invocation's status as a word with a symbol; without `polled` (offline), one seen
    running is shown as such, not as running still; one running `slow` says so."""
    result = invocation_result(invocation)
    if result == "running" and not polled:
        return Text("· was running", style=_QUIET)
    if result == "running" and slow:
        return Text("⟳ SLOW", style=_SLOW)
    return Text(*_INVOCATION_STATUSES[result])


def invocation_row(
    invocation: Invocation, now_ms: int, buildbuddy_url: str | None, *, polled: bool = True,
    typical: Typical | None = None, extras: Sequence[ExtraCell] = (),
) -> TableRow:
    """The table row of an invocation: the usual columns, then `extras`; `polled` as in
    `invocation_status`. A running one shows
    how long it has run, against its work's `typical` duration when known (`4m12s/~3m`), and
    is marked SLOW past `SLOW_RATIO` times it; a finished one as `duration_cell` says."""
    key = invocation.invocation_id
    running = polled and is_running(invocation)
    elapsed_ms = invocation_duration_ms(invocation, now_ms) if running else None
    slow = typical is not None and elapsed_ms is not None and typical.deviation(elapsed_ms).slow
    status = invocation_status(invocation, polled=polled, slow=slow)
    duration = _seconds(invocation.duration) if elapsed_ms is None else elapsed_ms / 1000
    shown = (_elapsed_cell(elapsed_ms, typical) if elapsed_ms is not None
             else duration_cell(duration, typical))
    created_ms = (
        int(invocation.created_at.timestamp() * 1000) if invocation.created_at else None
    )
    cells = (
        status,
        linked(key, invocation_url, buildbuddy_url),
        _clean(invocation.command),
        _clean(invocation.pattern),
        _clean(invocation.user),
        _clean(invocation.host),
        _clean(invocation.role),
        shown,
        str(invocation.action_count),
        _clean(invocation.commit_sha[:7]),
        relative_time(created_ms, now_ms),
        *(_extra(read(invocation), "") for read in extras),
    )
    numbers = {
        7: -1.0 if duration is None else duration, 8: invocation.action_count, 10: created_ms or 0,
    }
    return TableRow(key, cells, _sort_values(cells, numbers))


def _elapsed_cell(elapsed_ms: int, typical: Typical | None) -> str | Text:
    """A running invocation's time so far, against its work's typical duration if known."""
    elapsed = duration_text(elapsed_ms / 1000, tenths=False)
    if typical is None:
        return Text(elapsed, style=_RUNNING)
    return Text.assemble((elapsed, _RUNNING), (f"/{rough_duration_text(typical.p50_ms / 1000)}",
                                               _QUIET))


def _extra(texts: tuple[str, ...] | None, missing: Cell) -> Cell:
    """A column beyond the usual ones: its texts, sanitised, or `missing` while unknown."""
    return missing if texts is None else _clean(", ".join(texts))


def _sort_values(cells: tuple[Cell, ...], numbers: dict[int, float]) -> tuple[object, ...]:
    """Text columns sort by their text ignoring case, pending ones first; durations, counts and
    times by number."""
    return tuple(
        numbers[index] if index in numbers else None if cell is _PENDING
        else casefolded(cell if isinstance(cell, str) else cell.plain)
        for index, cell in enumerate(cells)
    )


def _clean(text: str | None) -> str:
    return sanitize_line(text) if text else ""


def _seconds(duration: timedelta | None) -> float | None:
    return duration.total_seconds() if duration is not None else None
