"""The history's triage records: each run with its failures, read back oldest first for the
failure grouping, replaced when recorded again, and deleted with their build or invocation."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_history_store import DAY_MS, NOW_MS, builds_batch, make_build, make_invocation

from buildwatch.core.history.opening import open_history
from buildwatch.core.history.schema import MIGRATIONS, migrate, schema_version
from buildwatch.core.history.store import HistoryBatch, HistoryStore, RetentionPolicy
from buildwatch.core.history.writer import HistoryWriter
from buildwatch.core.triage.model import Failure, Run

FLAKY_TEST = Failure("test", "com.acme.CartTest.total", "expected 3 but was 4", True)
FAILED_TASK = Failure("task", ":app:test", "There were failing tests")


def build_run(number: int, time_ms: int, succeeded: bool | None = False) -> Run:
    return Run("develocity", make_build(number, 0).build_id, time_ms, succeeded,
               "app", "main", "4f2a9c1", "ana")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    opened = open_history(tmp_path / "history.sqlite3")
    yield opened.store
    opened.store.close()


def test_a_run_reads_back_with_its_failures_in_the_order_recorded(store: HistoryStore) -> None:
    run = build_run(1, NOW_MS)
    store.write(HistoryBatch(triage=[(run, (FAILED_TASK, FLAKY_TEST))]))

    assert store.triage_runs() == [(run, (FAILED_TASK, FLAKY_TEST))]


def test_a_run_reads_back_with_its_requested_work(store: HistoryStore) -> None:
    run = Run("buildbuddy", "inv-1", NOW_MS, False, "https://github.com/acme/monorepo",
              work="test //...")
    store.write(HistoryBatch(triage=[(run, ())]))
    store.write(HistoryBatch(triage=[(Run("develocity", "b1", NOW_MS + 1, True), ())]))

    assert [run.work for run, _ in store.triage_runs()] == ["test //...", None]


def test_a_run_that_passed_reads_back_with_no_failures(store: HistoryStore) -> None:
    run = Run("buildbuddy", "inv-1", NOW_MS, True, "https://github.com/acme/monorepo")
    store.write(HistoryBatch(triage=[(run, ())]))

    assert store.triage_runs() == [(run, ())]


def test_an_unknown_outcome_reads_back_as_none(store: HistoryStore) -> None:
    run = Run("develocity", "b1", NOW_MS, None)
    store.write(HistoryBatch(triage=[(run, ())]))

    assert store.triage_runs()[0][0].succeeded is None


def test_runs_read_back_oldest_first_from_since(store: HistoryStore) -> None:
    runs = [build_run(n, NOW_MS + n * 1000) for n in (3, 1, 2)]
    store.write(HistoryBatch(triage=[(run, (FAILED_TASK,)) for run in runs]))

    read = store.triage_runs(since_ms=NOW_MS + 2000)

    assert [run.run_id for run, _ in read] == [make_build(n, 0).build_id for n in (2, 3)]
    assert all(failures == (FAILED_TASK,) for _, failures in read)


def test_a_run_recorded_again_replaces_its_failures(store: HistoryStore) -> None:
    store.write(HistoryBatch(triage=[(build_run(1, NOW_MS), (FAILED_TASK, FLAKY_TEST))]))
    again = build_run(1, NOW_MS, succeeded=True)
    store.write(HistoryBatch(triage=[(again, (FLAKY_TEST,))]))

    assert store.triage_runs() == [(again, (FLAKY_TEST,))]


def test_recorded_run_ids_are_known_per_source(store: HistoryStore) -> None:
    store.write(HistoryBatch(triage=[
        (build_run(1, NOW_MS), ()), (Run("buildbuddy", "inv-1", NOW_MS, True), ()),
    ]))

    assert store.triage_run_ids("develocity") == {make_build(1, 0).build_id}
    assert store.triage_run_ids("buildbuddy") == {"inv-1"}


def test_retention_deletes_the_runs_of_the_builds_and_invocations_it_deletes(
    store: HistoryStore,
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
    connection = sqlite3.connect(store.path)
    assert connection.execute("SELECT count(*) FROM triage_failures").fetchone() == (2,)
    connection.close()


def file_at_version(tmp_path: Path, version: int) -> tuple[Path, sqlite3.Connection]:
    """A history file as a buildwatch of schema `version` left it, open to be filled."""
    path = tmp_path / "history.sqlite3"
    connection = sqlite3.connect(path, isolation_level=None)
    migrate(connection, MIGRATIONS[:version])
    return path, connection


def test_a_file_from_before_triage_is_migrated_keeping_its_builds(tmp_path: Path) -> None:
    path, connection = file_at_version(tmp_path, 1)
    connection.execute(
        "INSERT INTO builds (build_id, published_ms, source) VALUES ('b1', 1, x'7b7d')"
    )
    connection.close()

    opened = open_history(path)

    assert opened.store.build_count() == 1
    assert opened.store.triage_runs() == []
    opened.store.close()
    connection = sqlite3.connect(path)
    assert schema_version(connection) == len(MIGRATIONS)
    connection.close()


def test_tasks_and_goals_recorded_by_path_alone_are_renamed_with_their_project(
    tmp_path: Path,
) -> None:
    path, connection = file_at_version(tmp_path, 2)
    connection.executemany(
        "INSERT INTO triage_runs (id, source, run_id, time_ms, succeeded, project)"
        " VALUES (?, 'develocity', ?, 1, 0, ?)",
        [(1, "b1", "billing"), (2, "b2", None)],
    )
    connection.executemany(
        "INSERT INTO triage_failures (run, kind, name, headline, passed_on_retry)"
        " VALUES (?, ?, ?, '', 0)",
        [(1, "task", ":core:test"), (1, "goal", "core surefire:test (default-test)"),
         (1, "test", "com.acme.CartTest.total"), (1, "target", "//cart:test"),
         (2, "task", ":core:test")],
    )
    connection.close()

    opened = open_history(path)
    [(_, billing), (_, unknown)] = opened.store.triage_runs()
    opened.store.close()

    assert [(f.kind, f.name) for f in billing] == [
        ("task", "billing :core:test"), ("goal", "billing core surefire:test (default-test)"),
        ("test", "com.acme.CartTest.total"), ("target", "//cart:test"),
    ]
    assert [f.name for f in unknown] == [":core:test"]


def test_runs_recorded_before_work_was_kept_read_back_with_unknown_work(tmp_path: Path) -> None:
    path, connection = file_at_version(tmp_path, 3)
    connection.execute(
        "INSERT INTO triage_runs (source, run_id, time_ms, succeeded, project, commit_sha)"
        " VALUES ('develocity', 'b1', 1, 1, 'billing', 'abc')"
    )
    connection.close()

    opened = open_history(path)
    [(run, failures)] = opened.store.triage_runs()
    opened.store.close()

    assert (run.run_id, run.project, run.commit, run.work, failures) == (
        "b1", "billing", "abc", None, ())


def test_the_writer_stores_triage_records_in_its_thread(tmp_path: Path) -> None:
    writer = HistoryWriter(tmp_path / "history.sqlite3")
    writer.record_triage([(build_run(1, NOW_MS), (FAILED_TASK,))])
    writer.close()

    opened = open_history(tmp_path / "history.sqlite3")
    assert opened.store.triage_runs() == [(build_run(1, NOW_MS), (FAILED_TASK,))]
    opened.store.close()


def test_untriaged_builds_are_those_of_the_window_without_a_record_oldest_first(
    store: HistoryStore,
) -> None:
    builds = [make_build(number, NOW_MS + number * 1000) for number in (1, 2, 3, 4)]
    store.write(builds_batch(builds))
    store.write(HistoryBatch(triage=[(build_run(3, NOW_MS + 3000), ())]))

    untriaged = store.untriaged_builds(since_ms=NOW_MS + 2000)

    assert [stored.build.build_id for stored in untriaged] == [builds[1].build_id,
                                                                builds[3].build_id]
