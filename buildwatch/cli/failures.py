"""`buildwatch failures`: what broke, whether it is new, flaky or recurring, from the history.

Scripts rely on this contract: one failure group per line, most recently failed first; with
`--json` an object with `kind`, `name`, `count`, `builds` and `invocations` (ids, newest first),
`firstSeenMs`, `lastSeenMs`, `branches`, `users`, `projects`, `status`, `brokenSince`,
`headline` and `sameCommit` (what the other tool failed on its commits), JSON-escaped in ASCII; without it an aligned table. `--since` chooses the groups that
failed in the window; each group's count, first sighting and status are worked out from the
whole history, so a failure known for weeks is not new because the window is short.

Without `--offline` the servers are read first for the window (`core.triage.refresh`), through
the history, so that a second run only reads what is new. Clients are imported in the handler.
With a team store (`--store`, `$BUILDWATCH_STORE` or the profile's), its runs are grouped
instead, read-only: its collector has read the servers.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from buildwatch.cli.common import (
    add_buildbuddy_arguments,
    add_develocity_arguments,
    overrides_from_args,
    profile_from_args,
    warn,
)
from buildwatch.cli.develocity import parse_since
from buildwatch.cli.signals import run_headless
from buildwatch.cli.store import add_store_argument, store_from_args
from buildwatch.core.errors import ConfigError
from buildwatch.core.triage.model import STATUS_WORDS, STATUSES

if TYPE_CHECKING:
    from pathlib import Path

    from buildwatch.core.config import Profile
    from buildwatch.core.history.interface import BuildHistory
    from buildwatch.core.teamstore.location import StoreLocation
    from buildwatch.core.triage.groups import FailureGroup, SameCommitFailure, TriageIndex

DEFAULT_SINCE = "24h"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `failures`."""
    failures = subparsers.add_parser(
        "failures",
        help="failure groups: what broke, and whether it is new, flaky or recurring",
        description="Group the failed tests, tasks, goals, targets and build failures of the "
        "builds and invocations in the local history, after reading the servers for the "
        "window, and print one group per line, most recently failed first.",
    )
    add_develocity_arguments(failures)
    add_buildbuddy_arguments(failures)
    failures.add_argument(
        "--since",
        default=DEFAULT_SINCE,
        metavar="WHEN",
        help="groups that failed since: 0 (the beginning), epoch milliseconds, or a duration "
        f"ago such as 30m, 2h or 7d (default: {DEFAULT_SINCE})",
    )
    failures.add_argument(
        "--json", action="store_true", help="one JSON object per group and line"
    )
    failures.add_argument(
        "--status", choices=STATUSES, help="only the groups with this status"
    )
    failures.add_argument(
        "--offline",
        action="store_true",
        help="read the local history alone, without connecting to the servers",
    )
    add_store_argument(failures, "group the team store's runs instead of the local history's: ")
    failures.set_defaults(handler=_failures)


def _failures(args: argparse.Namespace) -> int:
    since_ms = _since_ms(args.since)
    profile = profile_from_args(args)
    location = store_from_args(args, profile)
    if location is not None:
        index = _store_index(location, profile)
    else:
        local = _history_index(args, profile, since_ms)
        if local is None:
            return 0
        index = local
    groups = failure_groups(index, since_ms, args.status)
    if args.json:
        sys.stdout.write("".join(group_json(group, index.same_commit(group.kind, group.name))
                                 for group in groups))
    elif groups:
        sys.stdout.write("".join(line + "\n" for line in group_table(groups)))
    return 0


def _history_index(
    args: argparse.Namespace, profile: Profile, since_ms: int
) -> TriageIndex | None:
    """The failure groups of the local history, after reading the servers for the window
    (unless `--offline`); None when `--offline` finds no history."""
    path = _history_file(args, profile)
    if args.offline and not path.exists():
        warn(f"no history at {path} yet: run without --offline to read the servers")
        return None
    from buildwatch.core.history.opening import open_history

    opened = open_history(path)
    if opened.notice:
        warn(opened.notice)
    store = opened.store
    try:
        if not args.offline:
            _refresh(args, profile, store, since_ms)
        return history_index(store)
    finally:
        store.close()


def _store_index(location: StoreLocation, profile: Profile) -> TriageIndex:
    """The failure groups of the team store's runs of the last `history_max_age_days` (what a
    local history keeps), read-only: the collector reads the servers, not this command."""
    import time

    from buildwatch.core.teamstore.store import TeamStore

    store = TeamStore.connect(location, read_only=True)
    try:
        oldest_ms = int(time.time() * 1000) - profile.ui.history_max_age_days * 86_400_000
        return history_index(store, oldest_ms)
    finally:
        store.close()


def _since_ms(raw: str) -> int:
    since = parse_since(raw)
    if since == "now":
        raise ConfigError("--since now: nothing has failed since now; give a time in the past")
    return since


def _history_file(args: argparse.Namespace, profile: Profile) -> Path:
    """The history of the Develocity server the command names (no credentials needed)."""
    from buildwatch.core.credentials import develocity_url
    from buildwatch.core.history.location import history_path

    return history_path(develocity_url(profile, overrides_from_args(args)))


def _refresh(
    args: argparse.Namespace, profile: Profile, store: BuildHistory, since_ms: int
) -> None:
    """Read the servers for the window into the history (BuildBuddy only if it has a key)."""

    from buildwatch.cli.common import (
        buildbuddy_connection_from_args,
        develocity_connection_from_args,
        report_retry,
        say,
    )
    from buildwatch.core.buildbuddy.client import BuildBuddyClient
    from buildwatch.core.develocity.client import DevelocityClient, plain_http_warning
    from buildwatch.core.triage.refresh import refresh_history

    develocity = develocity_connection_from_args(args)
    if warning := plain_http_warning(develocity):
        warn(warning)
    buildbuddy = buildbuddy_connection_from_args(args)
    # Someone watching a first run's minutes of requests is told what they are; a script is not.
    progress = say if sys.stderr.isatty() else _quiet
    names = profile.git_value_names

    async def main() -> None:
        async with DevelocityClient(develocity, on_retry=report_retry) as client:
            if buildbuddy.api_key is None:
                await refresh_history(store, client, None, since_ms, names, warn, progress)
                return
            async with BuildBuddyClient(buildbuddy, on_retry=report_retry) as bb:
                await refresh_history(store, client, bb, since_ms, names, warn, progress)

    run_headless(main())


def _quiet(_: str) -> None:
    """Say nothing."""


def history_index(store: BuildHistory, oldest_ms: int | None = None) -> TriageIndex:
    """The failure groups of the whole history (of its runs since `oldest_ms`, if given)."""
    from buildwatch.core.monitor.heap import bulk_load
    from buildwatch.core.triage.groups import TriageIndex

    index = TriageIndex()
    # Every run read lives until the command ends: spare the collector re-scanning them.
    with bulk_load():
        for run, failures in store.triage_runs(oldest_ms):
            index.add(run, failures)
    return index


def failure_groups(
    index: TriageIndex, since_ms: int, status: str | None = None
) -> list[FailureGroup]:
    """The groups that failed at `since_ms` or later (with `status` alone, if given), most
    recently failed first."""
    return [
        group
        for group in index.groups()
        if group.last_seen_ms >= since_ms and (status is None or group.status == status)
    ]


def group_json(group: FailureGroup, same_commit: tuple[SameCommitFailure, ...]) -> str:
    """The group, with what the other tool failed on its commits, as one line of ASCII JSON
    (every control character escaped)."""
    fields = {
        "kind": group.kind,
        "name": group.name,
        "count": group.count,
        "builds": list(group.builds),
        "invocations": list(group.invocations),
        "firstSeenMs": group.first_seen_ms,
        "lastSeenMs": group.last_seen_ms,
        "branches": list(group.branches),
        "users": list(group.users),
        "projects": list(group.projects),
        "status": group.status,
        "brokenSince": group.broken_since,
        "headline": group.headline,
        "sameCommit": [
            {"commit": failure.commit, "kind": failure.kind, "name": failure.name,
             "builds": list(failure.builds), "invocations": list(failure.invocations)}
            for failure in same_commit
        ],
    }
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True) + "\n"


def group_table(groups: list[FailureGroup]) -> list[str]:
    """An aligned table of the groups, a header first; cells are sanitised."""
    rows = [
        [
            STATUS_WORDS[group.status],
            str(group.count),
            _time(group.last_seen_ms),
            _time(group.first_seen_ms),
            ",".join(group.branches),
            group.kind,
            group.name,
            group.headline,
        ]
        for group in groups
    ]
    headers = ["STATUS", "COUNT", "LAST SEEN", "FIRST SEEN", "BRANCHES", "KIND", "NAME", "HEADLINE"]
    # Here, not at the top: every command builds the parser this module registers with, and
    # the table's widths need Rich, which a command writing JSON never imports.
    from buildwatch.cli.bb_output import format_table

    return format_table(headers, rows)


def _time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000).strftime("%Y-%m-%d %H:%M")
