"""`buildwatch bb file get|delete URI`: download a cache entry, or delete a poisoned one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildwatch.cli.bb_run import run_with_client
from buildwatch.cli.common import add_buildbuddy_arguments, say
from buildwatch.core.errors import BuildwatchError, ConfigError
from buildwatch.core.sanitize import sanitize_line

if TYPE_CHECKING:
    from buildwatch.core.buildbuddy.client import BuildBuddyClient


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Register `file get` and `file delete` under `bb`."""
    file = commands.add_parser("file", help="download or delete a file in the BuildBuddy cache")
    actions = file.add_subparsers(dest="file_command", metavar="COMMAND", required=True)

    get = actions.add_parser(
        "get", help="download a file by URI; it is checked against the size and digest in the URI"
    )
    get.add_argument("uri", metavar="URI")
    get.add_argument(
        "-o", "--output", metavar="PATH", type=Path,
        help="write to PATH instead of stdout (-): a file appears only once complete and "
        "verified; a FIFO or a character device gets the bytes as they come",
    )
    add_buildbuddy_arguments(get)
    get.set_defaults(handler=_get)

    delete = actions.add_parser(
        "delete", help="delete a cache entry (one request, never retried)"
    )
    delete.add_argument("uri", metavar="URI")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_buildbuddy_arguments(delete)
    delete.set_defaults(handler=_delete)


def _get(args: argparse.Namespace) -> int:
    from buildwatch.cli.bb_output import TerminalBytes

    async def work(client: BuildBuddyClient) -> int:
        if args.output is not None and str(args.output) != "-":
            size = await client.download(args.uri, args.output)
            say(f"wrote {size} bytes to {args.output}")
            return 0
        if sys.stdout.isatty():
            terminal = TerminalBytes(sys.stdout)
            try:
                await client.get_file(args.uri, terminal.write)
            finally:
                terminal.close()
        else:
            await client.get_file(args.uri, sys.stdout.buffer.write)
            sys.stdout.buffer.flush()
        return 0

    return run_with_client(args, work)


def _delete(args: argparse.Namespace) -> int:
    uri = sanitize_line(args.uri)
    if not args.yes and not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise ConfigError(f"not deleting {uri}: there is no terminal to confirm on; add --yes")

    async def work(client: BuildBuddyClient) -> int:
        if not args.yes:
            answer = await _ask(f"Delete {uri} from the BuildBuddy cache at {client.origin}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise BuildwatchError(f"not deleting {uri}: not confirmed")
        await client.delete_file(args.uri)
        print(f"Deleted {uri} from the BuildBuddy cache at {client.origin}.")
        return 0

    return run_with_client(args, work)


async def _ask(question: str) -> str:
    """Ask on the terminal and return the line typed. The line is awaited, not read blocking,
    so Ctrl-C cancels at once (exit 130) rather than once Enter is pressed."""
    import asyncio

    print(question, end="", file=sys.stderr, flush=True)
    loop = asyncio.get_running_loop()
    typed: asyncio.Future[None] = loop.create_future()

    def answered() -> None:
        # A terminal's input becomes readable once a whole line is typed (or at Ctrl-D).
        if not typed.done():
            typed.set_result(None)

    loop.add_reader(sys.stdin.fileno(), answered)
    try:
        await typed
    finally:
        loop.remove_reader(sys.stdin.fileno())
    return sys.stdin.readline()
