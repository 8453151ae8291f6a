"""Running one `buildwatch bb` command: a client for the chosen server, for the time of the command."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from buildwatch.cli.signals import run_headless

if TYPE_CHECKING:
    from buildwatch.core.buildbuddy.client import BuildBuddyClient


def run_with_client(
    args: argparse.Namespace, work: Callable[[BuildBuddyClient], Awaitable[int]]
) -> int:
    """Build the client from the command line and environment, run `work` with it, return its code."""

    from buildwatch.cli.common import buildbuddy_connection_from_args, report_retry
    from buildwatch.core.buildbuddy.client import BuildBuddyClient

    connection = buildbuddy_connection_from_args(args)

    async def main() -> int:
        async with BuildBuddyClient(connection, on_retry=report_retry) as client:
            return await work(client)

    return run_headless(main())
