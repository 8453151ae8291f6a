"""Run the monitor app against the simulator, with a frozen clock when pictures must be stable."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from buildwatch.cli.tui import simulator_settings
from buildwatch.core.config import Profile, UiPreferences
from buildwatch.core.monitor.store import SourceName
from buildwatch.sim import SimConfig, SimulatorThread
from buildwatch.tui.app import BuildwatchApp
from buildwatch.tui.screens.main import MainScreen
from buildwatch.tui.widgets.live_table import LiveTable

FIXED_NOW_MS = 1_767_225_600_000
"""2026-01-01T00:00Z: the simulator's clock and the app's "now" in pictures."""
BUILDS = 12
"""Builds the small simulator has published when a test starts."""
DEAD_URL = "http://127.0.0.1:9"
"""Nothing listens on the discard port: connections are refused at once."""


def sim_config(**overrides: Any) -> SimConfig:
    """A small simulator whose builds are readable at once, its clock fixed at FIXED_NOW_MS."""
    return SimConfig(**{"builds": BUILDS, "not_ready_s": 0.0, "now_ms": FIXED_NOW_MS, **overrides})


class RecordingApp(BuildwatchApp):
    """The app, remembering the notifications it raised and the bells it rang."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notices: list[tuple[str, str, str]] = []
        self.bells = 0

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        self.notices.append((title, message, severity))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def bell(self) -> None:
        self.bells += 1
        super().bell()


def make_app(
    url: str,
    *,
    token: str = "sim-token",
    api_key: str = "sim-api-key",
    frozen: bool = False,
    ui: UiPreferences | None = None,
) -> RecordingApp:
    """The app on the simulator at `url`; `frozen` stops every clock for stable pictures."""
    settings = simulator_settings(url, token, api_key)
    if ui is not None:
        settings = dataclasses.replace(settings, profile=Profile(name="demo", ui=ui))
    if not frozen:
        return RecordingApp(settings)
    return RecordingApp(
        settings, now_ms=lambda: FIXED_NOW_MS, clock=lambda: 1000.0, highlight_seconds=0.0
    )


def app_on(sim: SimulatorThread, **options: Any) -> RecordingApp:
    """`make_app` on a running simulator."""
    return make_app(sim.develocity_url, **options)


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app run until `condition` holds, then until its screen shows what it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the app never reached the expected state")
        await pilot.pause(0.05)
    await caught_up(pilot)


async def caught_up(pilot: Pilot[Any]) -> None:
    """Let the screen show what the store holds now, without waiting for its flush timer.

    The main screen moves the store's changes (and the servers' status) onto its widgets in a
    flush every `FLUSH_S`; this makes the same call the timer makes, until nothing is pending,
    then lets the widgets take the messages it posted.
    """
    app, screen = pilot.app, pilot.app.screen
    if isinstance(app, BuildwatchApp) and isinstance(screen, MainScreen):
        screen.flush()
        while app.store.has_changes:
            screen.flush()
    await pilot.pause()


def builds_table(app: BuildwatchApp) -> LiveTable:
    """The Develocity pane's table."""
    return app.screen.query_one("#builds", LiveTable)


def invocations_table(app: BuildwatchApp) -> LiveTable:
    """The BuildBuddy pane's table."""
    return app.screen.query_one("#invocations", LiveTable)


def all_enriched(app: BuildwatchApp, count: int) -> Callable[[], bool]:
    """A condition: `count` builds are listed and every one has its summary."""
    builds = app.store.builds
    return lambda: len(builds) == count and all(entry.summary for entry in builds.values())


async def stop_feed(pilot: Pilot[Any], source: SourceName) -> None:
    """Stop a source's feed so a test can set its status by hand.

    The feeds are started by the app's `start` worker, once the history is open: wait for it,
    so the feed is there to stop, then until the stopped feed has ended.
    """
    app = pilot.app
    starting = [worker for worker in app.workers if worker.name == "start"]
    await wait_for(pilot, lambda: all(worker.is_finished for worker in starting))
    stopped = app.workers.cancel_group(app, source)
    await wait_for(pilot, lambda: all(worker.is_finished for worker in stopped))
