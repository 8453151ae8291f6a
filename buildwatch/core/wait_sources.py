"""Where `buildwatch wait` learns how runs stand, and when it has learnt enough to stop.

Each source reads one server and reports every run it finds to a `RunTracker`. A source is
`caught_up` once everything its server had at the last look has been read: the wait ends when
every source is caught up, at least one run has appeared and every run has finished.

- `DevelocityBuild` reads one build by id. A build that is being processed answers 503, which
  the client waits through within its retry budget; one just finished may not be known yet
  (404), so "not found" is waited through for `NOT_FOUND_GRACE_S` before it is believed.
  A build's read (here and below) is tried again until the client's budget is spent and
  `PROCESSING_GRACE_S` has passed since its first try: a big build answers 503 that long while
  it is processed, however short the waits between attempts are.
- `DevelocityCommit` reads the build listing again and again, from a while before the command
  started, and the summary of each build it lists, to match the commit in its custom values.
  Develocity lists a build only once it has finished, so a matched build is finished at once;
  a build listed but not read yet keeps the source from being caught up, so the wait never
  ends while a failed build of the commit is still being processed.
- `BuildBuddyCommit` asks GetInvocation for the commit's invocations at every poll.

Failures end the wait: the clients retry what is transient within their budgets (reporting each
retry) and raise past them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from contextlib import aclosing
from typing import Any, Protocol, TypeVar

from buildwatch.core.backoff import Backoff, RetryNotice
from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.buildbuddy.triage import invocation_result
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.git_values import GitValueNames
from buildwatch.core.develocity.models import Build
from buildwatch.core.develocity.summary import BuildSummary, SummaryBuilder
from buildwatch.core.develocity.summary_reader import read_summary, read_summary_of
from buildwatch.core.errors import NotFoundError, UnavailableError
from buildwatch.core.links import build_scan_url, invocation_url
from buildwatch.core.wait_runs import Run, RunOutcome, RunTracker

NOT_FOUND_GRACE_S = 10.0
"""How long a build id the server does not know is asked for again before exit 4: a build is
known within seconds of the build tool printing its address, so an id still unknown after this
is a wrong id (or a wrong server)."""
PROCESSING_GRACE_S = 120.0
"""The least time a build's read is tried for before the server counts as failing: the client's
budget is a number of attempts, whose waits the profile may make short."""
SUMMARY_CONCURRENCY = 4
"""Summaries read at once while matching a listing's builds to the commit."""

_T = TypeVar("_T")
_DEVELOCITY_OUTCOMES: dict[str, RunOutcome] = {
    "success": "succeeded", "failed": "failed", "unknown": "unknown"
}


class Source(Protocol):
    """One server's side of the wait."""

    @property
    def caught_up(self) -> bool:
        """Whether everything the server had at the last look has been read."""

    async def run(self) -> None:
        """Read the server, reporting runs and setting `changed`, until cancelled or done."""


class DevelocityBuild:
    """One Develocity build, by id: done once its summary is read."""

    def __init__(
        self,
        client: DevelocityClient,
        build_id: str,
        tracker: RunTracker,
        changed: asyncio.Event,
        *,
        git_names: GitValueNames,
        web_url: str,
        backoff: Backoff,
        on_retry: Callable[[RetryNotice], None],
    ) -> None:
        self._client = client
        self._build_id = build_id
        self._tracker = tracker
        self._changed = changed
        self._git_names = git_names
        self._web_url = web_url
        self._backoff = backoff
        self._on_retry = on_retry
        self.caught_up = False

    async def run(self) -> None:
        """Read the build's summary, asking again while the server does not know the build."""
        first_missing: float | None = None
        tries = 0
        while True:
            try:
                summary = await _patiently(
                    lambda: read_summary_of(self._client, self._build_id, self._git_names),
                    self._on_retry,
                )
                break
            except NotFoundError as error:
                now = time.monotonic()
                first_missing = now if first_missing is None else first_missing
                left = NOT_FOUND_GRACE_S - (now - first_missing)
                if left <= 0:
                    raise NotFoundError(
                        f"{error} (still, {NOT_FOUND_GRACE_S:.0f} s after the first answer)"
                    ) from None
                tries += 1
                delay = min(self._backoff.next_delay(), left)
                self._on_retry(RetryNotice(f"{error}; it may not be published yet", delay, tries))
                await self._backoff.wait(delay)
        self._tracker.observe(develocity_run(summary, self._web_url))
        self.caught_up = True
        self._changed.set()


class DevelocityCommit:
    """The Develocity builds of a commit, found by reading every listed build's summary."""

    def __init__(
        self,
        client: DevelocityClient,
        commit: str,
        tracker: RunTracker,
        changed: asyncio.Event,
        *,
        since_ms: int,
        interval_s: float,
        git_names: GitValueNames,
        web_url: str,
        warn: Callable[[str], None],
        on_retry: Callable[[RetryNotice], None],
    ) -> None:
        self._client = client
        self._commit = commit.lower()
        self._tracker = tracker
        self._changed = changed
        self._since_ms = since_ms
        self._interval_s = interval_s
        self._git_names = git_names
        self._web_url = web_url
        self._warn = warn
        self._on_retry = on_retry
        self._seen: set[str] = set()
        self._last_build: str | None = None
        self._limit = asyncio.Semaphore(SUMMARY_CONCURRENCY)
        self.caught_up = False

    async def run(self) -> None:
        """List the builds published since the last look, read their summaries, then wait."""
        while True:
            fresh = await self._list()
            if fresh:
                self.caught_up = False
                await _all_or_none([self._match(build) for build in fresh])
            self.caught_up = True
            self._changed.set()
            await asyncio.sleep(self._interval_s)

    async def _list(self) -> list[Build]:
        """The builds listed since the last look (each build once, however often listed)."""
        # After the first look, from the last build listed: should the server have forgotten
        # it, the client lists again from `since` and the builds seen are skipped here.
        batches = self._client.build_batches(since=self._since_ms, since_build=self._last_build)
        fresh: list[Build] = []
        async with aclosing(batches):
            async for batch in batches:
                for message in batch:
                    if isinstance(message, Build) and message.build_id not in self._seen:
                        self._seen.add(message.build_id)
                        fresh.append(message)
        if fresh:
            self._last_build = fresh[-1].build_id
        return fresh

    async def _match(self, build: Build) -> None:
        builder = SummaryBuilder(build, self._git_names)
        async with self._limit:
            try:
                await _patiently(lambda: read_summary(self._client, builder), self._on_retry)
            except NotFoundError as error:
                # Listed, then gone (deleted since): it can be no run of the commit's any more.
                self._warn(f"skipped build {build.build_id}: {error}")
                return
        summary = builder.result()
        if (summary.git_commit or "").strip().lower() == self._commit:
            self._tracker.observe(develocity_run(summary, self._web_url))
            self._changed.set()


class BuildBuddyCommit:
    """The BuildBuddy invocations of a commit, polled."""

    def __init__(
        self,
        client: BuildBuddyClient,
        commit: str,
        tracker: RunTracker,
        changed: asyncio.Event,
        *,
        interval_s: float,
        web_url: str,
    ) -> None:
        self._client = client
        self._commit = commit
        self._tracker = tracker
        self._changed = changed
        self._interval_s = interval_s
        self._web_url = web_url
        self.caught_up = False

    async def run(self) -> None:
        """Ask for the commit's invocations, then again after the poll interval, until cancelled."""
        while True:
            async for invocation in self._client.invocations(commit_sha=self._commit):
                self._tracker.observe(buildbuddy_run(invocation, self._web_url))
            self.caught_up = True
            self._changed.set()
            await asyncio.sleep(self._interval_s)


async def wait_until_settled(
    sources: Sequence[Source], tracker: RunTracker, changed: asyncio.Event
) -> None:
    """Run the sources until every one is caught up and the tracker's runs have all finished
    (at least one having appeared); a source's error ends the wait and is raised."""
    running = {asyncio.create_task(source.run()) for source in sources}
    try:
        while not (all(source.caught_up for source in sources) and tracker.all_finished()):
            changed.clear()
            signal = asyncio.create_task(changed.wait())
            done, _ = await asyncio.wait({*running, signal}, return_when=asyncio.FIRST_COMPLETED)
            signal.cancel()
            for task in done - {signal}:
                running.discard(task)
                task.result()  # a source's error ends the wait here
    finally:
        await _cancel(running)


def develocity_run(summary: BuildSummary, web_url: str) -> Run:
    """A Develocity build as a run: published, so finished."""
    return Run(
        tool="develocity",
        run_id=summary.build_id,
        commit=summary.git_commit,
        outcome=_DEVELOCITY_OUTCOMES[summary.outcome],
        url=build_scan_url(web_url, summary.build_id),
    )


def buildbuddy_run(invocation: Invocation, web_url: str) -> Run:
    """A BuildBuddy invocation as a run: finished unless the server says it is in progress."""
    result = invocation_result(invocation)
    return Run(
        tool="buildbuddy",
        run_id=invocation.invocation_id,
        commit=invocation.commit_sha or None,
        outcome=None if result == "running" else result,
        url=invocation_url(web_url, invocation.invocation_id),
    )


async def _patiently(read: Callable[[], Awaitable[_T]], on_retry: Callable[[RetryNotice], None]) -> _T:
    """`read()`, made again when it gives up (`UnavailableError`) until `PROCESSING_GRACE_S` has
    passed since the first try; then its error is raised."""
    first = time.monotonic()
    reads = 1
    while True:
        try:
            return await read()
        except UnavailableError as error:
            if time.monotonic() - first >= PROCESSING_GRACE_S:
                raise
            on_retry(RetryNotice(f"{error}; asking again", 0.0, reads))
            reads += 1


async def _all_or_none(work: list[Coroutine[Any, Any, None]]) -> None:
    """Run `work` together; the first error cancels the rest and is raised."""
    tasks = [asyncio.create_task(item) for item in work]
    try:
        await asyncio.gather(*tasks)
    finally:
        await _cancel(tasks)


async def _cancel(tasks: Iterable[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
