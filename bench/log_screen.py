"""The invocation screen's Log tab on a 100 MB log, end to end: GetLog pages from the simulator
stream into the log viewer.

Figures: the first screen of the log, the whole log loaded, a search across it, and the memory
the app holds. Baseline in the same run: the same steps on an ordinary invocation's log. The
simulator runs in a child process, so the memory figures are the app's alone.

Targets: first screen <= 1 s, search <= 1 s, RSS growth <= about twice the log's size.

    python bench/log_screen.py
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import dataclass
from time import perf_counter
from typing import Any

from textual.app import App
from tui_harness import Searches, report, report_searches, rss_mb, time_searches

from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.connection import BuildBuddyConnection
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.secrets import Secret
from buildwatch.sim.buildbuddy_data import BENCHMARK_CHUNK_BYTES, BENCHMARK_LOG_CHUNKS
from buildwatch.sim.buildbuddy_invocations import BENCHMARK_INVOCATION_ID, plan_invocations
from buildwatch.sim.config import SimConfig
from buildwatch.sim.world import World
from buildwatch.tui.screens.invocation import InvocationScreen
from buildwatch.tui.services import ProvidesServices, Services
from buildwatch.tui.widgets.log_panel import LogPanel
from buildwatch.tui.widgets.log_view import LogView

RARE = "chunk 018f]"
COMMON = "allocation rate"
_SIMULATOR = """
import sys
from buildwatch.sim import SimConfig, SimulatorThread
with SimulatorThread(SimConfig(builds=1)) as sim:
    print(sim.buildbuddy_url, flush=True)
    sys.stdin.read()
"""


class BenchApp(ProvidesServices, App[None]):
    def __init__(self, url: str, invocation_id: str) -> None:
        super().__init__()
        self._invocation_id = invocation_id
        client = BuildBuddyClient(BuildBuddyConnection(url, api_key=Secret("sim-api-key")))
        self._services = Services(None, client, None, url, MonitorStore())

    @property
    def services(self) -> Services:
        return self._services

    def on_mount(self) -> None:
        self.push_screen(InvocationScreen(self._invocation_id))


@dataclass
class Figures:
    first_screen_s: float
    loaded_s: float
    searches: Searches
    rss_growth_mb: float


async def measure(url: str, invocation_id: str) -> Figures:
    """Open the invocation, show its log, and time each step."""
    rss_before = rss_mb()
    app = BenchApp(url, invocation_id)
    start = perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        while not isinstance(app.screen, InvocationScreen):
            await asyncio.sleep(0.001)
        screen = app.screen
        view = screen.query_one("#invocation-log", LogPanel).view
        shown = first_frame_with_text(app, screen, view)
        await pilot.press("l")
        while not shown:
            await asyncio.sleep(0.001)
        first_screen = shown[0] - start
        while not screen.log_complete or view.has_pending_text:
            await asyncio.sleep(0.01)
        loaded = perf_counter() - start
        searches = time_searches(view, RARE, COMMON)
        rss_growth = rss_mb() - rss_before
    return Figures(first_screen, loaded, searches, rss_growth)


def first_frame_with_text(app: App[Any], screen: InvocationScreen, view: LogView) -> list[float]:
    """A list that receives the time of the first frame drawn with the log tab showing text."""
    shown: list[float] = []
    display = app._display

    def timed_display(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is not None and not shown and view.line_count and screen.active_tab == "log":
            shown.append(perf_counter())

    app._display = timed_display  # type: ignore[method-assign]
    return shown


def ordinary_invocation() -> str:
    """A finished CI test run: its log is a few hundred lines."""
    plans = plan_invocations(World(SimConfig().seed), 0)
    return next(plan.invocation_id for plan in plans if plan.command == "test" and plan.role == "CI")


def main() -> int:
    """Run the benchmark against a simulator in a child process and print its figures."""
    simulator = subprocess.Popen([sys.executable, "-c", _SIMULATOR], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
    try:
        assert simulator.stdout is not None
        url = simulator.stdout.readline().strip()
        base = asyncio.run(measure(url, ordinary_invocation()))
        big = asyncio.run(measure(url, BENCHMARK_INVOCATION_ID))
    finally:
        simulator.kill()
        simulator.wait()
    log_mb = BENCHMARK_LOG_CHUNKS * BENCHMARK_CHUNK_BYTES / 2**20
    print(f"Invocation log tab, {log_mb:.0f} MiB log in {BENCHMARK_LOG_CHUNKS} GetLog pages "
          f"against a {base.searches.held_mb * 1024:.0f} KiB log (same run)")
    report("first screen of the log (ms)", big.first_screen_s * 1e3, base.first_screen_s * 1e3,
           "ms", "<= 1000 ms")
    report("whole log loaded (ms)", big.loaded_s * 1e3, base.loaded_s * 1e3, "ms")
    report_searches(big.searches, base.searches)
    report("RSS growth (MiB)", big.rss_growth_mb, base.rss_growth_mb, "MiB",
           f"<= {2 * log_mb:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
