"""The configuration file: profiles of servers, watched commits and repositories, UI preferences.

The file is TOML, at `$BUILDWATCH_CONFIG` or `config.toml` in the platform's config directory.
It never holds a secret: tokens, passwords and API keys live in the OS keyring or the environment
(`buildwatch.core.credentials`). A malformed file is reported as `path:line:column: message`.

    default_profile = "work"

    [profiles.work.develocity]
    url = "https://develocity.example.com"
    api_version = 2              # 1 or 2
    auth = "token"               # "token" (access key) or "basic" (username and password)

    [profiles.work.buildbuddy]
    url = "https://app.buildbuddy.io"

    [profiles.work.watch]
    commits = ["4f2a9c1"]
    repos = ["github.com/acme/app"]

    [profiles.work.ui]
    backfill_minutes = 60
    poll_interval_seconds = 5.0
    notify_on = ["failed"]       # any of "failed", "succeeded", "cancelled"
    notify_only_watched = false
    theme = "textual-dark"
    bell = false                 # ring the terminal bell with each notification
    history_catch_up_hours = 24  # on start, replay builds missed while closed, this far back
    history_max_builds = 100000  # the local history keeps at most this many builds
    history_max_age_days = 30    # ... and none older than this
    retry_max_seconds = 60       # the longest wait before trying a server that is down again

    [profiles.work.ui.keys]      # rebind TUI keys by binding id (see `?` in the app)
    "main.watch" = "w,ctrl+w"

    [profiles.work.custom_values]  # more custom value names for Git data, tried after the
    commit = ["My SHA"]            # built-in ones (`buildwatch.core.develocity.git_values`)
    branch = ["My branch"]
    repository = ["My repo"]
"""

from __future__ import annotations

import datetime
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

from buildwatch.core.develocity.git_values import (
    DEFAULT_GIT_VALUE_NAMES,
    GIT_FIELDS,
    GitField,
    GitValueNames,
)
from buildwatch.core.errors import ConfigError

CONFIG_ENV = "BUILDWATCH_CONFIG"
PROFILE_ENV = "BUILDWATCH_PROFILE"
DEFAULT_PROFILE = "default"

AuthKind = Literal["token", "basic"]
NotifyOutcome = Literal["failed", "succeeded", "cancelled"]
NOTIFY_OUTCOMES: tuple[NotifyOutcome, ...] = ("failed", "succeeded", "cancelled")

# Key names that only a secret would have: the file must not become a plaintext credential store.
_SECRET_KEY = re.compile(r"token|passw|secret|api[_-]?key|access[_-]?key|credential", re.IGNORECASE)


@dataclass(frozen=True)
class UiPreferences:
    """How the TUI behaves: how far back it starts, how often it polls, what it notifies about."""

    backfill_minutes: int = 60
    poll_interval_seconds: float = 5.0
    notify_on: tuple[NotifyOutcome, ...] = ("failed",)
    notify_only_watched: bool = False
    theme: str = "textual-dark"
    bell: bool = False
    keys: tuple[tuple[str, str], ...] = ()
    """TUI key bindings by binding id: `(id, "key1,key2")`."""
    history_catch_up_hours: int = 24
    """Resume after the last build seen if it is this recent; otherwise backfill this far."""
    history_max_builds: int = 100_000
    history_max_age_days: int = 30
    retry_max_seconds: float = 60.0
    """The longest wait between two attempts to reach a server that is down (however long
    it stays down, the monitor keeps trying)."""


@dataclass(frozen=True)
class Profile:
    """One set of servers and preferences, chosen with `--profile NAME`."""

    name: str = DEFAULT_PROFILE
    develocity_url: str | None = None
    develocity_api_version: Literal[1, 2] = 2
    develocity_auth: AuthKind = "token"
    buildbuddy_url: str | None = None
    watched_commits: tuple[str, ...] = ()
    watched_repos: tuple[str, ...] = ()
    ui: UiPreferences = field(default_factory=UiPreferences)
    git_value_names: GitValueNames = DEFAULT_GIT_VALUE_NAMES
    """The custom value names of Git data: the built-in ones, then the profile's."""


@dataclass(frozen=True)
class Config:
    """The whole file: its profiles and which one is used when none is named."""

    path: Path
    default_profile: str | None = None
    """The file's `default_profile`; None when it names none."""
    profiles: Mapping[str, Profile] = field(default_factory=dict)

    def profile(self, name: str | None = None) -> Profile:
        """The profile `name`, else `$BUILDWATCH_PROFILE`, else the file's default profile.

        When none of them names one, the profile called `default`, else an empty profile
        (every setting at its default, servers and credentials from the environment).
        """
        chosen = name or os.environ.get(PROFILE_ENV) or self.default_profile
        if chosen is None:
            return self.profiles.get(DEFAULT_PROFILE, Profile())
        if chosen in self.profiles:
            return self.profiles[chosen]
        if chosen == DEFAULT_PROFILE and not self.profiles:
            return Profile()
        known = ", ".join(sorted(self.profiles)) or "none"
        raise ConfigError(
            f"no profile {chosen!r} in {self.path} (profiles: {known}); "
            f"add a [profiles.{chosen}] table with `buildwatch config edit`"
        )


def config_path() -> Path:
    """Where the configuration file is: `$BUILDWATCH_CONFIG`, else the platform's config dir."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return platformdirs.user_config_path("buildwatch") / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """Read and check the configuration file; a missing file is an empty configuration."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config(path=path)
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error}") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    """Check `text` as the configuration file at `path`; every problem names its line and column."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(_decode_error_message(path, error)) from None
    reader = _Reader(text, path)
    reader.check_keys(document, (), {"default_profile", "profiles"})
    default: str | None = reader.value(document, (), "default_profile", str, None)
    profiles_table = reader.table(document, (), "profiles")
    profiles = {
        name: _parse_profile(reader, name, reader.table(profiles_table, ("profiles",), name))
        for name in profiles_table
    }
    return Config(path=path, default_profile=default, profiles=profiles)


def normalize_base_url(url: str, what: str = "URL") -> str:
    """`url` with a lower-case scheme and host and no trailing slash, so keyring keys match.

    Refuses anything but http(s) with a host, and URLs that carry a user or password.
    """
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 -- parsing the port is what rejects "host:abc"
    except ValueError as error:
        raise ConfigError(f"the {what} {url!r} is not a valid URL: {error}") from None
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            f"the {what} must not contain a user name or password; "
            "store credentials with `buildwatch auth login` or the environment"
        )
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"the {what} {url!r} is not an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise ConfigError(f"the {what} {url!r} must not have a query or fragment")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def _parse_profile(reader: _Reader, name: str, table: Mapping[str, Any]) -> Profile:
    where = ("profiles", name)
    reader.check_keys(table, where, {"develocity", "buildbuddy", "watch", "ui", "custom_values"})
    custom_values = reader.table(table, where, "custom_values")
    reader.check_keys(custom_values, (*where, "custom_values"), set(GIT_FIELDS))
    extra: dict[GitField, tuple[str, ...]] = {
        git_field: reader.strings(custom_values, (*where, "custom_values"), git_field)
        for git_field in GIT_FIELDS
    }
    develocity = reader.table(table, where, "develocity")
    reader.check_keys(develocity, (*where, "develocity"), {"url", "api_version", "auth"})
    buildbuddy = reader.table(table, where, "buildbuddy")
    reader.check_keys(buildbuddy, (*where, "buildbuddy"), {"url"})
    watch = reader.table(table, where, "watch")
    reader.check_keys(watch, (*where, "watch"), {"commits", "repos"})
    return Profile(
        name=name,
        develocity_url=reader.url(develocity, (*where, "develocity"), "url"),
        develocity_api_version=cast(
            "Literal[1, 2]",
            reader.choice(develocity, (*where, "develocity"), "api_version", (1, 2), 2),
        ),
        develocity_auth=cast(
            "AuthKind",
            reader.choice(develocity, (*where, "develocity"), "auth", ("token", "basic"), "token"),
        ),
        buildbuddy_url=reader.url(buildbuddy, (*where, "buildbuddy"), "url"),
        watched_commits=reader.strings(watch, (*where, "watch"), "commits"),
        watched_repos=reader.strings(watch, (*where, "watch"), "repos"),
        ui=_parse_ui(reader, (*where, "ui"), reader.table(table, where, "ui")),
        git_value_names=DEFAULT_GIT_VALUE_NAMES.with_extra(extra),
    )


def _parse_ui(reader: _Reader, where: tuple[str, ...], table: Mapping[str, Any]) -> UiPreferences:
    defaults = UiPreferences()
    reader.check_keys(
        table,
        where,
        {"backfill_minutes", "poll_interval_seconds", "notify_on", "notify_only_watched", "theme",
         "bell", "keys", "history_catch_up_hours", "history_max_builds", "history_max_age_days",
         "retry_max_seconds"},
    )
    backfill = _int_at_least(reader, table, where, "backfill_minutes", defaults.backfill_minutes, 0)
    interval = _seconds_between(
        reader, table, where, "poll_interval_seconds", defaults.poll_interval_seconds, 3600
    )
    notify_on = reader.strings(table, where, "notify_on", defaults.notify_on)
    unknown = [outcome for outcome in notify_on if outcome not in NOTIFY_OUTCOMES]
    if unknown:
        raise reader.error(
            where,
            "notify_on",
            f"{_dotted(where, 'notify_on')} has {unknown[0]!r}; use any of {', '.join(NOTIFY_OUTCOMES)}",
        )
    return UiPreferences(
        backfill_minutes=backfill,
        poll_interval_seconds=float(interval),
        notify_on=cast("tuple[NotifyOutcome, ...]", notify_on),
        notify_only_watched=reader.value(
            table, where, "notify_only_watched", bool, defaults.notify_only_watched
        ),
        theme=reader.string(table, where, "theme", defaults.theme),
        bell=reader.value(table, where, "bell", bool, defaults.bell),
        keys=_parse_keys(reader, where, table),
        history_catch_up_hours=_int_at_least(
            reader, table, where, "history_catch_up_hours", defaults.history_catch_up_hours, 0
        ),
        history_max_builds=_int_at_least(
            reader, table, where, "history_max_builds", defaults.history_max_builds, 1
        ),
        history_max_age_days=_int_at_least(
            reader, table, where, "history_max_age_days", defaults.history_max_age_days, 1
        ),
        retry_max_seconds=_seconds_between(
            reader, table, where, "retry_max_seconds", defaults.retry_max_seconds, 60
        ),
    )


def _seconds_between(
    reader: _Reader,
    table: Mapping[str, Any],
    where: tuple[str, ...],
    key: str,
    default: float,
    most: float,
) -> float:
    """A number of seconds from 0.5 (anything faster would hammer the server) to `most`."""
    value = reader.value(table, where, key, (int, float), default)
    if not 0.5 <= value <= most:
        raise reader.error(where, key, f"{_dotted(where, key)} must be between 0.5 and {most:g}")
    return float(value)


def _int_at_least(
    reader: _Reader,
    table: Mapping[str, Any],
    where: tuple[str, ...],
    key: str,
    default: int,
    minimum: int,
) -> int:
    value = cast(int, reader.value(table, where, key, int, default))
    if value < minimum:
        bound = "not be negative" if minimum == 0 else f"be at least {minimum}"
        raise reader.error(where, key, f"{_dotted(where, key)} must {bound}")
    return value


def _parse_keys(
    reader: _Reader, where: tuple[str, ...], table: Mapping[str, Any]
) -> tuple[tuple[str, str], ...]:
    keys = reader.table(table, where, "keys")
    for binding_id, value in keys.items():
        if not isinstance(value, str) or not value.strip():
            raise reader.error(
                (*where, "keys"), binding_id,
                f"{_dotted((*where, 'keys'), binding_id)} must be keys like \"w\" or \"w,ctrl+w\"",
            )
    return tuple((binding_id, value) for binding_id, value in keys.items())


def _decode_error_message(path: Path, error: tomllib.TOMLDecodeError) -> str:
    # Python 3.11's TOMLDecodeError has no lineno/colno attributes; its message ends with them.
    message = str(error)
    match = re.search(r"^(.*?)\s*\(at line (\d+), column (\d+)\)$", message)
    if match:
        return f"{path}:{match[2]}:{match[3]}: {match[1]}"
    match = re.search(r"^(.*?)\s*\(at end of document\)$", message)
    if match:
        return f"{path}: {match[1]} at the end of the file"
    return f"{path}: {message}"


_HEADER = re.compile(r"^\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGNMENT = re.compile(r"^(\s*)([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _split_key(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in dotted.split("."))


class _Reader:
    """Typed access to the parsed document that reports mistakes at their place in the text."""

    def __init__(self, text: str, path: Path) -> None:
        self._lines = text.splitlines()
        self._path = path

    def error(self, table: tuple[str, ...], key: str, message: str) -> ConfigError:
        """A ConfigError at the line and column where `key` of `table` is written."""
        position = self._locate((*table, key))
        if position is None:
            return ConfigError(f"{self._path}: {message}")
        line, column = position
        return ConfigError(f"{self._path}:{line}:{column}: {message}")

    def _locate(self, wanted: tuple[str, ...]) -> tuple[int, int] | None:
        # tomllib drops positions, so find the key again in the text. Inline tables are not
        # followed; an ancestor's position is the next best thing.
        for length in range(len(wanted), 0, -1):
            position = self._find(wanted[:length])
            if position is not None:
                return position
        return None

    def _find(self, wanted: tuple[str, ...]) -> tuple[int, int] | None:
        current: tuple[str, ...] = ()
        for number, line in enumerate(self._lines, start=1):
            header = _HEADER.match(line)
            if header:
                current = _split_key(header[1])
                if current == wanted:
                    return number, line.index("[") + 1
                continue
            assignment = _ASSIGNMENT.match(line)
            if assignment and (*current, *_split_key(assignment[2])) == wanted:
                return number, len(assignment[1]) + 1
        return None

    def check_keys(
        self, table: Mapping[str, Any], where: tuple[str, ...], allowed: set[str]
    ) -> None:
        """Refuse secret-looking keys and unknown keys (usually typos) in `table`."""
        for key in table:
            dotted = _dotted(where, key)
            if _SECRET_KEY.search(key):
                raise self.error(
                    where,
                    key,
                    f"{dotted} looks like a secret, and the configuration file never holds one; "
                    "remove it and use `buildwatch auth login` or the BUILDWATCH_* environment variables",
                )
            if key not in allowed:
                raise self.error(
                    where,
                    key,
                    f"unknown setting {dotted}; expected one of {', '.join(sorted(allowed))}",
                )

    def table(
        self, parent: Mapping[str, Any], where: tuple[str, ...], key: str
    ) -> Mapping[str, Any]:
        """The sub-table `key`, or an empty one."""
        return cast("Mapping[str, Any]", self.value(parent, where, key, dict, {}))

    def string(
        self, table: Mapping[str, Any], where: tuple[str, ...], key: str, default: str
    ) -> str:
        """The string `key`, or `default`."""
        return cast(str, self.value(table, where, key, str, default))

    def url(self, table: Mapping[str, Any], where: tuple[str, ...], key: str) -> str | None:
        """The base URL `key`, normalised, or None when absent."""
        if key not in table:
            return None
        raw = self.string(table, where, key, "")
        try:
            return normalize_base_url(raw, _dotted(where, key))
        except ConfigError as error:
            raise self.error(where, key, str(error)) from None

    def choice(
        self,
        table: Mapping[str, Any],
        where: tuple[str, ...],
        key: str,
        allowed: tuple[Any, ...],
        default: Any,
    ) -> Any:
        """`key`, which must be one of `allowed`, or `default`."""
        value = table.get(key, default)
        if isinstance(value, bool) or value not in allowed:
            choices = " or ".join(repr(option) for option in allowed)
            raise self.error(where, key, f"{_dotted(where, key)} must be {choices}")
        return value

    def strings(
        self,
        table: Mapping[str, Any],
        where: tuple[str, ...],
        key: str,
        default: tuple[str, ...] = (),
    ) -> tuple[str, ...]:
        """The list of strings `key`, or `default`."""
        values = self.value(table, where, key, list, list(default))
        if not all(isinstance(value, str) for value in values):
            raise self.error(where, key, f"{_dotted(where, key)} must be a list of strings")
        return tuple(values)

    def value(
        self,
        table: Mapping[str, Any],
        where: tuple[str, ...],
        key: str,
        kind: type[Any] | tuple[type[Any], ...],
        default: Any,
    ) -> Any:
        """`key` checked against `kind` (a bool is never taken for a number), or `default`."""
        if key not in table:
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            # Name the expected type only: the value might be something the user did not mean to show.
            raise self.error(
                where,
                key,
                f"{_dotted(where, key)} must be {_describe(kinds)}, not {_describe((type(value),))}",
            )
        return value


_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
    datetime.datetime: "a date and time",
    datetime.date: "a date",
    datetime.time: "a time",
}


def _dotted(where: tuple[str, ...], key: str) -> str:
    return ".".join((*where, key))


def _describe(kinds: tuple[type[Any], ...]) -> str:
    return " or ".join(_TYPE_NAMES.get(kind, kind.__name__) for kind in kinds)
