"""The history file's tables, versioned with SQLite's `user_version`, and how a file is brought
up to date.

Each migration runs in its own transaction together with the version bump, so a process killed
mid-migration leaves the file at the previous version, and two processes opening an old file at
once migrate it once (the second sees the new version inside its write transaction).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE builds (
        seq INTEGER PRIMARY KEY,
        build_id TEXT NOT NULL UNIQUE,
        published_ms INTEGER NOT NULL,
        source BLOB NOT NULL,
        summary BLOB
    );
    CREATE INDEX builds_by_time ON builds (published_ms, seq);
    CREATE TABLE invocations (
        invocation_id TEXT PRIMARY KEY,
        updated_ms INTEGER NOT NULL,
        raw BLOB NOT NULL
    );
    CREATE INDEX invocations_by_time ON invocations (updated_ms);
    CREATE TABLE streams (
        name TEXT PRIMARY KEY,
        event_id TEXT NOT NULL,
        position_ms INTEGER NOT NULL
    );
    """,
    # Triage: each run (summarised build or finished invocation) with what grouping needs, and
    # its failures. A run's row is written once its failures are known, so a run without one is
    # still to be read; retention deletes the rows of builds and invocations it deletes.
    """
    CREATE TABLE triage_runs (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        run_id TEXT NOT NULL,
        time_ms INTEGER NOT NULL,
        succeeded INTEGER,
        project TEXT,
        branch TEXT,
        commit_sha TEXT,
        user_name TEXT,
        UNIQUE (source, run_id)
    );
    CREATE INDEX triage_runs_by_time ON triage_runs (time_ms, id);
    CREATE TABLE triage_failures (
        run INTEGER NOT NULL,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        headline TEXT NOT NULL,
        passed_on_retry INTEGER NOT NULL
    );
    CREATE INDEX triage_failures_by_run ON triage_failures (run);
    """,
    # Tasks and goals are grouped by their project too (`billing-service :core:test`): those
    # recorded before by their path alone are renamed so, their run's project known.
    """
    UPDATE triage_failures
    SET name = (SELECT project FROM triage_runs WHERE id = triage_failures.run) || ' ' || name
    WHERE kind IN ('task', 'goal')
    AND (SELECT project FROM triage_runs WHERE id = triage_failures.run) <> '';
    """,
    # Each run's requested work (`assemble`, `test //...`), which scopes "the work passed". Runs
    # recorded before keep it NULL: grouping then scopes them by their project alone.
    """
    ALTER TABLE triage_runs ADD COLUMN work TEXT;
    """,
)
"""Migration `i` takes a file from version `i` to version `i + 1`; append, never edit."""

SCHEMA_VERSION = len(MIGRATIONS)


class NewerSchemaError(Exception):
    """The file was written by a newer buildwatch whose schema this one cannot read."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(
            f"it was written by a newer buildwatch (schema version {found}; "
            f"this one reads up to {known})"
        )


def schema_version(connection: sqlite3.Connection) -> int:
    """The file's schema version (0 for a new, empty file)."""
    row = connection.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(connection: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring the file up to `len(migrations)`; returns how many migrations ran.

    `connection` must be in autocommit mode (`isolation_level=None`): transactions here are
    explicit.
    """
    known = len(migrations)
    ran = 0
    while True:
        version = schema_version(connection)
        if version > known:
            raise NewerSchemaError(version, known)
        if version == known:
            return ran
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated between the read above and the lock.
            if schema_version(connection) == version:
                for statement in _statements(migrations[version]):
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {version + 1}")
                ran += 1
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


def _statements(script: str) -> list[str]:
    # executescript() would commit the open transaction first; run statement by statement instead.
    return [statement.strip() for statement in script.split(";") if statement.strip()]
