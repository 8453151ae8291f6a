"""Where the team store is, and how its URL is shown: never with its password."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildwatch.core.config import load_config
from buildwatch.core.errors import ConfigError
from buildwatch.core.teamstore.location import resolve_store_url, store_location


def test_the_password_in_the_user_part_is_masked() -> None:
    location = store_location("postgresql://collector:s3cr%40t@db.example.com:5432/buildwatch")

    assert location.shown == "postgresql://collector:****@db.example.com:5432/buildwatch"
    assert location.password is not None
    assert location.password.reveal() == "s3cr@t"


def test_the_password_in_a_parameter_is_masked() -> None:
    location = store_location(
        "postgresql://db.example.com/buildwatch?password=hunter2&sslmode=require"
    )

    assert "hunter2" not in location.shown
    assert location.shown.endswith("?password=****&sslmode=require")


def test_a_url_without_a_password_is_shown_whole() -> None:
    location = store_location("postgres://reader@db.example.com/buildwatch")

    assert location.shown == "postgres://reader@db.example.com/buildwatch"
    assert location.password is None


def test_a_connection_string_that_is_not_a_url_is_refused_without_quoting_it() -> None:
    with pytest.raises(ConfigError) as refused:
        store_location("host=db.example.com password=hunter2")

    assert "hunter2" not in str(refused.value)
    assert "postgresql:// URL" in str(refused.value)


def test_the_flag_comes_before_the_environment_and_the_environment_before_the_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUILDWATCH_STORE", "postgresql://env/db")

    assert resolve_store_url("postgresql://flag/db", "postgresql://profile/db") == (
        "postgresql://flag/db"
    )
    assert resolve_store_url(None, "postgresql://profile/db") == "postgresql://env/db"
    monkeypatch.delenv("BUILDWATCH_STORE")
    assert resolve_store_url(None, "postgresql://profile/db") == "postgresql://profile/db"
    assert resolve_store_url(None, None) is None


def test_a_profile_names_its_store(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[profiles.team]\nstore = "postgresql://reader@db.example.com/buildwatch"\n')

    store = load_config(path).profile("team").store

    assert store == "postgresql://reader@db.example.com/buildwatch"


def test_a_profiles_store_with_a_password_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[profiles.team]\nstore = "postgresql://reader:hunter2@db.example.com/x"\n')

    with pytest.raises(ConfigError) as refused:
        load_config(path)

    assert str(refused.value).endswith(
        ":2:1: profiles.team.store must not contain a password: put it in PGPASSFILE (~/.pgpass)"
    )
    assert "hunter2" not in str(refused.value)
