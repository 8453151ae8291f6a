"""The process's garbage-collector policy, all of it: nothing else in buildwatch calls `gc`.

A full collection walks every object the collector tracks: with 100,000 builds held (millions
of objects) that takes hundreds of milliseconds, at unpredictable times, and whichever thread
triggers it holds the interpreter meanwhile: the screen's too. Freezing what exists
(`gc.freeze`) moves it out of the collector's sight; objects are still freed by reference
counting as usual. Three moments call for it:

- a bulk load (`bulk_load`): the history's builds are read in a thread with automatic collection
  paused (each collection would re-scan everything read so far), then frozen;
- rows changing (`HeapSettler`): each time a few thousand rows have changed in a big store,
  what exists is collected once and frozen, which keeps every automatic collection small;
- a headless command about to stream (`freeze_startup`): what it allocated to start lives until
  it exits (`buildwatch events ID --json` on 200,000 events took 0.77 s with it frozen against
  0.94 s without, medians of 4 alternating runs).

What a freeze can keep alive is cyclic garbage that was live at the freeze and dropped after
it, so now and then (`RECLAIM_S`) everything is unfrozen and collected once. That one collection
walks the whole heap and holds the screen meanwhile (a key waited 1,026 ms for it 15 minutes
into bench/keys_during_backfill.py), so it waits for a moment without keys (`RECLAIM_IDLE_S`).

bench/gc_policy.py measures this policy against Python's defaults in the same run. Backfilling
100,000 builds (headless, 160x48, keys sent every 0.1 s), two runs on a busy machine measured,
frozen against defaults: collections on the screen's thread 7.4 s and 3.2 s in all against
16.6 s and 6.3 s, the longest 320 ms and 79 ms against 2,250 ms and 736 ms; key to frame 95th
percentile 810 ms and 161 ms against 2,140 ms and 243 ms; every row shown 15% sooner; the same
memory at the end (380 MiB).
"""

from __future__ import annotations

import contextlib
import gc
import math
import time
from collections.abc import Callable, Iterator

FREEZE_FROM = 5_000
"""Below this many rows a full collection is quick and freezing buys nothing."""
FREEZE_EVERY = 2_000
"""Row changes between freezes: what an automatic collection may have to walk."""
RECLAIM_S = 900.0
"""How often, at least, the frozen heap is collected once (see the module's docstring)."""
RECLAIM_IDLE_S = 2.0
"""How long no key must have been pressed before that collection runs: the user is reading,
not moving, and a frame late then goes unseen."""


class HeapSettler:
    """Decides when to freeze the heap, from the store's size and the rows changed."""

    def __init__(
        self,
        *,
        freeze_from: int = FREEZE_FROM,
        freeze_every: int = FREEZE_EVERY,
        reclaim_s: float = RECLAIM_S,
        reclaim_idle_s: float = RECLAIM_IDLE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._freeze_from = freeze_from
        self._freeze_every = freeze_every
        self._reclaim_s = reclaim_s
        self._reclaim_idle_s = reclaim_idle_s
        self._clock = clock
        self._pending = 0
        self._reclaimed_at = clock()

    def settle(self, rows: int, changed: int, *, idle_s: float = math.inf) -> bool:
        """Note `changed` rows in a store of `rows`; freeze when enough changed. True if it did.

        `idle_s`: how long ago the user last pressed a key; the occasional collection of the
        whole heap waits until that is long enough.
        """
        self._pending += changed
        if rows < self._freeze_from or self._pending < self._freeze_every:
            return False
        reclaim_due = self._clock() - self._reclaimed_at >= self._reclaim_s
        if reclaim_due and idle_s >= self._reclaim_idle_s:
            gc.unfreeze()
            self._reclaimed_at = self._clock()
        gc.collect()
        gc.freeze()
        self._pending = 0
        return True


@contextlib.contextmanager
def bulk_load() -> Iterator[None]:
    """Pause automatic collection while a bulk load runs (in any thread), then freeze what it
    loaded: resuming with it unfrozen would hand the next collection every object at once."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def freeze_startup() -> None:
    """Freeze what a command allocated to start (modules, classes, its settings), which lives
    until it exits, so that collections while it streams stop walking it again and again."""
    gc.freeze()
