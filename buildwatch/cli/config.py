"""`buildwatch config path|show|edit`: the configuration file."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from functools import reduce
from pathlib import Path
from typing import Any

import msgspec

from buildwatch.cli.common import add_profile_argument, loaded_config
from buildwatch.core.config import Profile, ProfileSettings, config_path, load_config
from buildwatch.core.errors import ConfigError
from buildwatch.core.toml_schema import Key, dotted, settings

_HEADER = "# buildwatch configuration. Secrets never go here: use `buildwatch auth login`.\n"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `buildwatch config` and its subcommands."""
    config = subparsers.add_parser(
        "config",
        help="show or edit the configuration file",
        description="The configuration file holds profiles (servers, watched commits, UI "
        "preferences), never secrets. Its path is $BUILDWATCH_CONFIG, else "
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
    config.check_views_and_notifications()
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
        config = load_config(path)
        config.check_views_and_notifications()
        config.profile(args.profile)
    except ConfigError as error:
        raise ConfigError(
            f"{error} (the file is kept as you saved it; run `buildwatch config edit` to fix it)"
        ) from None
    print(f"{path}: OK", file=sys.stderr)
    return 0


def render_profile(profile: Profile) -> str:
    """`profile` as TOML, every setting of the schema shown; an unset one (a server URL, an
    empty table of key bindings) as a commented example."""
    tables: dict[Key, list[str]] = {}
    for setting in settings(ProfileSettings):
        *table, name = setting.key
        value = reduce(getattr, setting.key, profile)
        if isinstance(value, dict):
            # A table of free keys (key bindings) is a section of its own, after its parent's.
            entries = value or setting.example
            tables[setting.key] = [
                _setting(_key(entry), item, commented=not value) for entry, item in entries.items()
            ]
        else:
            tables.setdefault(tuple(table), []).append(
                _setting(name, setting.example if value is None else value, commented=value is None)
            )
    prefix = f"profiles.{_key(profile.name)}"
    # The profile's own keys (its `store`) come first, in the `[profiles.NAME]` table itself.
    return "\n".join(
        f"\n[{'.'.join((prefix, dotted(table))) if table else prefix}]\n" + "\n".join(lines)
        for table, lines in tables.items()
    )


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    template = f'{_HEADER}default_profile = "default"\n{render_profile(Profile())}\n'
    # 0600 although it holds no secret: server names and watched commits are nobody's business.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(template)


def _setting(key: str, value: object, *, commented: bool = False) -> str:
    return f"{'# ' * commented}{key} = {_value(value)}"


def _value(value: object) -> str:
    # A table (a saved view) is an inline table, without the settings it leaves at their
    # default; JSON's strings, numbers, booleans and arrays of them are valid TOML.
    if isinstance(value, msgspec.Struct):
        fields = msgspec.to_builtins(value)
        return "{ " + ", ".join(f"{_key(key)} = {_value(item)}" for key, item in fields.items()) + " }"
    if isinstance(value, tuple | list) and any(isinstance(item, msgspec.Struct) for item in value):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _key(name: str) -> str:
    return (
        name
        if name.replace("-", "").replace("_", "").isalnum() and name.isascii()
        else json.dumps(name)
    )
