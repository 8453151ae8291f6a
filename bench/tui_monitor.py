"""The live monitor with 100,000 builds from the simulator: key-to-screen latency, memory, live feed.

Targets (the monitor issue): with 100,000 builds loaded, median key-to-screen latency for cursor
moves and filtering at most 100 ms and RSS at most 400 MB; with 200 builds a second arriving,
p95 from message to screen at most 250 ms. The same steps on 1,000 builds, in the same run, are
the baseline each figure is printed against.

The simulator runs as a separate process (`buildwatch sim`), so its memory and CPU are not the
app's. The app runs headless at 160x48 with the real feeds: the listing stream, the enrichment
pool and the BuildBuddy poller. "Screen" is the moment the app hands a frame to its driver.
"Message" is the time Develocity says it received the build (the simulator's publish time).

    python bench/tui_monitor.py [--builds 100000] [--baseline 1000] [--live-seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from tui_harness import FrameClock, median, percentile, report, rss_mb

from buildwatch.cli.tui import simulator_settings
from buildwatch.tui.app import BuildwatchApp
from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.table_model import TableRow

SIZE = (160, 48)
CURSOR_MOVES = 40
FILTER_KEYS = ["slash", "f", "a", "i", "l", "backspace", "backspace", "backspace", "backspace"]
PUBLISH_EVERY_S = 0.1
PER_PUBLISH = 20  # 200 builds a second


@dataclass
class Figures:
    """What one run measured."""

    load_s: float
    cursor_ms: float
    filter_ms: float
    rss_mb: float
    live_p95_ms: float
    live_median_ms: float
    live_rows: int


class Simulator:
    """`buildwatch sim` in a child process."""

    def __init__(self, builds: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "buildwatch", "sim", "--builds", str(builds)],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if match is None:
            self.process.kill()
            raise SystemExit(f"the simulator did not start: {line!r}")
        self.url = match.group(1)

    def publish(self, count: int) -> None:
        request = urllib.request.Request(f"{self.url}/_sim/publish?count={count}", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


async def wait_until(condition: Any, timeout: float) -> None:
    deadline = perf_counter() + timeout
    while not condition():
        if perf_counter() > deadline:
            raise SystemExit("timed out waiting for the app")
        await asyncio.sleep(0.05)


async def timed_keys(pilot: Any, clock: FrameClock, keys: list[str]) -> list[float]:
    """Milliseconds from each key press to the frame that shows its effect."""
    latencies = []
    for key in keys:
        start = perf_counter()
        await pilot.press(key)
        latencies.append(await clock.frame_after(start) * 1000)
        await pilot.pause(0.05)
    return latencies


def record_upserts(table: LiveTable, shown: dict[str, float]) -> None:
    """Note when each row first goes into the table."""
    upsert = table.upsert_rows

    def recording(rows: Any, *, highlight: bool = True) -> None:
        batch: list[TableRow] = list(rows)
        upsert(batch, highlight=highlight)
        now = perf_counter()
        for row in batch:
            shown.setdefault(row.key, now)

    table.upsert_rows = recording  # type: ignore[method-assign]


async def measure(builds: int, live_seconds: float) -> Figures:
    """Load `builds`, press keys, then feed 200 builds a second for `live_seconds`."""
    simulator = Simulator(builds)
    try:
        app = BuildwatchApp(simulator_settings(simulator.url, "sim-token", "sim-api-key"))
        async with app.run_test(size=SIZE) as pilot:
            clock = FrameClock(app)
            table = app.screen.query_one("#builds", LiveTable)
            started = perf_counter()
            await wait_until(lambda: table.total_row_count >= builds, timeout=900)
            load_s = perf_counter() - started
            await pilot.pause(0.5)
            await pilot.press("f")  # follow is on; pause so cursor moves stay where they are
            cursor = await timed_keys(pilot, clock, ["j"] * CURSOR_MOVES)
            filtering = await timed_keys(pilot, clock, FILTER_KEYS)
            await pilot.press("escape", "g")
            memory = rss_mb()

            shown: dict[str, float] = {}
            loaded = set(app.store.builds)
            record_upserts(table, shown)
            stop = threading.Event()

            def publish() -> None:
                while not stop.wait(PUBLISH_EVERY_S):
                    simulator.publish(PER_PUBLISH)

            publisher = threading.Thread(target=publish, daemon=True)
            publisher.start()
            await asyncio.sleep(live_seconds)
            stop.set()
            publisher.join()
            await pilot.pause(1.0)
            wall_minus_perf = time.time() - perf_counter()
            latencies = []
            for key, upserted in shown.items():
                entry = app.store.builds.get(key)
                if key in loaded or entry is None or entry.published_ms is None:
                    continue
                frame = upserted + await clock.frame_after(upserted)
                latencies.append((frame + wall_minus_perf) * 1000 - entry.published_ms)
            await pilot.press("q")
    finally:
        simulator.stop()
    return Figures(load_s, median(cursor), median(filtering), memory,
                   percentile(latencies, 0.95), median(latencies), len(latencies))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--live-seconds", type=float, default=10.0)
    args = parser.parse_args()
    base = asyncio.run(measure(args.baseline, args.live_seconds))
    big = asyncio.run(measure(args.builds, args.live_seconds))
    print(f"{args.builds:,} builds against a {args.baseline:,}-build baseline, {SIZE[0]}x{SIZE[1]}")
    report("load from the simulator", big.load_s, base.load_s, "s")
    report("cursor move, median key to screen", big.cursor_ms, base.cursor_ms, "ms", "<= 100 ms")
    report("filter keystroke, median key to screen", big.filter_ms, base.filter_ms, "ms",
           "<= 100 ms")
    report("RSS after loading", big.rss_mb, base.rss_mb, "MB", "<= 400 MB")
    report(f"200/s live: p95 message to screen ({big.live_rows} rows)", big.live_p95_ms,
           base.live_p95_ms, "ms", "<= 250 ms")
    report("200/s live: median message to screen", big.live_median_ms, base.live_median_ms, "ms")


if __name__ == "__main__":
    main()
