"""Background work in slices of a few milliseconds, standing aside while a key is answered.

The screen, the feeds and the enrichment pool share one event loop. A backfill hands them work
in lumps (a listing batch holds thousands of builds, a flush as many rows): done in one go, a
lump holds every key pressed meanwhile until it is through. Done a slice at a time
(`TimeBudget`), a key waits for one slice at most. But a key takes several turns of the loop to
reach the screen (the app takes it, the table moves, the screen draws a frame), and with slices
ready all the time each turn waits behind them; so for a moment after each key (`InputGate`)
no new slice starts and the key's turns come one after the other.

The summary pass is the heaviest background work: a read is a request, a response and its
events, none of which can be sliced. While the screen is behind by a backlog of rows (`Backlog`:
a backfill or a catch-up, which the listing delivers in seconds and the screen shows a slice a
frame), one reader summarises and the others wait, so that the rows reach the screen first and
the keys meet one read in flight instead of several.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

SLICE_S = 0.008
"""How long background work runs before it gives the event loop back: well under a frame."""
BACKLOG_ROWS = 1_000
"""Rows queued for the screen from which it is behind by a backlog (a backfill, a catch-up),
not by live builds: a busy server publishes a few a second, a flush shows hundreds."""
BACKLOG_POLL_S = 0.25
"""How often a waiting summary reader looks again."""
STAND_ASIDE_S = 0.05
"""How long background work waits after a key: the key's frame is due within a frame's time
(1/60 s) and takes a few milliseconds more to draw."""


class InputGate:
    """Closed for `stand_aside_s` after each key the user presses; background work waits for it
    to open before it starts a slice."""

    def __init__(self, stand_aside_s: float = STAND_ASIDE_S,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self._stand_aside_s = stand_aside_s
        self._clock = clock
        self._closed_until = 0.0
        self._last_key = -math.inf

    def key_pressed(self) -> None:
        """A key arrived: close the gate for a while."""
        self._last_key = self._clock()
        self.close_for(self._stand_aside_s)

    @property
    def idle_s(self) -> float:
        """Seconds since the last key (infinite before the first)."""
        return self._clock() - self._last_key

    def close_for(self, seconds: float) -> None:
        """Keep the gate closed for `seconds` from now at least (the collector holds its feeds
        this way while its store falls behind)."""
        self._closed_until = max(self._closed_until, self._clock() + seconds)

    @property
    def closed_for(self) -> float:
        """Seconds until the gate opens (0 when open)."""
        return max(0.0, self._closed_until - self._clock())

    async def wait_open(self) -> None:
        """Return once the gate is open (a key pressed meanwhile keeps it closed longer)."""
        while (left := self.closed_for) > 0:
            await asyncio.sleep(left)


class TimeBudget:
    """A span of `budget_s` seconds of `clock`, started again at each `restart()`."""

    def __init__(self, gate: InputGate, budget_s: float = SLICE_S,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.gate = gate
        self.budget_s = budget_s
        self._clock = clock
        self._started = clock()

    def restart(self) -> None:
        """Start a new span now."""
        self._started = self._clock()

    @property
    def spent(self) -> bool:
        """Whether the span is over, or a key asks the background to stand aside."""
        return self._clock() - self._started >= self.budget_s or self.gate.closed_for > 0

    async def pause_if_spent(self) -> None:
        """Give the event loop back once the span is over, wait for the gate to open, and start
        a new span."""
        if self.spent:
            await asyncio.sleep(0)
            await self.gate.wait_open()
            self.restart()


class Backlog:
    """The rows the screen has still to show, as it last said (`waiting`). While they are at
    least `threshold`, summary readers beyond the first wait (`wait_drained`). Nothing says
    so without a screen (a collector), so there every reader reads."""

    def __init__(self, threshold: int = BACKLOG_ROWS, poll_s: float = BACKLOG_POLL_S) -> None:
        self._threshold = threshold
        self._poll_s = poll_s
        self._rows = 0

    def waiting(self, rows: int) -> None:
        """The screen has `rows` rows queued that it has not shown yet."""
        self._rows = rows

    @property
    def flowing(self) -> bool:
        """Whether the screen is behind by a backlog."""
        return self._rows >= self._threshold

    async def wait_drained(self) -> None:
        """Return once the screen has caught up with the backlog."""
        while self.flowing:
            await asyncio.sleep(self._poll_s)
