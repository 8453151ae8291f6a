"""`buildwatch config path|show|edit`: the configuration file."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from buildwatch.cli.common import add_profile_argument, loaded_config
from buildwatch.core.config import Profile, config_path, load_config
from buildwatch.core.connection import DEFAULT_BUILDBUDDY_URL
from buildwatch.core.errors import ConfigError

_HEADER = "# buildwatch configuration. Secrets never go here: use `buildwatch auth login`.\n"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `buildwatch config` and its subcommands."""
    config = subparsers.add_parser(
        "config",
        help="show or edit the configuration file",
        description="The configuration file holds profiles (servers, watched commits and "
        "repositories, UI preferences), never secrets. Its path is $BUILDWATCH_CONFIG, else "
        "config.toml in the platform's configuration directory.",
    )
    commands = config.add_subparsers(dest="config_command", metavar="COMMAND", required=True)
    path = commands.add_parser("path", help="print where the configuration file is")
    add_profile_argument(path)
    path.set_defaults(handler=path_command)
    show = commands.add_parser(
        "show", help="print a profile's settings, defaults included, as TOML"
    )
    add_profile_argument(show)
    show.set_defaults(handler=show_command)
    edit = commands.add_parser(
        "edit",
        help="open the configuration file in $VISUAL or $EDITOR, then check it",
        description="Open the configuration file in $VISUAL, else $EDITOR, else vi (a new file "
        "starts from a commented template), and check it when the editor exits.",
    )
    add_profile_argument(edit)
    edit.set_defaults(handler=edit_command)


def path_command(args: argparse.Namespace) -> int:
    """Print the configuration file's path."""
    print(config_path())
    return 0


def show_command(args: argparse.Namespace) -> int:
    """Print the chosen profile with every setting, as the file would hold it."""
    config = loaded_config()
    profile = config.profile(args.profile)
    state = "" if config.path.exists() else " (does not exist: every setting is at its default)"
    print(f"# {config.path}{state}")
    print(render_profile(profile))
    return 0


def edit_command(args: argparse.Namespace) -> int:
    """Open the file in the user's editor, creating it from a template, then check it."""
    path = config_path()
    if not path.exists():
        _create(path)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    command = [*shlex.split(editor), str(path)]
    try:
        finished = subprocess.run(command, check=False)
    except OSError as error:
        raise ConfigError(
            f"cannot start the editor {editor!r} ({error.strerror}); set $EDITOR to one that exists"
        ) from None
    if finished.returncode != 0:
        raise ConfigError(f"the editor {editor!r} exited with status {finished.returncode}")
    try:
        load_config(path).profile(args.profile)
    except ConfigError as error:
        raise ConfigError(
            f"{error} (the file is kept as you saved it; run `buildwatch config edit` to fix it)"
        ) from None
    print(f"{path}: OK", file=sys.stderr)
    return 0


def render_profile(profile: Profile) -> str:
    """`profile` as TOML; unset server URLs appear as commented examples."""
    prefix = f"profiles.{_key(profile.name)}"
    ui = profile.ui
    sections = [
        (
            "develocity",
            [
                _setting("url", profile.develocity_url, "https://develocity.example.com"),
                _setting("api_version", profile.develocity_api_version),
                _setting("auth", profile.develocity_auth),
            ],
        ),
        ("buildbuddy", [_setting("url", profile.buildbuddy_url, DEFAULT_BUILDBUDDY_URL)]),
        (
            "watch",
            [
                _setting("commits", list(profile.watched_commits)),
                _setting("repos", list(profile.watched_repos)),
            ],
        ),
        (
            "ui",
            [
                _setting("backfill_minutes", ui.backfill_minutes),
                _setting("poll_interval_seconds", ui.poll_interval_seconds),
                _setting("notify_on", list(ui.notify_on)),
                _setting("notify_only_watched", ui.notify_only_watched),
                _setting("theme", ui.theme),
            ],
        ),
        (
            "custom_values",
            [
                _setting(git_field, list(names))
                for git_field, names in profile.git_value_names.extra().items()
            ],
        ),
    ]
    return "\n".join(f"\n[{prefix}.{name}]\n" + "\n".join(lines) for name, lines in sections)


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    template = f'{_HEADER}default_profile = "default"\n{render_profile(Profile())}\n'
    # 0600 although it holds no secret: server names and watched repositories are nobody's business.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(template)


def _setting(key: str, value: object, example: str | None = None) -> str:
    if value is None:
        return f"# {key} = {_value(example)}"
    return f"{key} = {_value(value)}"


def _value(value: object) -> str:
    # JSON's strings, numbers, booleans and arrays of them are valid TOML.
    return json.dumps(value, ensure_ascii=False)


def _key(name: str) -> str:
    return (
        name
        if name.replace("-", "").replace("_", "").isalnum() and name.isascii()
        else json.dumps(name)
    )
