"""Following a team store's changes, as every viewer does: no listing stream of its own.

One connection LISTENs on the event loop (`listen.listening`) and one reads the changes
(`TeamStore.changes_since`, an indexed range read from a change number): each notification wakes
the reader, which reads until nothing is left. It also reads every `poll_s` without one, and the
collector's heartbeat with it, so a notification lost with a dropped connection delays a change
by `poll_s` at most. A store that cannot be reached is tried again with a growing backoff, from
the change number reached: nothing is missed and nothing comes twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from buildwatch.core.backoff import Backoff
from buildwatch.core.errors import BuildwatchError
from buildwatch.core.history.store import HistoryError
from buildwatch.core.teamstore.location import StoreLocation

if TYPE_CHECKING:
    from buildwatch.core.teamstore.store import Heartbeat, TeamChanges, TeamStore

POLL_S = 5.0
"""How often the store is read without a notification, and the heartbeat at most."""
READ_LIMIT = 5_000
"""Rows of each kind a read asks for: a read that got fewer has left none behind."""


class StoreFollower:
    """The changes of the store at `location` after change number `cursor`, for as long as
    `changes()` is iterated.

    `on_retry(cause, delay_s, attempt)` is told each failed attempt; `on_read()` each time the
    store answered (the heartbeat is read then, in `heartbeat`).
    """

    def __init__(
        self,
        location: StoreLocation,
        cursor: int,
        *,
        poll_s: float = POLL_S,
        backoff: Callable[[], Backoff] = Backoff,
        on_retry: Callable[[str, float, int], None] | None = None,
        on_read: Callable[[], None] | None = None,
    ) -> None:
        self.location = location
        self.cursor = cursor
        """The change number reached: the next read starts after it."""
        self.heartbeat: Heartbeat | None = None
        """The collector's newest heartbeat, as of the last read."""
        self._poll_s = poll_s
        self._backoff = backoff
        self._on_retry = on_retry
        self._on_read = on_read

    async def changes(self) -> AsyncIterator[TeamChanges]:
        """Each read that found something, in change order; never ends by itself."""
        backoff = self._backoff()
        while True:
            try:
                async for changes in self._connected(backoff):
                    yield changes
            except BuildwatchError as error:
                delay = backoff.next_delay()
                if self._on_retry is not None:
                    self._on_retry(str(error), delay, backoff.attempt)
                await asyncio.sleep(delay)

    async def _connected(self, backoff: Backoff) -> AsyncIterator[TeamChanges]:
        """Changes over one connection, until it fails (`HistoryError`)."""
        from buildwatch.core.teamstore.listen import listening
        from buildwatch.core.teamstore.store import TeamStore

        reader = await asyncio.to_thread(TeamStore.connect, self.location, read_only=True)
        try:
            async with listening(self.location) as notifications:
                wake = asyncio.Event()
                listener = asyncio.create_task(_wake_on(notifications, wake))
                beat_read_at = -self._poll_s
                try:
                    while True:
                        # Cleared before reading: a notification during the read reads again.
                        wake.clear()
                        if listener.done():
                            listener.result()
                        # One query per notification: with many viewers, the heartbeat (which
                        # changes every few seconds) is read at the poll's pace, not at each.
                        if time.monotonic() - beat_read_at >= self._poll_s:
                            self.heartbeat = await asyncio.to_thread(reader.heartbeat)
                            beat_read_at = time.monotonic()
                        backoff.reset()
                        if self._on_read is not None:
                            self._on_read()
                        async for changes in _unread(reader, self):
                            yield changes
                        # asyncio.timeout, not wait_for: on Python 3.11, wait_for loses a
                        # cancellation (Ctrl-C) that lands as the event is set.
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(self._poll_s):
                                await wake.wait()
                finally:
                    listener.cancel()
                    with contextlib.suppress(asyncio.CancelledError, BuildwatchError):
                        await listener
        finally:
            reader.close()


async def _unread(reader: TeamStore, follower: StoreFollower) -> AsyncIterator[TeamChanges]:
    """The changes after the follower's cursor, read until none is left, the cursor moved on
    after each read."""
    while True:
        changes = await asyncio.to_thread(reader.changes_since, follower.cursor, READ_LIMIT)
        follower.cursor = changes.cursor
        rows = (len(changes.builds), len(changes.invocations), len(changes.triage))
        if any(rows):
            yield changes
        if max(rows) < READ_LIMIT:
            return


async def _wake_on(notifications: AsyncIterator[None], wake: asyncio.Event) -> None:
    """Set `wake` at each notification; raises `HistoryError` when they stop."""
    try:
        async for _ in notifications:
            wake.set()
    finally:
        # The reader waiting for a notification learns at once that there will be none.
        wake.set()
    raise HistoryError("the store stopped sending notifications")
