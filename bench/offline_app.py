"""The app on a big local history, headless and offline, as the benchmarks of its screens run it.

Nothing but the history feeds the app: it is offline, and its Develocity server (`URL`, a port
nothing listens on) is never reached, so what a benchmark times is the app's own work.

    with history_directory() as history:
        record(history, 0, 100_000)
        app = offline_app(history, preferences())
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter
from typing import Any

from textual.pilot import Pilot
from triage_failures import URL

from buildwatch.cli.tui import simulator_settings
from buildwatch.core.config import Profile, UiPreferences
from buildwatch.core.history.location import history_path
from buildwatch.tui.app import BuildwatchApp

SIZE = (160, 48)
TIMEOUT_S = 300.0
"""The longest a benchmark waits for the app to load or to show something."""


def preferences(**settings: Any) -> UiPreferences:
    """A profile's UI settings for a benchmark (`settings` added): no notifications, and a
    retention that keeps every build, as the benchmarks' builds are dated in the past."""
    return UiPreferences(notify=(), history_max_age_days=100_000, **settings)


@contextmanager
def history_directory() -> Iterator[Path]:
    """A temporary state directory for the app (`BUILDWATCH_STATE_DIR`), removed afterwards;
    gives where the history of `URL`'s builds is kept in it."""
    with tempfile.TemporaryDirectory() as directory:
        os.environ["BUILDWATCH_STATE_DIR"] = directory
        yield history_path(URL)


def offline_app(history: Path, ui: UiPreferences) -> BuildwatchApp:
    """The app on `history` alone, with the profile's UI settings `ui`."""
    settings = dataclasses.replace(
        simulator_settings(URL, "unused", "unused"), history=history, offline=True,
        profile=Profile(name="bench", ui=ui),
    )
    return BuildwatchApp(settings)


async def loaded(pilot: Pilot[Any], done: Callable[[], bool], what: str, started: float) -> float:
    """Let the app, started at `started` (`perf_counter`), run until `done` says it has loaded;
    the seconds since its start. Exits saying `what` never loaded after `TIMEOUT_S`."""
    while not done():
        await pilot.pause(0.05)
        if perf_counter() - started > TIMEOUT_S:
            raise SystemExit(f"{what} never loaded")
    return perf_counter() - started
