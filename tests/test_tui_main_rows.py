"""How builds and invocations become rows, and when their relative times need rewriting."""

from __future__ import annotations

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.monitor.store import BuildEntry
from buildwatch.tui.due import DueTimes
from buildwatch.tui.rows import build_row, invocation_row, next_change_ms, relative_time

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


def test_the_build_id_links_to_its_build_scan() -> None:
    row = build_row(entry("failed"), NOW, "https://ge.example.com/")
    link = row.cells[1]
    assert not isinstance(link, str)
    assert link.style.link == "https://ge.example.com/s/b1"  # type: ignore[union-attr]


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
