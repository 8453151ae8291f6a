"""What a saved view's own columns cost with 100,000 builds: its rows, and picking it.

Rows: making the builds pane's rows (`build_row`) and putting them in its table
(`TableModel.upsert`) for 100,000 builds (`history_load.build`), with the columns a profile's
views add beyond the usual ones (`value:Git commit id`, `commit`, `value:CI job`), against the
usual columns alone, which is all a profile whose views name no other column pays. CPU times,
medians over `--runs`.

Picking a view, through the app (headless and offline on a history of the builds,
`offline_app.py`): from its number key to the first frame showing its columns in its
order (`duration desc`), against picking back the view that shows every build in the usual
columns, newest first. Wall times, medians over `--runs`.

    python bench/view_columns.py [--builds 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

from history_app import send_key
from history_load import START_MS, build, record
from offline_app import SIZE, TIMEOUT_S, history_directory, loaded, offline_app, preferences
from tui_harness import FrameClock, median, report

from buildwatch.core.config import View
from buildwatch.core.monitor.store import BuildEntry
from buildwatch.tui.app import BuildwatchApp
from buildwatch.tui.pane_views import pane_views
from buildwatch.tui.rows import build_row
from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.table_model import TableModel

ALL = View(name="All")
COLUMNS = View(name="Commits", sort="duration desc",
               columns=("outcome", "id", "project", "value:Git commit id", "commit",
                        "value:CI job", "branch", "duration"))


def rows_seconds(entries: list[BuildEntry], views: tuple[View, ...], now_ms: int) -> float:
    """CPU seconds to make the rows of `entries` for a pane with `views`, and fill its table."""
    pane = pane_views("builds", views)
    started = process_time()
    table = TableModel(pane.columns)
    table.upsert((build_row(entry, now_ms, None, extras=pane.extras) for entry in entries), now=0.0)
    return process_time() - started


def measure_rows(builds: int, runs: int) -> None:
    """Time the rows with the usual columns, then with a view's own."""
    entries = []
    for number in range(builds):
        listed, summary = build(number)
        entries.append(BuildEntry(listed.build_id, listed.tool_type, listed.tool_version,
                                  listed.timestamp, summary))
    now_ms = START_MS + builds * 1_000
    usual = median([rows_seconds(entries, (ALL,), now_ms) for _ in range(runs)])
    extra = median([rows_seconds(entries, (ALL, COLUMNS), now_ms) for _ in range(runs)])
    report(f"{builds:,} rows, usual columns (ms)", usual * 1e3, usual * 1e3, "ms")
    report(f"{builds:,} rows, 3 columns more (ms)", extra * 1e3, usual * 1e3, "ms")


def shown_by(app: BuildwatchApp) -> Any:
    """What a frame shows: the builds pane's columns and sort."""

    def probe() -> tuple[tuple[str, ...], str | None]:
        table = app.screen.query_one("#builds", LiveTable)
        return table.shown_columns, table.sort_column

    return probe


async def measure_picking(history: Path, builds: int, runs: int) -> None:
    """Start the app on `history`, then time picking each view."""
    app = offline_app(history, preferences(views=(ALL, COLUMNS)))
    clock = FrameClock(app, shown_by(app))
    started = perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#builds", LiveTable)
        await loaded(pilot, lambda: table.total_row_count >= builds and not app.store.has_changes,
                     "the history", started)

        async def picked(key: str, sort: str) -> float:
            started = perf_counter()
            send_key(app, key)
            return await clock.frame_showing(started, lambda shown: shown[1] == sort, TIMEOUT_S)

        own, usual = [], []
        for _ in range(runs):
            own.append(await picked("2", "duration"))
            usual.append(await picked("1", "published"))
        report("pick the view with its own columns (ms)", median(own) * 1e3,
               median(usual) * 1e3, "ms")


def main() -> None:
    """Time the rows, then fill a history and time picking the views."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    measure_rows(args.builds, args.runs)
    with history_directory() as history:
        record(history, 0, args.builds)
        asyncio.run(measure_picking(history, args.builds, args.runs))


if __name__ == "__main__":
    main()
