"""The monitor's store: rows keyed by id, watched commits, notices, source health, drained changes."""

from __future__ import annotations

import json
from typing import Any

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.develocity.models import Build
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.monitor.store import (
    AUTO_WATCHED_COMMITS,
    BuildEntry,
    MonitorStore,
    normalize_commit,
)

START_MS = 1_700_000_000_000
SHA = "4f2a9c1e0b7d"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def build(build_id: str, published_ms: int = START_MS + 1000) -> Build:
    body = {"buildId": build_id, "timestamp": published_ms, "toolType": "gradle",
            "toolVersion": "8.14"}
    return Build(json.dumps(body).encode(), build_id)


def summary(build_id: str, outcome: str = "failed", commit: str | None = None,
            published_ms: int = START_MS + 1000) -> BuildSummary:
    return BuildSummary(
        build_id=build_id, tool_type="gradle", tool_version="8.14", published_ms=published_ms,
        outcome=outcome,  # type: ignore[arg-type]
        project="payments", requested=("build",), git_commit=commit,
    )


def invocation(invocation_id: str, *, status: str = "COMPLETE_INVOCATION_STATUS",
               success: bool = False, commit: str = SHA, created_ms: int = START_MS + 1000,
               **extra: Any) -> Invocation:
    return Invocation.from_json({
        "id": {"invocationId": invocation_id}, "invocationStatus": status, "success": success,
        "commitSha": commit, "command": "test", "pattern": "//...",
        "createdAtUsec": str(created_ms * 1000), **extra,
    })


def new_store(**options: Any) -> MonitorStore:
    return MonitorStore(notify_after_ms=START_MS, clock=FakeClock(), **options)


def test_a_build_listed_twice_is_one_row() -> None:
    store = new_store()
    assert store.add_builds([build("b1"), build("b2")]) == 2
    assert store.add_builds([build("b1")]) == 0
    assert [entry.build_id for entry in store.drain().builds] == ["b1", "b2"]


def test_drain_hands_each_changed_row_once() -> None:
    store = new_store()
    store.add_builds([build("b1")])
    store.enrich(summary("b1", "success"))
    first = store.drain()
    assert [entry.build_id for entry in first.builds] == ["b1"]
    assert first.builds[0].summary is not None
    assert not store.drain()


def notified(store: MonitorStore) -> list[str]:
    """The ids of the runs the store's drained notices are about."""
    return [notice.run.build_id if isinstance(notice.run, BuildEntry) else notice.run.invocation_id
            for notice in store.drain().notices]


def test_a_build_published_after_start_raises_a_notice_with_its_summary() -> None:
    store = new_store()
    store.add_builds([build("b1"), build("b2")])
    store.enrich(summary("b1", "failed"))
    store.enrich(summary("b2", "success"))
    notices = store.drain().notices
    assert [notice.run for notice in notices] == [store.builds["b1"], store.builds["b2"]]
    assert all(isinstance(notice.run, BuildEntry) and notice.run.summary for notice in notices)


def test_a_failed_build_from_the_backfill_raises_no_notice() -> None:
    store = new_store()
    store.add_builds([build("b1", START_MS - 60_000)])
    store.enrich(summary("b1", "failed", published_ms=START_MS - 60_000))
    assert store.drain().notices == []


def test_a_build_summary_read_again_raises_no_second_notice() -> None:
    store = new_store()
    store.add_builds([build("b1")])
    store.enrich(summary("b1", "failed"))
    store.drain()
    store.enrichment_failed("b1", "503", retrying=True)
    store.enrich(summary("b1", "failed"))
    assert notified(store) == ["b1"]


def test_only_commits_you_named_are_named_not_those_builds_brought_in() -> None:
    store = new_store()
    store.watch(SHA, "command line")
    store.watch("0123456789ab", "develocity")
    assert store.named(SHA.upper()) and not store.named("0123456789ab")
    assert not store.named(None) and not store.named("not a sha")


def test_an_enriched_build_watches_its_commit() -> None:
    store = new_store()
    store.add_builds([build("b1")])
    store.enrich(summary("b1", "success", commit=SHA.upper()))
    assert store.watched_commits() == [SHA]


def test_commits_picked_up_from_builds_are_capped_but_named_ones_stay() -> None:
    store = new_store()
    store.watch("aaaaaaa", "you")
    for index in range(AUTO_WATCHED_COMMITS + 5):
        store.watch(f"{index:07x}", "develocity")
    watched = store.watched_commits()
    assert watched[0] == "aaaaaaa"
    assert len(watched) == AUTO_WATCHED_COMMITS + 1
    assert f"{0:07x}" not in watched
    assert watched[1] == f"{AUTO_WATCHED_COMMITS + 4:07x}"


def test_watching_rejects_what_is_not_a_sha() -> None:
    store = new_store()
    assert not store.watch("main", "you")
    assert normalize_commit("  ABCDEF1 ") == "abcdef1"
    assert normalize_commit("abc") is None


def test_an_unchanged_invocation_is_not_queued_again() -> None:
    store = new_store()
    assert store.upsert_invocations([invocation("i1")]) == 1
    store.drain()
    assert store.upsert_invocations([invocation("i1")]) == 0
    assert not store.drain()


def test_an_invocation_seen_running_then_failing_raises_a_notice() -> None:
    store = new_store()
    store.upsert_invocations([invocation("i1", status="PARTIAL_INVOCATION_STATUS",
                                         created_ms=START_MS - 60_000)])
    store.upsert_invocations([invocation("i1", created_ms=START_MS - 60_000)])
    assert notified(store) == ["i1"]


def test_an_invocation_that_failed_before_start_raises_no_notice() -> None:
    store = new_store()
    store.upsert_invocations([invocation("i1", created_ms=START_MS - 60_000)])
    assert store.drain().notices == []


def test_an_invocation_the_history_held_running_that_ended_before_start_raises_no_notice() -> None:
    store = new_store()
    running = invocation("i1", status="PARTIAL_INVOCATION_STATUS", created_ms=START_MS - 600_000)
    store.load_history((), [running])
    store.drain()
    # It ran for a minute, and ended nine minutes before the monitor started.
    store.upsert_invocations([invocation("i1", created_ms=START_MS - 600_000,
                                         durationUsec=str(60_000_000))])
    assert store.drain().notices == []


def test_an_invocation_the_history_held_running_that_ended_after_start_raises_a_notice() -> None:
    store = new_store()
    running = invocation("i1", status="PARTIAL_INVOCATION_STATUS", created_ms=START_MS - 60_000)
    store.load_history((), [running])
    store.drain()
    store.upsert_invocations([invocation("i1", created_ms=START_MS - 60_000,
                                         durationUsec=str(120_000_000))])
    assert notified(store) == ["i1"]


def test_an_invocation_that_changes_after_it_finished_raises_no_second_notice() -> None:
    store = new_store()
    store.upsert_invocations([invocation("i1", status="PARTIAL_INVOCATION_STATUS")])
    store.upsert_invocations([invocation("i1")])
    assert store.upsert_invocations([invocation("i1", actionCount="7")]) == 1
    assert notified(store) == ["i1"]


def test_reconnecting_counts_down_then_stays_reconnecting_until_a_connection_opens() -> None:
    clock = FakeClock()
    store = MonitorStore(notify_after_ms=START_MS, clock=clock)
    store.retrying("develocity", "cannot connect", 3.0, 2)
    assert store.develocity.state_text(clock.now) == "reconnecting in 3s (attempt 2)"
    clock.now += 4
    assert store.develocity.state_text(clock.now) == "reconnecting (attempt 2)"
    clock.now += 600
    assert store.develocity.state_text(clock.now) == "reconnecting (attempt 2)"


def test_rate_counts_messages_in_the_last_ten_seconds() -> None:
    clock = FakeClock()
    store = MonitorStore(notify_after_ms=START_MS, clock=clock)
    store.add_builds([build(f"b{index}") for index in range(20)])
    assert store.develocity.rate(clock.now) == 2.0
    clock.now += 11
    assert store.develocity.rate(clock.now) == 0.0
    assert store.develocity.age_text(clock.now) == "11s ago"


def test_a_new_build_makes_the_source_live() -> None:
    store = new_store()
    store.retrying("develocity", "503", 1.0, 1)
    store.add_builds([build("b1")])
    assert store.develocity.state == "live"
    assert store.develocity.count == 1


def test_a_newly_watched_commit_is_announced_once() -> None:
    store = new_store()
    announced: list[str] = []
    store.on_watch = announced.append
    store.watch(SHA, "develocity")
    store.watch(SHA, "you")
    assert announced == [SHA]
