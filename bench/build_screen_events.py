"""The build screen's Events tab on a 500,000-event Gradle build, end to end: the build's event
stream from the simulator into `BuildDetail` and the event list, with keys pressed while it loads.

Figures: the first events on screen, all events loaded, the median latency of a cursor key and of
a tab switch pressed while the events are still loading (the UI must not freeze: target <= 200 ms),
and memory (RSS growth against the size of the events' JSON; target <= about twice it). Baseline
in the same run: the same steps on an ordinary Gradle build. The simulator runs in a child
process (`buildwatch sim --huge-build`), so the memory figures are the app's alone. "On screen"
is the moment the headless app hands a frame showing the change to its driver.

    python bench/build_screen_events.py [--events 500000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from textual import events
from textual.app import App
from tui_harness import median, report, rss_mb

from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.secrets import Secret
from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.services import ProvidesServices, Services
from buildwatch.tui.widgets.event_list import EventList

SIZE = (160, 48)
TOKEN = "sim-token"
SAMPLES = 15
"""Cursor keys timed while loading, at most; a build loaded before the first is timed loaded."""


class BenchApp(ProvidesServices, App[None]):
    def __init__(self, url: str, build_id: str) -> None:
        super().__init__()
        self._build_id = build_id
        client = DevelocityClient(DevelocityConnection(url, token=Secret(TOKEN)))
        self._services = Services(client, None, url, None, MonitorStore())

    @property
    def services(self) -> Services:
        return self._services

    def on_mount(self) -> None:
        self.push_screen(BuildScreen(self._build_id))

    async def on_unmount(self) -> None:
        if self._services.develocity is not None:
            await self._services.develocity.aclose()


class ScreenStates:
    """Records, for each frame handed to the driver, when it was and what it showed."""

    def __init__(self, app: App[Any], state: Callable[[], tuple[str, int, int | None]]) -> None:
        self.frames: list[tuple[float, tuple[str, int, int | None]]] = []
        self._changed = asyncio.Event()
        display = app._display

        def timed_display(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if renderable is not None:
                self.frames.append((perf_counter(), state()))
                self._changed.set()

        app._display = timed_display  # type: ignore[method-assign]

    async def first(self, start: float, shows: Callable[[tuple[str, int, int | None]], bool],
                    timeout: float = 120.0) -> float:
        """Seconds from `start` to the first frame after it whose state `shows` accepts."""
        deadline = perf_counter() + timeout
        while True:
            for when, state in self.frames:
                if when >= start and shows(state):
                    return when - start
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), max(0.0, deadline - perf_counter()))


@dataclass
class Figures:
    events: int
    json_mb: float
    first_events_s: float
    loaded_s: float
    cursor_ms: float
    tab_ms: float
    slowest_key_ms: float
    presses_while_loading: int
    rss_growth_mb: float
    peak_rss_mb: float


async def measure(url: str, build_id: str) -> Figures:
    """Open the build, show its Events tab, press keys while it loads, and time each step."""
    rss_before = rss_mb()
    app = BenchApp(url, build_id)
    start = perf_counter()
    async with app.run_test(size=SIZE):
        while not isinstance(app.screen, BuildScreen):
            await asyncio.sleep(0.001)
        screen = app.screen
        event_list = screen.query_one("#event-list", EventList)

        def state() -> tuple[str, int, int | None]:
            return screen.active_tab, event_list.row_count, event_list.cursor_position

        frames = ScreenStates(app, state)
        press(app, "4")
        first_events = await frames.first(start, lambda s: s[0] == "events" and s[1] > 0)
        cursor: list[float] = []
        tabs: list[float] = []
        while not screen.loaded and len(cursor) < SAMPLES:
            await press_keys(app, frames, event_list, cursor, tabs)
        presses = len(cursor)
        while not screen.loaded:
            await asyncio.sleep(0.01)
        total = len(screen.detail.events)
        loaded = await frames.first(start, lambda s: s[1] == total)
        while not presses and len(cursor) < SAMPLES:
            # The build loaded before any key was pressed: time them on the loaded build instead.
            await press_keys(app, frames, event_list, cursor, tabs)
        json_mb = screen.detail.events.nbytes / 2**20
        rss_growth = rss_mb() - rss_before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Figures(total, json_mb, first_events, loaded, median(cursor), median(tabs),
                   max(cursor + tabs), presses,
                   rss_growth, peak)


def press(app: App[Any], key: str) -> None:
    """Hand a key to the app as a terminal would, without `Pilot.press`'s wait for an idle CPU
    (which, while the events load, would time the harness rather than the app)."""
    assert app._driver is not None
    event = events.Key(key, key if len(key) == 1 else None)
    event.set_sender(app)
    app._driver.send_message(event)


async def press_keys(app: App[Any], frames: ScreenStates, event_list: EventList,
                     cursor: list[float], tabs: list[float]) -> None:
    """Move the cursor down, switch to Summary and back; add each key's latency in ms."""
    began = perf_counter()
    before = event_list.cursor_position
    press(app, "down")
    cursor.append(await frames.first(began, lambda s: s[2] != before) * 1e3)
    for key, tab in (("1", "summary"), ("4", "events")):
        began = perf_counter()
        press(app, key)
        tabs.append(await frames.first(began, on_tab(tab)) * 1e3)


def on_tab(tab: str) -> Callable[[tuple[str, int, int | None]], bool]:
    """Whether a frame's state shows `tab`."""
    return lambda state: state[0] == tab


def simulator(huge_events: int) -> tuple[subprocess.Popen[str], str]:
    """`buildwatch sim` with one build of `huge_events` events, and its Develocity URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "sim", "--builds", "60",
         "--huge-build", str(huge_events)],
        stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"(http://\S+)", line)
        if found and "develocity" in line.casefold():
            return process, found.group(1).rstrip("/")
    process.kill()
    raise SystemExit("the simulator printed no Develocity URL")


def builds(url: str) -> list[dict[str, Any]]:
    """The simulator's published builds, in publication order."""
    with urllib.request.urlopen(f"{url}/_sim/develocity/builds", timeout=30) as response:
        listing: list[dict[str, Any]] = json.load(response)
    return listing


def prepare(url: str, build_id: str) -> float:
    """Have the simulator encode and gzip the build's events now (it does that once per build, on
    first request), so the figures time the app, not the simulator; returns the seconds it took."""
    request = urllib.request.Request(
        f"{url}/build-export/v2/build/{build_id}/events",
        headers={"Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "gzip"})
    began = perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        while response.read(1 << 20):
            pass
    return perf_counter() - began


def main() -> int:
    """Run the benchmark against a simulator in a child process and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000, help="events of the big build")
    args = parser.parse_args()
    process, url = simulator(args.events)
    try:
        listing = builds(url)
        ordinary = next(b["buildId"] for b in listing
                        if b["toolType"] == "gradle" and not b["eventCount"])
        huge = listing[-1]["buildId"]
        prepared_s = prepare(url, ordinary), prepare(url, huge)
        base = asyncio.run(measure(url, ordinary))
        big = asyncio.run(measure(url, huge))
    finally:
        process.terminate()
        process.wait()
    print(f"Build screen Events tab, {big.events:,} events ({big.json_mb:.0f} MiB of JSON) "
          f"against {base.events:,} events (same run); {big.presses_while_loading} cursor keys "
          f"pressed while loading; the simulator took {prepared_s[1]:.1f} s to prepare the big "
          f"build's events and {prepared_s[0]:.2f} s the small one's, before timing")
    report("first events on screen (ms)", big.first_events_s * 1e3, base.first_events_s * 1e3,
           "ms", "<= 1000 ms")
    report("all events loaded (ms)", big.loaded_s * 1e3, base.loaded_s * 1e3, "ms")
    report("cursor key while loading, median (ms)", big.cursor_ms, base.cursor_ms, "ms",
           "<= 200 ms")
    report("tab switch while loading, median (ms)", big.tab_ms, base.tab_ms, "ms", "<= 200 ms")
    report("slowest key while loading (ms)", big.slowest_key_ms, base.slowest_key_ms, "ms")
    report("events' JSON held (MiB)", big.json_mb, base.json_mb, "MiB")
    report("RSS growth (MiB)", big.rss_growth_mb, base.rss_growth_mb, "MiB",
           f"<= {2 * big.json_mb:.0f} MiB")
    report("peak RSS of the process (MiB)", big.peak_rss_mb, base.peak_rss_mb, "MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
