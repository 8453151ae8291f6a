"""How long the main screen's filter takes to show a query's result, through the app.

Target (the views issue): with 100,000 builds, applying a query in the app takes at most
150 ms. The app runs headless and offline on a history of the builds with their summaries
(`history_load.record`, the newest published now, so `published>-2h` holds for the last
7,200), so nothing else feeds it. Once every build is in the table, each query of
`query_apply.QUERIES` (one of each kind) is put in the filter line whole (as a paste does: the
filter applies as it is typed, so Enter has nothing left to do) and timed to the first frame
whose builds pane holds its result. Between two runs the filter is cleared, which shows every
build and tests none: that clearing, timed the same way, is the baseline, a frame's own cost.
Wall times, medians over `--runs`.

    python bench/query_in_app.py [--builds 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from time import perf_counter
from typing import Any

from history_app import send_key
from history_load import record
from offline_app import SIZE, TIMEOUT_S, history_directory, loaded, offline_app, preferences
from query_apply import ME, QUERIES
from tui_harness import FrameClock, median, report

from buildwatch.tui.app import BuildwatchApp
from buildwatch.tui.widgets.live_table import LiveTable


def shown_by(app: BuildwatchApp) -> Any:
    """What a frame shows: the builds pane's filter and how many rows pass it."""

    def probe() -> tuple[str, int]:
        table = app.screen.query_one("#builds", LiveTable)
        return table.filter_text, table.row_count

    return probe


async def applied(app: BuildwatchApp, clock: FrameClock, text: str) -> tuple[float, int]:
    """Seconds from `text` reaching the filter line to the first frame showing its result, and
    how many rows that frame shows."""
    field = app.screen.query_one("#filter")
    started = perf_counter()
    field.value = text  # type: ignore[attr-defined]
    seconds = await clock.frame_showing(started, lambda shown: shown[0] == text, TIMEOUT_S)
    return seconds, app.screen.query_one("#builds", LiveTable).row_count


async def measure(history: Path, builds: int, runs: int) -> None:
    """Start the app on `history`, then time each query."""
    app = offline_app(history, preferences(me=list(ME)))
    clock = FrameClock(app, shown_by(app))
    started = perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#builds", LiveTable)
        seconds = await loaded(
            pilot, lambda: table.total_row_count >= builds and not app.store.has_changes,
            "the history", started)
        print(f"{builds:,} builds in the table {seconds:.1f} s after the start")
        send_key(app, "slash")
        await pilot.pause()

        clearing: list[float] = []
        figures = []
        for kind, text in QUERIES:
            times, shown = [], 0
            for _ in range(runs):
                clearing.append((await applied(app, clock, ""))[0])
                seconds, shown = await applied(app, clock, text)
                times.append(seconds)
            figures.append((kind, text, shown, median(times)))
        baseline = median(clearing)
        for kind, text, shown, seconds in figures:
            report(f"{kind}, {text!r}: {shown:,} shown (ms)", seconds * 1e3, baseline * 1e3,
                   "ms", "<= 150 ms")


def main() -> None:
    """Fill a history, then time the queries."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with history_directory() as history:
        newest_ms = int(time.time() * 1000)
        record(history, 0, args.builds, start_ms=newest_ms - args.builds * 1_000)
        asyncio.run(measure(history, args.builds, args.runs))


if __name__ == "__main__":
    main()
