"""The store's typical durations: counted from the history loaded at start and from what the
feeds bring as builds and invocations finish."""

from __future__ import annotations

import json

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.develocity.models import Build
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.triage.typical_durations import MIN_SAMPLES, Typical

START_MS = 1_700_000_000_000


def build(build_id: str) -> Build:
    body = {"buildId": build_id, "timestamp": START_MS, "toolType": "gradle"}
    return Build(json.dumps(body).encode(), build_id)


def summary(build_id: str, seconds: int) -> BuildSummary:
    return BuildSummary(build_id, "gradle", "8.14", START_MS, "success", project="payments",
                        requested=("build",), started_ms=START_MS - seconds * 1000,
                        finished_ms=START_MS)


def invocation(invocation_id: str, *, finished: bool) -> Invocation:
    status = "COMPLETE_INVOCATION_STATUS" if finished else "PARTIAL_INVOCATION_STATUS"
    return Invocation.from_json({
        "id": {"invocationId": invocation_id}, "invocationStatus": status, "success": finished,
        "command": "test", "pattern": "//...", "createdAtUsec": str(START_MS * 1000),
        "durationUsec": "60000000" if finished else "0",
    })


def test_summaries_the_feeds_bring_make_a_typical() -> None:
    store = MonitorStore(notify_after_ms=START_MS)
    store.add_builds([build(f"b{n}") for n in range(MIN_SAMPLES)])
    for n in range(MIN_SAMPLES):
        store.enrich(summary(f"b{n}", 60))
    assert store.timings.of_build(summary("any", 1)) == Typical(60_000, 60_000, MIN_SAMPLES)


def test_the_history_loaded_at_start_makes_a_typical() -> None:
    store = MonitorStore(notify_after_ms=START_MS)
    store.load_history([(build(f"b{n}"), summary(f"b{n}", 60)) for n in range(MIN_SAMPLES)],
                       [invocation(f"i{n}", finished=True) for n in range(MIN_SAMPLES)])
    assert store.timings.of_build(summary("any", 1)) is not None
    assert store.timings.of_invocation(invocation("any", finished=True)) is not None


def test_an_invocation_counts_once_it_has_finished() -> None:
    store = MonitorStore(notify_after_ms=START_MS)
    store.upsert_invocations([invocation(f"i{n}", finished=False) for n in range(MIN_SAMPLES)])
    assert store.timings.of_invocation(invocation("any", finished=True)) is None
    store.upsert_invocations([invocation(f"i{n}", finished=True) for n in range(MIN_SAMPLES)])
    assert store.timings.of_invocation(invocation("any", finished=True)) is not None
