"""The monitor as a viewer of the team store: it loads the store's recent rows, then follows its
changes; it holds no listing stream, reads no summary and never writes.

The newest screenful shows at once, then up to `history_max_builds` more builds are read in the
background (a store of millions is never read whole) with the failure groups of the last
`history_max_age_days`. From then on each change the collector commits reaches the monitor's
store as a live feed's data would: new builds, summaries (raising notifications as the
profile says), invocations and failures. While the store cannot be reached the rows stay, the
status says so, and the store is tried again with a growing backoff from the change reached.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Literal

from buildwatch.core.backoff import Backoff
from buildwatch.core.config import UiPreferences
from buildwatch.core.errors import BuildwatchError
from buildwatch.core.monitor.history import load_stored, pairs
from buildwatch.core.monitor.store import MonitorStore, SourceName
from buildwatch.core.teamstore.follow import POLL_S, StoreFollower
from buildwatch.core.teamstore.location import StoreLocation

if TYPE_CHECKING:
    from buildwatch.core.teamstore.store import TeamChanges, TeamStore

COLLECTOR_SILENT_S = 30.0
"""A heartbeat older than this says the collector is silent: it beats every few seconds, and a
standby takes over from a dead one within 30 s."""
UNREACHABLE = "store unreachable, retrying"

TeamState = Literal["connecting", "live", "reconnecting"]
_SOURCES: tuple[SourceName, ...] = ("develocity", "buildbuddy")


@dataclass
class TeamStatus:
    """The team store as the status line shows it: reachable or not, and the collector's last
    heartbeat (epoch ms, as the collector's clock wrote it)."""

    state: TeamState = "connecting"
    detail: str = ""
    """Why the store could not be reached, while it cannot."""
    retry_at: float | None = None
    """When the next attempt starts (monotonic seconds), while reconnecting."""
    beat_ms: int | None = None
    loading: bool = False
    """Whether older builds are still being read."""


class TeamFeed:
    """Loads the store at `location` into `store`, then follows it until cancelled.

    `status` is what the status line shows; `poll_s` how often the store is read without a
    notification; `backoff` makes the waits between attempts to reach it; `now_ms` (epoch ms)
    dates the failures' window.
    """

    def __init__(
        self,
        location: StoreLocation,
        store: MonitorStore,
        status: TeamStatus,
        ui: UiPreferences,
        *,
        poll_s: float = POLL_S,
        backoff: Callable[[], Backoff] = Backoff,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self._location = location
        self._store = store
        self._status = status
        self._max_builds = ui.history_max_builds
        self._max_age_ms = ui.history_max_age_days * 86_400_000
        self._poll_s = poll_s
        self._backoff = backoff
        self._now_ms = now_ms
        # psycopg takes a good part of a second to import on a busy machine: made at start, the
        # feed has it imported while the screen is being set up, not after.
        threading.Thread(target=import_module, args=("psycopg",), name="import-psycopg",
                         daemon=True).start()

    async def run(self) -> None:
        """Load, then follow, until cancelled: a store that cannot be reached is retried."""
        cursor = await self._load()
        follower = StoreFollower(
            self._location, cursor, poll_s=self._poll_s, backoff=self._backoff,
            on_retry=self._retrying, on_read=lambda: self._reachable(follower),
        )
        async for changes in follower.changes():
            self._apply(changes)
            await asyncio.sleep(0)

    async def _load(self) -> int:
        """Read the recent rows (tried until the store answers); returns the change number
        they are as of. It is taken before them: a change made meanwhile is read again, and
        the monitor's store drops what it already holds."""
        from buildwatch.core.teamstore.store import TeamStore

        backoff = self._backoff()
        while True:
            try:
                reader = await asyncio.to_thread(TeamStore.connect, self._location,
                                                 read_only=True)
                try:
                    return await self._read_recent(reader)
                finally:
                    reader.close()
            except BuildwatchError as error:
                delay = backoff.next_delay()
                self._retrying(str(error), delay, backoff.attempt)
                await asyncio.sleep(delay)

    async def _read_recent(self, reader: TeamStore) -> int:
        status = self._status
        cursor, heartbeat = await asyncio.to_thread(
            lambda: (reader.change_cursor(), reader.heartbeat())
        )
        status.beat_ms = heartbeat.beat_ms if heartbeat is not None else None
        self._mark_live()
        status.loading = True
        try:
            await load_stored(reader, self._store, self._max_builds)
            since_ms = self._now_ms() - self._max_age_ms
            await self._store.failures.load_from(lambda: reader.triage_runs(since_ms))
        finally:
            status.loading = False
        return cursor

    def _apply(self, changes: TeamChanges) -> None:
        """Put what the collector committed in the monitor's store, as a live feed would."""
        store = self._store
        if changes.builds:
            stored = pairs(changes.builds)
            store.add_builds([build for build, _ in stored if build.build_id not in store.builds])
            for _, summary in stored:
                if summary is not None:
                    store.enrich(summary)
        if changes.invocations:
            store.upsert_invocations(changes.invocations)
        if changes.triage:
            store.failures.record(changes.triage)

    def _reachable(self, follower: StoreFollower) -> None:
        heartbeat = follower.heartbeat
        self._status.beat_ms = heartbeat.beat_ms if heartbeat is not None else None
        self._mark_live()

    def _mark_live(self) -> None:
        status = self._status
        status.state, status.detail, status.retry_at = "live", "", None
        for source in _SOURCES:
            self._store.mark_live(source)

    def _retrying(self, cause: str, delay_s: float, attempt: int) -> None:
        status = self._status
        status.state, status.detail = "reconnecting", cause
        status.retry_at = self._store.clock() + delay_s
        for source in _SOURCES:
            # The panes keep their rows: what they show is what the store held.
            self._store.retrying(source, UNREACHABLE, delay_s, attempt)
