"""`buildwatch store init|migrate|status` against a real PostgreSQL server (see postgres_server).

Every message names the store by its URL with the password masked; a failure to connect is one
line on stderr with the exit code of its kind.
"""

from __future__ import annotations

import pytest
from postgres_server import SUPERUSER_PASSWORD, PostgresServer, empty_database, postgres_server

from buildwatch.cli import main
from buildwatch.core.teamstore.schema import SCHEMA_VERSION

__all__ = ["empty_database", "postgres_server"]
"""The fixtures imported above: pytest finds them by name, so they are exported to be kept."""

MASKED = "postgres:****@127.0.0.1"


def store(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `buildwatch store ARGS`; its exit code, standard output and standard error."""
    code = main(["store", *args])
    out, err = capsys.readouterr()
    return code, out, err


def status_lines(out: str) -> dict[str, str]:
    """`store status`'s output as label -> value."""
    return dict(
        (label.strip(), value.strip())
        for label, value in (line.split(":", 1) for line in out.splitlines())
    )


def test_init_then_status_shows_an_empty_store_at_the_current_version(
    capsys: pytest.CaptureFixture[str], empty_database: str
) -> None:
    code, out, _ = store(capsys, "init", "--store", empty_database)
    assert code == 0
    assert f"version {SCHEMA_VERSION}" in out

    code, out, _ = store(capsys, "status", "--store", empty_database)

    assert code == 0
    status = status_lines(out)
    assert status["schema"] == f"version {SCHEMA_VERSION} (up to date)"
    assert status["builds"] == "0"
    assert status["invocations"] == "0"
    assert status["newest build"] == "none"
    assert status["collector"] == "no heartbeat yet"
    assert MASKED in status["store"]
    assert SUPERUSER_PASSWORD not in out


def test_status_shows_the_newest_build_and_the_collectors_heartbeat(
    capsys: pytest.CaptureFixture[str], empty_database: str
) -> None:
    import psycopg

    store(capsys, "init", "--store", empty_database)
    with psycopg.connect(empty_database, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO builds (build_id, published_ms, source) VALUES"
            " ('a', 1764633600000, ''), ('b', 1764637200000, '')"
        )
        connection.execute(
            "INSERT INTO collector_heartbeats VALUES ('host-1', 1764633600000, 1764640800000)"
        )

    code, out, _ = store(capsys, "status", "--store", empty_database)

    assert code == 0
    status = status_lines(out)
    assert status["builds"] == "2"
    assert status["newest build"].startswith("2025-12-02 01:00:00 UTC (")
    assert status["collector"].startswith("2025-12-02 02:00:00 UTC (")


def test_init_refuses_a_database_that_already_holds_the_schema(
    capsys: pytest.CaptureFixture[str], empty_database: str
) -> None:
    store(capsys, "init", "--store", empty_database)

    code, out, err = store(capsys, "init", "--store", empty_database)

    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "already holds buildwatch's schema" in err
    assert "buildwatch store migrate" in err


def test_migrate_twice_changes_nothing_the_second_time(
    capsys: pytest.CaptureFixture[str], empty_database: str
) -> None:
    store(capsys, "init", "--store", empty_database)

    first = store(capsys, "migrate", "--store", empty_database)
    second = store(capsys, "migrate", "--store", empty_database)

    assert first == second
    assert first[0] == 0
    assert f"is up to date (schema version {SCHEMA_VERSION})" in first[1]


def test_migrate_brings_a_store_at_version_zero_up_to_date(
    capsys: pytest.CaptureFixture[str], empty_database: str
) -> None:
    import psycopg

    with psycopg.connect(empty_database, autocommit=True) as connection:
        connection.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        connection.execute("INSERT INTO schema_version VALUES (0)")

    code, out, _ = store(capsys, "migrate", "--store", empty_database)

    assert code == 0
    assert f"from schema version 0 to {SCHEMA_VERSION}" in out
    _, out, _ = store(capsys, "status", "--store", empty_database)
    assert status_lines(out)["builds"] == "0"


def test_migrate_refuses_a_database_without_the_schema(
    capsys: pytest.CaptureFixture[str], empty_database: str
) -> None:
    code, _, err = store(capsys, "migrate", "--store", empty_database)

    assert code == 2
    assert "holds no buildwatch schema; create it with `buildwatch store init`" in err


@pytest.mark.parametrize("command", ["migrate", "status"])
def test_a_schema_newer_than_this_buildwatch_is_refused(
    capsys: pytest.CaptureFixture[str], empty_database: str, command: str
) -> None:
    import psycopg

    store(capsys, "init", "--store", empty_database)
    with psycopg.connect(empty_database, autocommit=True) as connection:
        connection.execute("UPDATE schema_version SET version = version + 1")

    code, out, err = store(capsys, command, "--store", empty_database)

    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert f"newer buildwatch (schema version {SCHEMA_VERSION + 1}" in err
    with psycopg.connect(empty_database) as connection:
        row = connection.execute("SELECT version FROM schema_version").fetchone()
    assert row == (SCHEMA_VERSION + 1,)


def test_a_refused_password_is_one_line_without_the_password(
    capsys: pytest.CaptureFixture[str], postgres_server: PostgresServer
) -> None:
    wrong = "not-the-password-9c2e"

    code, out, err = store(
        capsys, "status", "--store", postgres_server.url(password=wrong)
    )

    assert code == 3
    assert out == ""
    assert err.count("\n") == 1
    assert "refused the credentials" in err
    assert MASKED in err
    assert wrong not in err


def test_a_database_that_does_not_exist_is_one_line(
    capsys: pytest.CaptureFixture[str], postgres_server: PostgresServer
) -> None:
    code, _, err = store(capsys, "status", "--store", postgres_server.url("no_such_db"))

    assert code == 4
    assert err.count("\n") == 1
    assert '"no_such_db" does not exist' in err
    assert SUPERUSER_PASSWORD not in err


def test_a_server_that_is_down_is_one_line_without_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    url = f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{port}/postgres"

    code, out, err = store(capsys, "status", "--store", url)

    assert code == 5
    assert out == ""
    assert err.count("\n") == 1
    assert f"cannot reach the store postgresql://{MASKED}:{port}/postgres" in err
    assert SUPERUSER_PASSWORD not in err


def test_the_store_comes_from_the_environment_when_no_flag_names_one(
    capsys: pytest.CaptureFixture[str], empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDWATCH_STORE", empty_database)

    code, out, _ = store(capsys, "init")

    assert code == 0
    assert MASKED in out


def test_no_store_anywhere_is_a_one_line_configuration_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = store(capsys, "status")

    assert code == 2
    assert "no team store: give --store postgresql://" in err
