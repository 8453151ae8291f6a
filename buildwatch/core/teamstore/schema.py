"""The team store's tables, versioned in a `schema_version` table (`admin` applies them).

The tables hold what the SQLite history holds (`buildwatch.core.history.schema`), in the same
shapes and the same encodings (times in epoch milliseconds, sources and summaries as the history's
codec writes them), so that one store interface can read both; plus the collectors' heartbeats.

Each migration runs in one transaction with its version bump (PostgreSQL's DDL is
transactional), under an advisory lock: a process killed mid-migration leaves the previous
version, and two processes migrating at once migrate once.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE builds (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        build_id TEXT NOT NULL UNIQUE,
        published_ms BIGINT NOT NULL,
        source BYTEA NOT NULL,
        summary BYTEA
    );
    CREATE INDEX builds_by_time ON builds (published_ms, seq);
    CREATE TABLE invocations (
        invocation_id TEXT PRIMARY KEY,
        updated_ms BIGINT NOT NULL,
        raw BYTEA NOT NULL
    );
    CREATE INDEX invocations_by_time ON invocations (updated_ms);
    CREATE TABLE streams (
        name TEXT PRIMARY KEY,
        event_id TEXT NOT NULL,
        position_ms BIGINT NOT NULL
    );
    CREATE TABLE triage_runs (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source TEXT NOT NULL,
        run_id TEXT NOT NULL,
        time_ms BIGINT NOT NULL,
        succeeded BOOLEAN,
        project TEXT,
        branch TEXT,
        commit_sha TEXT,
        user_name TEXT,
        UNIQUE (source, run_id)
    );
    CREATE INDEX triage_runs_by_time ON triage_runs (time_ms, id);
    CREATE TABLE triage_failures (
        run BIGINT NOT NULL REFERENCES triage_runs (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        headline TEXT NOT NULL,
        passed_on_retry BOOLEAN NOT NULL
    );
    CREATE INDEX triage_failures_by_run ON triage_failures (run);
    CREATE TABLE collector_heartbeats (
        collector TEXT PRIMARY KEY,
        started_ms BIGINT NOT NULL,
        beat_ms BIGINT NOT NULL
    );
    """,
    # Change numbers: every insert or update of a build, an invocation or a triage run takes the
    # next number of one sequence (the trigger; the default only numbers the rows already
    # there), so that a viewer reads what changed since the number it last saw with one indexed
    # range read per table. Also what the local history gained since: each
    # run's requested work, and the failures' order of recording (PostgreSQL has no rowid).
    """
    CREATE SEQUENCE changes;
    CREATE FUNCTION buildwatch_next_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.change := nextval('changes');
        RETURN NEW;
    END
    $$;
    ALTER TABLE builds ADD COLUMN change BIGINT NOT NULL DEFAULT nextval('changes');
    ALTER TABLE builds ALTER COLUMN change DROP DEFAULT;
    CREATE INDEX builds_by_change ON builds (change);
    CREATE TRIGGER builds_change BEFORE INSERT OR UPDATE ON builds
        FOR EACH ROW EXECUTE FUNCTION buildwatch_next_change();
    ALTER TABLE invocations ADD COLUMN change BIGINT NOT NULL DEFAULT nextval('changes');
    ALTER TABLE invocations ALTER COLUMN change DROP DEFAULT;
    CREATE INDEX invocations_by_change ON invocations (change);
    CREATE TRIGGER invocations_change BEFORE INSERT OR UPDATE ON invocations
        FOR EACH ROW EXECUTE FUNCTION buildwatch_next_change();
    ALTER TABLE triage_runs ADD COLUMN change BIGINT NOT NULL DEFAULT nextval('changes');
    ALTER TABLE triage_runs ALTER COLUMN change DROP DEFAULT;
    CREATE INDEX triage_runs_by_change ON triage_runs (change);
    CREATE TRIGGER triage_runs_change BEFORE INSERT OR UPDATE ON triage_runs
        FOR EACH ROW EXECUTE FUNCTION buildwatch_next_change();
    ALTER TABLE triage_runs ADD COLUMN work TEXT;
    ALTER TABLE triage_failures ADD COLUMN id BIGINT GENERATED ALWAYS AS IDENTITY;
    """,
)
"""Migration `i` takes a store from version `i` to `i + 1` (at version 0, `init` has made only
`schema_version`); append, never edit."""

SCHEMA_VERSION = len(MIGRATIONS)

VERSION_TABLE = """
CREATE TABLE schema_version (
    version INTEGER NOT NULL,
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row)
);
INSERT INTO schema_version (version) VALUES (0)
"""
"""One row: the version the store's tables are at (0 until the first migration has run)."""
