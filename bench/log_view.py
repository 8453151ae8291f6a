"""How fast `LogView` shows, indexes and searches a large ANSI-coloured log, and what it holds.

Targets: a 100 MB log shows its first screen in at most 1 s and is searched in at most 1 s; it
holds at most about twice its size. Baseline in the same run: the same steps on a 1 MB log.

    python bench/log_view.py [--megabytes 100]
"""

from __future__ import annotations

import argparse
import asyncio
import random
from dataclasses import dataclass
from time import perf_counter

from textual.app import App, ComposeResult
from tui_harness import FrameClock, Searches, report, report_searches, rss_mb, time_searches

from buildwatch.tui.widgets import LogView

RARE = "Thing4242.java"
LEVELS = ["\x1b[32mINFO\x1b[0m", "\x1b[33mWARN\x1b[0m", "\x1b[2mDEBUG\x1b[0m"]
COMMON = "error"


def coloured_log(size: int) -> str:
    """A Gradle-like log with three or four colour sequences a line and an error now and then."""
    rng = random.Random(7)
    parts, total, line = [], 0, 0
    while total < size:
        line += 1
        level = "\x1b[1;31mERROR\x1b[0m" if rng.random() < 0.002 else rng.choice(LEVELS)
        text = (f"2026-05-01T12:{line // 3600 % 60:02d}:{line % 60:02d}.{line % 1000:03d} {level} "
                f"\x1b[36m[:module{line % 97}:compileJava]\x1b[0m Compiling "
                f"src/main/java/com/example/pkg{line % 13}/Thing{line}.java\n")
        parts.append(text)
        total += len(text)
    return "".join(parts)


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield LogView()


@dataclass
class Figures:
    first_screen_s: float
    indexed_s: float
    searches: Searches
    rss_growth_mb: float


async def measure(size: int) -> Figures:
    """Load a log of `size` bytes into a fresh app and time each step."""
    rss_before = rss_mb()
    text = coloured_log(size)
    app = LogApp()
    async with app.run_test(size=(160, 48)) as pilot:
        view = app.query_one(LogView)
        clock = FrameClock(app)
        await pilot.pause()
        start = perf_counter()
        view.append(text)
        first_screen = await clock.frame_after(start)
        del text
        while view.has_pending_text:
            await asyncio.sleep(0.005)
        indexed = perf_counter() - start
        searches = time_searches(view, RARE, COMMON)
        rss_growth = rss_mb() - rss_before
    return Figures(first_screen, indexed, searches, rss_growth)


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    megabytes = parser.parse_args().megabytes
    base = asyncio.run(measure(2**20))
    big = asyncio.run(measure(megabytes * 2**20))
    print(f"LogView, {megabytes} MiB ANSI-coloured log against 1 MiB (same run)")
    report("first screen after append (ms)", big.first_screen_s * 1e3,
           base.first_screen_s * 1e3, "ms", "<= 1000 ms")
    report("whole log indexed (ms)", big.indexed_s * 1e3, base.indexed_s * 1e3, "ms")
    report_searches(big.searches, base.searches, f"<= {2 * megabytes} MiB")
    report("RSS growth (MiB)", big.rss_growth_mb, base.rss_growth_mb, "MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
