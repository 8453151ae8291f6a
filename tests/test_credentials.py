"""Where secrets come from (environment, then keyring) and which keyrings may hold them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keyring.backend
import keyring.backends.null
import pytest
from keyring_backend import (
    ForgetfulKeyring,
    HangingKeyring,
    LockedKeyring,
    LowPriorityKeyring,
    TempDirKeyring,
)

from buildwatch.core.config import DevelocitySettings, Profile
from buildwatch.core.connection import DEFAULT_BUILDBUDDY_URL
from buildwatch.core.credentials import (
    ConnectionOverrides,
    Credential,
    backend_status,
    buildbuddy_connection,
    delete,
    develocity_connection,
    read_stored,
    resolve_credential,
    store,
)
from buildwatch.core.errors import ConfigError
from buildwatch.core.secrets import Secret

URL = "https://develocity.example.com"
CANARY = "canary-token-3f9c1e7a55d2"
PROFILE = Profile(name="work", develocity=DevelocitySettings(url=URL))

Install = Callable[[keyring.backend.KeyringBackend], None]


def test_a_stored_token_is_kept_under_service_buildwatch_and_kind_colon_url(
    temp_keyring: TempDirKeyring,
) -> None:
    store("develocity", URL + "/", Credential(token=Secret(CANARY)))

    assert temp_keyring.stored() == {f"buildwatch/develocity:{URL}": CANARY}


def test_a_stored_token_is_found_whatever_the_url_spelling(temp_keyring: TempDirKeyring) -> None:
    store("develocity", "HTTPS://Develocity.Example.com/", Credential(token=Secret(CANARY)))

    connection = develocity_connection(PROFILE)

    assert connection.token == Secret(CANARY)
    assert connection.source == "keyring"


def test_basic_auth_is_stored_as_json_and_read_back(temp_keyring: TempDirKeyring) -> None:
    store("develocity", URL, Credential(username="alice", password=Secret(CANARY)))

    connection = develocity_connection(PROFILE)

    assert (connection.username, connection.password) == ("alice", Secret(CANARY))
    assert connection.token is None


def test_a_value_stored_by_other_tools_is_taken_as_a_token(temp_keyring: TempDirKeyring) -> None:
    temp_keyring.set_password("buildwatch", f"buildbuddy:{DEFAULT_BUILDBUDDY_URL}", "{not json")

    assert buildbuddy_connection(Profile()).api_key == Secret("{not json")


def test_the_environment_token_overrides_the_keyring(
    temp_keyring: TempDirKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    store("develocity", URL, Credential(token=Secret("stored-token-0000")))
    monkeypatch.setenv("BUILDWATCH_DEVELOCITY_TOKEN", CANARY)

    connection = develocity_connection(PROFILE)

    assert (connection.token, connection.source) == (Secret(CANARY), "environment")


def test_environment_user_and_password_make_basic_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUILDWATCH_DEVELOCITY_USERNAME", "alice")
    monkeypatch.setenv("BUILDWATCH_DEVELOCITY_PASSWORD", CANARY)

    connection = develocity_connection(PROFILE)

    assert (connection.username, connection.password, connection.source) == (
        "alice",
        Secret(CANARY),
        "environment",
    )


def test_an_environment_user_without_a_password_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUILDWATCH_DEVELOCITY_USERNAME", "alice")

    with pytest.raises(ConfigError, match="BUILDWATCH_DEVELOCITY_PASSWORD is not"):
        develocity_connection(PROFILE)


def test_the_buildbuddy_key_comes_from_the_environment_first(
    temp_keyring: TempDirKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    store("buildbuddy", DEFAULT_BUILDBUDDY_URL, Credential(token=Secret("stored-key-0000")))
    monkeypatch.setenv("BUILDWATCH_BUILDBUDDY_API_KEY", CANARY)

    assert buildbuddy_connection(Profile()).api_key == Secret(CANARY)


def test_nothing_set_anywhere_resolves_to_no_credentials(temp_keyring: TempDirKeyring) -> None:
    assert resolve_credential("buildbuddy", DEFAULT_BUILDBUDDY_URL) == (None, "none")


def test_the_url_flag_beats_the_environment_which_beats_the_profile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUILDWATCH_DEVELOCITY_URL", "https://from-env.example.com/")

    from_env = develocity_connection(PROFILE).base_url
    from_flag = develocity_connection(
        PROFILE, ConnectionOverrides(develocity_url="https://from-flag.example.com")
    ).base_url

    assert (from_env, from_flag) == (
        "https://from-env.example.com",
        "https://from-flag.example.com",
    )


def test_without_any_develocity_url_the_error_says_where_to_set_one() -> None:
    with pytest.raises(ConfigError) as caught:
        develocity_connection(Profile(name="work"))

    message = str(caught.value)
    assert "--develocity-url" in message
    assert "BUILDWATCH_DEVELOCITY_URL" in message
    assert "[profiles.work.develocity] url" in message


def test_the_api_version_override_beats_the_profile() -> None:
    profile = Profile(develocity=DevelocitySettings(url=URL, api_version=1))

    assert develocity_connection(profile).api_version == 1
    assert develocity_connection(profile, ConnectionOverrides(api_version=2)).api_version == 2


def test_buildbuddy_defaults_to_the_cloud_url() -> None:
    assert buildbuddy_connection(Profile()).base_url == DEFAULT_BUILDBUDDY_URL


def test_the_fail_backend_gives_no_credentials_instead_of_an_error() -> None:
    assert read_stored("develocity", URL) is None


def test_storing_without_a_usable_backend_says_exactly_what_to_do() -> None:
    with pytest.raises(ConfigError) as caught:
        store("buildbuddy", DEFAULT_BUILDBUDDY_URL, Credential(token=Secret(CANARY)))

    message = str(caught.value)
    assert "keyring.backends.fail.Keyring" in message
    assert "dbus-run-session" in message
    assert "keyrings.alt.file.PlaintextKeyring" in message
    assert "BUILDWATCH_BUILDBUDDY_API_KEY" in message
    assert CANARY not in message


def test_the_null_backend_is_refused_because_it_discards_secrets(install_keyring: Install) -> None:
    install_keyring(keyring.backends.null.Keyring())

    with pytest.raises(ConfigError, match="discards every secret"):
        store("develocity", URL, Credential(token=Secret(CANARY)))


def test_a_low_priority_backend_picked_silently_is_refused_as_not_secure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, install_keyring: Install
) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    backend = LowPriorityKeyring(tmp_path)
    install_keyring(backend)

    with pytest.raises(ConfigError, match=r"is not secure \(priority 0.5\)"):
        store("develocity", URL, Credential(token=Secret(CANARY)))
    assert backend.stored() == {}


def test_a_low_priority_backend_chosen_in_keyringrc_is_used_but_flagged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, install_keyring: Install
) -> None:
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "python_keyring").mkdir()
    (tmp_path / "python_keyring" / "keyringrc.cfg").write_text(
        "[backend]\ndefault-keyring = keyring_backend.LowPriorityKeyring\n"
    )
    install_keyring(LowPriorityKeyring(tmp_path))

    status = store("develocity", URL, Credential(token=Secret(CANARY)))

    assert (status.secure, status.usable) == (False, True)
    assert "NOT SECURE, chosen explicitly" in status.describe()


def test_a_backend_that_does_not_keep_the_secret_is_detected(
    tmp_path: Path, install_keyring: Install
) -> None:
    install_keyring(ForgetfulKeyring(tmp_path))

    with pytest.raises(ConfigError, match="accepted the secret but does not give it back"):
        store("develocity", URL, Credential(token=Secret(CANARY)))


def test_a_locked_keyring_says_how_to_unlock_it(tmp_path: Path, install_keyring: Install) -> None:
    install_keyring(LockedKeyring(tmp_path))

    with pytest.raises(ConfigError, match="the keyring is locked; unlock it"):
        develocity_connection(PROFILE)


@pytest.mark.timeout(10)
def test_a_keyring_that_never_answers_times_out(tmp_path: Path, install_keyring: Install) -> None:
    backend = HangingKeyring(tmp_path)
    install_keyring(backend)
    try:
        with pytest.raises(
            ConfigError, match=r"did not answer within 0.2 s.*BUILDWATCH_DEVELOCITY"
        ):
            develocity_connection(PROFILE, timeout=0.2)
    finally:
        backend.release.set()


def test_deleting_reports_whether_there_was_anything(temp_keyring: TempDirKeyring) -> None:
    store("buildbuddy", DEFAULT_BUILDBUDDY_URL, Credential(token=Secret(CANARY)))

    assert delete("buildbuddy", DEFAULT_BUILDBUDDY_URL) is True
    assert delete("buildbuddy", DEFAULT_BUILDBUDDY_URL) is False
    assert temp_keyring.stored() == {}


def test_a_secure_backend_is_described_as_such(temp_keyring: TempDirKeyring) -> None:
    assert backend_status().describe() == "keyring_backend.TempDirKeyring (secure, priority 1)"


def test_resolved_connections_never_show_the_secret(
    temp_keyring: TempDirKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDWATCH_DEVELOCITY_USERNAME", "alice")
    monkeypatch.setenv("BUILDWATCH_DEVELOCITY_PASSWORD", CANARY)
    store("buildbuddy", DEFAULT_BUILDBUDDY_URL, Credential(token=Secret(CANARY)))

    shown = [
        repr(develocity_connection(PROFILE)),
        str(buildbuddy_connection(Profile())),
        repr(Credential(token=Secret(CANARY))),
        Credential(token=Secret(CANARY)).describe(),
    ]

    assert not [text for text in shown if CANARY in text]
