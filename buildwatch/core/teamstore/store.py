"""The team store as a `BuildHistory`: the same reads and writes as the local SQLite history,
on PostgreSQL, plus what a viewer needs to follow it (change numbers) and to see its collector
(heartbeats).

Every write is one transaction, the builds once each, summaries and invocations replacing
older states, positions moving forward only, exactly as in the history file. Writes take a
transaction-level advisory lock before they touch a row, so their change numbers are handed out
in the order they commit: a viewer that read every change up to N in one snapshot never meets a
change below N later (see `changes_since`). Each write also sends `NOTIFY` on `CHANNEL` in its
transaction, so listeners wake when, and only when, its rows are visible.

One connection serves every call, one call at a time (the writer thread and `asyncio.to_thread`
may share a store); a connection the server dropped is opened again at the next call. Every
failure is a one-line `HistoryError` naming the store by its masked URL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.errors import BuildwatchError
from buildwatch.core.history.codec import invocation_from_json
from buildwatch.core.history.resume import ResumePoint, choose_resume_point
from buildwatch.core.history.store import (
    BUILDS_STREAM,
    ORPHANED_RUNS,
    RETENTION_CHUNK,
    TRIAGE_FAILURE_INSERT,
    TRIAGE_RUN_UPSERT,
    HistoryBatch,
    HistoryError,
    RetentionPolicy,
    StoredBuild,
    batch_statements,
    stored_builds,
    triage_failure_rows,
    triage_records,
    triage_run_parameters,
)
from buildwatch.core.teamstore import connection as server
from buildwatch.core.teamstore.listen import CHANNEL
from buildwatch.core.teamstore.location import StoreLocation
from buildwatch.core.triage.model import RunSource, TriageRecord

if TYPE_CHECKING:
    import psycopg

_CHANGES_LOCK = "SELECT pg_advisory_xact_lock(hashtext('buildwatch changes'))"
_RUN_COLUMNS = (
    "id, source, run_id, time_ms, succeeded, project, branch, commit_sha, user_name, work"
)
_FAILURE_COLUMNS = "run, kind, name, headline, passed_on_retry"
_OLDEST = -(2**63)
_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"
"""The first statement of a transaction whose reads must see one state of the store."""


@dataclass(frozen=True)
class TeamChanges:
    """What changed after a cursor: each list in change order."""

    builds: list[StoredBuild]
    """Builds inserted or whose summary changed."""
    invocations: list[Invocation]
    triage: list[TriageRecord]
    cursor: int
    """The cursor to pass to the next `changes_since`."""


@dataclass(frozen=True)
class Heartbeat:
    """A collector's latest sign of life (epoch ms)."""

    collector: str
    started_ms: int
    beat_ms: int


class TeamStore:
    """A team store on PostgreSQL; make one with `TeamStore.connect`."""

    def __init__(
        self,
        connection: psycopg.Connection[tuple[Any, ...]],
        location: StoreLocation,
        *,
        read_only: bool,
    ) -> None:
        self._db = connection
        self.location = location
        self.read_only = read_only
        self._lock = threading.RLock()

    @classmethod
    def connect(cls, location: StoreLocation, *, read_only: bool = False) -> TeamStore:
        """Connect to the store at `location`; read-only stores are refused writes by the
        server too. A `HistoryError` (one line, the URL masked) if it is unreachable, refuses
        the credentials, holds no schema, or one older or newer than this buildwatch's."""
        return cls(_opened(location, read_only), location, read_only=read_only)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def write(self, batch: HistoryBatch) -> None:
        """Store `batch` in one transaction: builds once each, summaries and invocations
        replacing older ones, triage runs replacing their failures, positions moving forward
        only; listeners are notified when it commits."""
        self._refuse_if_read_only("write to")
        with self._using("write to") as db, db.transaction():
            db.execute(_CHANGES_LOCK)
            with db.cursor() as cursor:
                for statement, rows in batch_statements(batch):
                    # No literal `?` in those statements: each is a placeholder.
                    cursor.executemany(statement.replace("?", "%s"), rows)
                _write_triage(cursor, batch.triage)
            db.execute(f"NOTIFY {CHANNEL}")

    def load_recent(self, limit: int | None = None) -> list[StoredBuild]:
        """The newest `limit` builds (all of them if None), newest first."""
        with self._using("read") as db:
            return stored_builds(db.execute(
                "SELECT build_id, source, summary FROM builds"
                " ORDER BY published_ms DESC, seq DESC LIMIT %s",
                (limit,),
            ))

    def load_invocations(self, limit: int | None = None) -> list[Invocation]:
        """The latest state of each stored invocation, most recently updated first."""
        with self._using("read") as db:
            rows = db.execute(
                "SELECT raw FROM invocations ORDER BY updated_ms DESC LIMIT %s", (limit,)
            ).fetchall()
        return [invocation for (raw,) in rows if (invocation := invocation_from_json(raw))]

    def triage_runs(self, since_ms: int | None = None) -> list[TriageRecord]:
        """Every run whose failures were recorded, with them, oldest first (by publication or
        last update, then by when it was recorded); `since_ms` keeps the runs of that epoch ms
        or later."""
        since = _OLDEST if since_ms is None else since_ms
        return self._triage("time_ms >= %s", since)

    def build_triage(self, build_ids: Collection[str]) -> dict[str, TriageRecord]:
        """The recorded run and failures of each of these Develocity builds, by build id; a
        build whose failures are not recorded (yet) is not in it."""
        records = self._triage("source = 'develocity' AND run_id = ANY(%s)", list(build_ids))
        return {run.run_id: (run, failures) for run, failures in records}

    def _triage(self, where: str, parameter: object) -> list[TriageRecord]:
        """The recorded runs `where` keeps (a condition on `triage_runs`' own columns, with one
        parameter), with their failures, oldest first, read in one snapshot."""
        with self._using("read") as db, db.transaction():
            db.execute(_SNAPSHOT)
            runs = db.execute(
                f"SELECT {_RUN_COLUMNS} FROM triage_runs WHERE {where} ORDER BY time_ms, id",
                (parameter,),
            ).fetchall()
            failures = db.execute(
                "SELECT f.run, f.kind, f.name, f.headline, f.passed_on_retry"
                f" FROM triage_failures f JOIN triage_runs r ON r.id = f.run WHERE {where}"
                " ORDER BY f.id",
                (parameter,),
            ).fetchall()
        return triage_records(runs, failures)

    def triage_run_ids(self, source: RunSource) -> set[str]:
        """The ids of `source`'s runs whose failures are recorded: those need no reading."""
        with self._using("read") as db:
            rows = db.execute("SELECT run_id FROM triage_runs WHERE source = %s", (source,))
            return {run_id for (run_id,) in rows}

    def unfinished_builds(self, since_ms: int) -> list[StoredBuild]:
        """The builds published at `since_ms` or later whose summary is not stored or whose
        failures are not recorded yet, oldest first, each with its summary if one is stored."""
        with self._using("read") as db:
            return stored_builds(db.execute(
                "SELECT build_id, source, summary FROM builds WHERE published_ms >= %s"
                " AND (summary IS NULL OR NOT EXISTS (SELECT 1 FROM triage_runs"
                " WHERE source = 'develocity' AND run_id = builds.build_id))"
                " ORDER BY published_ms, seq",
                (since_ms,),
            ))

    def build_count(self) -> int:
        """How many builds the store holds."""
        with self._using("read") as db:
            row = db.execute("SELECT count(*) FROM builds").fetchone()
        assert row is not None  # count(*) yields one row
        return int(row[0])

    def position(self, stream: str) -> tuple[str, int] | None:
        """`stream`'s last event id and its epoch ms, if one was stored."""
        with self._using("read") as db:
            row = db.execute(
                "SELECT event_id, position_ms FROM streams WHERE name = %s", (stream,)
            ).fetchone()
        return (str(row[0]), int(row[1])) if row is not None else None

    def resume_point(self, window_ms: int, now_ms: int | None = None) -> ResumePoint:
        """Where the build listing starts: after the last build stored if it is within
        `window_ms` of now, else `window_ms` back (see `choose_resume_point`)."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return choose_resume_point(self.position(BUILDS_STREAM), window_ms, now)

    def change_cursor(self) -> int:
        """The newest change the store holds: take it before loading, then follow with
        `changes_since` (a change made in between is then read twice, never missed)."""
        with self._using("read") as db:
            row = db.execute(
                "SELECT greatest((SELECT max(change) FROM builds),"
                " (SELECT max(change) FROM invocations), (SELECT max(change) FROM triage_runs))"
            ).fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    def changes_since(self, cursor: int, limit: int = 5_000) -> TeamChanges:
        """The builds, invocations and triage runs changed after `cursor`, at most `limit` of
        each, and the cursor to pass next.

        The three reads share one snapshot, in which writes (serialised by their lock) show
        every change number up to the newest visible; so nothing below the returned cursor can
        appear later. When a table has more than `limit` changes, the cursor stops at its last
        one read, and the other tables' later rows wait for the next call."""
        with self._using("read") as db, db.transaction():
            db.execute(_SNAPSHOT)
            builds = db.execute(
                "SELECT change, build_id, source, summary FROM builds WHERE change > %s"
                " ORDER BY change LIMIT %s",
                (cursor, limit),
            ).fetchall()
            invocations = db.execute(
                "SELECT change, raw FROM invocations WHERE change > %s ORDER BY change LIMIT %s",
                (cursor, limit),
            ).fetchall()
            runs = db.execute(
                f"SELECT change, {_RUN_COLUMNS} FROM triage_runs WHERE change > %s"
                " ORDER BY change LIMIT %s",
                (cursor, limit),
            ).fetchall()
            failures = db.execute(
                f"SELECT {_FAILURE_COLUMNS} FROM triage_failures WHERE run = ANY(%s) ORDER BY id",
                ([run[1] for run in runs],),
            ).fetchall()
        tables = (builds, invocations, runs)
        full = [rows[-1][0] for rows in tables if len(rows) >= limit]
        seen = [rows[-1][0] for rows in tables if rows]
        new_cursor = min(full) if full else max(seen, default=cursor)
        return TeamChanges(
            builds=stored_builds(row[1:] for row in builds if row[0] <= new_cursor),
            invocations=[
                invocation
                for change, raw in invocations
                if change <= new_cursor and (invocation := invocation_from_json(raw))
            ],
            triage=triage_records((row[1:] for row in runs if row[0] <= new_cursor), failures),
            cursor=new_cursor,
        )

    def beat(self, collector: str, started_ms: int, now_ms: int | None = None) -> None:
        """Record that `collector`, running since `started_ms`, is alive at `now_ms` (now)."""
        self._refuse_if_read_only("write to")
        now = int(time.time() * 1000) if now_ms is None else now_ms
        with self._using("write to") as db:
            db.execute(
                "INSERT INTO collector_heartbeats (collector, started_ms, beat_ms)"
                " VALUES (%s, %s, %s) ON CONFLICT (collector) DO UPDATE SET"
                " started_ms = excluded.started_ms, beat_ms = excluded.beat_ms",
                (collector, started_ms, now),
            )

    def heartbeat(self) -> Heartbeat | None:
        """The newest heartbeat of any collector; None before any has beaten."""
        with self._using("read") as db:
            row = db.execute(
                "SELECT collector, started_ms, beat_ms FROM collector_heartbeats"
                " ORDER BY beat_ms DESC LIMIT 1"
            ).fetchone()
        return Heartbeat(str(row[0]), int(row[1]), int(row[2])) if row is not None else None

    def apply_retention(self, policy: RetentionPolicy, now_ms: int | None = None) -> int:
        """Delete builds beyond the policy (oldest first) and stale invocations, with their
        triage runs; returns how many builds were deleted. Works in small transactions so
        writers never wait long."""
        self._refuse_if_read_only("delete from")
        cutoff = policy.cutoff_ms(now_ms)
        deleted = self._delete_oldest("published_ms < %s", (cutoff,), None)
        excess = self.build_count() - policy.max_builds
        if excess > 0:
            deleted += self._delete_oldest("TRUE", (), excess)
        with self._using("delete from") as db, db.transaction():
            db.execute("DELETE FROM invocations WHERE updated_ms < %s", (cutoff,))
            # A run's failures go with it (ON DELETE CASCADE).
            for statement in ORPHANED_RUNS:
                db.execute(statement)
        return deleted

    def _delete_oldest(self, where: str, parameters: tuple[int, ...], most: int | None) -> int:
        """Delete the oldest builds matching `where`, `most` at most, a chunk per transaction."""
        deleted = 0
        while most is None or deleted < most:
            chunk = RETENTION_CHUNK if most is None else min(RETENTION_CHUNK, most - deleted)
            with self._using("delete from") as db:
                count = db.execute(
                    "DELETE FROM builds WHERE seq IN (SELECT seq FROM builds"
                    f" WHERE {where} ORDER BY published_ms, seq LIMIT %s)",
                    (*parameters, chunk),
                ).rowcount
            deleted += count
            if count < chunk:
                break
        return deleted

    def _refuse_if_read_only(self, what: str) -> None:
        if self.read_only:
            raise HistoryError(
                f"cannot {what} the team store {self.location.shown}: it was opened read-only"
            )

    @contextmanager
    def _using(self, what: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        """The connection, to this caller alone, opened again if the server dropped it; the
        driver's errors as a one-line `HistoryError` saying what could not be done."""
        import psycopg

        with self._lock:
            if self._db.broken:
                self._db = _opened(self.location, self.read_only)
            try:
                yield self._db
            except psycopg.Error as error:
                words = server.server_words(error, self.location)
                raise HistoryError(
                    f"cannot {what} the team store {self.location.shown}: {words}"
                ) from None


def _opened(location: StoreLocation, read_only: bool) -> psycopg.Connection[tuple[Any, ...]]:
    """A connection to a store at this buildwatch's schema version, read-only if asked."""
    import psycopg

    try:
        connection = server.connect(location)
    except BuildwatchError as error:
        raise _keeping_exit_code(error) from None
    try:
        if read_only:
            # The server refuses the session's writes itself, whatever calls it.
            connection.execute("SET default_transaction_read_only = on")
        server.check_current(connection, location)
    except BuildwatchError as error:
        connection.close()
        raise _keeping_exit_code(error) from None
    except psycopg.Error as error:
        connection.close()
        words = server.server_words(error, location)
        raise HistoryError(f"cannot read the team store {location.shown}: {words}") from None
    return connection


def _keeping_exit_code(error: BuildwatchError) -> HistoryError:
    """`error` as a `HistoryError` that exits as it would: 5 for a store that cannot be reached,
    3 for refused credentials, 2 for a schema to create or migrate, as `buildwatch store` does."""
    kept = HistoryError(str(error))
    kept.exit_code = error.exit_code
    return kept


def _write_triage(cursor: psycopg.Cursor[tuple[Any, ...]], records: list[TriageRecord]) -> None:
    """Store each run and replace its failures, inside the caller's transaction."""
    for run, failures in records:
        cursor.execute(
            TRIAGE_RUN_UPSERT.replace("?", "%s") + " RETURNING id", triage_run_parameters(run)
        )
        row = cursor.fetchone()
        assert row is not None  # an upsert with RETURNING yields its row
        cursor.execute("DELETE FROM triage_failures WHERE run = %s", (row[0],))
        cursor.executemany(
            TRIAGE_FAILURE_INSERT.replace("?", "%s"), triage_failure_rows(row[0], failures)
        )
