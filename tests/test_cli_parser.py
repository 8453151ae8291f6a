"""The parser a command line gets: the named command's alone when the words before it leave no
doubt which command runs, every command otherwise; the command's own parser is the same both
ways."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from buildwatch.cli import _COMMANDS, build_parser


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The main parser's commands by name, in the order the help lists them."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            choices: dict[str, argparse.ArgumentParser] = action.choices
            return dict(choices)
    return {}


def helps(name: str, parser: argparse.ArgumentParser) -> Iterator[tuple[str, str]]:
    """The help of `parser` and of each of its subcommands at any depth, by command line."""
    yield name, parser.format_help()
    for child_name, child in commands(parser).items():
        yield from helps(f"{name} {child_name}", child)


def defaults(parser: argparse.ArgumentParser) -> list[tuple[str, Any]]:
    return [(action.dest, action.default) for action in parser._actions]


def test_the_command_table_names_every_command_in_the_order_of_the_help() -> None:
    assert list(commands(build_parser())) == list(_COMMANDS)


@pytest.mark.parametrize("name", list(_COMMANDS))
def test_a_command_named_first_gets_a_parser_with_its_own_module_alone(name: str) -> None:
    module = _COMMANDS[name]
    alone = [other for other, owner in _COMMANDS.items() if owner == module]
    assert list(commands(build_parser([name, "--help"]))) == alone


@pytest.mark.parametrize("name", list(_COMMANDS))
def test_a_command_built_alone_has_the_help_and_defaults_of_the_full_parser(name: str) -> None:
    alone = commands(build_parser([name]))[name]
    full = commands(build_parser())[name]
    assert dict(helps(name, alone)) == dict(helps(name, full))
    assert defaults(alone) == defaults(full)


@pytest.mark.parametrize(
    "argv",
    [
        ["--profile", "work", "tail"],
        ["--profile=work", "--since", "2h", "tail", "--json"],
        ["--offline", "--debug", "tail"],
        ["--watch-commit", "abc", "--watch-commit", "def", "tail"],
    ],
)
def test_main_options_in_full_before_a_command_leave_no_doubt_about_it(argv: list[str]) -> None:
    assert list(commands(build_parser(argv))) == ["tail", "events"]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help", "tail"],
        ["--prof", "work", "tail"],  # argparse's abbreviation of --profile
        ["--since", "-1", "tail"],  # argparse takes "-1" for a value: a negative number
        ["--since"],
        ["--offline=yes", "tail"],
        ["--", "tail"],
        ["-x", "tail"],
        ["tial"],
    ],
)
def test_words_that_leave_the_command_in_doubt_get_every_command(argv: list[str]) -> None:
    assert list(commands(build_parser(argv))) == list(_COMMANDS)


def test_a_command_starts_without_importing_the_other_commands() -> None:
    code = (
        "import sys\n"
        "from buildwatch.cli import main\n"
        "main(['--profile', 'work', 'tail', '--help'])\n"
        "print(sorted(name for name in sys.modules if name.startswith('buildwatch.cli.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    loaded = result.stdout.strip().splitlines()[-1]
    assert "buildwatch.cli.develocity" in loaded
    for other in ("wait", "failures", "buildbuddy", "serve", "auth", "collect", "sim"):
        assert f"buildwatch.cli.{other}'" not in loaded
