"""The team store's own behaviour on a real PostgreSQL (see postgres_server): connecting, with
one-line errors that never show the password; the schema version check; read-only stores;
following changes; heartbeats. What it shares with the SQLite history is in test_build_history."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import psycopg
import pytest
from postgres_server import SUPERUSER_PASSWORD, empty_database, postgres_server
from test_build_history import open_team_store
from test_history_store import NOW_MS, builds_batch, make_build

from buildwatch.core.history.store import HistoryError
from buildwatch.core.teamstore.location import store_location
from buildwatch.core.teamstore.schema import MIGRATIONS, SCHEMA_VERSION, VERSION_TABLE
from buildwatch.core.teamstore.store import TeamStore

__all__ = ["empty_database", "postgres_server"]
"""The fixtures imported above: pytest finds them by name, so they are exported to be kept."""

MASKED = "postgres:****@127.0.0.1"


@pytest.fixture
def store(empty_database: str) -> Iterator[TeamStore]:
    """A new, empty team store, connected for writing."""
    team = open_team_store(empty_database)
    yield team
    team.close()


def at_version(url: str, version: int) -> None:
    """Give the empty database at `url` the schema as a buildwatch of `version` left it."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(VERSION_TABLE)
        for migration in MIGRATIONS[:version]:
            connection.execute(migration)
        connection.execute("UPDATE schema_version SET version = %s", (version,))


def refused(url: str, **options: bool) -> str:
    """The message of the `HistoryError` that connecting to `url` raises."""
    with pytest.raises(HistoryError) as raised:
        TeamStore.connect(store_location(url), **options)
    return str(raised.value)


def test_an_unreachable_server_is_one_line_naming_the_store_without_its_password() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]

    message = refused(f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{port}/postgres")

    assert message.startswith(f"cannot reach the store postgresql://{MASKED}:{port}/postgres")
    assert "\n" not in message
    assert SUPERUSER_PASSWORD not in message


def test_a_database_without_the_schema_says_to_create_it(empty_database: str) -> None:
    message = refused(empty_database)

    assert "holds no buildwatch schema; create it with `buildwatch store init`" in message
    assert MASKED in message
    assert SUPERUSER_PASSWORD not in message


def test_a_store_at_an_older_version_says_to_migrate_it(empty_database: str) -> None:
    at_version(empty_database, SCHEMA_VERSION - 1)

    message = refused(empty_database, read_only=True)

    assert f"is at schema version {SCHEMA_VERSION - 1}" in message
    assert "`buildwatch store migrate`" in message


def test_a_store_from_a_newer_buildwatch_says_to_upgrade(empty_database: str) -> None:
    at_version(empty_database, SCHEMA_VERSION)
    with psycopg.connect(empty_database, autocommit=True) as connection:
        connection.execute("UPDATE schema_version SET version = version + 1")

    message = refused(empty_database)

    assert f"newer buildwatch (schema version {SCHEMA_VERSION + 1}" in message
    assert "upgrade buildwatch" in message


def test_a_read_only_store_reads_but_refuses_to_write(
    store: TeamStore, empty_database: str
) -> None:
    store.write(builds_batch([make_build(1, NOW_MS)]))
    viewer = TeamStore.connect(store_location(empty_database), read_only=True)

    with pytest.raises(HistoryError) as raised:
        viewer.write(builds_batch([make_build(2, NOW_MS)]))

    shown = store_location(empty_database).shown
    assert str(raised.value) == f"cannot write to the team store {shown}: it was opened read-only"
    assert MASKED in shown
    assert [s.build.build_id for s in viewer.load_recent()] == [make_build(1, 0).build_id]
    viewer.close()


def test_a_connection_the_server_dropped_fails_one_call_then_is_opened_again(
    store: TeamStore, empty_database: str
) -> None:
    store.write(builds_batch([make_build(1, NOW_MS)]))
    with psycopg.connect(empty_database, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

    with pytest.raises(HistoryError) as raised:
        store.build_count()

    assert str(raised.value).startswith(f"cannot read the team store postgresql://{MASKED}")
    assert SUPERUSER_PASSWORD not in str(raised.value)
    assert store.build_count() == 1
