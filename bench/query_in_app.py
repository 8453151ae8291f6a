"""How long the main screen's filter takes to show a query's result, through the app.

Target (the views issue): with 100,000 builds, applying a query in the app takes at most
150 ms. The app runs headless and offline on a history of the builds with their summaries
(`history_load.record`), so nothing else feeds it. Once every build is in the table, each query
is put in the filter line whole (as a paste does: the filter applies as it is typed, so Enter
has nothing left to do) and timed to the first frame whose builds pane holds its result. The
baseline, in the same run, is a bare word, the filter as it was before fields existed. Wall
times, medians over `--runs`; between two runs the filter is cleared and the full table shown.

    python bench/query_in_app.py [--builds 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any

from history_app import send_key
from history_load import record
from query_apply import QUERIES
from triage_failures import URL
from tui_harness import FrameClock, median, report

from buildwatch.cli.tui import simulator_settings
from buildwatch.core.config import Profile, UiPreferences
from buildwatch.core.history.location import history_path
from buildwatch.tui.app import BuildwatchApp
from buildwatch.tui.widgets.live_table import LiveTable

SIZE = (160, 48)
PREFERENCES = UiPreferences(notify=(), history_max_age_days=100_000, me=["user7", "user8"])
"""The builds are dated in the past: retention must keep them."""
TIMEOUT_S = 300.0


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
    settings = dataclasses.replace(
        simulator_settings(URL, "unused", "unused"), history=history, offline=True,
        profile=Profile(name="bench", ui=PREFERENCES),
    )
    app = BuildwatchApp(settings)
    clock = FrameClock(app, shown_by(app))
    started = perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#builds", LiveTable)
        while table.total_row_count < builds or app.store.has_changes:
            await pilot.pause(0.05)
            if perf_counter() - started > TIMEOUT_S:
                raise SystemExit("the history never loaded whole")
        print(f"{builds:,} builds in the table {perf_counter() - started:.1f} s after the start")
        send_key(app, "slash")
        await pilot.pause()

        async def timed(text: str) -> tuple[float, int]:
            times, shown = [], 0
            for _ in range(runs):
                await applied(app, clock, "")
                seconds, shown = await applied(app, clock, text)
                times.append(seconds)
            return median(times), shown

        baseline, _ = await timed(QUERIES[0])
        for text in QUERIES:
            seconds, shown = await timed(text)
            report(f"{text!r}: {shown:,} shown (ms)", seconds * 1e3, baseline * 1e3, "ms",
                   "<= 150 ms")


def main() -> None:
    """Fill a history, then time the queries."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        os.environ["BUILDWATCH_STATE_DIR"] = directory
        record(history_path(URL), 0, args.builds)
        asyncio.run(measure(history_path(URL), args.builds, args.runs))


if __name__ == "__main__":
    main()
