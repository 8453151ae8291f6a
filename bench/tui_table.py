"""How `LiveTable` keeps up with 100,000 builds: key-to-screen latency, live-feed latency, memory.

Targets: with 100,000 rows, median key-to-screen latency for cursor moves and filtering at most
100 ms; with 200 rows a second arriving in batches every 200 ms, p95 from message to screen at
most 250 ms; RSS at most 400 MB for the whole app. Baseline in the same run: the same steps on a
1,000-row table.

    python bench/tui_table.py [--rows 100000] [--batches 30]
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
from time import perf_counter

from textual.app import App, ComposeResult
from textual.message import Message
from textual.widgets import Input
from tui_harness import FrameClock, median, percentile, report, rss_mb

from buildwatch.tui.widgets import Column, LiveTable, TableRow

COLUMNS = [
    Column("id", "Build", width=10),
    Column("project", "Project", share=2),
    Column("branch", "Branch", share=2),
    Column("user", "User", width=10),
    Column("status", "Status", width=9),
    Column("started", "Started", width=19),
    Column("duration", "Duration", width=9, align="right"),
    Column("host", "Host", share=1),
]
STATUSES = ["✓ passed", "✗ FAILED", "● running", "○ queued"]
BATCH_EVERY_S = 0.2
ROWS_PER_BATCH = 40  # 200 rows a second
FILTER_KEYS = ["f", "a", "i", "l", "backspace", "backspace", "backspace", "backspace"]


def build_row(number: int, status: int = 0) -> TableRow:
    """A row shaped like a build: eight short cells, sorting by number and seconds."""
    seconds = (number * 37) % 3600
    return TableRow(
        f"build-{number}",
        (f"{number:08x}", f"service-{number % 211}", f"feature/ticket-{number % 1009}",
         f"user{number % 97}", STATUSES[(number + status) % 4],
         f"2026-05-01 12:{number // 60 % 60:02d}:{number % 60:02d}",
         f"{seconds // 60}m{seconds % 60:02d}s",
         f"agent-{number % 53}.ci.example"),
        (number, number % 211, number % 1009, number % 97, (number + status) % 4, number, seconds,
         number % 53),
    )


class Batch(Message):
    """A batch of new and changed builds, as a store would post it."""

    def __init__(self, rows: list[TableRow]) -> None:
        super().__init__()
        self.rows = rows
        self.posted = perf_counter()


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter")
        yield LiveTable(COLUMNS)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one(LiveTable).set_filter(event.value)

    def on_batch(self, event: Batch) -> None:
        self.query_one(LiveTable).upsert_rows(event.rows)


@dataclass
class Figures:
    load_s: float = 0.0
    rss_mb: float = 0.0
    cursor_ms: list[float] = field(default_factory=list)
    filter_ms: list[float] = field(default_factory=list)
    sort_ms: list[float] = field(default_factory=list)
    reverse_ms: list[float] = field(default_factory=list)
    feed_ms: list[float] = field(default_factory=list)


async def timed_keys(pilot: object, clock: FrameClock, keys: list[str]) -> list[float]:
    """Milliseconds from each key press to the frame showing its effect."""
    times = []
    for key in keys:
        await pilot.pause()  # type: ignore[attr-defined]
        start = perf_counter()
        await pilot.press(key)  # type: ignore[attr-defined]
        times.append(await clock.frame_after(start) * 1e3)
    return times


async def measure(rows: int, batches: int) -> Figures:
    """Load `rows` builds into a fresh app, then drive it as a user and as a live feed would."""
    figures = Figures()
    app = TableApp()
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one(LiveTable)
        clock = FrameClock(app)
        await pilot.pause()
        start = perf_counter()
        table.upsert_rows((build_row(number) for number in range(rows)), highlight=False)
        figures.load_s = await clock.frame_after(start)
        figures.rss_mb = rss_mb()
        table.focus()
        figures.cursor_ms = await timed_keys(pilot, clock, ["j"] * 10 + ["pagedown"] * 5
                                             + ["k"] * 5)
        app.query_one(Input).focus()
        figures.filter_ms = await timed_keys(pilot, clock, FILTER_KEYS)
        table.focus()
        figures.sort_ms = await timed_keys(pilot, clock, ["greater_than_sign"] * 3)
        figures.reverse_ms = await timed_keys(pilot, clock, ["s"] * 3)
        table.sort_by(None)
        await pilot.press("g")
        await pilot.pause()
        for batch in range(batches):
            first = rows + batch * ROWS_PER_BATCH
            fresh = [build_row(number) for number in range(first, first + ROWS_PER_BATCH * 3 // 4)]
            changed = [build_row(number, status=batch + 1)
                       for number in range(first - ROWS_PER_BATCH // 4, first)]
            message = Batch(fresh + changed)
            app.post_message(message)
            figures.feed_ms.append(await clock.frame_after(message.posted) * 1e3)
            await asyncio.sleep(max(0.0, BATCH_EVERY_S - (perf_counter() - message.posted)))
    return figures


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=30)
    options = parser.parse_args()
    base = asyncio.run(measure(1_000, options.batches))
    big = asyncio.run(measure(options.rows, options.batches))
    print(f"LiveTable, {options.rows:,} rows against 1,000 rows (same run)")
    report("load all rows, to first frame (ms)", big.load_s * 1e3, base.load_s * 1e3, "ms")
    report("cursor key to screen, median (ms)", median(big.cursor_ms), median(base.cursor_ms),
           "ms", "<= 100 ms")
    report("filter key to screen, median (ms)", median(big.filter_ms), median(base.filter_ms),
           "ms", "<= 100 ms")
    report("filter key to screen, max (ms)", max(big.filter_ms), max(base.filter_ms), "ms")
    report("sort by next column, median (ms)", median(big.sort_ms), median(base.sort_ms), "ms")
    report("reverse sort, median (ms)", median(big.reverse_ms), median(base.reverse_ms), "ms")
    report("200 rows/s feed, message to screen p50 (ms)", median(big.feed_ms),
           median(base.feed_ms), "ms")
    report("200 rows/s feed, message to screen p95 (ms)", percentile(big.feed_ms, 0.95),
           percentile(base.feed_ms, 0.95), "ms", "<= 250 ms")
    report("RSS of the whole process (MiB)", big.rss_mb, base.rss_mb, "MiB", "<= 400 MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
