"""Running one `buildwatch bb` command: a client for the chosen server, and a clean exit."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from buildwatch.core.buildbuddy.client import BuildBuddyClient


def run_with_client(
    args: argparse.Namespace, work: Callable[[BuildBuddyClient], Awaitable[int]]
) -> int:
    """Build the client from the command line and environment, run `work` with it, return its code.

    A reader that goes away (`| head`) ends the command quietly.
    """
    from buildwatch.cli.common import buildbuddy_connection_from_args, report_retry
    from buildwatch.core.buildbuddy.client import BuildBuddyClient

    connection = buildbuddy_connection_from_args(args)

    async def main() -> int:
        async with BuildBuddyClient(connection, on_retry=report_retry) as client:
            return await work(client)

    try:
        return asyncio.run(main())
    except BrokenPipeError:
        # Point stdout at /dev/null so that flushing it at exit does not fail a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
