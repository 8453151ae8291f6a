"""Creating, migrating and inspecting a team store: what `buildwatch store` does.

Every failure is a `BuildwatchError` of one line that names the store by its masked URL and never
holds its password (see `connection`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from buildwatch.core.errors import ConfigError
from buildwatch.core.teamstore.connection import connected, existing_version, stored_version
from buildwatch.core.teamstore.location import StoreLocation
from buildwatch.core.teamstore.schema import MIGRATIONS, SCHEMA_VERSION, VERSION_TABLE

if TYPE_CHECKING:
    import psycopg

_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('buildwatch schema'))"
"""Taken by every transaction that creates or migrates the schema: two at once run one by one."""


class SchemaExistsError(ConfigError):
    """`init` on a database that already holds a buildwatch schema."""


@dataclass(frozen=True)
class StoreStatus:
    """What `buildwatch store status` reports."""

    version: int
    builds: int
    invocations: int
    newest_build_ms: int | None
    heartbeat_ms: int | None
    """The newest heartbeat of any collector; None when none has beaten yet."""


def init_store(location: StoreLocation) -> int:
    """Create the schema in a database without one; returns the version created."""
    with connected(location) as connection:
        with connection.transaction():
            connection.execute(_SCHEMA_LOCK)
            version = stored_version(connection)
            if version is not None:
                raise SchemaExistsError(
                    f"{location.shown} already holds buildwatch's schema (version {version}); "
                    "`buildwatch store migrate` brings it up to date"
                )
            connection.execute(VERSION_TABLE)
        _apply_pending(connection, location)
    return SCHEMA_VERSION


def migrate_store(location: StoreLocation) -> tuple[int, int]:
    """Apply the migrations the store lacks; returns its version before and after."""
    with connected(location) as connection:
        with connection.transaction():
            before = existing_version(connection, location)
        _apply_pending(connection, location)
    return before, SCHEMA_VERSION


def store_status(location: StoreLocation) -> StoreStatus:
    """The store's schema version, what it holds and its collector's newest heartbeat."""
    with connected(location) as connection, connection.transaction():
        version = existing_version(connection, location)
        if version == 0:
            return StoreStatus(version, 0, 0, None, None)
        row = connection.execute(
            "SELECT (SELECT count(*) FROM builds), (SELECT count(*) FROM invocations),"
            " (SELECT max(published_ms) FROM builds),"
            " (SELECT max(beat_ms) FROM collector_heartbeats)"
        ).fetchone()
        assert row is not None  # a SELECT without FROM yields one row
        builds, invocations, newest, heartbeat = row
        return StoreStatus(version, builds, invocations, newest, heartbeat)


def _apply_pending(
    connection: psycopg.Connection[tuple[Any, ...]], location: StoreLocation
) -> None:
    while True:
        with connection.transaction():
            connection.execute(_SCHEMA_LOCK)
            # Read under the lock: another process may have migrated since the last look.
            version = existing_version(connection, location)
            if version == SCHEMA_VERSION:
                return
            connection.execute(MIGRATIONS[version])
            connection.execute("UPDATE schema_version SET version = %s", (version + 1,))
