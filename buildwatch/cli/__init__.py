"""The `buildwatch` command line.

Each subcommand lives in its own module under `buildwatch.cli` and exposes
`register(subparsers)`. Those modules stay light: they import clients, the simulator or Textual
only inside their handlers, so `buildwatch tail` never pays for the TUI's import time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from buildwatch import __version__
from buildwatch.cli.completion import complete_if_requested
from buildwatch.core.errors import BuildwatchError, ConfigError
from buildwatch.core.log_redaction import configure_logging

_COMMAND_MODULES = ("sim", "develocity", "buildbuddy", "auth", "config", "tui", "serve", "completion")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="buildwatch",
        description="Watch Develocity builds and BuildBuddy invocations live, and triage failures.",
    )
    parser.add_argument("--version", action="version", version=f"buildwatch {__version__}")
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
    # Without a subcommand, `buildwatch` opens the live monitor.
    importlib.import_module("buildwatch.cli.tui").add_monitor_arguments(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"buildwatch.cli.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run buildwatch with `argv` (default: the process arguments) and return the exit code."""
    parser = build_parser()
    complete_if_requested(parser)
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        _configure_logging(args)
        code: int = handler(args)
    except BuildwatchError as error:
        print(f"buildwatch: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return 130
    return code


def _configure_logging(args: argparse.Namespace) -> None:
    try:
        configure_logging(args.debug, args.debug_file)
    except OSError as error:
        raise ConfigError(
            f"cannot write the debug log {args.debug_file}: {error.strerror}"
        ) from None
