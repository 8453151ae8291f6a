"""A collector's in-memory store stays bounded over months: what no screen reads is dropped."""

from __future__ import annotations

from test_history_store import NOW_MS, make_build, make_invocation, make_summary

from buildwatch.core.collector.bounded import bounded_store, trim
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.triage.model import Failure, Run


def test_trim_drops_the_oldest_done_builds_beyond_the_bound_and_keeps_those_still_to_read() -> None:
    store = bounded_store()
    builds = [make_build(n, NOW_MS + n) for n in range(30)]
    store.add_builds(builds)
    for build in builds[5:]:
        store.enrich(make_summary(build))
    store.enrichment_failed(builds[1].build_id, "gone", retrying=True)

    dropped = trim(store, keep=10)

    assert dropped == 20
    unread = [b.build_id for b in builds[:5]]
    assert list(store.builds) == unread + [b.build_id for b in builds[25:]]
    assert store.develocity.count == 10
    assert not store.has_changes


def test_trim_keeps_the_newest_invocations_seen() -> None:
    store = bounded_store()
    store.upsert_invocations(
        [make_invocation(f"i{n}", NOW_MS + n, "COMPLETE_INVOCATION_STATUS") for n in range(8)]
    )

    trim(store, keep=3)

    assert list(store.invocations) == ["i5", "i6", "i7"]


def test_a_collectors_store_groups_no_failures() -> None:
    store, grouping = bounded_store(), MonitorStore()
    run = Run(source="develocity", run_id="b1", time_ms=NOW_MS, succeeded=False)
    record = (run, (Failure("test", "AppTest.boots", "boom"),))

    store.failures.record([record])
    grouping.failures.record([record])

    assert store.failures.index.groups() == []
    assert len(grouping.failures.index.groups()) == 1
