"""The history file's triage records: how files from before triage and before runs' work are
migrated, and the writer thread storing records (how every store keeps runs and their failures
is in test_build_history)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from test_history_store import NOW_MS, make_build

from buildwatch.core.history.opening import open_history
from buildwatch.core.history.schema import MIGRATIONS, migrate, schema_version
from buildwatch.core.history.writer import HistoryWriter
from buildwatch.core.triage.model import Failure, Run

FLAKY_TEST = Failure("test", "com.acme.CartTest.total", "expected 3 but was 4", True)
FAILED_TASK = Failure("task", ":app:test", "There were failing tests")


def build_run(number: int, time_ms: int, succeeded: bool | None = False) -> Run:
    return Run("develocity", make_build(number, 0).build_id, time_ms, succeeded,
               "app", "main", "4f2a9c1", "ana")


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
