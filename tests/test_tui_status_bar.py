"""What one source's status line says in each state."""

from __future__ import annotations

from buildwatch.core.monitor.store import HISTORY_SHOWN, SourceStatus
from buildwatch.core.monitor.team import TeamStatus
from buildwatch.tui.widgets.status_bar import collector_text, status_text, team_text

NOW = 1_000.0


def line(status: SourceStatus) -> str:
    return status_text(status, "build", NOW).plain


def test_a_live_source_shows_its_count_rate_and_the_age_of_its_last_message() -> None:
    status = SourceStatus("Develocity", state="live", detail="", count=3, last_message_at=NOW - 4)
    status.arrivals.append((NOW - 1, 20))
    assert line(status) == "● Develocity live · 3 builds · 2.0/s · last 4s ago"


def test_an_offline_source_with_nothing_received_shows_no_rate_and_no_age() -> None:
    status = SourceStatus("Develocity", state="offline", detail="not connecting (--offline)",
                          count=35, showing_history=True)
    assert line(status) == (
        f"○ Develocity offline · {HISTORY_SHOWN} · 35 builds · not connecting (--offline)"
    )


def test_a_reconnecting_source_keeps_the_age_of_its_last_message() -> None:
    status = SourceStatus("Develocity", state="reconnecting", detail="cannot connect",
                          retry_at=NOW + 3, attempt=2, count=1, last_message_at=NOW - 60)
    assert line(status) == (
        "↻ Develocity reconnecting in 3s (attempt 2) · 1 build · last 1m ago · cannot connect"
    )


NOW_MS = 1_800_000_000_000


def team_lines(team: TeamStatus, builds: int = 1_204, invocations: int = 35) -> tuple[str, str]:
    develocity = SourceStatus("Develocity", state="live", count=builds, last_message_at=NOW - 2)
    buildbuddy = SourceStatus("BuildBuddy", state="live", count=invocations)
    return (team_text(team, develocity, buildbuddy, NOW).plain,
            collector_text(team, NOW_MS).plain)


def test_a_live_store_shows_its_rows_and_the_collectors_last_heartbeat() -> None:
    team = TeamStatus(state="live", beat_ms=NOW_MS - 2_000)
    assert team_lines(team) == (
        "● store live · 1,204 builds · 35 invocations · last 2s ago",
        "● collector: live, 2s ago",
    )


def test_a_collector_heard_from_too_long_ago_is_silent() -> None:
    team = TeamStatus(state="live", beat_ms=NOW_MS - 5 * 60_000)
    assert team_lines(team)[1] == "✗ collector: silent for 5m"


def test_a_store_that_never_had_a_collector_says_so() -> None:
    assert team_lines(TeamStatus(state="live"))[1] == "○ collector: no heartbeat yet"


def test_an_unreachable_store_keeps_its_rows_and_says_when_it_tries_again() -> None:
    team = TeamStatus(state="reconnecting", detail="connection refused", retry_at=NOW + 3,
                      beat_ms=NOW_MS - 2_000)
    assert team_lines(team) == (
        "↻ store unreachable, retrying in 3s · 1,204 builds · 35 invocations"
        " · connection refused",
        "○ collector: last heard 2s ago",
    )


def test_the_store_lines_fit_80_columns_with_a_million_builds() -> None:
    team = TeamStatus(state="reconnecting", retry_at=NOW + 30,
                      beat_ms=NOW_MS - 86_400_000)
    store, collector = team_lines(team, builds=1_000_000, invocations=250_000)
    assert len(store) <= 80
    assert len(collector) <= 80
