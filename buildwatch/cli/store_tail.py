"""`buildwatch tail --store URL`: the builds the team store holds, then (with `--follow`) each
one the collector commits, in the lines `tail` prints from the server.

The store is opened read-only. The builds published since `--since` come first, oldest first,
read newest first in growing pages until one reaches back past `--since` (a store of millions
is never read whole); following then reads the store's changes after the change number taken
before them, so nothing committed meanwhile is missed and nothing is printed twice. Summaries
are the collector's: `--summary`, and a `--query` that needs one, print a build once its
summary is stored (a build listed before `--follow` started prints with what is stored).
`failedTasks` and `failedTests` are what the collector recorded for triage, read back
(`recorded_details`): a failed build whose failures are not recorded yet has them null, and
while following, `--summary --json` prints a failed build once its failures are recorded.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from buildwatch.cli.common import profile_from_args, say, warn
from buildwatch.cli.develocity import Mode, build_entry, build_output, parse_since
from buildwatch.cli.signals import run_headless
from buildwatch.core.errors import ConfigError
from buildwatch.core.monitor.heap import freeze_startup

if TYPE_CHECKING:
    from buildwatch.core.develocity.failure_details import FailureDetails
    from buildwatch.core.develocity.git_values import GitValueNames
    from buildwatch.core.history.interface import BuildHistory
    from buildwatch.core.history.store import StoredBuild
    from buildwatch.core.query import BuildRecord, CompiledQuery
    from buildwatch.core.teamstore.location import StoreLocation
    from buildwatch.core.teamstore.store import TeamStore
    from buildwatch.core.triage.model import TriageRecord

FIRST_PAGE = 500
"""Builds read first when looking back to `--since`; each further read asks for four times more."""
PRINTED_KEPT = 100_000
"""Build ids remembered as printed while following (the most recent ones)."""
_SERVER_ONLY = (("since_build", "--since-build"), ("api_version", "--api-version"),
                ("develocity_url", "--develocity-url"), ("idle_timeout", "--idle-timeout"))


def tail_store(
    args: argparse.Namespace,
    location: StoreLocation,
    mode: Mode,
    query: CompiledQuery[BuildRecord] | None,
) -> int:
    """Print the store's builds since `--since`, then follow it if asked; exit code 0."""
    from buildwatch.core.teamstore.store import TeamStore

    for dest, option in _SERVER_ONLY:
        if getattr(args, dest, None) is not None:
            raise ConfigError(f"{option} reads the server; it does not apply with --store")
    since = parse_since(args.since)
    since_ms = int(time.time() * 1000) if since == "now" else since
    printer = _Printer(mode, query, profile_from_args(args).git_value_names)
    reader = TeamStore.connect(location, read_only=True)
    try:
        cursor = reader.change_cursor()
        builds = builds_since(reader, since_ms)
        printer.window(builds, args.follow, _recorded_failures(reader, printer, builds))
    finally:
        reader.close()
    if not args.follow:
        return 0
    freeze_startup()
    with contextlib.suppress(KeyboardInterrupt):
        run_headless(_follow(location, cursor, printer, since_ms))
    return 0


def _recorded_failures(
    reader: TeamStore, printer: _Printer, builds: list[StoredBuild]
) -> dict[str, FailureDetails]:
    """The recorded failure details of the builds that print them, by build id."""
    wanted = [item.build.build_id for item in builds if printer.prints_failures(item)]
    return _details(reader.build_triage(wanted).values()) if wanted else {}


def _details(records: Iterable[TriageRecord]) -> dict[str, FailureDetails]:
    from buildwatch.core.triage.records import recorded_details

    return {record[0].run_id: recorded_details(record) for record in records
            if record[0].source == "develocity"}


def builds_since(reader: BuildHistory, since_ms: int) -> list[StoredBuild]:
    """The stored builds published at `since_ms` or later, oldest first."""
    limit = FIRST_PAGE
    while True:
        newest = reader.load_recent(limit)
        if len(newest) < limit or (newest[-1].build.timestamp or 0) < since_ms:
            break
        limit *= 4
    return [item for item in reversed(newest) if (item.build.timestamp or 0) >= since_ms]


async def _follow(
    location: StoreLocation, cursor: int, printer: _Printer, since_ms: int
) -> None:
    from buildwatch.core.teamstore.follow import StoreFollower

    def retrying(cause: str, delay_s: float, _attempt: int) -> None:
        say(f"{cause}; retrying in {delay_s:.1f} s")

    follower = StoreFollower(location, cursor, on_retry=retrying)
    async for changes in follower.changes():
        printer.changed(
            [item for item in changes.builds if (item.build.timestamp or since_ms) >= since_ms],
            _details(changes.triage),
        )


class _Printer:
    """Prints each build once, in `mode`, if `query` matches it; a failed build with the
    failures recorded of it, when the mode prints them."""

    def __init__(
        self, mode: Mode, query: CompiledQuery[BuildRecord] | None, git_names: GitValueNames
    ) -> None:
        self._mode = mode
        self._query = query
        self._git_names = git_names
        self._wants_summary = mode in ("summary", "summary-json") or (
            query is not None and query.needs_summary
        )
        self._printed: dict[str, None] = {}
        self._waiting: dict[str, StoredBuild] = {}
        """Failed builds, summarised, whose failures are not recorded yet (while following)."""

    def prints_failures(self, item: StoredBuild) -> bool:
        """Whether `item`'s line names what failed in it: a failed build's summary as JSON, of a
        tool whose events name its work and tests (the server path reads none for npm)."""
        from buildwatch.core.develocity.failure_details import failure_detail_event_types

        summary = item.summary
        return (self._mode == "summary-json" and summary is not None
                and summary.outcome == "failed"
                and bool(failure_detail_event_types(summary.tool_type)))

    def window(
        self, builds: list[StoredBuild], following: bool, failures: Mapping[str, FailureDetails]
    ) -> None:
        """Print the builds of the `--since` window, with what the store holds of them
        (`failures`: the recorded failure details, by build id)."""
        unsummarised = unrecorded = 0
        for item in builds:
            if item.summary is None and self._wants_summary:
                unsummarised += 1
            details = failures.get(item.build.build_id)
            if details is None and self.prints_failures(item):
                unrecorded += 1
            self._print(item, details)
        if unsummarised and not following:
            warn(f"{unsummarised:,} builds have no summary in the store yet")
        if unrecorded and not following:
            warn(f"{unrecorded:,} failed builds have no failures recorded in the store yet")
        sys.stdout.buffer.flush()

    def changed(
        self, builds: Iterable[StoredBuild], failures: Mapping[str, FailureDetails]
    ) -> None:
        """Print the builds committed since, each once: those that need a summary once the
        collector has stored it, a failed one whose line names its failures once they are
        recorded (`failures`: those recorded since, by build id)."""
        recorded = [self._waiting.pop(build_id) for build_id in failures
                    if build_id in self._waiting]
        for item in [*recorded, *builds]:
            build_id = item.build.build_id
            if build_id in self._printed:
                continue
            if item.summary is None and self._wants_summary:
                continue
            details = failures.get(build_id)
            if details is None and self.prints_failures(item):
                self._waiting[build_id] = item
                if len(self._waiting) > PRINTED_KEPT:
                    del self._waiting[next(iter(self._waiting))]
                continue
            self._waiting.pop(build_id, None)
            self._print(item, details)
        sys.stdout.buffer.flush()

    def _print(self, item: StoredBuild, details: FailureDetails | None) -> None:
        from buildwatch.core.develocity.summary import SummaryBuilder

        build = item.build
        self._printed[build.build_id] = None
        if len(self._printed) > PRINTED_KEPT:
            del self._printed[next(iter(self._printed))]
        if self._query is not None and not self._query.matches(build_entry(build, item.summary)):
            return
        summary = item.summary or SummaryBuilder(build, self._git_names).result()
        sys.stdout.buffer.write(build_output(build, summary, self._mode, details))
