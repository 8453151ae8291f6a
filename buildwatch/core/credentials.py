"""Where secrets come from: the environment first, then the OS keyring.

Secrets are stored with `keyring` under service `buildwatch` and user `<kind>:<base URL>`
(`develocity:https://develocity.example.com`). A Develocity access key or a BuildBuddy API key is
stored as itself; Develocity basic auth is stored as JSON `{"username": ..., "password": ...}`.
A team store's password is stored as itself under user `store:<user>@<host>:<port>`
(`StoreLocation.keyring_user`).

Only a secure backend is used: a recommended one (priority >= 1), or one the user chose explicitly
(`PYTHON_KEYRING_BACKEND` or keyring's `keyringrc.cfg`). `keyring` silently picks keyrings.alt's
PlaintextKeyring (priority 0.5) when it is merely installed, so that is refused unless chosen.
Every keyring call runs in a worker thread with a timeout: a locked keyring can block forever.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from buildwatch.core.config import Profile, normalize_base_url
from buildwatch.core.connection import (
    DEFAULT_BUILDBUDDY_URL,
    BuildBuddyConnection,
    CredentialSource,
    DevelocityConnection,
)
from buildwatch.core.errors import ConfigError
from buildwatch.core.secrets import Secret

SERVICE = "buildwatch"
KEYRING_TIMEOUT = 30.0

ServerKind = Literal["develocity", "buildbuddy"]
SecretKind = Literal["develocity", "buildbuddy", "store"]
"""What a keyring entry holds: a server's credential, or a team store's password."""

DEVELOCITY_URL_ENV = "BUILDWATCH_DEVELOCITY_URL"
DEVELOCITY_TOKEN_ENV = "BUILDWATCH_DEVELOCITY_TOKEN"
DEVELOCITY_USERNAME_ENV = "BUILDWATCH_DEVELOCITY_USERNAME"
DEVELOCITY_PASSWORD_ENV = "BUILDWATCH_DEVELOCITY_PASSWORD"
BUILDBUDDY_URL_ENV = "BUILDWATCH_BUILDBUDDY_URL"
BUILDBUDDY_API_KEY_ENV = "BUILDWATCH_BUILDBUDDY_API_KEY"

_ENV_ADVICE: dict[SecretKind | None, str] = {
    "develocity": f"{DEVELOCITY_TOKEN_ENV} (or {DEVELOCITY_USERNAME_ENV} and {DEVELOCITY_PASSWORD_ENV})",
    "buildbuddy": BUILDBUDDY_API_KEY_ENV,
    "store": "PGPASSWORD (or put the password in PGPASSFILE, ~/.pgpass)",
    None: f"{DEVELOCITY_TOKEN_ENV} (or {DEVELOCITY_USERNAME_ENV} and {DEVELOCITY_PASSWORD_ENV}) "
    f"and {BUILDBUDDY_API_KEY_ENV}",
}
_UNUSABLE_BACKENDS = ("keyring.backends.fail.Keyring", "keyring.backends.null.Keyring")

T = TypeVar("T")


@dataclass(frozen=True)
class ConnectionOverrides:
    """Settings given for this run only (command-line flags, TUI fields); they beat everything."""

    develocity_url: str | None = None
    buildbuddy_url: str | None = None
    api_version: Literal[1, 2] | None = None


@dataclass(frozen=True)
class Credential:
    """A secret for one server: a token (access key, API key) or a username and password."""

    token: Secret | None = None
    username: str | None = None
    password: Secret | None = None

    def describe(self) -> str:
        """What is set, masked: `token ****abcd` or `user alice, password ****`.

        No character of a password is shown: unlike a generated token, it is short and guessable.
        """
        if self.token is not None:
            return f"token {self.token.masked()}"
        return f"user {self.username}, password ****"

    def to_stored(self) -> str:
        """The string kept in the keyring."""
        if self.token is not None:
            return self.token.reveal()
        password = self.password.reveal() if self.password is not None else ""
        return json.dumps({"username": self.username, "password": password})

    @classmethod
    def from_stored(cls, stored: str) -> Credential:
        """Read back what `to_stored` wrote; anything that is not our JSON is a token."""
        if stored.startswith("{"):
            try:
                data = json.loads(stored)
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("username"), str):
                return cls(
                    username=data["username"], password=Secret(str(data.get("password", "")))
                )
        return cls(token=Secret(stored))


@dataclass(frozen=True)
class BackendStatus:
    """The keyring backend in use and whether buildwatch will keep secrets in it."""

    name: str
    priority: float | None
    secure: bool
    problem: str | None = None

    @property
    def usable(self) -> bool:
        """Secure, or chosen explicitly by the user and not one that loses or refuses secrets."""
        return self.problem is None

    def describe(self) -> str:
        """One line for `auth status`."""
        priority = "" if self.priority is None else f", priority {self.priority:g}"
        if self.secure:
            verdict = "secure"
        elif self.usable:
            verdict = "NOT SECURE, chosen explicitly"
        else:
            verdict = "not usable"
        return f"{self.name} ({verdict}{priority})"


def keyring_username(kind: ServerKind, base_url: str) -> str:
    """The keyring user name for a server: `<kind>:<normalised base URL>`."""
    return f"{kind}:{normalize_base_url(base_url)}"


def no_secure_keyring_advice(kind: SecretKind | None = None) -> str:
    """The three ways out when there is no secure keyring, for the server `kind`."""
    return (
        "either (1) start a Secret Service: run `dbus-run-session -- $SHELL`, then "
        "`gnome-keyring-daemon --unlock` (type the keyring password, then Ctrl-D) and run buildwatch "
        "in that shell; or (2) choose a backend explicitly, e.g. PYTHON_KEYRING_BACKEND="
        "keyrings.alt.file.EncryptedKeyring after `pip install keyrings.alt pycryptodomex` (asks "
        "for a master password on every use, so it suits the command line, not the TUI) or "
        "keyrings.alt.file.PlaintextKeyring (the secret is only base64-encoded in a file that anything "
        f"running as you can read); or (3) set {_ENV_ADVICE[kind]} in the environment"
    )


def backend_status(
    timeout: float = KEYRING_TIMEOUT, kind: SecretKind | None = None
) -> BackendStatus:
    """Which keyring backend is in use, and whether it may hold secrets.

    Raises ConfigError when the chosen backend cannot even start (a misspelt
    `PYTHON_KEYRING_BACKEND`, a Secret Service without D-Bus).
    """
    import keyring

    backend = _call_keyring(keyring.get_keyring, timeout, kind)
    name = f"{type(backend).__module__}.{type(backend).__qualname__}"
    priority = _priority(backend)
    secure = priority is not None and priority >= 1 and _chained_secure(backend)
    problem = None
    if name in _UNUSABLE_BACKENDS:
        problem = (
            f"no usable keyring backend ({name}"
            + (", which discards every secret" if name.endswith("null.Keyring") else "")
            + ")"
        )
    elif not secure and not _chosen_explicitly():
        problem = (
            f"the keyring backend {name} is not secure (priority {priority}), and keyring picked it "
            "only because no recommended backend (priority >= 1) is available"
        )
    return BackendStatus(name=name, priority=priority, secure=secure, problem=problem)


def usable_backend(kind: SecretKind, timeout: float = KEYRING_TIMEOUT) -> BackendStatus:
    """The backend in use; ConfigError with the ways out when it may not hold secrets."""
    status = backend_status(timeout, kind)
    if status.problem is not None:
        raise ConfigError(f"{status.problem}; {no_secure_keyring_advice(kind)}")
    return status


def read_stored(
    kind: ServerKind, base_url: str, timeout: float = KEYRING_TIMEOUT
) -> Credential | None:
    """The credential stored for a server, or None (also when no usable keyring exists)."""
    stored = read_secret(kind, keyring_username(kind, base_url), timeout)
    return None if stored is None else Credential.from_stored(stored)


def store(
    kind: ServerKind, base_url: str, credential: Credential, timeout: float = KEYRING_TIMEOUT
) -> BackendStatus:
    """Keep `credential` in the keyring and check it reads back; returns the backend used."""
    return keep_secret(kind, keyring_username(kind, base_url), credential.to_stored(), timeout)


def delete(kind: ServerKind, base_url: str, timeout: float = KEYRING_TIMEOUT) -> bool:
    """Remove the stored credential for a server; False when there was none."""
    return forget_secret(kind, keyring_username(kind, base_url), timeout)


def read_secret(kind: SecretKind, user: str, timeout: float = KEYRING_TIMEOUT) -> str | None:
    """The secret kept under keyring user `user`, or None (also when no usable keyring exists)."""
    import keyring

    if not backend_status(timeout, kind).usable:
        return None
    return _call_keyring(lambda: keyring.get_password(SERVICE, user), timeout, kind)


def keep_secret(
    kind: SecretKind, user: str, secret: str, timeout: float = KEYRING_TIMEOUT
) -> BackendStatus:
    """Keep `secret` under keyring user `user` and check it reads back; returns the backend."""
    import keyring

    status = usable_backend(kind, timeout)
    _call_keyring(lambda: keyring.set_password(SERVICE, user, secret), timeout, kind)
    if _call_keyring(lambda: keyring.get_password(SERVICE, user), timeout, kind) != secret:
        raise ConfigError(
            f"the keyring backend {status.name} accepted the secret but does not give it back; "
            + no_secure_keyring_advice(kind)
        )
    return status


def forget_secret(kind: SecretKind, user: str, timeout: float = KEYRING_TIMEOUT) -> bool:
    """Remove the secret kept under keyring user `user`; False when there was none."""
    import keyring

    usable_backend(kind, timeout)
    if _call_keyring(lambda: keyring.get_password(SERVICE, user), timeout, kind) is None:
        return False
    _call_keyring(lambda: keyring.delete_password(SERVICE, user), timeout, kind)
    return True


def environment_credential(kind: ServerKind) -> Credential | None:
    """The credential set in the environment for `kind`, or None."""
    if kind == "buildbuddy":
        key = os.environ.get(BUILDBUDDY_API_KEY_ENV)
        return Credential(token=Secret(key)) if key else None
    token = os.environ.get(DEVELOCITY_TOKEN_ENV)
    if token:
        return Credential(token=Secret(token))
    username = os.environ.get(DEVELOCITY_USERNAME_ENV)
    password = os.environ.get(DEVELOCITY_PASSWORD_ENV)
    if username and password:
        return Credential(username=username, password=Secret(password))
    if username or password:
        present, missing = (
            (DEVELOCITY_USERNAME_ENV, DEVELOCITY_PASSWORD_ENV)
            if username
            else (DEVELOCITY_PASSWORD_ENV, DEVELOCITY_USERNAME_ENV)
        )
        raise ConfigError(
            f"{present} is set but {missing} is not; set both for basic authentication"
        )
    return None


def resolve_credential(
    kind: ServerKind, base_url: str, timeout: float = KEYRING_TIMEOUT
) -> tuple[Credential | None, CredentialSource]:
    """The credential for a server and where it came from: environment, then keyring."""
    from_environment = environment_credential(kind)
    if from_environment is not None:
        return from_environment, "environment"
    from_keyring = read_stored(kind, base_url, timeout)
    if from_keyring is not None:
        return from_keyring, "keyring"
    return None, "none"


def develocity_url(profile: Profile, overrides: ConnectionOverrides = ConnectionOverrides()) -> str:
    """The Develocity base URL: override, then `$BUILDWATCH_DEVELOCITY_URL`, then the profile."""
    if overrides.develocity_url:
        return normalize_base_url(overrides.develocity_url, "Develocity URL")
    from_environment = os.environ.get(DEVELOCITY_URL_ENV)
    if from_environment:
        return normalize_base_url(from_environment, DEVELOCITY_URL_ENV)
    if profile.develocity.url:
        return profile.develocity.url
    raise ConfigError(
        f"no Develocity server: pass --develocity-url URL, set {DEVELOCITY_URL_ENV}, or set "
        f"[profiles.{profile.name}.develocity] url in the configuration (`buildwatch config edit`)"
    )


def buildbuddy_url(profile: Profile, overrides: ConnectionOverrides = ConnectionOverrides()) -> str:
    """The BuildBuddy base URL: override, `$BUILDWATCH_BUILDBUDDY_URL`, profile, then the cloud."""
    if overrides.buildbuddy_url:
        return normalize_base_url(overrides.buildbuddy_url, "BuildBuddy URL")
    from_environment = os.environ.get(BUILDBUDDY_URL_ENV)
    if from_environment:
        return normalize_base_url(from_environment, BUILDBUDDY_URL_ENV)
    return profile.buildbuddy.url or DEFAULT_BUILDBUDDY_URL


def develocity_connection(
    profile: Profile,
    overrides: ConnectionOverrides = ConnectionOverrides(),
    timeout: float = KEYRING_TIMEOUT,
) -> DevelocityConnection:
    """Everything a Develocity client needs, resolved. Blocks on the keyring: call off the UI thread."""
    base_url = develocity_url(profile, overrides)
    credential, source = resolve_credential("develocity", base_url, timeout)
    return DevelocityConnection(
        base_url=base_url,
        api_version=overrides.api_version or profile.develocity.api_version,
        token=credential.token if credential else None,
        username=credential.username if credential else None,
        password=credential.password if credential else None,
        source=source,
    )


def buildbuddy_connection(
    profile: Profile,
    overrides: ConnectionOverrides = ConnectionOverrides(),
    timeout: float = KEYRING_TIMEOUT,
) -> BuildBuddyConnection:
    """Everything a BuildBuddy client needs, resolved. Blocks on the keyring: call off the UI thread."""
    base_url = buildbuddy_url(profile, overrides)
    credential, source = resolve_credential("buildbuddy", base_url, timeout)
    return BuildBuddyConnection(
        base_url=base_url, api_key=credential.token if credential else None, source=source
    )


def _call_keyring(operation: Callable[[], T], timeout: float, kind: SecretKind | None) -> T:
    # A daemon thread, not an executor: a keyring stuck on an unlock prompt must not keep the
    # process alive at exit.
    outcome: list[Any] = []
    finished = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, operation()))
        except Exception as error:
            outcome.append((False, error))
        finally:
            finished.set()

    threading.Thread(target=run, name="buildwatch-keyring", daemon=True).start()
    if not finished.wait(timeout):
        raise ConfigError(
            f"the keyring did not answer within {timeout:g} s (it may be locked and waiting for its "
            f"password); unlock it and retry, or set {_ENV_ADVICE[kind]} in the environment"
        )
    succeeded, value = outcome[0]
    if succeeded:
        return value  # type: ignore[no-any-return]
    raise _explain(value, kind) from None


def _explain(error: Exception, kind: SecretKind | None) -> ConfigError:
    import keyring.errors

    if isinstance(error, keyring.errors.NoKeyringError):
        return ConfigError(f"no usable keyring backend; {no_secure_keyring_advice(kind)}")
    if isinstance(error, keyring.errors.KeyringLocked):
        return ConfigError(
            "the keyring is locked; unlock it (e.g. log in to the desktop session, or run "
            f"`gnome-keyring-daemon --unlock`) or set {_ENV_ADVICE[kind]} in the environment"
        )
    # keyring raises RuntimeError, ImportError and its own errors for a backend it cannot start;
    # their messages name the backend and the cause, never a stored secret.
    return ConfigError(
        f"the keyring failed ({type(error).__name__}: {error}); {no_secure_keyring_advice(kind)}"
    )


def _priority(backend: Any) -> float | None:
    try:
        return float(backend.priority)
    except Exception:
        return None


def _chained_secure(backend: Any) -> bool:
    # The chainer writes to its first backend and reads from all of them.
    from keyring.backends.chainer import ChainerBackend

    if not isinstance(backend, ChainerBackend):
        return True
    chained = list(backend.backends)
    return bool(chained) and all((_priority(member) or 0) >= 1 for member in chained)


def _chosen_explicitly() -> bool:
    if os.environ.get("PYTHON_KEYRING_BACKEND"):
        return True
    import configparser

    from keyring.util import platform_

    parser = configparser.RawConfigParser()
    parser.read(platform_.config_root() / "keyringrc.cfg", encoding="utf-8")
    return parser.has_option("backend", "default-keyring")
