"""How a row compares a run with its work's typical duration: a running invocation's time so far
against it and SLOW past three times it; a finished run's deviation only when notable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.text import Text

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.monitor.store import BuildEntry
from buildwatch.core.triage.typical_durations import Typical
from buildwatch.tui.rows import BUILD_COLUMNS, INVOCATION_COLUMNS, build_row, invocation_row

NOW = 1_767_225_600_000
TYPICAL = Typical(p50_ms=180_000, p90_ms=240_000, samples=20)
"""About three minutes."""
STATUS = 0
INVOCATION_DURATION = [column.key for column in INVOCATION_COLUMNS].index("duration")
BUILD_DURATION = [column.key for column in BUILD_COLUMNS].index("duration")


def running(minutes: float) -> Invocation:
    created = datetime.fromtimestamp(NOW / 1000, UTC) - timedelta(minutes=minutes)
    return Invocation.from_json({
        "id": {"invocationId": "i1"}, "invocationStatus": "PARTIAL_INVOCATION_STATUS",
        "command": "test", "pattern": "//...",
        "createdAtUsec": str(int(created.timestamp() * 1_000_000))})


def finished_build(seconds: int) -> BuildEntry:
    summary = BuildSummary("b1", "gradle", "8.14", NOW, "success", project="payments",
                           requested=("build",), started_ms=NOW - seconds * 1000, finished_ms=NOW)
    return BuildEntry("b1", "gradle", "8.14", NOW, summary)


def plain(cell: str | Text) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def invocation_cells(invocation: Invocation, typical: Typical | None = TYPICAL,
                     *, polled: bool = True) -> tuple[str, str]:
    cells = invocation_row(invocation, NOW, None, polled=polled, typical=typical).cells
    return plain(cells[STATUS]), plain(cells[INVOCATION_DURATION])


def build_duration(seconds: int, typical: Typical | None = TYPICAL) -> str:
    return plain(build_row(finished_build(seconds), NOW, None, typical=typical)
                 .cells[BUILD_DURATION])


def test_a_running_invocation_shows_its_time_so_far_against_the_typical() -> None:
    assert invocation_cells(running(4.2)) == ("⟳ in progress", "4m12s/~3m")


def test_a_running_invocation_past_three_times_the_typical_is_slow() -> None:
    assert invocation_cells(running(9.5)) == ("⟳ SLOW", "9m30s/~3m")


def test_a_running_invocation_of_unknown_typical_shows_its_time_so_far_alone() -> None:
    assert invocation_cells(running(40), typical=None) == ("⟳ in progress", "40m00s")


def test_offline_an_invocation_seen_running_claims_no_time_so_far() -> None:
    assert invocation_cells(running(40), polled=False) == ("· was running", "-")


def test_a_finished_run_of_typical_length_shows_its_duration_alone() -> None:
    assert build_duration(200) == "3m20s"


def test_a_finished_run_notably_longer_than_typical_says_how_many_times() -> None:
    assert build_duration(432) == "7m12s x2.4"


def test_a_finished_run_shows_no_deviation_without_a_typical() -> None:
    assert build_duration(4_000, typical=None) == "1h06m"


def test_a_deviation_fits_the_duration_column() -> None:
    longest = build_duration(59 * 60 + 59, typical=Typical(30_000, 40_000, 20))
    assert longest == "59m59s x120"
    assert len(longest) <= BUILD_COLUMNS[BUILD_DURATION].width  # type: ignore[operator]
