"""The `buildwatch` command line.

Each subcommand lives in its own module under `buildwatch.cli` and exposes
`register(subparsers)`. Those modules stay light: they import clients, the simulator or Textual
only inside their handlers, so `buildwatch tail` never pays for the TUI's import time; and a
command line that names a command imports and registers that command's module alone.

`main` is the one place that decides how every command ends: an error is one sanitised line on
stderr and its exit code; Ctrl-C exits 130 and SIGTERM 143 once the command has cleaned up (both
arrive as a `KeyboardInterrupt`, so every `finally` runs); a reader that goes away (`| head`)
ends the command quietly with 141, as a shell reports a process killed by SIGPIPE; a standard
output that cannot be written (a full disk, `> /dev/full`) is one line and exit 1. No command
ends in a traceback. What SIGTERM does is `buildwatch.cli.signals`'s to say.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from buildwatch import __version__
from buildwatch.cli.common import say
from buildwatch.cli.completion import complete_if_requested, completion_requested
from buildwatch.cli.shared_options import (
    CommandParser,
    command_parsers,
    share_options,
)
from buildwatch.cli.signals import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    Terminated,
    sigterm_interrupts,
)
from buildwatch.core.errors import BuildwatchError, ConfigError
from buildwatch.core.log_redaction import configure_logging

_COMMANDS = {
    "sim": "sim", "tail": "develocity", "events": "develocity", "bb": "buildbuddy", "wait": "wait",
    "failures": "failures", "auth": "auth", "config": "config", "store": "store",
    "collect": "collect", "demo": "tui", "serve": "serve", "completion": "completion"}
"""Each command's name and the module under `buildwatch.cli` that registers it, in the order
the help lists them: naming a command is enough to know which one module it needs."""

_COMMAND_MODULES = tuple(dict.fromkeys(_COMMANDS.values()))

EXIT_READER_GONE = 141
"""128 + SIGPIPE (13), spelled out: `signal.SIGPIPE` exists only on POSIX systems."""




def build_parser(argv: Sequence[str] | None = None) -> CommandParser:
    """Build the argument parser with every registered subcommand, or, when `argv` certainly
    runs one command (`_command_named`), with that command's module alone.

    A command's parser is the same either way; importing and registering every other command is
    most of what a headless command pays to start. The main help, a usage error naming the
    commands and shell completion list them all, so anything uncertain gets every one.
    """
    import importlib

    parser = CommandParser(
        prog="buildwatch",
        description="Watch Develocity builds and BuildBuddy invocations live, and triage failures. "
        "Options shown here may also follow the command that takes them.",
    )
    parser.add_argument("--version", action="version", version=f"buildwatch {__version__}")
    _add_logging_arguments(parser)
    # Without a subcommand, `buildwatch` opens the live monitor.
    importlib.import_module("buildwatch.cli.tui").add_monitor_arguments(parser)
    command = None if argv is None else _command_named(parser, argv)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES if command is None else (_COMMANDS[command],):
        module = importlib.import_module(f"buildwatch.cli.{name}")
        module.register(subparsers)
    for command_parser in command_parsers(parser):
        _add_logging_arguments(command_parser)
    share_options(parser)
    return parser


def _command_named(parser: CommandParser, argv: Sequence[str]) -> str | None:
    """The command `argv` runs, if that is certain from the main parser's options alone; else
    None. Certain means: every word before the command's name is one of the main parser's
    options spelt in full, with its value if it takes one (argparse's abbreviations, negative
    numbers and `--` are left to the full parser)."""
    words = iter(argv)
    for word in words:
        if not word.startswith("-"):
            return word if word in _COMMANDS else None
        option, equals, _ = word.partition("=")
        action = parser._option_string_actions.get(option) if option.startswith("--") else None
        if action is None or isinstance(action, argparse._HelpAction | argparse._VersionAction):
            return None
        if action.nargs == 0 and not equals:
            continue
        if action.nargs is not None:
            return None
        if not equals and next(words, "-").startswith("-"):
            return None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run buildwatch with `argv` (default: the process arguments) and return the exit code."""
    try:
        with sigterm_interrupts():
            code = _run(argv)
            # Written now, while a failure can still be reported: not at exit, as a traceback.
            sys.stdout.flush()
            return code
    except BuildwatchError as error:
        say(str(error))
        return error.exit_code
    except Terminated:
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _abandon_stdout()
        return EXIT_READER_GONE
    except OSError as error:
        # Every file a command opens itself turns its errors into a BuildwatchError naming it;
        # what reaches here is standard output.
        _abandon_stdout()
        say(f"cannot write the output: {error.strerror or error}")
        return 1


def _run(argv: Sequence[str] | None) -> int:
    words = sys.argv[1:] if argv is None else argv
    # Completion offers every command, whatever is typed so far.
    parser = build_parser(None if completion_requested() else words)
    complete_if_requested(parser)
    try:
        args = parser.parse_args(words)
    except SystemExit as done:  # --help, --version, or a usage error already explained
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    handler = getattr(args, "handler", None)
    if handler is None:
        build_parser().print_help()  # every command, whichever one was parsed
        return 2
    _configure_logging(args)
    code: int = handler(args)
    return code


def _add_logging_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--debug",
        action="store_true",
        help="log requests, response headers and connection events to stderr (secrets masked)",
    )
    parser.add_argument(
        "--debug-file",
        type=Path,
        metavar="PATH",
        help="log as --debug does, appending to PATH instead of stderr (for the full-screen UI)",
    )


def _configure_logging(args: argparse.Namespace) -> None:
    try:
        configure_logging(args.debug, args.debug_file)
    except OSError as error:
        raise ConfigError(
            f"cannot write the debug log {args.debug_file}: {error.strerror}"
        ) from None


def _abandon_stdout() -> None:
    """Point standard output at /dev/null, so that flushing what is still buffered at exit
    neither fails again nor prints "Exception ignored"."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass  # no standard output to point anywhere

