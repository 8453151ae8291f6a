"""The monitor with its local history: closed overnight, opened in the morning, nothing lost or
doubled; and browsing the history with the servers out of reach. Driven with Pilot."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tui_harness import DEAD_URL, RecordingApp, all_enriched, builds_table, sim_config, wait_for

from buildwatch.cli.tui import simulator_settings
from buildwatch.core.history.opening import open_history
from buildwatch.core.monitor.store import HISTORY_SHOWN, SourceName
from buildwatch.sim import SimulatorThread
from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.timeout(90)
SIZE = (140, 40)
FIRST = 12
WHILE_CLOSED = 5


class HistoryApp(RecordingApp):
    """The app, remembering how many builds (and summaries) it held when each feed started."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.builds_at_start: dict[SourceName, int] = {}
        self.summaries_at_start: dict[SourceName, int] = {}

    def start_source(self, source: SourceName) -> None:
        builds = self.store.builds.values()
        self.builds_at_start.setdefault(source, len(builds))
        self.summaries_at_start.setdefault(source, sum(1 for entry in builds if entry.summary))
        super().start_source(source)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    # The real clock: the history's catch-up window is measured from now.
    with SimulatorThread(sim_config(now_ms=None, builds=FIRST)) as running:
        yield running


def history_app(url: str, history: Path, *, offline: bool = False) -> HistoryApp:
    settings = simulator_settings(url, "sim-token", "sim-api-key")
    return HistoryApp(dataclasses.replace(settings, history=history, offline=offline))


def stored_ids(history: Path) -> list[str]:
    opened = open_history(history)
    try:
        return [stored.build.build_id for stored in opened.store.load_recent()]
    finally:
        opened.store.close()


async def first_run(sim: SimulatorThread, history: Path) -> None:
    """Open the monitor until every build is listed and summarised, then quit."""
    app = history_app(sim.develocity_url, history)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, FIRST))
    assert app.closing_problems == []


def status_line(app: HistoryApp) -> str:
    return str(app.screen.query_one(StatusBar).render())


async def test_a_restart_shows_every_build_published_while_closed_once(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    history = tmp_path / "history.sqlite3"
    await first_run(sim, history)
    published = sim.publish_builds(WHILE_CLOSED)[:WHILE_CLOSED]

    app = history_app(sim.develocity_url, history)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, FIRST + WHILE_CLOSED))
        rows = builds_table(app).row_count

    assert app.builds_at_start["develocity"] == FIRST
    assert rows == FIRST + WHILE_CLOSED
    assert set(published) <= set(app.store.builds)
    stored = stored_ids(history)
    assert len(stored) == len(set(stored)) == FIRST + WHILE_CLOSED


async def test_summaries_from_an_earlier_run_are_shown_before_the_feeds_start(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    history = tmp_path / "history.sqlite3"
    await first_run(sim, history)

    app = history_app(sim.develocity_url, history)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "develocity" in app.builds_at_start)

    assert app.summaries_at_start["develocity"] == FIRST


async def test_offline_browses_the_stored_builds_without_connecting(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    history = tmp_path / "history.sqlite3"
    await first_run(sim, history)

    app = history_app(DEAD_URL, history, offline=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: builds_table(app).row_count == FIRST)
        assert app.builds_at_start == {}
        assert app.store.develocity.state == app.store.buildbuddy.state == "offline"
        assert status_line(app).count(HISTORY_SHOWN) == 2
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BuildScreen))
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        summary = app.store.builds[screen.build_id].summary
        assert summary is not None
        await wait_for(pilot, lambda: "events need the server" in str(
            screen.query_one("#build-progress").render()))
        header = str(screen.query_one("#build-header").render())
        assert summary.tool_type in header


async def test_an_unreachable_server_at_start_shows_the_history_marked_as_such(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    history = tmp_path / "history.sqlite3"
    await first_run(sim, history)

    app = history_app(DEAD_URL, history)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store.develocity.state == "reconnecting")
        await wait_for(pilot, lambda: builds_table(app).row_count == FIRST)
        assert app.store.develocity.detail.startswith(HISTORY_SHOWN)
        assert HISTORY_SHOWN in status_line(app)
