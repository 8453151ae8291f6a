"""What the TUI benchmarks share: a clock on a headless app's screen updates, and memory figures."""

from __future__ import annotations

import asyncio
import bisect
import gc
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any

from textual.app import App

if TYPE_CHECKING:
    from buildwatch.tui.widgets.log_view import LogView


class FrameClock:
    """Records when a headless app hands a rendered frame to its driver.

    Headless apps still composite every update; only the write to the terminal is skipped, so the
    time of that hand-over is the time the change would have reached the screen. `probe`, if
    given, is read at each frame, so a wait can ask for the first frame showing some state.
    """

    def __init__(self, app: App[Any], probe: Callable[[], object] = lambda: None) -> None:
        self.frames: list[float] = []
        self.shown: list[object] = []
        self._new_frame = asyncio.Event()
        display = app._display

        def timed_display(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if renderable is not None:
                self.frames.append(perf_counter())
                self.shown.append(probe())
                self._new_frame.set()

        app._display = timed_display  # type: ignore[method-assign]

    async def frame_after(self, start: float, timeout: float = 30.0) -> float:
        """Seconds from `start` to the first frame after it."""
        return await self.frame_showing(start, lambda _: True, timeout)

    async def frame_showing(
        self, start: float, wanted: Callable[[Any], bool], timeout: float = 30.0
    ) -> float:
        """Seconds from `start` to the first frame after it whose probe value is `wanted`."""
        deadline = perf_counter() + timeout
        checked = bisect.bisect_left(self.frames, start)
        while True:
            for index in range(checked, len(self.frames)):
                if wanted(self.shown[index]):
                    return self.frames[index] - start
            checked = len(self.frames)
            self._new_frame.clear()
            await asyncio.wait_for(self._new_frame.wait(), max(0.0, deadline - perf_counter()))


def rss_mb() -> float:
    """This process's resident memory now, in MiB."""
    gc.collect()
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    """The median of `values`."""
    return statistics.median(values)


def report(name: str, value: float, baseline: float, unit: str, target: str = "") -> None:
    """Print one figure beside its same-run baseline and their ratio."""
    ratio = value / baseline if baseline else float("inf")
    suffix = f"   target {target}" if target else ""
    print(f"{name:<44} {value:10.1f} {unit:<3} baseline {baseline:8.1f} {unit:<3}"
          f" x{ratio:6.1f}{suffix}")


@dataclass(frozen=True)
class Searches:
    """Two timed searches of a loaded log, for a rare text and a common one, and what the view
    holds for its text and index afterwards."""

    rare: str
    rare_s: float
    rare_matches: int
    common: str
    common_s: float
    common_matches: int
    held_mb: float


def time_searches(view: LogView, rare: str, common: str) -> Searches:
    """Search `view` for `rare`, then for `common`, timing each."""
    began = perf_counter()
    rare_matches = view.search(rare)
    rare_s = perf_counter() - began
    began = perf_counter()
    common_matches = view.search(common)
    common_s = perf_counter() - began
    return Searches(rare, rare_s, rare_matches, common, common_s, common_matches,
                    view.text_bytes / 2**20)


def report_searches(big: Searches, base: Searches, held_target: str = "") -> None:
    """Print both searches and the memory held, against the baseline's."""
    report(f"search {big.rare!r}, {big.rare_matches} match(es) (ms)", big.rare_s * 1e3,
           base.rare_s * 1e3, "ms", "<= 1000 ms")
    report(f"search {big.common!r}, {big.common_matches} matches (ms)", big.common_s * 1e3,
           base.common_s * 1e3, "ms", "<= 1000 ms")
    report("text and index held (MiB)", big.held_mb, base.held_mb, "MiB", held_target)
