"""Creating, migrating and inspecting a team store: what `buildwatch store` does.

Every failure is a `BuildwatchError` of one line that names the store by its masked URL and never
holds its password: the server's own message is cut to its first line and any occurrence of the
password in it masked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from buildwatch.core.errors import AuthError, ConfigError, NotFoundError, UnavailableError
from buildwatch.core.teamstore.location import StoreLocation
from buildwatch.core.teamstore.schema import MIGRATIONS, SCHEMA_VERSION, VERSION_TABLE

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 10
"""How long a command waits for the server before saying it cannot be reached."""

_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtext('buildwatch schema'))"
"""Taken by every transaction that creates or migrates the schema: two at once run one by one."""

_INVALID_PASSWORD = "28P01"
_INVALID_AUTHORIZATION = "28000"
_INVALID_CATALOG = "3D000"


class NoSchemaError(ConfigError):
    """The database holds no buildwatch schema yet."""


class SchemaExistsError(ConfigError):
    """`init` on a database that already holds a buildwatch schema."""


class NewerStoreSchemaError(ConfigError):
    """The store was migrated by a newer buildwatch than this one."""


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
    with _connected(location) as connection:
        with connection.transaction():
            connection.execute(_SCHEMA_LOCK)
            version = _version(connection)
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
    with _connected(location) as connection:
        with connection.transaction():
            before = _existing_version(connection, location)
        _apply_pending(connection, location)
    return before, SCHEMA_VERSION


def store_status(location: StoreLocation) -> StoreStatus:
    """The store's schema version, what it holds and its collector's newest heartbeat."""
    with _connected(location) as connection, connection.transaction():
        version = _existing_version(connection, location)
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
            version = _existing_version(connection, location)
            if version == SCHEMA_VERSION:
                return
            connection.execute(MIGRATIONS[version])
            connection.execute("UPDATE schema_version SET version = %s", (version + 1,))


def _existing_version(
    connection: psycopg.Connection[tuple[Any, ...]], location: StoreLocation
) -> int:
    version = _version(connection)
    if version is None:
        raise NoSchemaError(
            f"{location.shown} holds no buildwatch schema; create it with `buildwatch store init`"
        )
    if version > SCHEMA_VERSION:
        raise NewerStoreSchemaError(
            f"{location.shown} was migrated by a newer buildwatch (schema version {version}; "
            f"this one knows up to {SCHEMA_VERSION}); upgrade buildwatch"
        )
    return version


def _version(connection: psycopg.Connection[tuple[Any, ...]]) -> int | None:
    """The schema's version, or None when the database has no `schema_version` table."""
    exists = connection.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = connection.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


@contextmanager
def _connected(location: StoreLocation) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    import psycopg

    try:
        connection = psycopg.connect(
            location.url.reveal(), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
        )
    except psycopg.Error as error:
        raise _connect_error(error, location) from None
    try:
        with connection:
            yield connection
    except psycopg.Error as error:
        raise UnavailableError(f"{location.shown}: {_server_words(error, location)}") from None


def _connect_error(error: psycopg.Error, location: StoreLocation) -> Exception:
    words = _server_words(error, location)
    if error.sqlstate in (_INVALID_PASSWORD, _INVALID_AUTHORIZATION) or (
        "authentication failed" in words
    ):
        return AuthError(f"{location.shown} refused the credentials: {words}")
    if error.sqlstate == _INVALID_CATALOG or (
        "database" in words and "does not exist" in words
    ):
        return NotFoundError(f"{location.shown}: {words}")
    return UnavailableError(f"cannot reach the store {location.shown}: {words}")


def _server_words(error: Exception, location: StoreLocation) -> str:
    """The first meaningful line of the driver's message, without the password."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    words = lines[0] if lines else type(error).__name__
    # libpq prefixes the server's own words with the host it tried, which the URL says already.
    words = words.removeprefix("connection failed: ")
    if "FATAL:" in words:
        words = words.split("FATAL:", 1)[1].strip()
    if location.password:
        words = words.replace(location.password.reveal(), "****")
    return words
