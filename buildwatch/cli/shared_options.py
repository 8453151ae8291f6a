"""Options given before the command name or after it: `buildwatch --profile work tail`.

argparse parses a command's options into a namespace of its own and then copies every one of
them, defaults included, over what the main parser read before the command name: `buildwatch
--since 2h tail` would list the last hour without a word. So an option the main parser shares
with commands (the monitor's, which `buildwatch` alone opens, and the logging ones every command
takes) has no default in any parser while parsing: it is in the namespace only if it was given,
before the command name or after it (after wins, as for any repeated option).
`apply_shared_options` then restores the defaults, and refuses an option given before a command
that does not take it, or that conflicts with one given after.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from buildwatch.core.errors import ConfigError
from buildwatch.core.sanitize import sanitize_line


class CommandParser(argparse.ArgumentParser):
    """An argument parser that keeps the defaults of the options it shares with the main one.

    Subcommand parsers are made of the main parser's class, so every parser is one of these.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shared_defaults: dict[str, Any] = {}
        self.shares_options = False
        """True for the main parser once `share_options` ran: its parses then end complete."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse as argparse does; the main parser then gives each shared option its default
        (`apply_shared_options`), so that no caller meets a namespace without them."""
        parsed, extras = super().parse_known_args(args, namespace)
        if self.shares_options:
            apply_shared_options(self, parsed)
        return parsed, extras

    def error(self, message: str) -> NoReturn:
        """Print the usage and `message`, sanitised (it may quote an argument), and exit 2."""
        super().error(sanitize_line(message))


def command_parsers(parser: argparse.ArgumentParser) -> Iterator[CommandParser]:
    """The parsers of the commands that run something (`tail`, `bb file get`), at any depth."""
    subcommands = _subcommands(parser)
    if subcommands is None:
        if isinstance(parser, CommandParser):
            yield parser
        return
    for child in dict.fromkeys(subcommands.choices.values()):
        yield from command_parsers(child)


def share_options(main: CommandParser) -> None:
    """Take the defaults out of the main parser's options and of the same options of every
    command, keeping them for `apply_shared_options`. Call once every command is registered."""
    shared = _shared_dests(main)
    main.shares_options = True
    for parser in (main, *command_parsers(main)):
        for action in parser._actions:
            if action.dest in shared and action.default is not argparse.SUPPRESS:
                parser.shared_defaults[action.dest] = action.default
                action.default = argparse.SUPPRESS


def apply_shared_options(main: CommandParser, args: argparse.Namespace) -> None:
    """Give every shared option the chosen command does not set its default; `ConfigError` for
    one given before a command that does not take it, or against one of its other options."""
    parser, command = _chosen(main, args)
    for action in main._actions:
        taken = action.dest in parser.shared_defaults
        if action.dest in _shared_dests(main) and not taken and hasattr(args, action.dest):
            raise ConfigError(
                f"{action.option_strings[-1]} does not apply to `buildwatch {command}`"
            )
    given = [dest for dest in parser.shared_defaults if hasattr(args, dest)]
    for dest in given:
        _check_exclusive(parser, args, dest)
    for dest, default in parser.shared_defaults.items():
        if dest not in given:
            setattr(args, dest, default)


def _check_exclusive(parser: argparse.ArgumentParser, args: argparse.Namespace, dest: str) -> None:
    # argparse checks a mutually exclusive group only among the options after the command name.
    for group in parser._mutually_exclusive_groups:
        actions = group._group_actions
        if dest not in (action.dest for action in actions):
            continue
        for other in actions:
            if other.dest != dest and getattr(args, other.dest, other.default) != other.default:
                mine = next(action for action in actions if action.dest == dest)
                raise ConfigError(
                    f"{mine.option_strings[-1]} and {other.option_strings[-1]} "
                    "cannot be given together"
                )


def _shared_dests(main: argparse.ArgumentParser) -> set[str]:
    return {
        action.dest
        for action in main._actions
        if action.option_strings and action.dest not in ("help", "version")
    }


def _chosen(main: CommandParser, args: argparse.Namespace) -> tuple[CommandParser, str]:
    """The parser of the command `args` runs (the main one for the monitor), and its name."""
    parser: argparse.ArgumentParser = main
    names = []
    while (subcommands := _subcommands(parser)) is not None:
        name = getattr(args, subcommands.dest, None)
        if name is None:
            break
        names.append(name)
        parser = subcommands.choices[name]
    assert isinstance(parser, CommandParser)
    return parser, " ".join(names)


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[Any] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None
