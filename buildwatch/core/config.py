"""The configuration file: profiles of servers, watched commits and UI preferences.

The file is TOML, at `$BUILDWATCH_CONFIG` or `config.toml` in the platform's config directory.
It never holds a secret: tokens, passwords and API keys live in the OS keyring or the environment
(`buildwatch.core.credentials`). A malformed file is reported as `path:line:column: message`.

    default_profile = "work"

    [profiles.work.develocity]
    url = "https://develocity.example.com"

    [profiles.work.ui]
    notify = ["osc9", "bell"]
    notify_builds_when = "outcome:failed branch:main"

The Structs below are the one description of what a file may hold: the keys it accepts, their
types, bounds and defaults, what `buildwatch config show` prints and the README's table of
settings (`python -m buildwatch.cli.config_doc` writes it) all come from them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal
from urllib.parse import urlsplit, urlunsplit

import msgspec
from msgspec import Meta

from buildwatch.core.connection import DEFAULT_BUILDBUDDY_URL
from buildwatch.core.develocity.git_values import (
    DEFAULT_GIT_VALUE_NAMES,
    GIT_FIELDS,
    GitValueNames,
)
from buildwatch.core.errors import ConfigError
from buildwatch.core.panes import Pane
from buildwatch.core.teamstore.location import profile_store_url
from buildwatch.core.toml_schema import Key, SchemaChecker, dotted

if TYPE_CHECKING:
    import tomllib

    from buildwatch.core.buildbuddy.models import Invocation
    from buildwatch.core.query import BuildRecord, CompiledQuery

CONFIG_ENV = "BUILDWATCH_CONFIG"
PROFILE_ENV = "BUILDWATCH_PROFILE"
DEFAULT_PROFILE = "default"

AuthKind = Literal["token", "basic"]
NotifyKind = Literal["toast", "bell", "osc9", "osc777", "osc99"]
"""How a notification is given: a toast in the app, the terminal bell, or a desktop notification
by one of the escape sequences terminals understand (`buildwatch.core.terminal_sequences`)."""


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


def _base_url(description: str, example: str) -> Meta:
    """A server's base URL: normalised when the file is read, so keyring entries match."""
    return Meta(description=description, examples=[example], extra={"clean": normalize_base_url})


_KeyList = Annotated[str, Meta(pattern=r"\S", title="keys", examples=["w", "w,ctrl+w"])]
_NotNegative = Annotated[int, Meta(ge=0)]
_AtLeastOne = Annotated[int, Meta(ge=1)]


class DevelocitySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A profile's `[develocity]` table: the server whose builds are followed."""

    url: Annotated[
        str | None,
        _base_url(
            "Develocity base URL (any path prefix is kept); else `BUILDWATCH_DEVELOCITY_URL`",
            "https://develocity.example.com",
        ),
    ] = None
    api_version: Annotated[Literal[1, 2], Meta(description="the Export API version to use")] = 2
    auth: Annotated[
        AuthKind,
        Meta(description="`token` (an access key) or `basic` (a user name and password)"),
    ] = "token"


class BuildBuddySettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A profile's `[buildbuddy]` table: the server whose invocations are polled."""

    url: Annotated[
        str | None,
        _base_url(
            "BuildBuddy base URL; else `BUILDWATCH_BUILDBUDDY_URL`, else "
            f"`{DEFAULT_BUILDBUDDY_URL}`",
            DEFAULT_BUILDBUDDY_URL,
        ),
    ] = None


# Given to git as one argument each: one starting with `-` would be read as an option.
_GIT_ARGUMENT = r"^[^-\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


class GitBranchWatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One entry of `[watch] git`: a branch whose newest commits are watched
    (`buildwatch.core.gitwatch`)."""

    path: Annotated[
        str,
        Meta(pattern=_GIT_ARGUMENT, title="a path or URL (not starting with \"-\")", examples=["~/src/monorepo"],
             description="a checkout (`~` allowed), or a remote URL read with `git ls-remote`"),
    ]
    branch: Annotated[
        str,
        Meta(pattern=_GIT_ARGUMENT, title="a branch (not starting with \"-\")", examples=["main", "origin/main"],
             description="the branch or ref to read (`origin/main` follows what fetch brings)"),
    ] = "HEAD"
    commits: Annotated[int, Meta(ge=1, le=500, description="how many of its newest commits")] = 20


class WatchSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A profile's `[watch]` table: what is watched from the start."""

    RETIRED: ClassVar[Mapping[str, str]] = {
        "repos": "nothing read it; watch commits or git branches instead",
    }
    """Settings an older buildwatch read, and what to do instead (said when a file has one)."""

    commits: Annotated[
        tuple[str, ...],
        Meta(description="commits whose BuildBuddy invocations are polled from the start"),
    ] = ()
    git: Annotated[
        tuple[GitBranchWatch, ...],
        Meta(
            title='a list of `{ path = "~/src/repo", branch = "main", commits = 20 }`',
            description="branches whose newest commits are watched, read at each BuildBuddy poll "
            "(see Watching a git branch)",
        ),
    ] = ()
    git_fetch_seconds: Annotated[
        float,
        Meta(ge=0, le=86400, description="how often `git fetch` runs in each watched checkout; "
             "0: never (the local ref is read as it is)"),
    ] = 0.0


class View(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True,
           omit_defaults=True):
    """One saved view: a pane's filter, columns and order under a name, picked with `v` or a
    number key. Its columns and sort are checked as the screen reads them (`view_columns`), by
    `Config.check_views_and_notifications`."""

    name: Annotated[str, Meta(min_length=1, description="what the pane's title calls it")]
    pane: Annotated[
        Pane, Meta(description="the pane it filters: `builds` or `invocations`")
    ] = "builds"
    query: Annotated[
        str,
        Meta(title="a query", examples=["branch:main outcome:failed"],
             description="the pane's filter, a query over its fields (see Queries); `\"\"`: every row"),
    ] = ""
    columns: Annotated[
        tuple[str, ...],
        Meta(description="the columns shown, in this order: the pane's query fields, "
             "`value:NAME` (a custom value), `actions` (invocations); `[]`: the usual ones"),
    ] = ()
    sort: Annotated[
        str,
        Meta(title="a column and a direction", examples=["duration desc"],
             description="the rows' order: one of the view's columns, then `asc` (the default) "
             "or `desc`; `\"\"`: newest first"),
    ] = ""


DEFAULT_VIEWS = (
    View(name="All"),
    View(name="My builds", query="user:me"),
    View(name="Main is red", query="branch:main outcome:failed"),
    View(name="Slow", query="duration>10m", sort="duration desc"),
    View(name="All", pane="invocations"),
    View(name="Mine", pane="invocations", query="user:me"),
    View(name="Failed", pane="invocations", query="status:failed"),
)
"""The views a profile has without a `views` list of its own."""


class UiPreferences(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A profile's `[ui]` table: how far back the monitor starts, how often it polls, what it
    notifies about, how long it keeps its history."""

    RETIRED: ClassVar[Mapping[str, str]] = {
        "bell": 'list "bell" in `notify` instead (`notify = ["toast", "bell"]`)',
        "notify_on": 'write a query in `notify_builds_when` instead (`"outcome:failed"`)',
    }
    """Settings an older buildwatch read, and what to do instead (said when a file has one)."""

    backfill_minutes: Annotated[
        _NotNegative, Meta(description="without `--since`, the monitor starts this long ago (0: now)")
    ] = 60
    poll_interval_seconds: Annotated[
        float,
        Meta(ge=0.5, le=3600, description="how often BuildBuddy is asked about watched commits"),
    ] = 5.0
    notify: Annotated[
        tuple[NotifyKind, ...],
        Meta(description="how a notification is given: a toast in the app, the terminal bell, "
             "a desktop notification by OSC 9, OSC 777 or OSC 99 (see Notifications)"),
    ] = ("toast", "bell")
    notify_builds_when: Annotated[
        str,
        Meta(title="a query", examples=["outcome:failed branch:main"], description="which builds published while the monitor runs raise a "
             "notification: a query of the builds pane (see Queries); `\"\"` for none"),
    ] = "outcome:failed"
    notify_invocations_when: Annotated[
        str,
        Meta(title="a query", examples=["status:failed user:me"], description="which invocations that finish while the monitor runs "
             "raise a notification: a query of the invocations pane; `\"\"` for none"),
    ] = "status:failed"
    notify_only_watched: Annotated[
        bool,
        Meta(description="notify only about commits you watch, not those builds brought in"),
    ] = False
    quiet: Annotated[
        bool, Meta(description="start quiet: no notification until `m` turns them back on")
    ] = False
    theme: Annotated[
        str, Meta(description="a Textual theme; a name Textual does not know keeps the default")
    ] = "textual-dark"
    keys: Annotated[
        dict[str, _KeyList],
        Meta(
            description='key bindings by id (`?` lists the ids): `"main.watch" = "w,ctrl+w"`',
            examples=[{"main.watch": "w,ctrl+w"}],
        ),
    ] = {}
    history_catch_up_hours: Annotated[
        _NotNegative,
        Meta(description="a restart resumes after the last build seen if it is this recent, "
             "else starts this long ago"),
    ] = 24
    history_max_builds: Annotated[
        _AtLeastOne, Meta(description="the local history keeps at most this many builds")
    ] = 100_000
    history_max_age_days: Annotated[
        _AtLeastOne, Meta(description="the local history keeps no build older than this")
    ] = 30
    me: Annotated[
        tuple[str, ...],
        Meta(description="your user names on the servers: `user:me` in a query means any of them",
             examples=[["alice", "alice.smith"]]),
    ] = ()
    views: Annotated[
        tuple[View, ...],
        Meta(title='a list of `{ name = "Slow", pane = "builds", query = "duration>10m", '
             'columns = ["outcome", "id", "value:CI job", "duration"], sort = "duration desc" }`',
             description="the main screen's saved views, picked per pane in this order by `v` "
             "and the number keys: each one's filter, columns and order (see Queries)"),
    ] = DEFAULT_VIEWS
    retry_max_seconds: Annotated[
        float,
        Meta(ge=0.5, le=60, description="the longest wait between attempts to reach a server "
             "that is down (it is tried for as long as it stays down)"),
    ] = 60.0

    def build_notifications(self, now_ms: int | None = None) -> CompiledQuery[BuildRecord] | None:
        """`notify_builds_when` compiled (`now_ms`: what relative times count back from), or
        None when it is empty: no build notifies. `QueryError` when it cannot be compiled."""
        from buildwatch.core.query import BUILD_FIELDS, compile_query

        query = self.notify_builds_when
        return compile_query(query, BUILD_FIELDS, me=self.me, now_ms=now_ms) if query.strip() else None

    def invocation_notifications(self, now_ms: int | None = None) -> CompiledQuery[Invocation] | None:
        """`notify_invocations_when` compiled, as `build_notifications`."""
        from buildwatch.core.query import INVOCATION_FIELDS, compile_query

        query = self.notify_invocations_when
        return (compile_query(query, INVOCATION_FIELDS, me=self.me, now_ms=now_ms)
                if query.strip() else None)


class CustomValueNames(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A profile's `[custom_values]` table: more names of the custom values that record Git
    data, tried after the built-in ones (`buildwatch.core.develocity.git_values`)."""

    commit: Annotated[tuple[str, ...], Meta(description="more names of the commit's custom value")] = ()
    branch: Annotated[tuple[str, ...], Meta(description="more names of the branch's custom value")] = ()
    repository: Annotated[tuple[str, ...], Meta(description="more names of the repository's custom value")] = ()


class ProfileSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a `[profiles.NAME]` table holds: the team store, then one table per concern."""

    store: Annotated[
        str | None,
        Meta(
            title="a postgresql:// URL",
            examples=["postgresql://buildwatch_reader@db.example.com/buildwatch"],
            description="the team store (PostgreSQL), unless `--store` or `$BUILDWATCH_STORE` "
            "names another; its password comes from PGPASSWORD or PGPASSFILE, never this file",
            extra={"clean": profile_store_url},
        ),
    ] = None
    develocity: DevelocitySettings = DevelocitySettings()
    buildbuddy: BuildBuddySettings = BuildBuddySettings()
    watch: WatchSettings = WatchSettings()
    ui: UiPreferences = UiPreferences()
    custom_values: CustomValueNames = CustomValueNames()


class ConfigFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The file's top level."""

    default_profile: Annotated[
        str | None, Meta(description="the profile used when none is named")
    ] = None
    profiles: dict[str, ProfileSettings] = {}


class Profile(ProfileSettings, frozen=True, kw_only=True):
    """One set of servers and preferences, chosen with `--profile NAME`."""

    name: str = DEFAULT_PROFILE

    @property
    def git_value_names(self) -> GitValueNames:
        """The custom value names of Git data: the built-in ones, then the profile's."""
        return DEFAULT_GIT_VALUE_NAMES.with_extra(
            {git_field: getattr(self.custom_values, git_field) for git_field in GIT_FIELDS}
        )


@dataclass(frozen=True)
class Config:
    """The whole file: its profiles and which one is used when none is named."""

    path: Path
    default_profile: str | None = None
    """The file's `default_profile`; None when it names none."""
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    text: str = field(default="", repr=False, compare=False)
    """The file's text, which places a mistake `check_views_and_notifications` finds."""

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

    def check_views_and_notifications(self) -> None:
        """Check every profile's notification queries and saved views (query, columns, sort)
        as the monitor reads them; a mistake is a ConfigError at its line and column.

        Loading the file leaves this to the commands that read them (the monitor, `config
        show`, `config edit`): it imports the query language, which the headless commands
        would otherwise pay for at every start without using it.
        """
        checker = SchemaChecker(self.text, self.path)
        for name, profile in self.profiles.items():
            table = ("profiles", name, "ui")
            _check_notify_queries(profile.ui, table, checker)
            _check_view_queries(profile.ui, table, checker)
            _check_view_columns(profile.ui, table, checker)


def config_path() -> Path:
    """Where the configuration file is: `$BUILDWATCH_CONFIG`, else the platform's config dir."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return platformdirs.user_config_path("buildwatch") / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """Read and check the configuration file; a missing file is an empty configuration.
    Views and notification queries are checked apart (`Config.check_views_and_notifications`)."""
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
    import tomllib  # here: a command run without a configuration file never needs it

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(_decode_error_message(path, error)) from None
    checker = SchemaChecker(text, path)
    checked = checker.check(document, ConfigFile)
    parsed = msgspec.convert(checked, ConfigFile)
    profiles = {
        name: Profile(name=name, **msgspec.structs.asdict(settings))
        for name, settings in parsed.profiles.items()
    }
    return Config(path=path, default_profile=parsed.default_profile, profiles=profiles, text=text)


def _check_notify_queries(ui: UiPreferences, table: Key, checker: SchemaChecker) -> None:
    """Compile the notification queries as the monitor will (`user:me` needs the table's `me`),
    so a mistake is reported at its line when the monitor starts, not when it first notifies."""
    from buildwatch.core.query import QueryError

    for setting, compile_it in (("notify_builds_when", ui.build_notifications),
                                ("notify_invocations_when", ui.invocation_notifications)):
        try:
            compile_it()
        except QueryError as error:
            key = (*table, setting)
            raise checker.error_at(
                key, f"{dotted(key)}: {error.message} at column {error.column} of the query"
            ) from None


def _check_view_queries(ui: UiPreferences, table: Key, checker: SchemaChecker) -> None:
    """Compile each view's query over its pane's fields, so a mistake is reported at its line.
    Without `me` names, `user:me` stands for a placeholder: a default view may say it, and the
    screen says what is missing when the view is picked."""
    from buildwatch.core.query import PANE_FIELDS, QueryError, compile_query

    me = ui.me or ("me",)
    for index, view in enumerate(ui.views):
        try:
            compile_query(view.query, PANE_FIELDS[view.pane], me=me)
        except QueryError as error:
            key = (*table, "views")
            raise checker.error_at(
                key, f"{dotted(key)}[{index}].query: {error.message} at column {error.column} "
                "of the query",
            ) from None


def _check_view_columns(ui: UiPreferences, table: Key, checker: SchemaChecker) -> None:
    """Check each view's columns and sort as the screen will read them, reporting a mistake
    where the faulty name is written."""
    from buildwatch.core.columns import ColumnError, view_columns, view_sort

    key = (*table, "views")
    for index, view in enumerate(ui.views):
        try:
            columns = view_columns(view.pane, view.columns)
            view_sort(view.pane, view.sort, columns)
        except ColumnError as error:
            raise checker.error_at_value(
                key, error.name, f"{dotted(key)}[{index}].{error.setting}: {error}") from None


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
