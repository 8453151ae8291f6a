"""The team store's own behaviour on a real PostgreSQL (see postgres_server): connecting, with
one-line errors that never show the password; the schema version check; read-only stores;
following changes; heartbeats. What it shares with the SQLite history is in test_build_history."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from postgres_server import (
    SUPERUSER_PASSWORD,
    _team_store_database,
    empty_database,
    postgres_server,
    sessions,
    store_database,
)
from test_history_store import NOW_MS, builds_batch, make_build, make_invocation, make_summary
from test_history_triage import FAILED_TASK, build_run

from buildwatch.core.history.store import HistoryBatch, HistoryError, RetentionPolicy
from buildwatch.core.teamstore.admin import init_store, migrate_store
from buildwatch.core.teamstore.listen import listening
from buildwatch.core.teamstore.location import store_location
from buildwatch.core.teamstore.schema import MIGRATIONS, SCHEMA_VERSION, VERSION_TABLE
from buildwatch.core.teamstore.store import Heartbeat, TeamChanges, TeamStore

__all__ = ["_team_store_database", "empty_database", "postgres_server", "store_database"]
"""The fixtures imported above: pytest finds them by name, so they are exported to be kept."""

MASKED = "postgres:****@127.0.0.1"


@pytest.fixture
def store(store_database: str) -> Iterator[TeamStore]:
    """An empty team store, connected for writing."""
    team = TeamStore.connect(store_location(store_database))
    yield team
    team.close()


def at_version(url: str, version: int) -> None:
    """Give the empty database at `url` the schema as a buildwatch of `version` left it."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(VERSION_TABLE)
        for migration in MIGRATIONS[:version]:
            connection.execute(migration)
        connection.execute("UPDATE schema_version SET version = %s", (version,))


@pytest.fixture
def viewer(store: TeamStore) -> Iterator[TeamStore]:
    """A second, read-only connection to `store`, as a viewer holds."""
    team = TeamStore.connect(store.location, read_only=True)
    yield team
    team.close()


def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for `condition`, failing with `what` after 10 s."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


LOCKED = "wait_event_type = 'Lock'"


def build_ids(changes: TeamChanges) -> list[str]:
    return [stored.build.build_id for stored in changes.builds]


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
    store: TeamStore, store_database: str
) -> None:
    store.write(builds_batch([make_build(1, NOW_MS)]))
    viewer = TeamStore.connect(store_location(store_database), read_only=True)

    with pytest.raises(HistoryError) as raised:
        viewer.write(builds_batch([make_build(2, NOW_MS)]))

    shown = store_location(store_database).shown
    assert str(raised.value) == f"cannot write to the team store {shown}: it was opened read-only"
    assert MASKED in shown
    assert [s.build.build_id for s in viewer.load_recent()] == [make_build(1, 0).build_id]
    viewer.close()


def test_a_connection_the_server_dropped_fails_one_call_then_is_opened_again(
    store: TeamStore, store_database: str
) -> None:
    store.write(builds_batch([make_build(1, NOW_MS)]))
    sessions(store_database, end=True)

    with pytest.raises(HistoryError) as raised:
        store.build_count()

    assert str(raised.value).startswith(f"cannot read the team store postgresql://{MASKED}")
    assert SUPERUSER_PASSWORD not in str(raised.value)
    assert store.build_count() == 1


def test_a_write_by_one_connection_is_read_as_changes_by_another(
    store: TeamStore, viewer: TeamStore
) -> None:
    cursor = viewer.change_cursor()
    build = make_build(1, NOW_MS)
    store.write(HistoryBatch(
        builds=[build],
        invocations=[make_invocation("i1", NOW_MS, "COMPLETE_INVOCATION_STATUS")],
        triage=[(build_run(1, NOW_MS), (FAILED_TASK,))],
    ))

    changes = viewer.changes_since(cursor)

    assert build_ids(changes) == [build.build_id]
    assert [i.invocation_id for i in changes.invocations] == ["i1"]
    assert changes.triage == [(build_run(1, NOW_MS), (FAILED_TASK,))]
    assert changes.cursor == viewer.change_cursor() > cursor
    assert viewer.changes_since(changes.cursor) == TeamChanges([], [], [], changes.cursor)


def test_a_summary_stored_later_is_a_change_of_its_build(
    store: TeamStore, viewer: TeamStore
) -> None:
    build = make_build(1, NOW_MS)
    store.write(builds_batch([build]))
    cursor = viewer.change_cursor()

    store.write(HistoryBatch(summaries=[make_summary(build)]))

    [changed] = viewer.changes_since(cursor).builds
    assert changed.summary == make_summary(build)


def test_changes_beyond_the_limit_come_in_the_next_reads_each_once(
    store: TeamStore, viewer: TeamStore
) -> None:
    builds = [make_build(n, NOW_MS + n) for n in range(7)]
    for number, build in enumerate(builds):
        invocation = make_invocation(f"i{number}", NOW_MS, "COMPLETE_INVOCATION_STATUS")
        store.write(HistoryBatch(builds=[build], invocations=[invocation] * (number % 2)))
    seen: list[str] = []
    cursor = 0

    while (changes := viewer.changes_since(cursor, limit=2)).cursor != cursor:
        seen += build_ids(changes) + [i.invocation_id for i in changes.invocations]
        cursor = changes.cursor

    assert sorted(seen) == sorted(
        [build.build_id for build in builds] + [f"i{n}" for n in range(len(builds)) if n % 2]
    )


def test_a_change_committed_after_a_later_one_started_is_not_skipped(
    store: TeamStore, viewer: TeamStore, store_database: str
) -> None:
    store.write(builds_batch([make_build(0, NOW_MS)]))
    cursor = viewer.change_cursor()
    second = TeamStore.connect(store.location)
    first_batch = HistoryBatch(builds=[make_build(1, NOW_MS)],
                               summaries=[make_summary(make_build(0, NOW_MS))])
    with psycopg.connect(store_database) as holder:
        # The first write numbers its build, then waits on the row its summary updates.
        holder.execute("SELECT 1 FROM builds FOR UPDATE")
        first = threading.Thread(target=store.write, args=(first_batch,))
        first.start()
        until(lambda: sessions(store_database, LOCKED) == 1, "the first write never waited")
        later = threading.Thread(target=second.write, args=(builds_batch([make_build(2, 0)]),))
        later.start()
        until(lambda: not later.is_alive() or sessions(store_database, LOCKED) == 2,
              "the second write neither finished nor waited")
        early = viewer.changes_since(cursor)
    first.join()
    later.join()
    second.close()

    late = viewer.changes_since(early.cursor)

    assert sorted(build_ids(early) + build_ids(late)) == [
        make_build(n, 0).build_id for n in (0, 1, 2)
    ]


async def test_a_write_wakes_a_listener(store: TeamStore) -> None:
    async with listening(store.location) as wakes:
        await asyncio.to_thread(store.write, builds_batch([make_build(1, NOW_MS)]))

        await asyncio.wait_for(anext(wakes), timeout=10)


async def test_a_listener_whose_connection_drops_raises_a_one_line_error(
    store: TeamStore, store_database: str
) -> None:
    async with listening(store.location) as wakes:
        sessions(store_database, "query LIKE 'LISTEN%'", end=True)

        with pytest.raises(HistoryError) as raised:
            await asyncio.wait_for(anext(wakes), timeout=10)

    assert str(raised.value).startswith(f"lost the team store postgresql://{MASKED}")
    assert "\n" not in str(raised.value)


async def test_listening_to_an_unreachable_server_raises_a_one_line_error() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    location = store_location(f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{port}/db")

    with pytest.raises(HistoryError) as raised:
        async with listening(location):
            pass

    assert str(raised.value).startswith(f"cannot reach the store postgresql://{MASKED}")
    assert SUPERUSER_PASSWORD not in str(raised.value)


def test_the_heartbeat_is_the_newest_collectors(store: TeamStore, viewer: TeamStore) -> None:
    assert viewer.heartbeat() is None

    store.beat("host-1", NOW_MS, now_ms=NOW_MS + 5_000)
    store.beat("host-2", NOW_MS + 1_000, now_ms=NOW_MS + 9_000)
    store.beat("host-1", NOW_MS, now_ms=NOW_MS + 7_000)

    assert viewer.heartbeat() == Heartbeat("host-2", NOW_MS + 1_000, NOW_MS + 9_000)


def test_migrating_numbers_the_rows_already_stored_as_changes(empty_database: str) -> None:
    at_version(empty_database, 1)
    build = make_build(1, NOW_MS)
    with psycopg.connect(empty_database, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO builds (build_id, published_ms, source) VALUES (%s, %s, %s)",
            (build.build_id, NOW_MS, build.source),
        )
    location = store_location(empty_database)
    migrate_store(location)
    store = TeamStore.connect(location, read_only=True)

    assert build_ids(store.changes_since(0)) == [build.build_id]
    store.close()


def readme_roles_sql(database: str) -> str:
    """The README's SQL that makes the reader and collector roles, for `database`, with the
    passwords `reader-pw` and `collector-pw`."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    [sql] = [block for block in re.findall(r"```sql\n(.*?)```", readme, re.S)
             if "buildwatch_reader" in block]
    sql = sql.replace("ON DATABASE buildwatch ", f"ON DATABASE {database} ")
    for role in ("collector", "reader"):
        sql = sql.replace(f"buildwatch_{role} LOGIN PASSWORD '…'",
                          f"buildwatch_{role} LOGIN PASSWORD '{role}-pw'")
    return sql


async def test_the_readmes_roles_let_a_reader_load_and_listen_and_only_the_collector_write(
    empty_database: str,
) -> None:
    with psycopg.connect(empty_database, autocommit=True) as owner:
        owner.execute(readme_roles_sql(empty_database.rsplit("/", 1)[1]))
    init_store(store_location(empty_database))
    as_role = {
        role: store_location(empty_database.replace(
            f"postgres:{SUPERUSER_PASSWORD}@", f"buildwatch_{role}:{role}-pw@"))
        for role in ("collector", "reader")
    }
    collector = TeamStore.connect(as_role["collector"])
    reader = TeamStore.connect(as_role["reader"])

    async with listening(as_role["reader"]) as wakes:
        await asyncio.to_thread(collector.write, builds_batch([make_build(1, NOW_MS)]))
        await asyncio.wait_for(anext(wakes), timeout=10)
    with pytest.raises(HistoryError) as refused_write:
        reader.write(builds_batch([make_build(2, NOW_MS)]))

    assert [s.build.build_id for s in reader.load_recent()] == [make_build(1, 0).build_id]
    assert "permission denied for table builds" in str(refused_write.value)
    collector.beat("host-1", NOW_MS)
    assert collector.apply_retention(RetentionPolicy(max_builds=0)) == 1
    collector.close()
    reader.close()
