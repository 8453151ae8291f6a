"""The configuration file: what it holds, and how a mistake in it is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildwatch.core.config import (
    BuildBuddySettings,
    DevelocitySettings,
    Profile,
    ProfileSettings,
    UiPreferences,
    WatchSettings,
    config_path,
    load_config,
    normalize_base_url,
)
from buildwatch.core.errors import ConfigError
from buildwatch.core.toml_schema import dotted, settings

FULL = """\
default_profile = "work"

[profiles.work.develocity]
url = "https://Develocity.Example.com/prefix/"
api_version = 1
auth = "basic"

[profiles.work.buildbuddy]
url = "https://buildbuddy.example.com"

[profiles.work.watch]
commits = ["4f2a9c1"]

[profiles.work.ui]
backfill_minutes = 15
poll_interval_seconds = 2
notify = ["osc9", "osc777", "osc99", "bell"]
notify_builds_when = "outcome:failed branch:main"
notify_invocations_when = "status:cancelled user:me"
notify_only_watched = true
quiet = true
theme = "nord"
me = ["alice"]

[profiles.home]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    """The message the monitor stops with on `text`: loading, or checking the queries."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path).check_views_and_notifications()
    return str(caught.value)


def test_every_setting_of_a_profile_is_read(tmp_path: Path) -> None:
    profile = load_config(write(tmp_path, FULL)).profile()

    assert profile == Profile(
        name="work",
        develocity=DevelocitySettings(
            url="https://develocity.example.com/prefix", api_version=1, auth="basic"
        ),
        buildbuddy=BuildBuddySettings(url="https://buildbuddy.example.com"),
        watch=WatchSettings(commits=("4f2a9c1",)),
        ui=UiPreferences(
            backfill_minutes=15,
            poll_interval_seconds=2.0,
            notify=("osc9", "osc777", "osc99", "bell"),
            notify_builds_when="outcome:failed branch:main",
            notify_invocations_when="status:cancelled user:me",
            notify_only_watched=True,
            quiet=True,
            theme="nord",
            me=("alice",),
        ),
    )


def test_a_profile_left_empty_takes_every_default(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, FULL)).profile("home") == Profile(name="home")


def test_a_missing_file_is_an_empty_configuration_with_a_default_profile(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.toml")

    assert config.profile() == Profile()


def test_the_named_profile_beats_the_environment_and_the_files_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write(tmp_path, FULL))
    monkeypatch.setenv("BUILDWATCH_PROFILE", "home")

    assert config.profile().name == "home"
    assert config.profile("work").name == "work"


def test_an_unknown_profile_names_the_ones_that_exist(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))

    with pytest.raises(ConfigError, match=r"no profile 'laptop' .*\(profiles: home, work\)"):
        config.profile("laptop")


def test_buildwatch_config_overrides_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDWATCH_CONFIG", str(tmp_path / "elsewhere.toml"))

    assert config_path() == tmp_path / "elsewhere.toml"


def test_without_buildwatch_config_the_path_is_in_the_platform_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BUILDWATCH_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))

    assert config_path() == tmp_path / "buildwatch" / "config.toml"


def test_malformed_toml_is_reported_with_path_line_and_column(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[profiles.work.ui]\ntheme = "nord\n')

    assert message.startswith(f"{tmp_path / 'config.toml'}:2:")
    assert "\n" not in message


def test_a_wrong_type_is_reported_at_the_line_and_column_of_its_key(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, '[profiles.work.develocity]\nurl = "https://d.example.com"\n  api_version = "2"\n'
    )

    assert message == (
        f"{tmp_path / 'config.toml'}:3:3: profiles.work.develocity.api_version must be 1 or 2"
    )


def test_a_dotted_key_is_located_too(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[profiles.work]\nui.backfill_minutes = "an hour"\n')

    assert message == (
        f"{tmp_path / 'config.toml'}:2:1: profiles.work.ui.backfill_minutes must be an integer, "
        "not a string"
    )


def test_true_is_not_taken_for_a_number(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[profiles.work.ui]\nbackfill_minutes = true\n")

    assert message.endswith("backfill_minutes must be an integer, not true or false")


def test_the_longest_wait_between_reconnections_is_read(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[profiles.work.ui]\nretry_max_seconds = 5\n"))

    assert config.profile("work").ui.retry_max_seconds == 5.0


@pytest.mark.parametrize("seconds", ["0.1", "61"])
def test_a_wait_between_reconnections_outside_half_a_second_to_a_minute_is_refused(
    tmp_path: Path, seconds: str
) -> None:
    message = load_error(tmp_path, f"[profiles.work.ui]\nretry_max_seconds = {seconds}\n")

    assert message.endswith("profiles.work.ui.retry_max_seconds must be between 0.5 and 60")


def test_an_unknown_kind_of_notification_lists_the_known_ones(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[profiles.work.ui]\nnotify = ["bell", "osc8"]\n')

    assert message.endswith(
        "profiles.work.ui.notify has 'osc8'; use any of toast, bell, osc9, osc777, osc99"
    )


def test_a_notification_filter_that_is_not_a_query_is_refused_at_its_line(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[profiles.work.ui]\nnotify_builds_when = "outcome:failed projct:app"\n')

    assert message == (
        f"{tmp_path / 'config.toml'}:2:1: profiles.work.ui.notify_builds_when: unknown field "
        "'projct': did you mean 'project'? at column 16 of the query"
    )


def test_a_notification_filter_is_a_query_of_its_own_pane(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[profiles.work.ui]\nnotify_invocations_when = "outcome:failed"\n')

    assert "profiles.work.ui.notify_invocations_when: unknown field 'outcome'" in message


def test_me_in_a_notification_filter_needs_the_profiles_names(tmp_path: Path) -> None:
    text = '[profiles.work.ui]\nnotify_builds_when = "user:me"\n'

    assert "`me` needs your user names" in load_error(tmp_path, text)
    assert load_config(write(tmp_path, text + 'me = ["alice"]\n')).profile("work").ui.me == ("alice",)


def test_a_notification_filter_that_is_not_a_string_says_a_query_is_expected(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[profiles.work.ui]\nnotify_builds_when = true\n")

    assert message.endswith(
        'profiles.work.ui.notify_builds_when must be a query like "outcome:failed branch:main"'
    )


def test_a_misspelt_setting_is_refused_with_the_expected_names(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[profiles.work.buildbuddy]\nurll = "https://b.example.com"\n')

    assert message == (
        f"{tmp_path / 'config.toml'}:2:1: unknown setting profiles.work.buildbuddy.urll; "
        "expected one of url"
    )


@pytest.mark.parametrize("key", ["token", "password", "api_key", "access_key", "apiKey", "secret"])
def test_a_secret_in_the_file_is_refused_without_repeating_it(tmp_path: Path, key: str) -> None:
    canary = "canary-7d1f0e9a2b"
    message = load_error(tmp_path, f'[profiles.work.develocity]\n{key} = "{canary}"\n')

    assert f":2:1: profiles.work.develocity.{key} looks like a secret" in message
    assert "buildwatch auth login" in message
    assert canary not in message


def test_a_url_with_credentials_in_it_is_refused_without_repeating_them(tmp_path: Path) -> None:
    message = load_error(
        tmp_path, '[profiles.work.develocity]\nurl = "https://me:canary-7d1f0e9a2b@d.example.com"\n'
    )

    assert (
        ":2:1: the profiles.work.develocity.url must not contain a user name or password" in message
    )
    assert "canary-7d1f0e9a2b" not in message


def test_a_url_that_is_not_http_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[profiles.work.buildbuddy]\nurl = "app.buildbuddy.io"\n')

    assert message.endswith("is not an http:// or https:// URL with a host")


def test_base_urls_are_normalised_so_keyring_entries_match() -> None:
    assert normalize_base_url(" HTTPS://Develocity.Example.COM/Prefix// ") == (
        "https://develocity.example.com/Prefix"
    )


def test_an_unreadable_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe not utf-8")

    with pytest.raises(ConfigError, match=r"cannot read the configuration"):
        load_config(path)


def test_a_url_that_cannot_be_parsed_is_a_config_error_not_a_traceback() -> None:
    from buildwatch.core.config import normalize_base_url
    from buildwatch.core.errors import ConfigError

    with pytest.raises(ConfigError, match="not a valid URL"):
        normalize_base_url("http://[bad")


def test_a_profiles_custom_value_names_are_tried_after_the_built_in_ones(tmp_path: Path) -> None:
    text = '[profiles.work.custom_values]\ncommit = ["My SHA"]\nbranch = ["My branch"]\n'
    names = load_config(write(tmp_path, text)).profile("work").git_value_names

    assert names.commit[-1] == "My SHA" and names.commit[0] == "Git commit id"
    assert names.extra() == {"commit": ("My SHA",), "branch": ("My branch",), "repository": ()}


@pytest.mark.parametrize(
    ("table", "line", "instead"),
    [
        ("watch", "repos = [\"x\"]", "watch commits or git branches instead"),
        ("ui", "bell = true", 'list "bell" in `notify` instead'),
        ("ui", 'notify_on = ["failed"]', "write a query in `notify_builds_when` instead"),
    ],
)
def test_a_setting_an_older_buildwatch_read_says_what_replaced_it(
    tmp_path: Path, table: str, line: str, instead: str
) -> None:
    message = load_error(tmp_path, f"[profiles.work.{table}]\n{line}\n")

    name = line.split(" ")[0]
    assert message.startswith(
        f"{tmp_path / 'config.toml'}:2:1: profiles.work.{table}.{name} is no longer a setting: "
    )
    assert instead in message


def test_an_unknown_custom_values_key_is_refused_with_the_expected_names(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[profiles.work.custom_values]\nsha = ["My SHA"]\n')

    assert message.endswith(
        "unknown setting profiles.work.custom_values.sha; expected one of branch, commit, repository"
    )


def test_custom_value_names_must_be_a_list_of_strings(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[profiles.work.custom_values]\ncommit = "My SHA"\n')

    assert "profiles.work.custom_values.commit" in message


def test_a_float_is_not_taken_for_a_version_number(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[profiles.work.develocity]\napi_version = 2.0\n")

    assert message.endswith(":2:1: profiles.work.develocity.api_version must be 1 or 2")


def test_a_profile_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    message = load_error(tmp_path, "[profiles]\nwork = 3\n")

    assert message.endswith(":2:1: profiles.work must be a table, not an integer")


def test_a_blank_key_binding_is_refused_with_what_a_binding_looks_like(tmp_path: Path) -> None:
    message = load_error(tmp_path, '[profiles.work.ui.keys]\n"main.watch" = " "\n')

    assert message.endswith(
        ':2:1: profiles.work.ui.keys.main.watch must be keys like "w" or "w,ctrl+w"'
    )


WRONG_VALUES = ['"text"', "3", "2.5", "true", "[1]", "{ a = 1 }", "1979-05-27T07:32:00"]


@pytest.mark.parametrize("value", WRONG_VALUES)
@pytest.mark.parametrize(
    "setting", [setting.key for setting in settings(ProfileSettings)], ids=dotted
)
def test_any_value_of_any_setting_is_read_or_refused_at_its_line(
    tmp_path: Path, setting: tuple[str, ...], value: str
) -> None:
    *table, name = setting
    text = f"[{'.'.join(('profiles', 'work', *table))}]\n{name} = {value}\n"
    try:
        load_config(write(tmp_path, text))
    except ConfigError as error:
        assert str(error).startswith(f"{tmp_path / 'config.toml'}:2:1: ")
        assert f"profiles.work.{dotted(setting)}" in str(error)
