"""Keep Python's cycle collector from pausing the screen once 100,000 builds are held.

A full collection walks every object the collector tracks: with a large, long-lived store that
takes hundreds of milliseconds, at unpredictable times. Freezing what exists (`gc.freeze`) moves
it out of the collector's sight; objects are still freed by reference counting as usual. So the
screen freezes the heap each time a few thousand rows have changed, which keeps every automatic
collection small. What a freeze can keep alive is cyclic garbage that was live at the freeze and
dropped after it, so now and then (`RECLAIM_S`) everything is unfrozen and collected once.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

FREEZE_FROM = 5_000
"""Below this many rows a full collection is quick and freezing buys nothing."""
FREEZE_EVERY = 2_000
"""Row changes between freezes: what an automatic collection may have to walk."""
RECLAIM_S = 900.0


class HeapSettler:
    """Decides when to freeze the heap, from the store's size and the rows changed."""

    def __init__(
        self,
        *,
        freeze_from: int = FREEZE_FROM,
        freeze_every: int = FREEZE_EVERY,
        reclaim_s: float = RECLAIM_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._freeze_from = freeze_from
        self._freeze_every = freeze_every
        self._reclaim_s = reclaim_s
        self._clock = clock
        self._pending = 0
        self._reclaimed_at = clock()
        self.freezes = 0

    def settle(self, rows: int, changed: int) -> bool:
        """Note `changed` rows in a store of `rows`; freeze when enough changed. True if it did."""
        self._pending += changed
        if rows < self._freeze_from or self._pending < self._freeze_every:
            return False
        if self._clock() - self._reclaimed_at >= self._reclaim_s:
            gc.unfreeze()
            self._reclaimed_at = self._clock()
        gc.collect()
        gc.freeze()
        self._pending = 0
        self.freezes += 1
        return True
