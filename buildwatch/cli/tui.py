"""`buildwatch` (the live monitor) and `buildwatch demo` (the monitor on the local simulator).

Textual and the simulator are imported inside the handlers, so the headless commands never
load them.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from buildwatch.cli.common import add_profile_argument, monitor_profile_from_args, say
from buildwatch.cli.develocity import parse_since
from buildwatch.cli.store import add_store_argument, store_from_args
from buildwatch.core.errors import BuildwatchError, ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from buildwatch.core.config import Profile
    from buildwatch.core.develocity.client import Since
    from buildwatch.core.gitwatch import BranchSpec
    from buildwatch.core.monitor.session import MonitorSettings
    from buildwatch.core.monitor.store import WatchOrigin

DEMO_RATE_PER_MIN = 30.0


def add_monitor_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the bare `buildwatch` command, which opens the monitor."""
    add_profile_argument(parser)
    parser.add_argument(
        "--since",
        metavar="WHEN",
        help="backfill from: a duration ago (30m, 2h), now, 0 (everything) or epoch milliseconds; "
        "wins over the local history (default: resume after the last build seen, if within "
        "history_catch_up_hours, else backfill that window)",
    )
    parser.add_argument(
        "--watch-commit",
        action="append",
        default=[],
        metavar="SHA",
        help="watch this commit's BuildBuddy invocations (repeatable)",
    )
    parser.add_argument(
        "--watch-branch",
        action="append",
        default=[],
        metavar="PATH[@BRANCH]",
        help="watch the newest commits of a git branch, in a checkout or at a remote URL "
        "(repeatable; default branch: HEAD)",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="browse the local history without connecting to the servers",
    )
    add_store_argument(parser, "view the team store instead of following the servers: ")
    _add_mouse_argument(parser)
    parser.set_defaults(handler=run_monitor)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `buildwatch demo`."""
    demo = subparsers.add_parser(
        "demo",
        help="open the monitor on a local simulator: no account, no setup",
        description="Start the Develocity and BuildBuddy simulator on a free local port and open "
        "the live monitor on it.",
    )
    demo.add_argument(
        "--rate",
        type=float,
        default=DEMO_RATE_PER_MIN,
        metavar="PER_MIN",
        help="new builds per minute (default: %(default)s)",
    )
    demo.add_argument("--seed", type=int, default=1, help="data seed (default: %(default)s)")
    _add_mouse_argument(demo)
    demo.set_defaults(handler=run_demo)


def run_monitor(args: argparse.Namespace) -> int:
    """Open the monitor on the configured servers, resuming from the local history."""
    profile = monitor_profile_from_args(args)
    watch: list[tuple[str, WatchOrigin]] = [(sha, "config") for sha in profile.watch.commits]
    watch += [(sha, "command line") for sha in commits_from_args(args.watch_commit)]
    return _run_app(monitor_settings(args, profile), watch, mouse=not args.no_mouse)


def monitor_settings(args: argparse.Namespace, profile: Profile) -> MonitorSettings:
    """The monitor's settings from the command line: an explicit `--since` wins over the
    history's resume point; `--offline` only browses the history."""
    from buildwatch.core.monitor.session import MonitorSettings

    store = store_from_args(args, profile)
    if store is not None:
        # The collector follows the servers and keeps the history: a viewer only reads.
        for given, option in ((args.offline, "--offline"), (args.since, "--since"),
                              (args.watch_commit, "--watch-commit"),
                              (args.watch_branch, "--watch-branch")):
            if given:
                raise ConfigError(f"{option} does not apply when viewing the team store "
                                  f"{store.shown}")
        return MonitorSettings(profile, resume=False, store=store)
    return MonitorSettings(
        profile,
        since=monitor_since(args.since, profile.ui.backfill_minutes),
        history=_history_file(profile),
        resume=args.since is None,
        offline=args.offline,
        branches=branches_from_args(profile, args.watch_branch),
    )


def run_demo(args: argparse.Namespace) -> int:
    """Start the simulator, open the monitor on it, stop the simulator when the app exits."""
    from buildwatch.sim import SimConfig, SimulatorThread

    if args.rate < 0:
        raise ConfigError(f"--rate must not be negative, got {args.rate}")
    config = SimConfig(seed=args.seed, rate_per_min=args.rate)
    with SimulatorThread(config) as simulator:
        settings = simulator_settings(simulator.develocity_url, config.token, config.api_key)
        return _run_app(settings, [], mouse=not args.no_mouse)


def simulator_settings(
    url: str, token: str, api_key: str, *, since: Since = 0
) -> MonitorSettings:
    """Settings for the simulator at `url`, credentials given directly (no keyring involved)."""
    from buildwatch.core.config import Profile
    from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
    from buildwatch.core.monitor.session import MonitorSettings
    from buildwatch.core.secrets import Secret

    return MonitorSettings(
        Profile(name="demo"),
        since=since,
        develocity=DevelocityConnection(base_url=url, token=Secret(token)),
        buildbuddy=BuildBuddyConnection(base_url=url, api_key=Secret(api_key)),
    )


def monitor_since(raw: str | None, backfill_minutes: int, now_ms: int | None = None) -> Since:
    """Where the build listing starts: `--since` if given, else `backfill_minutes` ago."""
    if raw is not None:
        return parse_since(raw, now_ms)
    if backfill_minutes == 0:
        return "now"
    reference = int(time.time() * 1000) if now_ms is None else now_ms
    return max(0, reference - backfill_minutes * 60_000)


def commits_from_args(values: Sequence[str]) -> list[str]:
    """`--watch-commit` values as canonical SHAs; a value that is not one is a one-line error."""
    from buildwatch.core.monitor.store import normalize_commit

    commits = []
    for value in values:
        sha = normalize_commit(value)
        if sha is None:
            raise ConfigError(f"--watch-commit {value!r}: expected a commit SHA (7 or more hex digits)")
        commits.append(sha)
    return commits


def branches_from_args(profile: Profile, values: Sequence[str]) -> tuple[BranchSpec, ...]:
    """The profile's `[watch] git` branches, then the `--watch-branch` ones; a branch or path
    that git would take for an option is a one-line error."""
    from buildwatch.core.gitwatch import BranchSpec

    configured = [BranchSpec.from_settings(entry) for entry in profile.watch.git]
    try:
        given = [BranchSpec.parse(value) for value in values]
    except ConfigError as error:
        raise ConfigError(f"--watch-branch: {error}") from None
    return (*configured, *given)


def _add_mouse_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-mouse",
        action="store_true",
        help="leave the mouse to the terminal (its own text selection keeps working)",
    )


def _history_file(profile: Profile) -> Path | None:
    """The history of the profile's Develocity server; None when no server is configured (the
    monitor then says so in its status bar)."""
    from buildwatch.core.credentials import develocity_url
    from buildwatch.core.history.location import history_path

    try:
        return history_path(develocity_url(profile))
    except BuildwatchError:
        return None


def _run_app(settings: MonitorSettings, watch: list[tuple[str, WatchOrigin]], *, mouse: bool) -> int:
    import asyncio
    import sys

    from buildwatch.cli.signals import exiting_on_sigterm
    from buildwatch.tui.app import BuildwatchApp

    # The screen's loop shares the interpreter with threads (the terminal's reader, the
    # history's writer) that hand it over only every switch interval: 5 ms by default, a wait a
    # key can meet more than once on its way to the screen. At 1 ms, keys during a backfill of
    # 100,000 builds (bench/keys_during_backfill.py, two runs each alternating, load 6-9) took
    # 45-70 and 48-129 ms per 5-second window (medians) against 57-196 and 69-176 ms.
    sys.setswitchinterval(0.001)
    app = BuildwatchApp(settings, watch=watch)
    try:
        asyncio.run(exiting_on_sigterm(app.run_async(mouse=mouse), app.exit))
    finally:
        for problem in app.closing_problems:
            say(problem)
    return 0
