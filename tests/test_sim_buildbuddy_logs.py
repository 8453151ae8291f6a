"""Build logs are chunked and paged the way the BuildBuddy server does it."""

from __future__ import annotations

import pytest

from buildwatch.sim.buildbuddy_invocations import plan_invocations
from buildwatch.sim.buildbuddy_logs import (
    CHUNK_BYTES,
    Line,
    PatternLog,
    ScheduledLog,
    console_log,
    page,
)
from buildwatch.sim.buildbuddy_targets import SECOND
from buildwatch.sim.buildbuddy_wire import HandlerError
from buildwatch.sim.world import World

PROGRESS = "[5 / 9] 2 actions running\n"
TEN_MINUTES = 600 * SECOND


def a_log() -> ScheduledLog:
    """Three quick lines, a 20 s silence (which persists chunk 0 at 17 s), two more lines."""
    lines = [
        Line(0, "a\n"),
        Line(1 * SECOND, "b\n"),
        Line(2 * SECOND, "c\n"),
        Line(22 * SECOND, "d\n"),
        Line(23 * SECOND, "e\n"),
    ]
    return ScheduledLog(lines, end=30 * SECOND, tail=lambda elapsed: PROGRESS)


def test_a_chunk_is_persisted_after_fifteen_seconds_without_output() -> None:
    log = a_log()
    assert log.persisted(16 * SECOND) == 0
    assert log.persisted(17 * SECOND) == 1
    assert log.chunk(0) == "a\nb\nc\n"


def test_a_chunk_is_persisted_when_it_would_pass_two_million_bytes() -> None:
    line = "x" * 999_999 + "\n"
    log = ScheduledLog([Line(n, line) for n in range(3)], end=10, tail=lambda elapsed: "")
    assert log.persisted(None) == 2
    assert len(log.chunk(0)) == 2 * len(line) <= CHUNK_BYTES


def test_the_live_chunk_is_answered_with_the_same_token_and_grows() -> None:
    log = a_log()
    assert page(log, "0001", 22 * SECOND + 500_000) == ("d\n" + PROGRESS, "0001")
    assert page(log, "0001", 23 * SECOND) == ("d\ne\n" + PROGRESS, "0001")


def test_the_progress_line_is_dropped_when_the_chunk_is_persisted() -> None:
    log = a_log()
    assert page(log, "0000", 10 * SECOND) == ("a\nb\nc\n" + PROGRESS, "0000")
    assert page(log, "0000", 18 * SECOND) == ("a\nb\nc\n", "0001")


def test_an_empty_token_returns_the_last_persisted_chunk() -> None:
    log = a_log()
    assert page(log, "", 20 * SECOND) == ("a\nb\nc\n", "0001")
    assert page(log, "", None) == ("d\ne\n", "0002")


def test_an_empty_token_before_any_chunk_is_persisted_points_at_chunk_zero() -> None:
    assert page(a_log(), "", 5 * SECOND) == ("", "0000")


def test_a_token_past_the_live_chunk_points_back_to_it() -> None:
    assert page(a_log(), "0005", 20 * SECOND) == ("", "0001")


def test_a_finished_log_ends_with_an_empty_page_without_token() -> None:
    log = a_log()
    assert page(log, "0001", None) == ("d\ne\n", "0002")
    assert page(log, "0002", None) == ("", "")


@pytest.mark.parametrize(
    ("token", "code"), [("xyz", None), ("1ffff", None), ("ffff", "ResourceExhausted")]
)
def test_tokens_the_server_cannot_use_are_handler_errors(token: str, code: str | None) -> None:
    with pytest.raises(HandlerError) as raised:
        page(a_log(), token, None)
    assert raised.value.code == code


def test_the_pattern_log_has_numbered_chunks_of_the_requested_size() -> None:
    log = PatternLog(chunks=3, chunk_bytes=4096)
    assert page(log, "", None)[1] == "0003"
    first, second = log.chunk(0), log.chunk(1)
    assert len(first.encode()) == len(second.encode()) == 4096
    assert first != second


def test_a_failed_ci_run_logs_colour_warnings_errors_and_test_output() -> None:
    plan = next(
        p
        for p in plan_invocations(World(3), 0)
        if p.role == "CI" and p.exit_code in ("TESTS_FAILED", "BUILD_FAILURE")
    )
    log = console_log(plan)
    text = "".join(log.chunk(n) for n in range(log.persisted(None)))
    assert "\x1b[32mINFO: \x1b[0m" in text
    assert "\x1b[31m\x1b[1mERROR: \x1b[0m" in text or "==================== Test output" in text
    assert text.endswith(
        f"Bazel exited with code {1 if plan.exit_code == 'BUILD_FAILURE' else 3}\n"
    )


def test_a_live_log_shows_progress_only_while_the_invocation_runs() -> None:
    plan = next(
        p for p in plan_invocations(World(3), 0) if p.role == "CI" and p.created > -TEN_MINUTES
    )
    log = console_log(plan)
    halfway = plan.duration // 2
    assert log.live(halfway).endswith(" actions running\n")
    assert "actions running" not in "".join(log.chunk(n) for n in range(log.persisted(None)))
