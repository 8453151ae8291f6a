"""Typical durations: p50 and p90 per work from its newest successful runs, kept up to date run
by run, and how a finished or running run compares with them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.develocity.summary import BuildSummary, Outcome
from buildwatch.core.triage.typical_durations import (
    KEPT_PER_WORK,
    MIN_SAMPLES,
    Typical,
    TypicalDurations,
    Work,
    invocation_duration_ms,
)

WORK: Work = ("develocity", "payments-service", "build")
NOW_MS = 1_767_225_600_000


def summary(build_id: str, duration_s: int, *, outcome: Outcome = "success",
            project: str | None = "payments-service", published_ms: int = NOW_MS) -> BuildSummary:
    return BuildSummary(build_id, "gradle", "8.14.3", published_ms, outcome, project=project,
                        requested=("build",), started_ms=published_ms - duration_s * 1000 - 900,
                        finished_ms=published_ms - 900)


def invocation(invocation_id: str, **fields: Any) -> Invocation:
    created = datetime.fromtimestamp(NOW_MS / 1000, UTC) - timedelta(minutes=30)
    data = {"id": {"invocationId": invocation_id}, "command": "test", "pattern": "//...",
            "createdAtUsec": str(int(created.timestamp() * 1_000_000)), **fields}
    return Invocation.from_json(data)


def filled(durations_s: list[int], work: Work = WORK) -> TypicalDurations:
    index = TypicalDurations()
    for number, seconds in enumerate(durations_s):
        index.add(work, f"run{number}", NOW_MS + number, seconds * 1000)
    return index


def test_no_typical_is_claimed_before_enough_runs() -> None:
    assert filled([60] * (MIN_SAMPLES - 1)).typical(WORK) is None
    assert filled([60] * MIN_SAMPLES).typical(WORK) is not None


def test_p50_and_p90_are_durations_runs_really_took() -> None:
    typical = filled([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]).typical(WORK)
    assert typical == Typical(p50_ms=50_000, p90_ms=90_000, samples=10)


def test_the_typical_follows_runs_as_they_arrive() -> None:
    index = filled([60] * MIN_SAMPLES)
    for number in range(MIN_SAMPLES + 1):
        index.add(WORK, f"slower{number}", NOW_MS + 100 + number, 120_000)
    typical = index.typical(WORK)
    assert typical is not None and typical.p50_ms == 120_000


def test_only_the_newest_runs_are_kept() -> None:
    index = filled([600] * KEPT_PER_WORK)
    for number in range(KEPT_PER_WORK):
        index.add(WORK, f"new{number}", NOW_MS + 10_000 + number, 60_000)
    typical = index.typical(WORK)
    assert typical is not None and (typical.p90_ms, typical.samples) == (60_000, KEPT_PER_WORK)


def test_a_run_older_than_every_kept_one_changes_nothing_once_full() -> None:
    index = filled([60] * KEPT_PER_WORK)
    assert not index.add(WORK, "ancient", NOW_MS - 1, 6_000_000)
    assert index == filled([60] * KEPT_PER_WORK)


def test_the_order_runs_arrive_in_does_not_matter() -> None:
    runs = [(f"run{n}", NOW_MS + n, (30 + n % 17) * 1000) for n in range(KEPT_PER_WORK + 50)]
    forward, shuffled = TypicalDurations(), TypicalDurations()
    for run in runs:
        forward.add(WORK, *run)
    random.Random(4).shuffle(runs)
    for run in runs:
        shuffled.add(WORK, *run)
    assert forward == shuffled


def test_a_run_added_again_replaces_what_it_said() -> None:
    index = filled([60] * MIN_SAMPLES)
    index.add(WORK, "run0", NOW_MS, 600_000)
    typical = index.typical(WORK)
    assert typical is not None and (typical.samples, typical.p90_ms) == (MIN_SAMPLES, 600_000)


def test_works_are_kept_apart() -> None:
    index = filled([60] * MIN_SAMPLES)
    assert index.typical(("develocity", "payments-service", "check")) is None


def test_only_successful_builds_with_a_project_make_a_typical() -> None:
    index = TypicalDurations()
    assert index.add_build(summary("ok", 60))
    assert not index.add_build(summary("failed", 5, outcome="failed"))
    assert not index.add_build(summary("nameless", 60, project=None))
    for number in range(MIN_SAMPLES - 1):
        index.add_build(summary(f"ok{number}", 60, published_ms=NOW_MS + number))
    assert index.of_build(summary("any", 1)) == Typical(60_000, 60_000, MIN_SAMPLES)


def test_only_invocations_that_succeeded_make_a_typical() -> None:
    index = TypicalDurations()
    assert index.add_invocation(invocation("ok", success=True, durationUsec="90000000"))
    assert not index.add_invocation(invocation("failed", bazelExitCode="TESTS_FAILED",
                                               durationUsec="5000000"))
    assert not index.add_invocation(invocation("running",
                                               invocationStatus="PARTIAL_INVOCATION_STATUS"))


def test_a_run_past_three_times_the_p50_is_slow() -> None:
    typical = Typical(p50_ms=60_000, p90_ms=80_000, samples=10)
    assert typical.deviation(181_000).slow
    assert not typical.deviation(180_000).slow


def test_a_deviation_is_notable_from_twice_the_p50_past_the_p90() -> None:
    assert Typical(60_000, 80_000, 10).deviation(120_000).notable
    assert not Typical(60_000, 80_000, 10).deviation(100_000).notable
    assert not Typical(60_000, 150_000, 10).deviation(140_000).notable


def test_the_ratio_is_to_the_p50() -> None:
    assert Typical(60_000, 80_000, 10).deviation(144_000).ratio == 2.4


def test_a_running_invocation_is_measured_by_its_time_so_far() -> None:
    running = invocation("running", invocationStatus="PARTIAL_INVOCATION_STATUS")
    assert invocation_duration_ms(running, NOW_MS) == 30 * 60_000


def test_a_finished_invocation_is_measured_by_its_duration() -> None:
    done = invocation("done", success=True, durationUsec="90000000")
    assert invocation_duration_ms(done, NOW_MS) == 90_000


def test_the_typical_reads_as_p50_with_its_p90() -> None:
    assert Typical(190_000, 242_000, 10).text() == "3m10s (p90 4m02s)"
