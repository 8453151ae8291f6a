"""Connecting to the team store, reading its schema version, and saying in one line why either
failed.

Every failure names the store by its masked URL and never holds its password: the driver's
message is cut to its first meaningful line and any occurrence of the password in it masked.
psycopg is imported inside the functions, once a store is actually used.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from buildwatch.core.errors import (
    AuthError,
    BuildwatchError,
    ConfigError,
    NotFoundError,
    UnavailableError,
)
from buildwatch.core.secrets import Secret
from buildwatch.core.teamstore.location import StoreLocation
from buildwatch.core.teamstore.schema import SCHEMA_VERSION

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 10
"""How long a connection attempt waits for the server before saying it cannot be reached."""

_INVALID_PASSWORD = "28P01"
_INVALID_AUTHORIZATION = "28000"
_INVALID_CATALOG = "3D000"
_NO_PASSWORD = "no password supplied"
"""libpq's words when the server asks for a password and none was given."""


class NoSchemaError(ConfigError):
    """The database holds no buildwatch schema yet."""


class NewerStoreSchemaError(ConfigError):
    """The store was migrated by a newer buildwatch than this one."""


class OlderStoreSchemaError(ConfigError):
    """The store lacks migrations this buildwatch needs."""


def connect(
    location: StoreLocation, password: Secret | None = None
) -> psycopg.Connection[tuple[Any, ...]]:
    """An autocommit connection to the store, with `password` if given, else as libpq finds
    one, else with the keyring's; a `BuildwatchError` of the failure's kind (refused
    credentials, no such database, unreachable) if the server cannot be used."""
    import psycopg

    arguments = connect_arguments(location)
    if password is None:
        try:
            return psycopg.connect(**arguments)
        except psycopg.Error as error:
            password = keyring_password(error, location)
            if password is None:
                raise connect_error(error, location) from None
    try:
        return psycopg.connect(**arguments, password=password.reveal())
    except psycopg.Error as error:
        raise connect_error(error, location, password) from None


def connect_arguments(location: StoreLocation) -> dict[str, Any]:
    """What psycopg's `connect` (sync or async) is given for the store: autocommit, so that
    transactions are explicit, and a bounded wait for the server."""
    return {
        "conninfo": location.url.reveal(),
        "autocommit": True,
        "connect_timeout": CONNECT_TIMEOUT_S,
    }


def keyring_password(error: Exception, location: StoreLocation) -> Secret | None:
    """After a connection attempt failed with `error`: the password the keyring keeps for the
    store, if the server asked for one that neither the URL nor libpq (PGPASSWORD, PGPASSFILE)
    gave; else None. Blocks on the keyring (a `ConfigError` if it is locked or broken)."""
    if location.password or _NO_PASSWORD not in str(error):
        return None
    from buildwatch.core.credentials import read_secret

    stored = read_secret("store", location.keyring_user)
    return Secret(stored) if stored else None


@contextmanager
def connected(location: StoreLocation) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """`connect`, closed on leaving; the server's errors meanwhile as an `UnavailableError`."""
    import psycopg

    connection = connect(location)
    try:
        with connection:
            yield connection
    except psycopg.Error as error:
        raise UnavailableError(f"{location.shown}: {server_words(error, location)}") from None


def connect_error(
    error: psycopg.Error, location: StoreLocation, password: Secret | None = None
) -> BuildwatchError:
    """The one-line error for a connection attempt that failed with `error` (given `password`
    from the keyring, if it was)."""
    words = server_words(error, location, password)
    if _NO_PASSWORD in words:
        return AuthError(
            f"{location.shown} asks for a password: put it in PGPASSFILE (~/.pgpass) or in the "
            "keyring with `buildwatch auth store`"
        )
    if error.sqlstate in (_INVALID_PASSWORD, _INVALID_AUTHORIZATION) or (
        "authentication failed" in words
    ):
        return AuthError(f"{location.shown} refused the credentials: {words}")
    if error.sqlstate == _INVALID_CATALOG or (
        "database" in words and "does not exist" in words
    ):
        return NotFoundError(f"{location.shown}: {words}")
    return UnavailableError(f"cannot reach the store {location.shown}: {words}")


def server_words(
    error: Exception, location: StoreLocation, password: Secret | None = None
) -> str:
    """The first meaningful line of the driver's message, without the password (the URL's, or
    `password` from the keyring)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    words = lines[0] if lines else type(error).__name__
    # libpq prefixes the server's own words with the host it tried, which the URL says already.
    words = words.removeprefix("connection failed: ")
    if "FATAL:" in words:
        words = words.split("FATAL:", 1)[1].strip()
    for secret in (location.password, password):
        if secret:
            words = words.replace(secret.reveal(), "****")
    return words


def stored_version(connection: psycopg.Connection[tuple[Any, ...]]) -> int | None:
    """The schema's version, or None when the database has no `schema_version` table."""
    exists = connection.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    row = connection.execute("SELECT version FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def existing_version(
    connection: psycopg.Connection[tuple[Any, ...]], location: StoreLocation
) -> int:
    """The schema's version; refused when there is none or it is newer than this buildwatch's."""
    version = stored_version(connection)
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


def check_current(connection: psycopg.Connection[tuple[Any, ...]], location: StoreLocation) -> None:
    """Refuse a store whose schema is not this buildwatch's: missing, older or newer."""
    version = existing_version(connection, location)
    if version < SCHEMA_VERSION:
        raise OlderStoreSchemaError(
            f"{location.shown} is at schema version {version} and this buildwatch needs "
            f"{SCHEMA_VERSION}; bring it up to date with `buildwatch store migrate`"
        )
