"""The builds the simulated Develocity server has published, in publication order."""

from __future__ import annotations

import asyncio
import bisect
import random
import time

from buildwatch.sim.context import SimContext
from buildwatch.sim.develocity_data import plan_build
from buildwatch.sim.develocity_model import BuildSummary
from buildwatch.sim.triage import TriageScenario

BACKFILL_SPAN_MS = 3 * 60 * 60 * 1000
"""Builds published before the simulator started are spread over this long before it."""


class BuildCatalog:
    """Published builds, their ids and times, and a way to wait for the next one."""

    def __init__(self, ctx: SimContext) -> None:
        self._ctx = ctx
        self.builds: list[BuildSummary] = []
        self._index_of: dict[str, int] = {}
        self._timestamps: list[int] = []
        self._ready_at: list[float] = []
        self._arrival = asyncio.Event()
        self._triage = (
            TriageScenario(ctx.world, ctx.config.builds) if ctx.config.world == "triage" else None
        )

    def backfill(self, count: int) -> None:
        """Publish `count` builds spread over the three hours before now, ready at once.

        A `huge_build_events` build, if configured, comes last, published now.
        """
        now = self._ctx.now_ms()
        rng = random.Random(f"develocity-times:{self._ctx.config.seed}")
        offsets = sorted(rng.randrange(BACKFILL_SPAN_MS) for _ in range(count))
        for offset in offsets:
            self._add(now - BACKFILL_SPAN_MS + offset, ready_at=0.0)
        if self._ctx.config.huge_build_events:
            self._add(now, ready_at=0.0, events=self._ctx.config.huge_build_events)

    def publish(self, count: int) -> list[str]:
        """Publish `count` builds now; their events answer 503 for `not_ready_s`."""
        ready_at = time.monotonic() + self._ctx.config.not_ready_s
        ids = [self._add(self._ctx.now_ms(), ready_at).build_id for _ in range(count)]
        if ids:
            self._arrival.set()
            self._arrival = asyncio.Event()
        return ids

    def find(self, build_id: str) -> BuildSummary | None:
        """The build with this id, if it was published."""
        index = self._index_of.get(build_id)
        return None if index is None else self.builds[index]

    def first_at_or_after(self, timestamp: int) -> int:
        """Position of the first build published at or after `timestamp` (epoch ms)."""
        return bisect.bisect_left(self._timestamps, timestamp)

    def is_ready(self, summary: BuildSummary) -> bool:
        """Whether the build's events can be read yet (just-published builds are still stored)."""
        return time.monotonic() >= self._ready_at[summary.index]

    async def wait_for_more_than(self, count: int, timeout: float) -> bool:
        """Wait up to `timeout` s until more than `count` builds exist; True if there are."""
        arrival = self._arrival
        if len(self.builds) > count:
            return True
        try:
            async with asyncio.timeout(timeout):
                await arrival.wait()
        except TimeoutError:
            return False
        return len(self.builds) > count

    def _add(self, timestamp: int, ready_at: float, events: int = 0) -> BuildSummary:
        # Publication times never go backwards, whatever the clock does.
        if self._timestamps:
            timestamp = max(timestamp, self._timestamps[-1] + 1)
        exotic = self._ctx.should(self._ctx.faults.unknown)
        if self._triage is not None and not events:
            summary = self._triage.plan_build(len(self.builds), timestamp, exotic=exotic)
        else:
            summary = plan_build(self._ctx.world, len(self.builds), timestamp, exotic=exotic,
                                 events=events)
        self.builds.append(summary)
        self._index_of[summary.build_id] = summary.index
        self._timestamps.append(timestamp)
        self._ready_at.append(ready_at)
        return summary
