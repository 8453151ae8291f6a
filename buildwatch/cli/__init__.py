"""The `buildwatch` command line.

Each subcommand lives in its own module under `buildwatch.cli` and exposes
`register(subparsers)`. Those modules stay light: they import clients, the simulator or Textual
only inside their handlers, so `buildwatch tail` never pays for the TUI's import time.

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
from buildwatch.cli.completion import complete_if_requested
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

_COMMAND_MODULES = (
    "sim", "develocity", "buildbuddy", "wait", "failures", "auth", "config", "store", "collect",
    "tui", "serve", "completion")

EXIT_READER_GONE = 141
"""128 + SIGPIPE (13), spelled out: `signal.SIGPIPE` exists only on POSIX systems."""




def build_parser() -> CommandParser:
    """Build the argument parser with every registered subcommand."""
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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"buildwatch.cli.{name}")
        module.register(subparsers)
    for command in command_parsers(parser):
        _add_logging_arguments(command)
    share_options(parser)
    return parser


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
    parser = build_parser()
    complete_if_requested(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error already explained
        return done.code if isinstance(done.code, int) else int(done.code is not None)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
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

