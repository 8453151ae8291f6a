"""Options every server command shares, and the connections they resolve to.

A command adds `add_develocity_arguments` and/or `add_buildbuddy_arguments` to its parser and
builds its client from `develocity_connection_from_args(args)` or
`buildbuddy_connection_from_args(args)`: URL from the flag, the environment, the profile;
credentials from the environment, then the keyring. No secret is ever taken on the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Any

from buildwatch.core.backoff import RetryNotice
from buildwatch.core.config import CONFIG_ENV, Config, Profile, load_config
from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
from buildwatch.core.credentials import (
    BUILDBUDDY_URL_ENV,
    DEVELOCITY_URL_ENV,
    ConnectionOverrides,
    buildbuddy_connection,
    develocity_connection,
)
from buildwatch.core.errors import ConfigError
from buildwatch.core.sanitize import sanitize_line


def add_profile_argument(parser: argparse.ArgumentParser) -> None:
    """Add `--profile NAME`; adding it twice to one parser is harmless."""
    added = _add_once(
        parser,
        "--profile",
        metavar="NAME",
        help="configuration profile to use (default: $BUILDWATCH_PROFILE, else the file's default_profile)",
    )
    if added is not None:
        # argcomplete reads this attribute; without it, Tab offers file names.
        added.completer = profile_names  # type: ignore[attr-defined]


def loaded_config() -> Config:
    """The configuration file, saying on stderr when `$BUILDWATCH_CONFIG` names one that does
    not exist: a mistyped path would otherwise run every command on the defaults unnoticed."""
    config = load_config()
    if os.environ.get(CONFIG_ENV) and not config.path.exists():
        warn(f"{CONFIG_ENV} names {config.path}, which does not exist; going on without it")
    return config


def profile_names(**_: object) -> list[str]:
    """The configured profiles' names, for Tab completion (none if the file cannot be read)."""
    try:
        return sorted(load_config().profiles)
    except ConfigError:
        return []


def add_develocity_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--profile` and `--develocity-url`."""
    add_profile_argument(parser)
    _add_once(
        parser,
        "--develocity-url",
        metavar="URL",
        help=f"Develocity server base URL (default: ${DEVELOCITY_URL_ENV}, else the profile's)",
    )


def add_buildbuddy_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--profile` and `--buildbuddy-url`."""
    add_profile_argument(parser)
    _add_once(
        parser,
        "--buildbuddy-url",
        metavar="URL",
        help=f"BuildBuddy server base URL (default: ${BUILDBUDDY_URL_ENV}, else the profile's, "
        "else https://app.buildbuddy.io)",
    )


def profile_from_args(args: argparse.Namespace) -> Profile:
    """The profile named by `--profile`, or the default one."""
    return loaded_config().profile(getattr(args, "profile", None))


def monitor_profile_from_args(args: argparse.Namespace) -> Profile:
    """The profile the monitor runs with, as `profile_from_args`, the file's saved views and
    notification queries checked too: a mistake in them stops the monitor at its start, with
    its line, where the headless commands that never read them go on."""
    config = loaded_config()
    config.check_views_and_notifications()
    return config.profile(getattr(args, "profile", None))


def overrides_from_args(args: argparse.Namespace) -> ConnectionOverrides:
    """The connection settings given on the command line."""
    return ConnectionOverrides(
        develocity_url=getattr(args, "develocity_url", None),
        buildbuddy_url=getattr(args, "buildbuddy_url", None),
        api_version=getattr(args, "api_version", None),
    )


def develocity_connection_from_args(args: argparse.Namespace) -> DevelocityConnection:
    """The Develocity server and credentials for this command (may wait on the keyring)."""
    return develocity_connection(profile_from_args(args), overrides_from_args(args))


def buildbuddy_connection_from_args(args: argparse.Namespace) -> BuildBuddyConnection:
    """The BuildBuddy server and credentials for this command (may wait on the keyring)."""
    return buildbuddy_connection(profile_from_args(args), overrides_from_args(args))


def report_retry(notice: RetryNotice) -> None:
    """Say on stderr why a request is tried again and when, so a wait is never silent."""
    say(f"{notice.cause}; retrying in {notice.delay_s:.1f} s")


def warn(message: str) -> None:
    """Say on stderr what went wrong without stopping the command."""
    say(f"warning: {message}")


def say(message: str) -> None:
    """One line on stderr. Messages quote ids, URIs and text from the servers and the
    arguments, so the line is sanitised here, the one way buildwatch's own lines reach stderr."""
    # When stderr is gone too, the exit code is all that is left to tell.
    with contextlib.suppress(OSError):
        print(f"buildwatch: {sanitize_line(message)}", file=sys.stderr, flush=True)


def _add_once(
    parser: argparse.ArgumentParser, option: str, **kwargs: Any
) -> argparse.Action | None:
    # argparse refuses a second option with the same name; a command that adds both server
    # groups gets `--profile` once.
    try:
        return parser.add_argument(option, **kwargs)
    except argparse.ArgumentError:
        return None
