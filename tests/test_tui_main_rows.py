"""How builds and invocations become rows, and when their relative times need rewriting."""

from __future__ import annotations

import dataclasses

from rich.style import Style

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.columns import COLUMN_NAMES, USUAL_COLUMNS, column_key
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.monitor.store import BuildEntry
from buildwatch.tui.due import DueTimes
from buildwatch.tui.rows import (
    BUILD_COLUMNS,
    INVOCATION_COLUMNS,
    build_row,
    extra_cell,
    invocation_row,
    next_change_ms,
    relative_time,
    table_columns,
)
from buildwatch.tui.widgets.table_render import column_layout, row_text

NOW = 1_767_225_600_000
MINUTE, HOUR = 60_000, 3_600_000


def entry(outcome: str | None, project: str = "payments") -> BuildEntry:
    summary = None if outcome is None else BuildSummary(
        build_id="b1", tool_type="gradle", tool_version="8.14", published_ms=NOW - 5 * MINUTE,
        outcome=outcome, project=project,  # type: ignore[arg-type]
    )
    return BuildEntry("b1", "gradle", "8.14", NOW - 5 * MINUTE, summary)


def plain_cells(outcome: str | None, project: str = "payments") -> list[str]:
    row = build_row(entry(outcome, project), NOW, "https://ge.example.com")
    return [cell if isinstance(cell, str) else cell.plain for cell in row.cells]


def test_an_outcome_is_a_word_with_a_symbol_not_a_colour_alone() -> None:
    assert plain_cells("failed")[0] == "✗ FAILED"
    assert plain_cells("success")[0] == "✓ succeeded"
    assert plain_cells(None)[0] == "… reading"


def test_offline_a_build_never_summarised_reads_as_not_read_not_as_being_read() -> None:
    row = build_row(entry(None), NOW, None, reading=False)
    outcome = row.cells[0]
    assert not isinstance(outcome, str)
    assert outcome.plain == "· not read"


def invocation_status_cell(status: str, *, polled: bool = True, **extra: object) -> str:
    found = Invocation.from_json({"id": {"invocationId": "i1"}, "invocationStatus": status, **extra})
    cell = invocation_row(found, NOW, None, polled=polled).cells[0]
    return cell if isinstance(cell, str) else cell.plain


def test_an_interrupted_invocation_reads_as_cancelled_not_as_failed() -> None:
    assert invocation_status_cell("COMPLETE_INVOCATION_STATUS",
                                  bazelExitCode="INTERRUPTED") == "■ cancelled"
    assert invocation_status_cell("COMPLETE_INVOCATION_STATUS",
                                  bazelExitCode="TESTS_FAILED") == "✗ FAILED"


def test_offline_an_invocation_seen_running_reads_as_was_running_not_in_progress() -> None:
    assert invocation_status_cell("PARTIAL_INVOCATION_STATUS") == "⟳ in progress"
    assert invocation_status_cell("PARTIAL_INVOCATION_STATUS", polled=False) == "· was running"


def test_the_build_id_is_drawn_as_a_link_to_its_build_scan() -> None:
    row = build_row(entry("failed"), NOW, "https://ge.example.com/")
    line = row_text(BUILD_COLUMNS, column_layout(BUILD_COLUMNS, 160), row.cells, None)
    links = {span.style.link for span in line.spans if isinstance(span.style, Style)}
    assert links - {None} == {"https://ge.example.com/s/b1"}
    assert line.plain.split()[2] == "b1"


def test_server_text_is_sanitised_before_it_reaches_a_cell() -> None:
    cells = plain_cells("failed", project="evil\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2Jname")
    assert cells[2] == "evilname"


def test_relative_times_are_whole_minutes_at_least() -> None:
    assert relative_time(NOW - 20_000, NOW) == "<1m ago"
    assert relative_time(NOW - 5 * MINUTE, NOW) == "5m ago"
    assert relative_time(NOW - 3 * HOUR, NOW) == "3h ago"
    assert relative_time(None, NOW) == "-"


def test_next_change_is_the_next_boundary_of_the_shown_unit() -> None:
    published = NOW - 5 * MINUTE - 10_000
    changes_at = next_change_ms(published, NOW)
    assert relative_time(published, changes_at - 1) == "5m ago"
    assert relative_time(published, changes_at) == "6m ago"
    old = NOW - 2 * HOUR
    assert relative_time(old, next_change_ms(old, NOW)) == "3h ago"


def test_due_times_pop_each_key_once_earliest_first_within_the_limit() -> None:
    due = DueTimes()
    due.schedule("late", 30)
    due.schedule("early", 10)
    due.schedule("middle", 20)
    due.schedule("early", 25)  # rescheduled: its earlier time no longer counts
    assert due.pop_due(15) == []
    assert due.pop_due(26, limit=1) == ["middle"]
    assert due.pop_due(100) == ["early", "late"]
    assert len(due) == 0


def test_what_the_summary_tells_shows_a_placeholder_until_it_arrives() -> None:
    pending = plain_cells(None)
    assert [pending[index] for index in (2, 4, 5, 6, 7, 8, 9)] == ["…"] * 7
    assert pending[3] == "Gradle 8.14"  # the listing names the tool
    offline = build_row(entry(None), NOW, None, reading=False).cells
    assert [offline[index] for index in (2, 4, 5, 6, 7, 8)] == [""] * 6


def test_pending_cells_sort_before_every_known_text() -> None:
    assert build_row(entry(None), NOW, None).sort_values[2] is None  # type: ignore[index]
    assert build_row(entry("failed"), NOW, None).sort_values[2] == "payments"  # type: ignore[index]


def with_values(*values: tuple[str, str | None]) -> BuildEntry:
    found = entry("failed")
    summary = dataclasses.replace(found.summary, custom_values=values)  # type: ignore[type-var]
    return dataclasses.replace(found, summary=summary)


def test_a_custom_value_column_reads_the_value_by_name_whatever_its_case() -> None:
    extras = [extra_cell("builds", column_key("builds", "value:Git commit id"))]
    values = (("Git Commit ID", "800f549"), ("CI job", "nightly"), ("GIT COMMIT ID", "1a2b3c4"))
    row = build_row(with_values(*values), NOW, None, extras=extras)
    assert row.cells[len(BUILD_COLUMNS):] == ("800f549, 1a2b3c4",)
    pending = build_row(entry(None), NOW, None, extras=extras).cells[-1]
    assert not isinstance(pending, str) and pending.plain == "…"


def test_a_custom_values_text_is_sanitised_before_it_reaches_its_cell() -> None:
    extras = [extra_cell("builds", "value:ci job")]
    row = build_row(with_values(("CI job", "night\x1b[2Jly\x07")), NOW, None, extras=extras)
    assert row.cells[-1] == "nightly"


def test_an_invocation_column_beyond_the_usual_ones_reads_its_field() -> None:
    found = Invocation.from_json({"id": {"invocationId": "i1"}, "branchName": "main",
                                  "repoUrl": "https://github.com/org/repo"})
    row = invocation_row(found, NOW, None, extras=[extra_cell("invocations", "repo"),
                                                   extra_cell("invocations", "branch")])
    assert row.cells[len(INVOCATION_COLUMNS):] == ("https://github.com/org/repo", "main")
    assert row.sort_values[len(INVOCATION_COLUMNS):] == (  # type: ignore[index]
        "https://github.com/org/repo", "main")


def test_every_column_a_view_may_name_has_a_title_and_a_reader() -> None:
    for pane, names in COLUMN_NAMES.items():
        columns = table_columns(pane, names, {})
        assert [column.key for column in columns] == list(names)
        assert all(column.title != column.key for column in columns)
        for name in names:
            if name not in USUAL_COLUMNS[pane]:
                assert callable(extra_cell(pane, name))
