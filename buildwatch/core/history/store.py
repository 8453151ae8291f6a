"""Reading and writing the history file: one connection, one transaction per batch.

Every batch is written in one transaction, a stream's position with the builds that moved it,
so a process killed at any moment leaves either the whole batch or none of it. WAL mode lets
another process (or the writer thread) write while this one reads; `busy_timeout` makes two
writers wait for each other instead of failing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.develocity.models import Build
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.errors import BuildwatchError
from buildwatch.core.history.codec import (
    invocation_from_json,
    invocation_to_json,
    invocation_updated_ms,
    summary_from_json,
    summary_to_json,
)
from buildwatch.core.history.resume import ResumePoint, choose_resume_point
from buildwatch.core.shared_values import shared
from buildwatch.core.triage.model import Failure, FailureKind, Run, RunSource, TriageRecord

BUILDS_STREAM = "builds"
"""The stream position of the build listing."""
BUSY_TIMEOUT_S = 10.0
RETENTION_CHUNK = 2_000
"""Rows deleted per transaction, so retention never holds the write lock for long."""
ORPHANED_RUNS = (
    "DELETE FROM triage_runs WHERE source = 'develocity' AND NOT EXISTS"
    " (SELECT 1 FROM builds WHERE build_id = triage_runs.run_id)",
    "DELETE FROM triage_runs WHERE source = 'buildbuddy' AND NOT EXISTS"
    " (SELECT 1 FROM invocations WHERE invocation_id = triage_runs.run_id)",
)
"""Delete the triage runs of the builds and invocations no longer stored."""
_FAILURE_KINDS: frozenset[str] = frozenset(get_args(FailureKind))
_RUN_SOURCES: frozenset[str] = frozenset(get_args(RunSource))


class HistoryError(BuildwatchError):
    """The history file cannot be used; buildwatch carries on without it."""


@dataclass(frozen=True)
class StoredBuild:
    """A build from the history: its `Build` message and, once enriched, its summary."""

    build: Build
    summary: BuildSummary | None


@dataclass(frozen=True)
class RetentionPolicy:
    """How much history is kept: at most `max_builds` builds, none older than `max_age_days`."""

    max_builds: int = 100_000
    max_age_days: int = 30

    def cutoff_ms(self, now_ms: int | None = None) -> int:
        """The epoch ms before which builds and invocations are deleted (`now_ms` default: now)."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return now - self.max_age_days * 86_400_000


@dataclass
class HistoryBatch:
    """What one write stores, all or nothing."""

    builds: list[Build] = field(default_factory=list)
    summaries: list[BuildSummary] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)
    triage: list[TriageRecord] = field(default_factory=list)
    """Runs with their failures, each replacing what was stored for the same run."""
    positions: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Stream name -> (last event id, its epoch ms); a position never moves back."""

    def merge(self, other: HistoryBatch) -> None:
        """Add `other`'s contents after this batch's."""
        self.builds += other.builds
        self.summaries += other.summaries
        self.invocations += other.invocations
        self.triage += other.triage
        for name, position in other.positions.items():
            known = self.positions.get(name)
            if known is None or position[1] >= known[1]:
                self.positions[name] = position

    def __bool__(self) -> bool:
        return bool(
            self.builds or self.summaries or self.invocations or self.triage or self.positions
        )


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn SQLite's errors while reading into a one-line `HistoryError`."""
    try:
        yield
    except sqlite3.Error as error:
        raise HistoryError(f"cannot read the history {path}: {error}") from None


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the history file at `path`, in WAL mode, transactions explicit.

    It may be used from any one thread at a time (the reader moves between the event loop and
    `asyncio.to_thread`).
    """
    _create_private(path)
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL loses nothing when the process dies; only a power cut may lose
        # the last transactions, never consistency.
        connection.execute("PRAGMA synchronous=NORMAL")
    except BaseException:
        connection.close()
        raise
    return connection


def _create_private(path: Path) -> None:
    """Create the history's directories (0700) and file (0600) before SQLite would, readable by
    every local user: builds name users, hosts, branches and custom values. SQLite gives the
    -wal and -shm files the mode of the database. An older buildwatch's 0755 directory and 0644
    files are tightened; a file that is not ours (chmod refused) is left as it is."""
    path.parent.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    with contextlib.suppress(PermissionError):
        path.parent.chmod(0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            path.with_name(path.name + suffix).chmod(0o600)


class HistoryStore:
    """The history file's contents; make one with `open_history`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def write(self, batch: HistoryBatch) -> None:
        """Store `batch` in one transaction: builds once each, summaries and invocations
        replacing older ones, positions moving forward only."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement, rows in batch_statements(batch):
                db.executemany(statement, rows)
            _write_triage(db, batch.triage)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def load_recent(self, limit: int | None = None) -> list[StoredBuild]:
        """The newest `limit` builds (all of them if None), newest first."""
        with _reading(self.path):
            rows = self._db.execute(
                "SELECT build_id, source, summary FROM builds"
                " ORDER BY published_ms DESC, seq DESC LIMIT ?",
                (-1 if limit is None else limit,),
            )
            return stored_builds(rows)

    def triage_runs(self, since_ms: int | None = None) -> list[TriageRecord]:
        """Every run whose failures were recorded, with them, oldest first (by publication or
        last update, then by when it was recorded): the input of failure grouping, in the
        order `TriageIndex.add` takes it. `since_ms` keeps the runs of that epoch ms or later.

        A build or invocation that is not here has not had its failures read yet; a run that
        passed is here with no failures, so grouping knows the work passed. A run recorded
        before the history kept runs' work reads back with `work` None."""
        with _reading(self.path):
            runs = self._db.execute(
                "SELECT id, source, run_id, time_ms, succeeded, project, branch, commit_sha,"
                " user_name, work FROM triage_runs WHERE time_ms >= ? ORDER BY time_ms, id",
                (-(2**63) if since_ms is None else since_ms,),
            ).fetchall()
            failures = self._db.execute(
                "SELECT f.run, f.kind, f.name, f.headline, f.passed_on_retry"
                " FROM triage_failures f JOIN triage_runs r ON r.id = f.run"
                " WHERE r.time_ms >= ? ORDER BY f.rowid",
                (-(2**63) if since_ms is None else since_ms,),
            )
            return triage_records(runs, failures)

    def triage_run_ids(self, source: RunSource) -> set[str]:
        """The ids of `source`'s runs whose failures are recorded: those need no reading."""
        with _reading(self.path):
            rows = self._db.execute("SELECT run_id FROM triage_runs WHERE source = ?", (source,))
            return {run_id for (run_id,) in rows}

    def unfinished_builds(self, since_ms: int) -> list[StoredBuild]:
        """The builds published at `since_ms` or later whose summary is not stored or whose
        failures are not recorded yet, oldest first, each with its summary if one is stored."""
        with _reading(self.path):
            rows = self._db.execute(
                "SELECT build_id, source, summary FROM builds WHERE published_ms >= ?"
                " AND (summary IS NULL OR NOT EXISTS (SELECT 1 FROM triage_runs"
                " WHERE source = 'develocity' AND run_id = builds.build_id))"
                " ORDER BY published_ms, seq",
                (since_ms,),
            )
            return stored_builds(rows)

    def build_count(self) -> int:
        """How many builds the history holds."""
        with _reading(self.path):
            return int(self._db.execute("SELECT count(*) FROM builds").fetchone()[0])

    def load_invocations(self, limit: int | None = None) -> list[Invocation]:
        """The latest state of each stored invocation, most recently updated first."""
        with _reading(self.path):
            rows = self._db.execute(
                "SELECT raw FROM invocations ORDER BY updated_ms DESC LIMIT ?",
                (-1 if limit is None else limit,),
            )
            return [invocation for (raw,) in rows if (invocation := invocation_from_json(raw))]

    def position(self, stream: str) -> tuple[str, int] | None:
        """`stream`'s last event id and its epoch ms, if one was stored."""
        with _reading(self.path):
            row = self._db.execute(
                "SELECT event_id, position_ms FROM streams WHERE name = ?", (stream,)
            ).fetchone()
        return (str(row[0]), int(row[1])) if row is not None else None

    def last_build_id(self) -> str | None:
        """The id of the last build the listing delivered, if any."""
        position = self.position(BUILDS_STREAM)
        return position[0] if position is not None else None

    def resume_point(self, window_ms: int, now_ms: int | None = None) -> ResumePoint:
        """Where the build listing starts: after the last build seen if it is within
        `window_ms` of now, else `window_ms` back (see `choose_resume_point`)."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return choose_resume_point(self.position(BUILDS_STREAM), window_ms, now)

    def apply_retention(self, policy: RetentionPolicy, now_ms: int | None = None) -> int:
        """Delete builds beyond the policy (oldest first) and stale invocations; returns how
        many builds were deleted. Works in small transactions so writers never wait long."""
        cutoff = policy.cutoff_ms(now_ms)
        deleted = self._delete_oldest("published_ms < ?", (cutoff,), None)
        excess = self.build_count() - policy.max_builds
        if excess > 0:
            deleted += self._delete_oldest("1", (), excess)
        self._db.execute("DELETE FROM invocations WHERE updated_ms < ?", (cutoff,))
        self._delete_orphaned_triage()
        return deleted

    def _delete_orphaned_triage(self) -> None:
        """Delete the triage rows of builds and invocations no longer stored."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in ORPHANED_RUNS:
                db.execute(statement)
            db.execute(
                "DELETE FROM triage_failures WHERE run NOT IN (SELECT id FROM triage_runs)"
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _delete_oldest(self, where: str, parameters: tuple[int, ...], most: int | None) -> int:
        """Delete the oldest builds matching `where`, `most` at most, a chunk per transaction."""
        deleted = 0
        while most is None or deleted < most:
            chunk = RETENTION_CHUNK if most is None else min(RETENTION_CHUNK, most - deleted)
            cursor = self._db.execute(
                "DELETE FROM builds WHERE seq IN (SELECT seq FROM builds"
                f" WHERE {where} ORDER BY published_ms, seq LIMIT ?)",
                (*parameters, chunk),
            )
            deleted += cursor.rowcount
            if cursor.rowcount < chunk:
                break
        return deleted


def batch_statements(batch: HistoryBatch) -> list[tuple[str, list[tuple[object, ...]]]]:
    """The statements that store `batch`'s builds, summaries, invocations and positions (all
    but its triage runs), each with its rows of parameters (`?` placeholders), for the caller's
    transaction: the SQLite history and the team store write them alike."""
    return [
        (
            "INSERT INTO builds (build_id, published_ms, source) VALUES (?, ?, ?)"
            " ON CONFLICT (build_id) DO NOTHING",
            [(b.build_id, b.timestamp or 0, b.source) for b in batch.builds if b.build_id],
        ),
        (
            "UPDATE builds SET summary = ? WHERE build_id = ?",
            [(summary_to_json(s), s.build_id) for s in batch.summaries],
        ),
        (
            "INSERT INTO invocations (invocation_id, updated_ms, raw) VALUES (?, ?, ?)"
            " ON CONFLICT (invocation_id) DO UPDATE SET"
            " updated_ms = excluded.updated_ms, raw = excluded.raw"
            " WHERE excluded.updated_ms >= invocations.updated_ms",
            [
                (i.invocation_id, invocation_updated_ms(i), invocation_to_json(i))
                for i in batch.invocations
            ],
        ),
        (
            "INSERT INTO streams (name, event_id, position_ms) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET"
            " event_id = excluded.event_id, position_ms = excluded.position_ms"
            " WHERE excluded.position_ms >= streams.position_ms",
            [(name, event_id, ms) for name, (event_id, ms) in batch.positions.items()],
        ),
    ]


def stored_builds(rows: Iterable[tuple[str, bytes, bytes | None]]) -> list[StoredBuild]:
    """Rows of (build id, listing message, summary) as stored builds."""
    return [
        StoredBuild(
            Build(source=source, message_id=build_id),
            summary_from_json(summary) if summary is not None else None,
        )
        for build_id, source, summary in rows
    ]


def triage_records(
    runs: Iterable[tuple[Any, ...]], failures: Iterable[tuple[Any, ...]]
) -> list[TriageRecord]:
    """Rows of `triage_runs` (key, source, run id, time, succeeded, project, branch, commit,
    user, work) and of `triage_failures` (run key, kind, name, headline, passed on retry), in
    the order to keep, as records; rows of a kind or source this buildwatch does not know are
    left out."""
    by_run: dict[object, list[Failure]] = {}
    for run, kind, name, headline, retried in failures:
        if kind in _FAILURE_KINDS:
            by_run.setdefault(run, []).append(
                Failure(kind, shared(name), shared(headline), bool(retried)))
    return [
        (
            # Builds repeat their project, branch, commit, user and work: one copy of each.
            Run(shared(source), run_id, time_ms, None if ok is None else bool(ok), shared(project),
                shared(branch), shared(commit), shared(user), shared(work)),
            tuple(by_run.get(key, ())),
        )
        for key, source, run_id, time_ms, ok, project, branch, commit, user, work in runs
        if source in _RUN_SOURCES
    ]


TRIAGE_RUN_UPSERT = (
    "INSERT INTO triage_runs (source, run_id, time_ms, succeeded, project, branch,"
    " commit_sha, user_name, work) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (source, run_id) DO UPDATE SET time_ms = excluded.time_ms,"
    " succeeded = excluded.succeeded, project = excluded.project,"
    " branch = excluded.branch, commit_sha = excluded.commit_sha,"
    " user_name = excluded.user_name, work = excluded.work"
)
"""Stores a run, replacing what was stored for it (`?` placeholders, `triage_run_parameters`):
the SQLite history and the team store write runs alike."""
TRIAGE_FAILURE_INSERT = (
    "INSERT INTO triage_failures (run, kind, name, headline, passed_on_retry)"
    " VALUES (?, ?, ?, ?, ?)"
)
"""Stores one failure of a run (`?` placeholders, rows from `triage_failure_rows`)."""


def triage_run_parameters(run: Run) -> tuple[object, ...]:
    """The parameters of `TRIAGE_RUN_UPSERT` for `run`."""
    return (run.source, run.run_id, run.time_ms, run.succeeded, run.project, run.branch,
            run.commit, run.user, run.work)


def triage_failure_rows(key: int, failures: Iterable[Failure]) -> list[tuple[object, ...]]:
    """The rows of `TRIAGE_FAILURE_INSERT` for the failures of the run stored as `key`."""
    return [(key, f.kind, f.name, f.headline, f.passed_on_retry) for f in failures]


def _write_triage(db: sqlite3.Connection, records: list[TriageRecord]) -> None:
    """Store each run and replace its failures, inside the caller's transaction."""
    for run, failures in records:
        db.execute(TRIAGE_RUN_UPSERT, triage_run_parameters(run))
        # No RETURNING: SQLite before 3.35 (still shipped by some systems) lacks it.
        (key,) = db.execute(
            "SELECT id FROM triage_runs WHERE source = ? AND run_id = ?", (run.source, run.run_id)
        ).fetchone()
        db.execute("DELETE FROM triage_failures WHERE run = ?", (key,))
        db.executemany(TRIAGE_FAILURE_INSERT, triage_failure_rows(key, failures))
