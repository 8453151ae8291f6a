"""What one source's status line says in each state."""

from __future__ import annotations

from buildwatch.core.monitor.store import HISTORY_SHOWN, SourceStatus
from buildwatch.tui.widgets.status_bar import status_text

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
