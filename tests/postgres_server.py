"""A real PostgreSQL server for the team store's tests, in a temporary directory.

`initdb` makes a cluster whose superuser `postgres` has a password (checked with SCRAM on TCP);
`pg_ctl` starts it on a free port of 127.0.0.1 with its unix socket in the same directory, and
stops it at the end of the session. PostgreSQL refuses to run as root: when the tests run as
root (as CI does), the cluster belongs to `nobody` and its commands run through `runuser`.

Without PostgreSQL the tests that need it skip, saying so; in CI (`CI=true`) they fail instead,
so a missing package is never mistaken for a pass.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SUPERUSER = "postgres"
SUPERUSER_PASSWORD = "pg-test-secret-7f3a"


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where it listens and how to reach it as its superuser."""

    port: int
    directory: Path

    def url(self, database: str = "postgres", *, password: str = SUPERUSER_PASSWORD) -> str:
        """A postgresql:// URL of `database` on this server, as the superuser over TCP."""
        return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{self.port}/{database}"


def postgres_binaries() -> Path | None:
    """The directory of `initdb`, `pg_ctl` and `postgres`: on PATH, else Debian's newest."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    return Path(debian[-1]).parent if debian else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "nobody", "--", *command]


def _give_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(path, nobody.pw_uid, nobody.pw_gid)


def _run(command: list[str]) -> None:
    result = subprocess.run(
        _as_server_user(command), capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {result.stdout}{result.stderr}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session; skipped (failed in CI) where PostgreSQL is absent."""
    binaries = postgres_binaries()
    if binaries is None:
        reason = "PostgreSQL is not installed (initdb not on PATH nor in /usr/lib/postgresql)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the team store's tests", pytrace=False)
        pytest.skip(reason)
    with running_server(binaries) as server:
        yield server


@contextmanager
def running_server(binaries: Path) -> Iterator[PostgresServer]:
    """A server made with the PostgreSQL programs in `binaries`, stopped and removed at the end
    (the benchmarks start theirs with it too)."""
    # Not under pytest's own temporary directory: that is private to the user running the tests,
    # and the server may run as another one.
    directory = Path(tempfile.mkdtemp(prefix="buildwatch-pg-"))
    _give_to_server_user(directory)
    data = directory / "data"
    password_file = directory / "password"
    password_file.write_text(SUPERUSER_PASSWORD)
    _give_to_server_user(password_file)
    _run([
        str(binaries / "initdb"), "--pgdata", str(data), "--username", SUPERUSER,
        "--pwfile", str(password_file), "--auth-local", "trust",
        "--auth-host", "scram-sha-256", "--encoding", "UTF8", "--no-sync",
    ])
    port = _free_port()
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
    _run([
        str(binaries / "pg_ctl"), "--pgdata", str(data), "--log", str(directory / "log"),
        "--options", options, "--wait", "start",
    ])
    try:
        yield PostgresServer(port=port, directory=directory)
    finally:
        _run([str(binaries / "pg_ctl"), "--pgdata", str(data), "--mode", "fast", "--wait", "stop"])
        shutil.rmtree(directory, ignore_errors=True)


_databases = iter(range(1, 1_000_000))


@pytest.fixture
def empty_database(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the session's server, one per test."""
    import psycopg

    name = f"store_{next(_databases)}"
    with psycopg.connect(postgres_server.url(), autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return postgres_server.url(name)


@pytest.fixture(scope="session")
def _team_store_database(postgres_server: PostgresServer) -> str:
    """One database with the team store's current schema, for the session."""
    import psycopg

    from buildwatch.core.teamstore.admin import init_store
    from buildwatch.core.teamstore.location import store_location

    with psycopg.connect(postgres_server.url(), autocommit=True) as connection:
        connection.execute("CREATE DATABASE team_store")
    init_store(store_location(postgres_server.url("team_store")))
    return postgres_server.url("team_store")


@pytest.fixture
def store_database(_team_store_database: str) -> str:
    """The URL of a team store with the current schema and nothing in it: one database for the
    session, emptied for each test (five times faster than creating a database and its schema)."""
    import psycopg

    with psycopg.connect(_team_store_database, autocommit=True) as connection:
        connection.execute(
            "DO $$ BEGIN EXECUTE (SELECT 'TRUNCATE ' || string_agg(quote_ident(tablename), ', ')"
            " || ' RESTART IDENTITY' FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'schema_version'); END $$"
        )
        connection.execute("ALTER SEQUENCE changes RESTART")
    return _team_store_database


def sessions(url: str, condition: str = "TRUE", *, end: bool = False) -> int:
    """How many other sessions of the database at `url` meet `condition` (SQL on
    `pg_stat_activity`: `query LIKE 'LISTEN%'`); `end` terminates them as well."""
    import psycopg

    selected = "pg_terminate_backend(pid)" if end else "pid"
    with psycopg.connect(url, autocommit=True) as connection:
        rows = connection.execute(
            f"SELECT {selected} FROM pg_stat_activity WHERE datname = current_database()"
            f" AND pid <> pg_backend_pid() AND {condition}"
        ).fetchall()
    return len(rows)
