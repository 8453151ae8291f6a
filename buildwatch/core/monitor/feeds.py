"""The monitor's two feeds: the Develocity build listing with its enrichment pool, and the
BuildBuddy poller. Plain asyncio: the TUI runs each `run()` in a worker, tests run them directly.

Neither feed ever raises for a server problem: they record it in the store's source status and
either retry (transient failures) or stop (refused credentials, wrong URL) until restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from buildwatch.core.backoff import Backoff, RetryNotice
from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.buildbuddy.errors import RetryableError
from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.buildbuddy.triage import is_running
from buildwatch.core.develocity.client import DevelocityClient, Since
from buildwatch.core.develocity.failure_details import read_failure_details
from buildwatch.core.develocity.git_values import DEFAULT_GIT_VALUE_NAMES, GitValueNames
from buildwatch.core.develocity.models import Build
from buildwatch.core.develocity.summary import BuildSummary, SummaryBuilder
from buildwatch.core.develocity.summary_reader import read_summary
from buildwatch.core.errors import AuthError, BuildwatchError, NotFoundError, UnavailableError
from buildwatch.core.history.catch_up import ListingBatch, listing_batches, resumed_listing
from buildwatch.core.history.resume import ResumePoint
from buildwatch.core.monitor.history import MonitorHistory
from buildwatch.core.monitor.pacing import Backlog, InputGate, TimeBudget
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.triage.records import build_record, invocation_record

DEFAULT_ENRICH_CONCURRENCY = 6
TARGET_READS_PER_POLL = 8
"""Invocations whose targets a BuildBuddy poll reads, at most: the first poll after a start finds
every finished invocation of the watched commits unrecorded, and must not be held up by them."""
LISTING_SLICE = 200
"""Builds of a listing batch put in the store between two checks of the time budget."""
_ATTEMPTS_PER_TRY = 2
"""Connections a summary read makes before its build is handed back: one blip is ridden out
within the try (the client's first backoff, at most its base), a longer outage is not."""
_T = TypeVar("_T")


def retry_reporter(store: MonitorStore) -> Callable[[RetryNotice], None]:
    """An `on_retry` callback for the listing client that shows reconnections in the store."""

    def report(notice: RetryNotice) -> None:
        store.retrying("develocity", notice.cause, notice.delay_s, notice.failures or 1)

    return report


def connected_reporter(store: MonitorStore) -> Callable[[], None]:
    """An `on_connected` callback for the listing client: a stream that opens (even one with
    nothing new to say) shows Develocity live again."""

    def report() -> None:
        store.mark_live("develocity")

    return report


class DevelocityFeed:
    """Holds the build listing stream and summarises each build from its events.

    `listing` streams the builds (give it `on_retry=retry_reporter(store)` and
    `on_connected=connected_reporter(store)`); `events` reads each
    build's summary events, at most `concurrency` builds at a time, newest first, so the rows on
    screen fill in first while a long backfill waits.

    With a `point`, the listing resumes there (replaying what was published while the feed was
    not running, the status counting the catch-up); without one it starts at `since`. With a
    `history`, every build and every new or changed summary is recorded, and stored builds that
    were never summarised are summarised now. Builds already summarised are not read again.
    `git_names` says which custom values name the Git commit, branch and repository.
    `input_gate` is the screen's: while it is closed (a key is being answered) no slice of the
    listing and no summary read starts. `backlog` is the screen's too: while it is behind by a
    backlog of rows, one build is summarised at a time, so the rows come first.

    A build whose server keeps failing is never given up on, and never holds a worker: after a
    short try it is handed back, to be queued again after a delay that grows with each try
    (`backoff` makes each build's), while the worker takes the next build.
    """

    def __init__(
        self,
        listing: DevelocityClient,
        events: DevelocityClient,
        store: MonitorStore,
        *,
        since: Since = "now",
        concurrency: int = DEFAULT_ENRICH_CONCURRENCY,
        history: MonitorHistory | None = None,
        point: ResumePoint | None = None,
        git_names: GitValueNames = DEFAULT_GIT_VALUE_NAMES,
        backoff: Callable[[], Backoff] = Backoff,
        input_gate: InputGate | None = None,
        backlog: Backlog | None = None,
    ) -> None:
        self._listing = listing
        self._backoff = backoff
        self._retries: dict[str, Backoff] = {}
        self._retry_timers: dict[str, asyncio.TimerHandle] = {}
        self._git_names = git_names
        self._history = history
        self._point = point
        self._events = events
        self._store = store
        self._since = since
        self._concurrency = concurrency
        self._pending: asyncio.LifoQueue[Build] = asyncio.LifoQueue()
        self._untriaged: dict[str, BuildSummary] = {}
        """Stored summaries of queued builds whose failures alone are to be recorded."""
        self._pace = TimeBudget(input_gate or InputGate())
        self._backlog = backlog or Backlog()
        self.last_build: tuple[str, int] | None = None
        """The id and publication time (epoch ms) of the newest build received so far."""

    async def run(self) -> None:
        """Follow the listing until cancelled, or until the server refuses us."""
        store = self._store
        store.set_state("develocity", "connecting")
        enrichers = [asyncio.create_task(self._enrich_forever(helper=number > 0))
                     for number in range(self._concurrency)]
        try:
            await self._check_access()
            self._queue_unsummarised()
            async with contextlib.aclosing(self._batches()) as batches:
                async for batch in batches:
                    if self._history is not None:
                        self._history.record_builds(batch.builds)
                    if batch.skipped:
                        store.skip_builds(batch.skipped)
                    # A batch can hold thousands of builds: they join the store a slice at a
                    # time, the loop given back between slices, so keys are answered meanwhile.
                    # An empty batch (the end of a replay) still reaches the store: it shows
                    # the source live.
                    for start in range(0, max(1, len(batch.builds)), LISTING_SLICE):
                        builds = batch.builds[start:start + LISTING_SLICE]
                        store.add_builds(builds)
                        self._received(builds)
                        await self._pace.pause_if_spent()
                    if self._point is not None:
                        store.develocity.detail = batch.status_text or ""
        except AuthError as error:
            store.set_state("develocity", "auth_failed", str(error))
        except BuildwatchError as error:
            store.set_state("develocity", "offline", str(error))
        finally:
            for timer in self._retry_timers.values():
                timer.cancel()
            for task in enrichers:
                task.cancel()
            for task in enrichers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _batches(self) -> AsyncGenerator[ListingBatch, None]:
        """The listing: resumed from the history's point, else followed from `since`."""
        if self._point is not None:
            async with contextlib.aclosing(resumed_listing(self._listing, self._point)) as resumed:
                async for batch in resumed:
                    yield batch
            return
        listing = self._listing.build_batches(since=self._since, stream=True)
        async with contextlib.aclosing(listing):
            async for batch in listing_batches(listing):
                yield batch

    def _received(self, builds: list[Build]) -> None:
        """Note the newest build, and queue the builds that have no summary yet."""
        known = self._store.builds
        for build in builds:
            entry = known.get(build.build_id)
            if entry is None or entry.summary is None:
                self._pending.put_nowait(_waiting(build))
        for build in reversed(builds):
            # From the end: only the newest matters, and each property reads the JSON.
            timestamp = build.timestamp
            if timestamp is not None and build.build_id:
                self.last_build = (build.build_id, timestamp)
                break

    def _queue_unsummarised(self) -> None:
        """Queue the stored builds that were never summarised, and those whose failures were
        never recorded (the newest come out first)."""
        if self._history is not None:
            for build in reversed(self._history.take_unsummarised()):
                self._pending.put_nowait(_waiting(build))
            for build, summary in reversed(self._history.take_untriaged()):
                self._untriaged[build.build_id] = summary
                self._pending.put_nowait(_waiting(build))

    async def _check_access(self) -> None:
        """Fail fast on refused credentials or a wrong URL; a server that is down is retried."""
        try:
            await self._listing.check_access()
        except (AuthError, NotFoundError):
            raise
        except BuildwatchError as error:
            # The stream's own backoff takes over from here and reports each retry.
            self._store.retrying("develocity", str(error), 0.0, 1)
        else:
            self._store.set_state("develocity", "live")

    async def _enrich_forever(self, *, helper: bool) -> None:
        """Summarise queued builds, newest first; a `helper` stands aside during a backlog."""
        while True:
            build = await self._pending.get()
            if helper and self._backlog.flowing:
                # Back on top of the queue, for the first reader; the helper waits.
                self._pending.put_nowait(build)
                await self._backlog.wait_drained()
                continue
            await self._pace.gate.wait_open()
            try:
                await self._enrich(build)
            except UnavailableError as error:
                self._retry_later(build, str(error))
                continue
            except BuildwatchError as error:
                self._store.enrichment_failed(build.build_id, str(error))
            except Exception as error:
                # One build the client cannot make sense of must not stop the pool.
                self._store.enrichment_failed(build.build_id, f"{type(error).__name__}: {error}")
            self._retries.pop(build.build_id, None)

    def _retry_later(self, build: Build, problem: str) -> None:
        """Queue `build` again after its next backoff delay: a build listed just before the
        server went away (or whose events fail for long) is summarised once they answer."""
        backoff = self._retries.setdefault(build.build_id, self._backoff())
        self._store.enrichment_failed(build.build_id, problem, retrying=True)
        if build.build_id in self._retry_timers:
            return  # listed again meanwhile: one try is already due
        self._retry_timers[build.build_id] = asyncio.get_running_loop().call_later(
            backoff.next_delay(), self._requeue, build
        )

    def _requeue(self, build: Build) -> None:
        self._retry_timers.pop(build.build_id, None)
        self._pending.put_nowait(build)

    async def _enrich(self, build: Build) -> None:
        summary = self._untriaged.pop(build.build_id, None)
        if summary is None:
            builder = SummaryBuilder(build, self._git_names)
            await read_summary(
                self._events, builder, attempts=_ATTEMPTS_PER_TRY, pause=self._pace.gate.wait_open
            )
            summary = builder.result()
            if self._store.enrich(summary) and self._history is not None:
                self._history.record_summary(summary)
        await self._record_failures(summary)

    async def _record_failures(self, summary: BuildSummary) -> None:
        """Record the build's run and failures for triage, in the store's failure groups and
        the history if there is one. Only a failed build costs a request (its failure details);
        one whose read fails is left unrecorded, for the next start, rather than holding a
        worker or marking its row."""
        details = None
        if summary.outcome == "failed":
            gate = self._pace.gate
            await gate.wait_open()
            try:
                details = await read_failure_details(
                    self._events, summary.build_id, summary.tool_type, attempts=_ATTEMPTS_PER_TRY,
                    pause=gate.wait_open,
                )
            except BuildwatchError:
                return
        record = build_record(summary, details)
        if self._history is not None:
            self._history.record_triage(record)
        self._store.failures.record((record,))


def _waiting(build: Build) -> Build:
    """`build` as it waits to be summarised: its bytes, without the JSON they were decoded to
    (a dict and its values, some 440 bytes), decoded again when its turn comes. A backfill
    queues 100,000 builds."""
    return Build(build.source, build.message_id)


class BuildBuddyPoller:
    """Polls GetInvocation for every watched commit, every `interval_s`.

    Errors back off exponentially, never sooner than a server's `Retry-After`; a refused key
    stops the poller (the user is asked for a new one). `wake()` polls at once, for a commit the
    user just added. With a `history`, new and changed invocations are recorded.

    A poll asks for each commit in turn, and one commit's failure does not keep the others from
    being asked. A poll in which some commits answered has delivered data since the last
    failure: the source is live, and the commits that failed are asked again at the next poll.
    Only a poll that got nothing shows the source reconnecting, with a growing backoff.

    With an `input_gate`, each poll starts only once the gate is open: the collector closes it
    while its store is unreachable or behind, so that polls do not pile up invocations that
    could not be written.
    """

    def __init__(
        self,
        client: BuildBuddyClient,
        store: MonitorStore,
        *,
        interval_s: float = 5.0,
        backoff: Callable[[], Backoff] = Backoff,
        history: MonitorHistory | None = None,
        input_gate: InputGate | None = None,
    ) -> None:
        self._client = client
        self._history = history
        self._gate = input_gate
        self._store = store
        self._interval_s = interval_s
        self._backoff = backoff
        self._wake = asyncio.Event()
        self._triaged: set[str] = set()
        """Invocations whose failures this poller recorded (the history knows earlier ones)."""

    def wake(self) -> None:
        """Poll now instead of at the end of the current wait."""
        self._wake.set()

    async def run(self) -> None:
        """Poll until cancelled, or until the server refuses the key."""
        store = self._store
        store.set_state("buildbuddy", "connecting")
        backoff = self._backoff()
        while True:
            if self._gate is not None:
                await self._gate.wait_open()
            # Cleared before the poll, so a commit watched during it brings another poll.
            self._wake.clear()
            try:
                poll = await self._poll()
            except AuthError as error:
                store.set_state("buildbuddy", "auth_failed", str(error))
                return
            retry_after = poll.retry_after_s
            if poll.failure is not None and not poll.answered:
                delay = backoff.next_delay(retry_after)
                store.retrying("buildbuddy", str(poll.failure), delay, backoff.attempt)
                await self._sleep(delay, wakeable=False)
                continue
            backoff = self._backoff()
            watched = len(store.watched_commits())
            detail = f"{watched} commit{'s' * (watched != 1)} watched"
            if poll.failed:
                detail += f", {poll.failed} not answered just now"
            store.set_state("buildbuddy", "live", detail)
            # A wake must not cut short a server's Retry-After.
            await self._sleep(max(self._interval_s, retry_after), wakeable=not retry_after)

    async def _poll(self) -> _Poll:
        """Ask for every watched commit's invocations (only whether the key works, when none is
        watched); `AuthError` ends the poll at once, any other failure only that commit's part."""
        commits = self._store.watched_commits()
        poll = _Poll()
        if not commits:
            await poll.ask(self._client.check_access())
        for commit in commits:
            invocations = await poll.ask(self._invocations(commit))
            if invocations is None:
                continue
            if self._history is not None:
                known = self._store.invocations
                self._history.record_invocations(
                    item for item in invocations if known.get(item.invocation_id) != item
                )
            self._store.upsert_invocations(invocations)
            await self._record_failures(invocations, poll)
        return poll

    def _needs_targets(self, invocation_id: str) -> bool:
        if invocation_id in self._triaged:
            return False
        return self._history is None or self._history.needs_targets(invocation_id)

    async def _record_failures(self, invocations: list[Invocation], poll: _Poll) -> None:
        """Record each finished invocation's failed and flaky targets for triage, once, in the
        store's failure groups and the history if there is one: one GetTarget per invocation,
        `TARGET_READS_PER_POLL` at most in a poll. One whose targets are not read (or cannot
        be) is tried at the next poll."""
        for invocation in invocations:
            if is_running(invocation) or not self._needs_targets(invocation.invocation_id):
                continue
            if poll.target_reads >= TARGET_READS_PER_POLL:
                return
            poll.target_reads += 1
            try:
                targets = [t async for t in self._client.targets(invocation.invocation_id)]
            except AuthError:
                raise
            except BuildwatchError:
                continue
            record = invocation_record(invocation, targets)
            self._triaged.add(invocation.invocation_id)
            if self._history is not None:
                self._history.record_triage(record)
            self._store.failures.record((record,))

    async def _invocations(self, commit: str) -> list[Invocation]:
        return [item async for item in self._client.invocations(commit_sha=commit)]

    async def _sleep(self, delay: float, wakeable: bool) -> None:
        if not wakeable:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._wake.wait()


@dataclass
class _Poll:
    """How one BuildBuddy poll went: how many requests were answered and how many failed, and
    the last failure."""

    answered: int = 0
    failed: int = 0
    failure: BuildwatchError | None = None
    target_reads: int = 0
    """Invocations whose targets were read for triage."""

    async def ask(self, request: Awaitable[_T]) -> _T | None:
        """The answer to `request`, or None once a failure (but a refused key) is counted."""
        try:
            answer = await request
        except AuthError:
            raise
        except BuildwatchError as error:
            self.failed, self.failure = self.failed + 1, error
            return None
        self.answered += 1
        return answer

    @property
    def retry_after_s(self) -> float:
        """The server's `Retry-After` in the last failure, 0 without one."""
        return self.failure.retry_after_s if isinstance(self.failure, RetryableError) else 0.0
