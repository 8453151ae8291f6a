"""The collector: one process that follows the servers and records everything into the team store.

It runs the monitor's own feeds (the build listing resumed from the store's position, the
summary pass, failure details, BuildBuddy polling), recording through a `HistoryWriter` whose
thread merges what arrives into batched transactions on the store. Around them:

- Leader election: only the holder of the collector lock (`leader`) runs feeds; another
  collector on the same store stands by and asks for the lock every `standby_retry_s`.
- The store unreachable: the writer keeps the batch it could not write and retries with
  backoff, its queue the bounded buffer; the feeds are held (no listing slice, no summary read,
  no BuildBuddy poll starts) while the store is unreachable or the writer's backlog passes
  `high_water`, so the buffer fills no further than what is already under way. No stream
  position moves until its builds are written, so a restart at any moment lists again what was
  not stored. Should the buffer overflow anyway, the collector starts over from the store's
  position.
- A heartbeat (`TeamStore.beat`) every `heartbeat_s`, which viewers show.
- A log line per event worth knowing (`log`), and the counts written each `report_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from buildwatch.core.backoff import Backoff
from buildwatch.core.collector.bounded import KEEP, bounded_store, trim
from buildwatch.core.collector.health import CollectorState, serve_health
from buildwatch.core.collector.leader import LeaderLock
from buildwatch.core.collector.log import CollectorLog, WriteTally
from buildwatch.core.errors import AuthError, BuildwatchError, ServerError, UnavailableError
from buildwatch.core.history.resume import ResumePoint
from buildwatch.core.history.store import HistoryBatch
from buildwatch.core.history.writer import DEFAULT_MAX_PENDING, HistoryWriter
from buildwatch.core.monitor.history import MonitorHistory
from buildwatch.core.monitor.pacing import InputGate
from buildwatch.core.monitor.session import NOT_CONFIGURED, MonitorSession, MonitorSettings
from buildwatch.core.monitor.store import MonitorStore, SourceStatus
from buildwatch.core.teamstore.location import StoreLocation

if TYPE_CHECKING:
    from buildwatch.core.teamstore.store import TeamStore

TICK_S = 0.1
"""How often the collector looks at its feeds and its writer."""
HIGH_WATER = 200
"""Batches waiting for the writer beyond which the feeds wait for it."""


def default_name() -> str:
    """The collector's name in heartbeats: `host:pid`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _store_backoff() -> Backoff:
    return Backoff(base_s=0.5, cap_s=30.0)


@dataclass(frozen=True)
class CollectorSettings:
    """What to collect into which store, and how often to do what (tests shorten the waits)."""

    location: StoreLocation
    monitor: MonitorSettings
    """The servers, credentials and summary concurrency; its `history` and `since` are unused
    (the listing resumes from the store, or backfills the profile's catch-up window)."""
    watch: tuple[str, ...] = ()
    """Commits whose invocations are polled besides those the builds bring (the config's)."""
    name: str = field(default_factory=default_name)
    health_port: int | None = None
    standby_retry_s: float = 5.0
    heartbeat_s: float = 5.0
    report_s: float = 60.0
    store_backoff: Callable[[], Backoff] = _store_backoff
    max_pending: int = DEFAULT_MAX_PENDING
    high_water: int = HIGH_WATER
    keep: int = KEEP
    close_timeout_s: float = 10.0
    """How long stopping waits for the writer to store what it holds."""


class Collector:
    """Run with `run()` until `stop()` (or cancellation); `state` is what the health port says."""

    def __init__(self, settings: CollectorSettings, log: CollectorLog | None = None) -> None:
        self.settings = settings
        self.log = log or CollectorLog()
        self.state = CollectorState()
        self._started_ms = int(time.time() * 1000)
        self._tally = WriteTally()
        self._stopping = asyncio.Event()
        self._lock: LeaderLock | None = None
        self._store_ok: bool | None = None
        """Whether the last use of the store worked (None before the first)."""
        self._store_ok_lock = threading.Lock()
        self._store_failures = 0
        """Failures reported so far: a success counts only if no failure came while it ran."""
        self._sources: dict[str, tuple[str, int]] = {}
        self._skipped = 0
        self._unread: set[str] = set()
        """Builds whose unread summary was logged, among those the store holds."""

    def stop(self) -> None:
        """Flush and stop: the feeds end, the writer stores what it holds, the lock is released."""
        self._stopping.set()

    async def run(self) -> None:
        """Stand by or collect, until stopped; a `BuildwatchError` if the store or a server
        refuses the collector for good (credentials, no schema)."""
        settings = self.settings
        port = settings.health_port
        health = None
        if port is not None:
            health = await serve_health(port, lambda: self.state)
        where = f"; health on 127.0.0.1:{port}" if port is not None else ""
        self.log.event(f"started as {settings.name}, store {settings.location.shown}{where}")
        try:
            while (lock := await self._acquire()) is not None:
                self._lock = lock
                try:
                    await self._lead()
                finally:
                    self._lock = None
                    await asyncio.to_thread(lock.release)
        finally:
            if health is not None:
                health.close()
                await health.wait_closed()
            self.log.event("stopped")

    async def _acquire(self) -> LeaderLock | None:
        """The collector lock once this collector may be active; None once stopping."""
        while not self._stopping.is_set():
            try:
                lock = await asyncio.to_thread(LeaderLock.try_acquire, self.settings.location)
            except UnavailableError as error:
                self._store_problem(str(error))
            else:
                self._store_problem(None)
                if lock is not None:
                    self.state.role = "active"
                    self.log.event("active: this collector holds the store's collector lock")
                    return lock
                if self.state.role != "standby":
                    self.state.role = "standby"
                    self.log.event(
                        "standby: another collector is active; asking again every "
                        f"{self.settings.standby_retry_s:g} s"
                    )
            await self._pause(self.settings.standby_retry_s)
        return None

    async def _lead(self) -> None:
        """Collect while this collector holds the lock; return when it is stopping, has lost
        the lock to another, or must start over from the store's position."""
        settings = self.settings
        writer = HistoryWriter(
            partial(_team_store, settings.location), name=settings.location.shown,
            max_pending=settings.max_pending, retry=settings.store_backoff,
            on_problem=self._store_problem, on_written=self._written,
        )
        store = bounded_store()
        for commit in settings.watch:
            store.watch(commit, "config")
        session = MonitorSession(settings.monitor, store)
        feeds: list[asyncio.Task[None]] = []
        try:
            try:
                reader = await asyncio.to_thread(_team_store, settings.location)
                history = MonitorHistory.over(reader, writer, settings.monitor.profile.ui)
                point = await history.load_pending(store)
            except BuildwatchError as error:
                self._store_problem(str(error))
                await self._pause(settings.standby_retry_s)
                return
            self._store_problem(None)
            self.log.event(_resumed_text(point, len(store.builds)))
            session.use_history(history, point)
            feeds = [
                asyncio.create_task(session.run_develocity()),
                asyncio.create_task(session.run_buildbuddy()),
            ]
            await self._tend(session, writer, feeds)
        finally:
            for task in feeds:
                task.cancel()
            await asyncio.gather(*feeds, return_exceptions=True)
            await session.aclose()
            closed = await asyncio.to_thread(writer.close, settings.close_timeout_s)
            self._report()
            if not closed:
                self.log.event(
                    f"stopping without writing {writer.backlog:,} batches: the store is "
                    "unreachable; the next start lists those builds again"
                )

    async def _tend(
        self, session: MonitorSession, writer: HistoryWriter, feeds: list[asyncio.Task[None]]
    ) -> None:
        """Watch the feeds, the writer and the lock until there is a reason to stop leading.

        Nothing here waits for the store (the lock and the heartbeat have a task of their own),
        so the feeds are held within a tick of the store becoming unreachable."""
        settings = self.settings
        clock = asyncio.get_running_loop().time
        next_report = clock() + settings.report_s
        develocity, buildbuddy = feeds
        buildbuddy_ended = False
        keeper = asyncio.create_task(self._keep_alive(session.input_gate))
        try:
            while not self._stopping.is_set():
                self.state.last_write_s = writer.written_at
                if not self._store_ok or writer.backlog > settings.high_water:
                    session.input_gate.close_for(2 * TICK_S)
                self._log_sources(session.store)
                if develocity.done():
                    develocity.result()  # an unexpected exception ends the collector with it
                    raise _feed_error(session.store.develocity)
                if buildbuddy.done() and not buildbuddy_ended:
                    buildbuddy.result()
                    buildbuddy_ended = True
                    self._log_buildbuddy_end(session.store.buildbuddy)
                if keeper.done():
                    keeper.result()
                    return  # another collector took the lock
                if writer.dropped:
                    self.log.event(
                        f"the buffer overflowed ({writer.dropped:,} batches dropped); starting "
                        "over from the store's position"
                    )
                    return
                if clock() >= next_report:
                    self._report()
                    self._log_unread(session.store)
                    trim(session.store, settings.keep)
                    next_report = clock() + settings.report_s
                await self._pause(TICK_S)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _keep_alive(self, gate: InputGate) -> None:
        """Check the lock and beat every `heartbeat_s`; return once another collector holds
        the lock."""
        beats = _Beats(self.settings)
        try:
            while not self._stopping.is_set() and await self._keep_lock(gate):
                failures = self._store_failures
                if await asyncio.to_thread(beats.beat, self._started_ms):
                    self._store_problem(None, failures_before=failures)
                await self._pause(self.settings.heartbeat_s)
        finally:
            await asyncio.to_thread(beats.close)

    async def _keep_lock(self, gate: InputGate) -> bool:
        """Whether this collector still holds the lock, taking it again if its connection
        dropped (the feeds held meanwhile); False if another collector took it."""
        lock = self._lock
        if lock is None or await asyncio.to_thread(lock.held):
            return True
        self.log.event("lost the collector lock (its connection dropped); asking for it again")
        retry_s = self.settings.standby_retry_s
        while not self._stopping.is_set():
            gate.close_for(retry_s + 1.0)
            try:
                again = await asyncio.to_thread(LeaderLock.try_acquire, self.settings.location)
            except UnavailableError as error:
                self._store_problem(str(error))
                await self._pause(retry_s)
                continue
            if again is None:
                self.state.role = "standby"
                self.log.event("another collector took the lock: standing by")
                return False
            self._lock = again
            self.log.event("holds the collector lock again")
            return True
        return True

    def _store_problem(self, problem: str | None, failures_before: int | None = None) -> None:
        """Note whether the store answered (`problem` None) or not, logging each change; called
        from the event loop and from the writer thread.

        A success whose attempt began before another connection's failure was reported
        (`failures_before` is the count taken when it began) says nothing of the store now:
        a heartbeat answered just before an outage must not log it as over."""
        with self._store_ok_lock:
            if problem is not None:
                self._store_failures += 1
            elif failures_before is not None and failures_before != self._store_failures:
                return
            before, self._store_ok = self._store_ok, problem is None
            self.state.store_reachable = problem is None
        if problem is None and before is None:
            self.log.event("connected to the store")
        elif problem is None and before is False:
            self.log.event("the store is reachable again")
        elif problem is not None and before is not False:
            self.log.event(f"store unreachable, retrying with backoff: {problem}")

    def _written(self, batch: HistoryBatch) -> None:
        self._tally.add(batch)

    def _report(self) -> None:
        """Log what was written since the last report, if anything was."""
        counts = self._tally.take()
        if counts:
            self.log.event(f"written: {counts.text()}")

    def _log_sources(self, store: MonitorStore) -> None:
        """Log each server's connection changes, and listing messages left out."""
        for key, status in (("develocity", store.develocity), ("buildbuddy", store.buildbuddy)):
            now = (status.state, status.attempt)
            before = self._sources.get(key)
            if before == now or status.state in ("connecting", "offline", "auth_failed"):
                continue
            self._sources[key] = now
            if status.state == "live":
                again = " again" if before is not None else ""
                self.log.event(f"{status.title}: connected{again}")
            elif status.state == "reconnecting":
                self.log.event(
                    f"{status.title}: {status.detail}; reconnecting (attempt {status.attempt})"
                )
        skipped = store.develocity.skipped
        if skipped > self._skipped:
            self.log.event(
                f"Develocity: left out {skipped - self._skipped:,} listing messages that are "
                "not builds it can read"
            )
            self._skipped = skipped

    def _log_unread(self, store: MonitorStore) -> None:
        """Log the builds whose summary could not be read and is not tried again, each once
        (they stay in the store without one; the next start tries them again)."""
        unread = {
            key: entry.problem for key, entry in store.builds.items()
            if entry.problem is not None and not entry.retrying
        }
        fresh = [key for key in unread if key not in self._unread]
        self._unread = set(unread)
        if fresh:
            self.log.event(
                f"Develocity: could not read the summary of {len(fresh):,} builds "
                f"(build {fresh[-1]}: {unread[fresh[-1]]})"
            )

    def _log_buildbuddy_end(self, status: SourceStatus) -> None:
        """BuildBuddy's poller ended: not configured, or it refused the key."""
        if status.detail.startswith(NOT_CONFIGURED):
            self.log.event("BuildBuddy: not configured; no invocations are collected")
        else:
            self.log.event(f"BuildBuddy: {status.state_text(0.0)}: {status.detail}; "
                           "no invocations are collected until a restart")

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if stopping."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()


class _Beats:
    """The heartbeat's own connection to the store, opened at the first beat."""

    def __init__(self, settings: CollectorSettings) -> None:
        self._settings = settings
        self._store: TeamStore | None = None

    def beat(self, started_ms: int) -> bool:
        """Record a heartbeat; False if the store could not be reached (the writer says why)."""
        try:
            if self._store is None:
                self._store = _team_store(self._settings.location)
            self._store.beat(self._settings.name, started_ms)
        except BuildwatchError:
            return False
        return True

    def close(self) -> None:
        if self._store is not None:
            with contextlib.suppress(BuildwatchError):
                self._store.close()


def _team_store(location: StoreLocation) -> TeamStore:
    """A read-write connection to the team store (psycopg is loaded here, not at import)."""
    from buildwatch.core.teamstore.store import TeamStore

    return TeamStore.connect(location)


def _resumed_text(point: ResumePoint, pending: int) -> str:
    """`resumed after build X` or `no position stored ...: listing from <time>`."""
    if point.since_build is not None:
        text = f"resumed after build {point.since_build}"
    else:
        since = datetime.fromtimestamp(point.since / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        text = f"no recent stream position in the store: listing the builds since {since}"
    if pending:
        text += f"; {pending:,} stored builds still to summarise or triage"
    return text


def _feed_error(status: SourceStatus) -> BuildwatchError:
    """Why the build listing ended: the server refused the collector."""
    if status.state == "auth_failed":
        return AuthError(f"Develocity refused the credentials: {status.detail}")
    return ServerError(f"Develocity: {status.detail}")
