"""Starting the app on a big local history, and on a night's catch-up, measured through the screen.

Targets (the local history issue), end to end through the real app: (a) with 100,000 builds and
their summaries stored, a usable screen in at most 2 s; (b) with 20,000 builds published on the
server while buildwatch was closed (the history's last build is before them, inside the catch-up
window, so the listing resumes with `sinceBuild`), a usable screen in at most 10 s, with at most
`DEFAULT_ENRICH_CONCURRENCY` build event requests under way at once on the server.

Figures, each timed from the app's construction: "usable", a frame showing builds in the table
followed by a frame showing the cursor moved by a `down` key sent after it; "newest on top", the
first frame with the newest build (stored, or published overnight) as the table's top row; and
when every build is in the store and in the table. While the rest loads (a) or catches up (b),
`down`/`up` are sent in turn and each key's round trip to the frame showing it is timed.
Baselines in the same run: (a) the same start on a history of one
screenful, and the bare SQL reads of the rows; (b) one plain GET of the simulator's
`sinceBuild` listing of the same builds. The simulator runs as a separate process, as in
`tui_monitor.py`; the most `/build/:id/events` requests it answered at once comes from its
`/_sim/in-flight` gauge.

    python bench/history_app.py [--builds 100000] [--catch-up 20000] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

import httpx
from history_load import record, timed_reads
from textual import events
from textual.css.query import NoMatches
from tui_harness import FrameClock, median
from tui_monitor import Simulator

from buildwatch.cli.tui import simulator_settings
from buildwatch.core.monitor.feeds import DEFAULT_ENRICH_CONCURRENCY
from buildwatch.core.monitor.history import FIRST_SCREENFUL
from buildwatch.sim import SimConfig, SimulatorThread
from buildwatch.tui.app import BuildwatchApp
from buildwatch.tui.screens.main import FLUSH_S
from buildwatch.tui.widgets.live_table import LiveTable

SIZE = (160, 48)
SEEN_BEFORE = 5
"""Builds the history holds from the evening before the catch-up (the first ones of the
simulator's seed, before its first big build, so recording them is quick)."""
EVENTS_ROUTE = "/build-export/v{version}/build/{build_id}/events"
KEY_EVERY_S = 0.1
TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Shown:
    """What a frame showed of the builds table."""

    top: str | None
    cursor: str | None


@dataclass
class Start:
    """One start of the app, timed from its construction."""

    usable_s: float
    """A frame showed builds, then one showed the cursor moved by a key sent after it."""
    newest_on_top_s: float | None
    """The first frame with the newest build on top (None: none until everything loaded)."""
    stored_s: float
    """Every expected build was in the app's store."""
    table_s: float
    """Every expected build was a row of the table."""
    keys_ms: list[float]
    """Round trips of the keys sent until then."""
    enriched: int = 0
    events_peak: int = 0


def shown_by(app: BuildwatchApp) -> Callable[[], Shown | None]:
    """A frame probe: the builds table's top row and cursor, once the table exists."""
    tables: list[LiveTable] = []

    def probe() -> Shown | None:
        if not tables:
            try:
                tables.append(app.screen.query_one("#builds", LiveTable))
            except (NoMatches, IndexError):  # the main screen is not up yet
                return None
        table = tables[0]
        return Shown(table.row_key_at(0) if table.row_count else None, table.cursor_row_key)

    return probe


def send_key(app: BuildwatchApp, key: str) -> None:
    """Deliver a key the way the terminal driver does (Pilot waits for an idle app after each
    key, and a loading app is not idle)."""
    event = events.Key(key, None)
    event.set_sender(app)
    assert app._driver is not None
    app._driver.send_message(event)


async def key_round_trip(app: BuildwatchApp, clock: FrameClock, key: str) -> tuple[float, float]:
    """When `key` was sent, and the seconds from then to the first frame showing the cursor on
    another row."""
    table = app.screen.query_one("#builds", LiveTable)
    before = table.cursor_row_key
    sent = perf_counter()
    send_key(app, key)
    return sent, await clock.frame_showing(
        sent, lambda shown: shown is not None and shown.cursor != before, TIMEOUT_S
    )


async def start_app(settings: Any, newest: str, expected: int) -> Start:
    """Start the app until it shows builds and answers a key, then until the table holds
    `expected` builds, sending keys meanwhile."""
    started = perf_counter()
    app = BuildwatchApp(settings)
    clock = FrameClock(app, shown_by(app))
    async with app.run_test(size=SIZE):
        await clock.frame_showing(
            started, lambda shown: shown is not None and shown.top is not None, TIMEOUT_S
        )
        sent, round_trip = await key_round_trip(app, clock, "down")
        usable_s = sent + round_trip - started
        table = app.screen.query_one("#builds", LiveTable)
        keys_ms: list[float] = []
        stored_s = 0.0
        while table.total_row_count < expected:
            if perf_counter() - started > TIMEOUT_S:
                raise SystemExit(f"the table never reached {expected:,} rows")
            if not stored_s and len(app.store.builds) >= expected:
                stored_s = perf_counter() - started
            _, round_trip = await key_round_trip(app, clock, "up" if len(keys_ms) % 2 else "down")
            keys_ms.append(round_trip * 1000)
            await asyncio.sleep(KEY_EVERY_S)
        table_s = perf_counter() - started
        await asyncio.sleep(FLUSH_S * 3)  # the last rows' frames
        enriched = sum(1 for entry in app.store.builds.values() if entry.summary)
        on_top = [frame for frame, shown in zip(clock.frames, clock.shown, strict=True)
                  if isinstance(shown, Shown) and shown.top == newest]
    newest_on_top_s = on_top[0] - started if on_top else None
    return Start(usable_s, newest_on_top_s, stored_s or table_s, table_s, keys_ms, enriched)


def in_flight_peak(url: str, route: str) -> int:
    """The most requests to `route` the simulator at `url` answered at once."""
    with urllib.request.urlopen(f"{url}/_sim/in-flight", timeout=10) as response:
        gauges: dict[str, dict[str, int]] = json.load(response)
    return gauges.get(route, {}).get("peak", 0)


def settings_for(url: str, history: Path) -> Any:
    """The app's settings for the simulator at `url` with `history`."""
    return dataclasses.replace(simulator_settings(url, "sim-token", "sim-api-key"),
                               history=history)


async def evening(history: Path) -> None:
    """The run before the night: the first `SEEN_BEFORE` builds listed, summarised and stored."""
    with SimulatorThread(SimConfig(builds=SEEN_BEFORE, not_ready_s=0.0)) as sim:
        app = BuildwatchApp(settings_for(sim.develocity_url, history))
        async with app.run_test(size=SIZE) as pilot:
            builds = app.store.builds
            while len(builds) < SEEN_BEFORE or not all(e.summary for e in builds.values()):
                await pilot.pause(0.05)


def plain_listing(url: str, after: str) -> float:
    """Seconds for one plain GET of the builds after `after` (the catch-up's listing)."""
    started = perf_counter()
    httpx.get(f"{url}/build-export/v2/builds/sinceBuild/{after}",
              headers={"Authorization": "Bearer sim-token"}, timeout=60).raise_for_status()
    return perf_counter() - started


def newest_on(url: str) -> tuple[str, str]:
    """The ids of the `SEEN_BEFORE`-th build and the newest one on the simulator at `url`."""
    with urllib.request.urlopen(f"{url}/_sim/develocity/builds", timeout=60) as response:
        builds = json.load(response)
    return builds[SEEN_BEFORE - 1]["buildId"], builds[-1]["buildId"]


async def catch_up(count: int, evening_history: Path, directory: Path) -> tuple[Start, float]:
    """Start on the evening's history with `count` builds published since; and the plain GET."""
    history = directory / "night.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{evening_history}{suffix}").exists():
            shutil.copy(f"{evening_history}{suffix}", f"{history}{suffix}")
    simulator = Simulator(SEEN_BEFORE + count)
    try:
        last_seen, newest = newest_on(simulator.url)
        plain_s = plain_listing(simulator.url, last_seen)
        start = await start_app(settings_for(simulator.url, history), newest, SEEN_BEFORE + count)
        start.events_peak = in_flight_peak(simulator.url, EVENTS_ROUTE)
    finally:
        simulator.stop()
    return start, plain_s


def spread(values: list[float], unit: str, scale: float = 1.0) -> str:
    """`min-max unit` of `values` (times `scale`)."""
    low, high = min(values) * scale, max(values) * scale
    return f"{low:.2f}-{high:.2f} {unit}" if f"{low:.2f}" != f"{high:.2f}" else f"{low:.2f} {unit}"


def on_top_text(starts: list[Start]) -> str:
    """When the newest build first showed on top, as a range over the runs."""
    times = [s.newest_on_top_s for s in starts if s.newest_on_top_s is not None]
    never = len(starts) - len(times)
    shown = spread(times, "s") if times else ""
    return f"{shown}{'; ' if times and never else ''}{f'never in {never} runs' if never else ''}"


def keys_text(starts: list[Start]) -> str:
    """Median and max key round trips per run, as ranges over the runs."""
    runs = [s for s in starts if s.keys_ms]
    if not runs:
        return "no keys sent"
    return (f"{sum(len(s.keys_ms) for s in runs) // len(runs)} keys/run, median "
            f"{spread([median(s.keys_ms) for s in runs], 'ms')}, max "
            f"{spread([max(s.keys_ms) for s in runs], 'ms')}")


def ratios(values: list[float], baselines: list[float]) -> str:
    """The range of `values[i] / baselines[i]`."""
    return spread([v / b for v, b in zip(values, baselines, strict=True)], "x")


def stored_start(args: argparse.Namespace, directory: Path) -> None:
    """(a): the app started on a big history and on one screenful, and the bare SQL reads."""
    # Published a second apart up to a minute ago: inside retention and the catch-up window.
    start_ms = int(time.time() * 1000) - (args.builds + 60) * 1_000
    big, small = directory / "big.sqlite3", directory / "small.sqlite3"
    record(big, 0, args.builds, start_ms)
    record(small, args.builds - FIRST_SCREENFUL, FIRST_SCREENFUL, start_ms)
    newest = f"{args.builds - 1:013d}"
    simulator = Simulator(0)
    try:
        loads = [asyncio.run(start_app(settings_for(simulator.url, path), newest, rows))
                 for _ in range(args.runs)
                 for path, rows in ((small, FIRST_SCREENFUL), (big, args.builds))]
    finally:
        simulator.stop()
    reads = [timed_reads(big, FIRST_SCREENFUL) for _ in range(args.runs)]
    base, runs = loads[0::2], loads[1::2]
    usable = [s.usable_s for s in runs]
    print(f"(a) start on {args.builds:,} stored builds, {args.runs} runs, {SIZE[0]}x{SIZE[1]}")
    print(f"    usable (rows shown, key answered) {spread(usable, 's')}   target <= 2 s")
    print(f"      start on {FIRST_SCREENFUL} stored builds    {spread([s.usable_s for s in base], 's')}"
          f"   ratio {ratios(usable, [s.usable_s for s in base])}")
    print(f"      bare SQL of the newest {FIRST_SCREENFUL}    "
          f"{spread([r['screen_bare'] for r in reads], 'ms', 1000)}   ratio "
          f"{ratios(usable, [r['screen_bare'] for r in reads])}")
    print(f"    newest stored build on top        {on_top_text(runs)}")
    print(f"    all rows in the table             {spread([s.table_s for s in runs], 's')}"
          f"   (bare SQL of all rows {spread([r['full_bare'] for r in reads], 's')})")
    print(f"    keys while loading                {keys_text(runs)}")


def night(args: argparse.Namespace, directory: Path) -> None:
    """(b): the app started after a night of builds on the simulator."""
    evening_history = directory / "evening.sqlite3"
    asyncio.run(evening(evening_history))
    nights = [asyncio.run(catch_up(args.catch_up, evening_history, directory))
              for _ in range(args.runs)]
    starts, plain = [n[0] for n in nights], [n[1] for n in nights]
    on_top = [s.newest_on_top_s or s.table_s for s in starts]
    print(f"(b) catch-up of {args.catch_up:,} builds on resume, {args.runs} runs")
    print(f"    usable (rows shown, key answered) {spread([s.usable_s for s in starts], 's')}")
    print(f"    newest build on top               {on_top_text(starts)}   target <= 10 s; "
          f"plain GET of the listing {spread(plain, 's')}, ratio {ratios(on_top, plain)}")
    print(f"    all in the store                  {spread([s.stored_s for s in starts], 's')}")
    print(f"    all in the table                  {spread([s.table_s for s in starts], 's')}")
    print(f"    keys while catching up            {keys_text(starts)}")
    print(f"    summarised by then                {spread([float(s.enriched) for s in starts], '')}")
    print(f"    most events requests at once      "
          f"{spread([float(s.events_peak) for s in starts], '')}   bound {DEFAULT_ENRICH_CONCURRENCY}")


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--catch-up", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        stored_start(args, Path(name))
        night(args, Path(name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
