"""`buildwatch collect`: the long-running service that fills the team store.

It runs until SIGTERM or Ctrl-C, then stores what it holds and stops; its log is one line per
event on stderr (see `buildwatch.core.collector`). The servers and their credentials come from
the profile and the environment, as for every other command, and are checked before it starts;
the store from `--store`, `$BUILDWATCH_STORE` or the profile. The collector's modules (and
psycopg) are imported by the handler alone.
"""

from __future__ import annotations

import argparse
from typing import Any

from buildwatch.cli.common import (
    add_buildbuddy_arguments,
    add_develocity_arguments,
    overrides_from_args,
    profile_from_args,
)
from buildwatch.cli.store import add_store_argument, required_store
from buildwatch.core.errors import ConfigError

DEFAULT_STANDBY_RETRY_S = 5.0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `buildwatch collect`."""
    collect = subparsers.add_parser(
        "collect",
        help="run the service that fills the team store (PostgreSQL) for every viewer",
        description="Follow the Develocity build listing (resumed from the store's position), "
        "read each build's summary and a failed build's failures, poll BuildBuddy for the "
        "commits it learns, and write it all into the team store in batched transactions, until "
        "SIGTERM or Ctrl-C. Several collectors may run on one store: one is active, the others "
        "stand by and take over when it stops. One log line per event goes to stderr.",
    )
    add_store_argument(collect)
    add_develocity_arguments(collect)
    add_buildbuddy_arguments(collect)
    collect.add_argument(
        "--health-port",
        type=int,
        metavar="N",
        help="answer liveness checks over HTTP on 127.0.0.1:N (200 with a JSON status while the "
        "store is reachable, 503 while it is not)",
    )
    collect.add_argument(
        "--standby-retry",
        type=float,
        default=DEFAULT_STANDBY_RETRY_S,
        metavar="SECONDS",
        help="how often a standby collector asks to become the active one "
        "(default: %(default)g)",
    )
    collect.set_defaults(handler=collect_command)


def collect_command(args: argparse.Namespace) -> int:
    """Collect into the store until stopped; a `BuildwatchError` if the store or a server
    refuses the collector for good."""
    import asyncio

    from buildwatch.cli.signals import exiting_on_sigterm
    from buildwatch.cli.tui import branches_from_args
    from buildwatch.core.collector.service import Collector, CollectorSettings
    from buildwatch.core.credentials import buildbuddy_connection, develocity_connection
    from buildwatch.core.monitor.session import MonitorSettings

    port = args.health_port
    if port is not None and not 0 < port < 65_536:
        raise ConfigError(f"--health-port must be a port number (1-65535), got {port}")
    if not 0 < args.standby_retry <= 30:
        raise ConfigError(
            f"--standby-retry must be more than 0 and at most 30 seconds, got {args.standby_retry:g}"
        )
    profile = profile_from_args(args)
    location = required_store(args, profile)
    overrides = overrides_from_args(args)
    monitor = MonitorSettings(
        profile,
        develocity=develocity_connection(profile, overrides),
        buildbuddy=buildbuddy_connection(profile, overrides),
        branches=branches_from_args(profile, ()),
    )
    collector = Collector(CollectorSettings(
        location, monitor, watch=tuple(profile.watch.commits), health_port=port,
        standby_retry_s=args.standby_retry,
    ))
    asyncio.run(exiting_on_sigterm(collector.run(), collector.stop))
    return 0
