"""The team store's password when its URL carries none: libpq's PGPASSFILE first, then the
keyring, where `buildwatch auth store` puts it after checking it against the server. The
password is never printed."""

from __future__ import annotations

import io
import itertools
import sys
from pathlib import Path

import pytest
from keyring_backend import TempDirKeyring
from postgres_server import PostgresServer, _team_store_database, postgres_server, store_database

from buildwatch.cli import main
from buildwatch.core.history.store import HistoryError
from buildwatch.core.teamstore.listen import listening
from buildwatch.core.teamstore.location import store_location
from buildwatch.core.teamstore.store import TeamStore

__all__ = ["_team_store_database", "postgres_server", "store_database"]
"""The fixtures imported above: pytest finds them by name, so they are exported to be kept."""

PASSWORD = "store-canary-5e1f2a9b"
WRONG = "wrong-canary-77aa0c3d"
_roles = itertools.count(1)


@pytest.fixture
def role_url(
    store_database: str, postgres_server: PostgresServer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """The URL, without a password, of a store whose role has `PASSWORD`; libpq's own password
    sources hold nothing for it."""
    role = f"keyring_role_{next(_roles)}"
    import psycopg

    with psycopg.connect(store_database, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'")
        connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    empty = tmp_path / "pgpass"
    empty.write_text("")
    empty.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(empty))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    database = store_database.rsplit("/", 1)[1]
    return f"postgresql://{role}@127.0.0.1:{postgres_server.port}/{database}"


def keyring_entry(url: str) -> str:
    """The key under which the test keyring keeps the password of the store at `url`."""
    return f"buildwatch/{store_location(url).keyring_user}"


def test_the_password_comes_from_the_keyring_when_the_url_and_pgpassfile_give_none(
    role_url: str, temp_keyring: TempDirKeyring
) -> None:
    temp_keyring.set_password("buildwatch", store_location(role_url).keyring_user, PASSWORD)

    store = TeamStore.connect(store_location(role_url), read_only=True)

    assert store.build_count() == 0
    store.close()


def test_a_password_in_pgpassfile_is_used_before_the_keyring(
    role_url: str, temp_keyring: TempDirKeyring, tmp_path: Path
) -> None:
    temp_keyring.set_password("buildwatch", store_location(role_url).keyring_user, WRONG)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"*:*:*:*:{PASSWORD}\n")

    store = TeamStore.connect(store_location(role_url), read_only=True)

    assert store.build_count() == 0
    store.close()


def test_without_a_password_anywhere_the_error_says_where_to_put_one(
    role_url: str, temp_keyring: TempDirKeyring
) -> None:
    with pytest.raises(HistoryError) as raised:
        TeamStore.connect(store_location(role_url), read_only=True)

    assert str(raised.value) == (
        f"{store_location(role_url).shown} asks for a password: put it in PGPASSFILE "
        "(~/.pgpass) or in the keyring with `buildwatch auth store`"
    )


async def test_a_listener_finds_the_password_in_the_keyring(
    role_url: str, temp_keyring: TempDirKeyring
) -> None:
    temp_keyring.set_password("buildwatch", store_location(role_url).keyring_user, PASSWORD)

    async with listening(store_location(role_url)):
        pass


def auth_store(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    """Run `buildwatch auth store ARGS` with `stdin` piped in; exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["auth", "store", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_auth_store_checks_the_password_then_keeps_it_for_the_store(
    role_url: str, temp_keyring: TempDirKeyring, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = auth_store(capsys, monkeypatch, "--store", role_url, stdin=PASSWORD + "\n")

    assert code == 0
    assert temp_keyring.stored() == {keyring_entry(role_url): PASSWORD}
    assert "Stored the password of postgresql://keyring_role_" in out
    assert PASSWORD not in out + err
    store = TeamStore.connect(store_location(role_url), read_only=True)
    assert store.build_count() == 0
    store.close()


def test_auth_store_keeps_nothing_the_server_refuses(
    role_url: str, temp_keyring: TempDirKeyring, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = auth_store(capsys, monkeypatch, "--store", role_url, stdin=WRONG + "\n")

    assert code == 3
    assert temp_keyring.stored() == {}
    assert "refused the credentials" in err
    assert err.rstrip().endswith("nothing was stored")
    assert WRONG not in out + err


def test_auth_store_remove_forgets_the_password(
    role_url: str, temp_keyring: TempDirKeyring, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    temp_keyring.set_password("buildwatch", store_location(role_url).keyring_user, PASSWORD)

    code, out, _ = auth_store(capsys, monkeypatch, "--store", role_url, "--remove")

    assert code == 0
    assert temp_keyring.stored() == {}
    assert out.startswith("Removed the password of postgresql://keyring_role_")
