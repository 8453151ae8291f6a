"""The one store interface (`BuildHistory`), the same behaviour of both its implementations: the
local SQLite history and the team store on PostgreSQL (see postgres_server). What a write stores,
how it reads back, where the listing resumes, what retention deletes, and the triage records."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import _team_store_database, postgres_server, store_database
from test_history_store import (
    DAY_MS,
    NOW_MS,
    builds_batch,
    make_build,
    make_invocation,
    make_summary,
)
from test_history_triage import FAILED_TASK, FLAKY_TEST, build_run

from buildwatch.core.history.interface import BuildHistory
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.resume import ResumePoint
from buildwatch.core.history.store import HistoryBatch, HistoryStore, RetentionPolicy
from buildwatch.core.teamstore.location import store_location
from buildwatch.core.teamstore.store import TeamStore
from buildwatch.core.triage.model import Run

__all__ = ["_team_store_database", "postgres_server", "store_database"]
"""The fixtures imported above: pytest finds them by name, so they are exported to be kept."""


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BuildHistory]:
    """An empty store of each kind."""
    history: BuildHistory
    if request.param == "sqlite":
        history = open_history(tmp_path / "history.sqlite3").store
    else:
        history = TeamStore.connect(store_location(request.getfixturevalue("store_database")))
    yield history
    history.close()


def row_count(store: BuildHistory, table: str) -> int:
    """How many rows `table` holds, read past the interface."""
    if isinstance(store, HistoryStore):
        connection = sqlite3.connect(store.path)
        (count,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
        connection.close()
        return int(count)
    import psycopg

    assert isinstance(store, TeamStore)
    with psycopg.connect(store.location.url.reveal()) as team:
        row = team.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_builds_read_back_newest_first_with_their_exact_bytes(store: BuildHistory) -> None:
    builds = [make_build(n, NOW_MS + n) for n in range(5)]
    store.write(builds_batch(builds))

    loaded = store.load_recent(3)

    assert [(s.build.message_id, s.build.source) for s in loaded] == [
        (b.build_id, b.source) for b in reversed(builds[2:])
    ]


def test_a_summary_reads_back_equal_to_what_was_stored(store: BuildHistory) -> None:
    build = make_build(1, NOW_MS)
    store.write(builds_batch([build]))
    store.write(HistoryBatch(summaries=[make_summary(build)]))

    assert store.load_recent(1)[0].summary == make_summary(build)


def test_a_build_without_a_summary_reads_back_with_none(store: BuildHistory) -> None:
    store.write(builds_batch([make_build(1, NOW_MS)]))

    assert store.load_recent()[0].summary is None


def test_a_build_delivered_twice_is_stored_once(store: BuildHistory) -> None:
    builds = [make_build(n, NOW_MS + n) for n in range(3)]
    store.write(builds_batch(builds))
    store.write(builds_batch(builds[1:]))

    assert store.build_count() == 3


def test_the_builds_position_never_moves_back(store: BuildHistory) -> None:
    store.write(builds_batch([make_build(9, NOW_MS + 9)]))
    store.write(builds_batch([make_build(4, NOW_MS + 4)]))

    assert store.position("builds") == (make_build(9, 0).build_id, NOW_MS + 9)


def test_resume_is_after_the_last_build_when_it_is_inside_the_window(store: BuildHistory) -> None:
    store.write(builds_batch([make_build(1, NOW_MS - 2 * 3_600_000)]))

    point = store.resume_point(DAY_MS, now_ms=NOW_MS)

    assert point == ResumePoint(since_build=make_build(1, 0).build_id, since=NOW_MS - DAY_MS)
    assert point.kind == "sinceBuild"


def test_resume_backfills_the_window_when_the_last_build_is_older(store: BuildHistory) -> None:
    store.write(builds_batch([make_build(1, NOW_MS - 2 * DAY_MS)]))

    assert store.resume_point(DAY_MS, now_ms=NOW_MS) == ResumePoint(None, NOW_MS - DAY_MS)


def test_an_empty_store_backfills_the_window(store: BuildHistory) -> None:
    assert store.resume_point(DAY_MS, now_ms=NOW_MS).kind == "since"


def test_an_invocation_keeps_its_latest_state(store: BuildHistory) -> None:
    finished = make_invocation("i1", NOW_MS, "COMPLETE_INVOCATION_STATUS")
    older = make_invocation("i1", NOW_MS - 1, "PARTIAL_INVOCATION_STATUS")
    store.write(HistoryBatch(invocations=[finished]))
    store.write(HistoryBatch(invocations=[older]))

    [invocation] = store.load_invocations()

    assert invocation.status_name == "COMPLETE_INVOCATION_STATUS"


def test_retention_keeps_the_newest_builds_up_to_the_maximum(store: BuildHistory) -> None:
    builds = [make_build(n, NOW_MS - n) for n in range(2_500)]
    store.write(builds_batch(builds))

    deleted = store.apply_retention(RetentionPolicy(max_builds=1_000), now_ms=NOW_MS)

    assert deleted == 1_500
    assert [s.build.build_id for s in store.load_recent()] == [b.build_id for b in builds[:1_000]]


def test_retention_deletes_builds_and_invocations_older_than_the_age(store: BuildHistory) -> None:
    store.write(builds_batch([make_build(1, NOW_MS - 8 * DAY_MS), make_build(2, NOW_MS - DAY_MS)]))
    store.write(HistoryBatch(invocations=[
        make_invocation("old", NOW_MS - 8 * DAY_MS, "COMPLETE_INVOCATION_STATUS"),
        make_invocation("new", NOW_MS - DAY_MS, "COMPLETE_INVOCATION_STATUS"),
    ]))

    store.apply_retention(RetentionPolicy(max_age_days=7), now_ms=NOW_MS)

    assert [s.build.build_id for s in store.load_recent()] == [make_build(2, 0).build_id]
    assert [i.invocation_id for i in store.load_invocations()] == ["new"]


def test_a_run_reads_back_with_its_failures_in_the_order_recorded(store: BuildHistory) -> None:
    run = build_run(1, NOW_MS)
    store.write(HistoryBatch(triage=[(run, (FAILED_TASK, FLAKY_TEST))]))

    assert store.triage_runs() == [(run, (FAILED_TASK, FLAKY_TEST))]


def test_a_run_reads_back_with_its_requested_work(store: BuildHistory) -> None:
    run = Run("buildbuddy", "inv-1", NOW_MS, False, "https://github.com/acme/monorepo",
              work="test //...")
    store.write(HistoryBatch(triage=[(run, ())]))
    store.write(HistoryBatch(triage=[(Run("develocity", "b1", NOW_MS + 1, True), ())]))

    assert [run.work for run, _ in store.triage_runs()] == ["test //...", None]


def test_a_run_that_passed_reads_back_with_no_failures(store: BuildHistory) -> None:
    run = Run("buildbuddy", "inv-1", NOW_MS, True, "https://github.com/acme/monorepo")
    store.write(HistoryBatch(triage=[(run, ())]))

    assert store.triage_runs() == [(run, ())]


def test_an_unknown_outcome_reads_back_as_none(store: BuildHistory) -> None:
    run = Run("develocity", "b1", NOW_MS, None)
    store.write(HistoryBatch(triage=[(run, ())]))

    assert store.triage_runs()[0][0].succeeded is None


def test_runs_read_back_oldest_first_from_since(store: BuildHistory) -> None:
    runs = [build_run(n, NOW_MS + n * 1000) for n in (3, 1, 2)]
    store.write(HistoryBatch(triage=[(run, (FAILED_TASK,)) for run in runs]))

    read = store.triage_runs(since_ms=NOW_MS + 2000)

    assert [run.run_id for run, _ in read] == [make_build(n, 0).build_id for n in (2, 3)]
    assert all(failures == (FAILED_TASK,) for _, failures in read)


def test_a_run_recorded_again_replaces_its_failures(store: BuildHistory) -> None:
    store.write(HistoryBatch(triage=[(build_run(1, NOW_MS), (FAILED_TASK, FLAKY_TEST))]))
    again = build_run(1, NOW_MS, succeeded=True)
    store.write(HistoryBatch(triage=[(again, (FLAKY_TEST,))]))

    assert store.triage_runs() == [(again, (FLAKY_TEST,))]


def test_recorded_run_ids_are_known_per_source(store: BuildHistory) -> None:
    store.write(HistoryBatch(triage=[
        (build_run(1, NOW_MS), ()), (Run("buildbuddy", "inv-1", NOW_MS, True), ()),
    ]))

    assert store.triage_run_ids("develocity") == {make_build(1, 0).build_id}
    assert store.triage_run_ids("buildbuddy") == {"inv-1"}


def test_retention_deletes_the_runs_of_the_builds_and_invocations_it_deletes(
    store: BuildHistory,
) -> None:
    old, new = make_build(1, NOW_MS - 8 * DAY_MS), make_build(2, NOW_MS - DAY_MS)
    store.write(builds_batch([old, new]))
    store.write(HistoryBatch(invocations=[
        make_invocation("old", NOW_MS - 8 * DAY_MS, "COMPLETE_INVOCATION_STATUS"),
        make_invocation("new", NOW_MS - DAY_MS, "COMPLETE_INVOCATION_STATUS"),
    ]))
    store.write(HistoryBatch(triage=[
        (build_run(1, NOW_MS - 8 * DAY_MS), (FAILED_TASK,)),
        (build_run(2, NOW_MS - DAY_MS), (FAILED_TASK,)),
        (Run("buildbuddy", "old", NOW_MS - 8 * DAY_MS, False), (FLAKY_TEST,)),
        (Run("buildbuddy", "new", NOW_MS - DAY_MS, False), (FLAKY_TEST,)),
    ]))

    store.apply_retention(RetentionPolicy(max_age_days=7), now_ms=NOW_MS)

    assert [run.run_id for run, _ in store.triage_runs()] == [new.build_id, "new"]
    assert row_count(store, "triage_failures") == 2


def test_unfinished_builds_are_those_of_the_window_without_a_record_oldest_first(
    store: BuildHistory,
) -> None:
    builds = [make_build(number, NOW_MS + number * 1000) for number in (1, 2, 3, 4)]
    store.write(builds_batch(builds))
    store.write(HistoryBatch(summaries=[make_summary(build) for build in builds]))
    store.write(HistoryBatch(triage=[(build_run(3, NOW_MS + 3000), ())]))

    unfinished = store.unfinished_builds(since_ms=NOW_MS + 2000)

    assert [stored.build.build_id for stored in unfinished] == [builds[1].build_id,
                                                                 builds[3].build_id]


def test_a_build_whose_failures_are_recorded_but_not_its_summary_is_unfinished(
    store: BuildHistory,
) -> None:
    # A writer whose queue overflowed may have dropped the summary and kept the later record.
    builds = [make_build(number, NOW_MS + number * 1000) for number in (1, 2)]
    store.write(builds_batch(builds))
    store.write(HistoryBatch(summaries=[make_summary(builds[0])]))
    store.write(HistoryBatch(triage=[(build_run(1, NOW_MS + 1000), ()),
                                     (build_run(2, NOW_MS + 2000), ())]))

    unfinished = store.unfinished_builds(since_ms=NOW_MS)

    assert [(item.build.build_id, item.summary) for item in unfinished] == [
        (builds[1].build_id, None)
    ]
