"""Bringing the history's failure records up to date for a window, so that failure groups cover
what the servers know.

Three steps, each skipping what the history already holds, so a second run over the same
window costs one short listing request:

1. the build listing, from after the last build the history saw (or from the window's start
   if that is older), stored as the monitor stores it;
2. every build of the window whose failures are not recorded: its summary (the stored one, or
   one filtered request), and for a failed build one more request naming its failed tasks,
   goals, targets and tests; then its run and failures are recorded;
3. on BuildBuddy, the invocations of the commits those builds built, and of the stored
   invocations still unrecorded: each finished one's targets, recorded as its failures.

A build or invocation whose reading fails is reported through `warn` and left unrecorded, so
the next run tries it again; refused credentials stop everything (`AuthError`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import aclosing
from typing import TYPE_CHECKING, TypeVar

from buildwatch.core.buildbuddy.triage import is_running
from buildwatch.core.develocity.build_reading import read_build
from buildwatch.core.develocity.models import Build, SkippedMessage
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.errors import AuthError, BuildwatchError
from buildwatch.core.history.codec import invocation_updated_ms
from buildwatch.core.history.interface import BuildHistory
from buildwatch.core.history.store import BUILDS_STREAM, HistoryBatch, StoredBuild
from buildwatch.core.triage.model import TriageRecord
from buildwatch.core.triage.records import build_record, invocation_record

if TYPE_CHECKING:
    from buildwatch.core.buildbuddy.client import BuildBuddyClient
    from buildwatch.core.buildbuddy.models import Invocation
    from buildwatch.core.develocity.client import DevelocityClient
    from buildwatch.core.develocity.git_values import GitValueNames

CONCURRENCY = 4
"""Requests in flight at once, per server."""
WRITE_EVERY = 200
"""Builds or invocations read between two writes to the history."""
_T = TypeVar("_T")


async def refresh_history(
    store: BuildHistory,
    develocity: DevelocityClient,
    buildbuddy: BuildBuddyClient | None,
    since_ms: int,
    git_names: GitValueNames,
    warn: Callable[[str], None],
    progress: Callable[[str], None],
) -> None:
    """Read what the servers hold from `since_ms` on into `store` (see the module's steps);
    `buildbuddy` None leaves BuildBuddy out. `warn` hears of each build or invocation that
    could not be read, `progress` of each step that has requests to make. Raises `AuthError`
    and the listing's errors."""
    await _list_builds(store, develocity, since_ms, warn)
    commits = await _record_builds(store, develocity, since_ms, git_names, warn, progress)
    if buildbuddy is not None:
        await _record_invocations(store, buildbuddy, since_ms, commits, warn, progress)


async def _list_builds(
    store: BuildHistory, client: DevelocityClient, since_ms: int, warn: Callable[[str], None]
) -> None:
    """Store the builds published since the last one stored, or since `since_ms` if that is
    later than the last one stored (the builds before the window are not wanted)."""
    now_ms = int(time.time() * 1000)
    point = store.resume_point(max(0, now_ms - since_ms), now_ms)
    skipped = 0
    listing = client.build_batches(since=point.since, since_build=point.since_build)
    async with aclosing(listing):
        async for batch in listing:
            builds = [message for message in batch if isinstance(message, Build)]
            skipped += sum(isinstance(message, SkippedMessage) for message in batch)
            if builds:
                last = builds[-1]
                position = (last.message_id or last.build_id, last.timestamp or 0)
                store.write(HistoryBatch(builds=builds, positions={BUILDS_STREAM: position}))
    if skipped:
        warn(f"skipped {skipped:,} builds the server sent as unreadable JSON")


async def _record_builds(
    store: BuildHistory,
    client: DevelocityClient,
    since_ms: int,
    git_names: GitValueNames,
    warn: Callable[[str], None],
    progress: Callable[[str], None],
) -> set[str]:
    """Record the failures of every build of the window not recorded yet; returns the commits
    of the builds recorded."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def read(stored: StoredBuild) -> tuple[BuildSummary, TriageRecord | None] | None:
        async with limit:
            return await _read_build(client, stored, git_names, warn)

    commits: set[str] = set()
    pending = store.unfinished_builds(since_ms)
    if pending:
        progress(f"reading the failures of {len(pending):,} builds")
    for start in range(0, len(pending), WRITE_EVERY):
        done = await _all(read(stored) for stored in pending[start:start + WRITE_EVERY])
        batch = HistoryBatch()
        for summary, record in filter(None, done):
            batch.summaries.append(summary)
            if record is not None:
                batch.triage.append(record)
                if record[0].commit:
                    commits.add(record[0].commit)
        store.write(batch)
    return commits


async def _read_build(
    client: DevelocityClient,
    stored: StoredBuild,
    git_names: GitValueNames,
    warn: Callable[[str], None],
) -> tuple[BuildSummary, TriageRecord | None] | None:
    """The build's summary and its record; no record if its failures could not be read, nothing
    at all if its summary could not."""
    reading = await read_build(client, stored.build, git_names, warn, summary=stored.summary,
                               wanted=lambda summary: summary is not None)
    if not reading.whole:
        return None
    if reading.failures_lost:
        return reading.summary, None
    return reading.summary, build_record(reading.summary, reading.failures)


async def _record_invocations(
    store: BuildHistory,
    client: BuildBuddyClient,
    since_ms: int,
    commits: set[str],
    warn: Callable[[str], None],
    progress: Callable[[str], None],
) -> None:
    """Store the invocations of `commits` and of the window's stored invocations not recorded
    yet, and record each finished one's failed targets."""
    recorded = store.triage_run_ids("buildbuddy")
    for invocation in store.load_invocations():
        if invocation_updated_ms(invocation) < since_ms:
            break  # newest first: the rest are older still
        if invocation.invocation_id not in recorded and invocation.commit_sha:
            commits.add(invocation.commit_sha)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def of_commit(sha: str) -> list[Invocation]:
        async with limit:
            try:
                return [invocation async for invocation in client.invocations(commit_sha=sha)]
            except AuthError:
                raise
            except BuildwatchError as error:
                warn(f"no BuildBuddy invocations for commit {sha}: {error}")
                return []

    async def record(invocation: Invocation) -> TriageRecord | None:
        async with limit:
            try:
                targets = [target async for target in client.targets(invocation.invocation_id)]
            except AuthError:
                raise
            except BuildwatchError as error:
                warn(f"no targets for invocation {invocation.invocation_id}: {error}")
                return None
        return invocation_record(invocation, targets)

    ordered = sorted(commits)
    if ordered:
        progress(f"asking BuildBuddy about the invocations of {len(ordered):,} commits")
    for start in range(0, len(ordered), WRITE_EVERY):
        found = [
            invocation
            for invocations in await _all(map(of_commit, ordered[start:start + WRITE_EVERY]))
            for invocation in invocations
        ]
        unrecorded = [
            invocation for invocation in found
            if invocation.invocation_id not in recorded and not is_running(invocation)
        ]
        records = await _all(map(record, unrecorded))
        store.write(
            HistoryBatch(invocations=found, triage=[record for record in records if record])
        )


async def _all(awaitables: Iterable[Awaitable[_T]]) -> list[_T]:
    """Every result, once all have ended; then the first exception, if any (so none is left
    running against a client about to close)."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [result for result in results if not isinstance(result, BaseException)]
