"""The monitor with its local history: closed overnight, opened in the morning, nothing lost or
doubled; and browsing the history with the servers out of reach. Driven with Pilot."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.screen import Screen
from tui_harness import (
    DEAD_URL,
    RecordingApp,
    all_enriched,
    builds_table,
    invocations_table,
    sim_config,
    wait_for,
)

from buildwatch.cli.tui import simulator_settings
from buildwatch.core.history.opening import open_history
from buildwatch.core.monitor.store import HISTORY_SHOWN, OFFLINE_CHOSEN, SourceName
from buildwatch.sim import SimulatorThread
from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.screens.credentials import CredentialsScreen
from buildwatch.tui.screens.invocation import InvocationScreen
from buildwatch.tui.widgets.log_panel import LogPanel
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


@pytest.fixture
async def history(sim: SimulatorThread, tmp_path: Path) -> Path:
    """A history file holding what a first run against the simulator recorded."""
    path = tmp_path / "history.sqlite3"
    await first_run(sim, path)
    return path


async def first_run(sim: SimulatorThread, history: Path) -> None:
    """Open the monitor until every build is listed and summarised and invocations of their
    commits are known, then quit."""
    app = history_app(sim.develocity_url, history)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, FIRST))
        await wait_for(pilot, lambda: bool(app.store.invocations))
    assert app.closing_problems == []


def status_line(app: HistoryApp) -> str:
    return str(app.screen.query_one(StatusBar).render())


def listings(sim: SimulatorThread) -> list[str]:
    """The paths of the build listings asked for so far, in order (not the access checks,
    which ask for `builds/since/now`)."""
    return [record.path for record in sim.requests
            if "/builds/since" in record.path and not record.path.endswith("/since/now")]


async def open_build(pilot: Pilot[None]) -> BuildScreen:
    """Enter on the first row of the builds pane."""
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen))
    screen = pilot.app.screen
    assert isinstance(screen, BuildScreen)
    return screen


async def open_invocation(pilot: Pilot[None]) -> InvocationScreen:
    """Enter on the first row of the invocations pane."""
    await pilot.press("tab", "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, InvocationScreen))
    screen = pilot.app.screen
    assert isinstance(screen, InvocationScreen)
    return screen


def header(screen: Screen[None], selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_a_restart_shows_every_build_published_while_closed_once(
    sim: SimulatorThread, history: Path
) -> None:
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


async def test_a_restart_marks_as_new_only_the_builds_published_while_closed(
    sim: SimulatorThread, history: Path
) -> None:
    published = set(sim.publish_builds(WHILE_CLOSED)[:WHILE_CLOSED])

    app = history_app(sim.develocity_url, history)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: builds_table(app).row_count == FIRST + WHILE_CLOSED)
        table = builds_table(app)
        lines = [table.render_line(y).text for y in range(1, FIRST + WHILE_CLOSED + 1)]

    marked = {line.split()[3] for line in lines if not line.startswith(" ")}
    assert marked == published


async def test_summaries_from_an_earlier_run_are_shown_before_the_feeds_start(
    sim: SimulatorThread, history: Path
) -> None:

    app = history_app(sim.develocity_url, history)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "develocity" in app.builds_at_start)

    assert app.summaries_at_start["develocity"] == FIRST


async def test_offline_browses_the_stored_builds_without_connecting(
    history: Path
) -> None:

    app = history_app(DEAD_URL, history, offline=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: builds_table(app).row_count == FIRST)
        assert app.builds_at_start == {}
        assert app.store.develocity.state == app.store.buildbuddy.state == "offline"
        lines = status_line(app).splitlines()
        assert all(f"offline · {HISTORY_SHOWN}" in line and OFFLINE_CHOSEN in line
                   for line in lines)


async def test_offline_a_stored_build_shows_its_summary_and_says_the_events_need_the_server(
    history: Path
) -> None:

    app = history_app(DEAD_URL, history, offline=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: builds_table(app).row_count == FIRST)
        screen = await open_build(pilot)
        summary = app.store.builds[screen.build_id].summary
        assert summary is not None
        await wait_for(pilot, lambda: "events need the server" in header(
            screen, "#build-progress"))
        assert summary.tool_type in header(screen, "#build-header")
        shown = "".join(screen.query_one("#summary-log", LogPanel).view.iter_text())
        assert "local history" in shown and "Loading" not in shown


async def test_offline_a_stored_invocation_shows_its_stored_state(
    history: Path
) -> None:

    app = history_app(DEAD_URL, history, offline=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: invocations_table(app).row_count > 0)
        screen = await open_invocation(pilot)
        stored = app.store.invocations[screen.invocation_id]
        await wait_for(pilot, lambda: "from the history" in header(
            screen, "#invocation-header"))
        shown = header(screen, "#invocation-header")
        assert stored.commit_sha[:12] in shown and stored.user in shown
        assert "needs the server" in header(screen, "#invocation-log .log-status")


async def test_an_unreachable_buildbuddy_still_shows_a_stored_invocation(
    history: Path
) -> None:

    app = history_app(DEAD_URL, history)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store.buildbuddy.state == "reconnecting")
        await wait_for(pilot, lambda: invocations_table(app).row_count > 0)
        screen = await open_invocation(pilot)
        stored = app.store.invocations[screen.invocation_id]
        shown = header(screen, "#invocation-header")
        assert stored.commit_sha[:12] in shown and "from the history" in shown


async def test_an_unreachable_develocity_shows_a_stored_build_summary_while_it_tries(
    history: Path
) -> None:

    app = history_app(DEAD_URL, history)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store.develocity.state == "reconnecting")
        await wait_for(pilot, lambda: builds_table(app).row_count == FIRST)
        screen = await open_build(pilot)
        summary = app.store.builds[screen.build_id].summary
        assert summary is not None
        assert summary.tool_type in header(screen, "#build-header")
        await wait_for(pilot, lambda: "waiting (attempt" in header(screen, "#build-progress"))
        assert "cannot connect" in header(screen, "#build-progress")
        assert "local history" in "".join(
            screen.query_one("#summary-log", LogPanel).view.iter_text())


async def test_an_unreachable_server_at_start_shows_the_history_marked_as_such(
    history: Path
) -> None:

    app = history_app(DEAD_URL, history)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store.develocity.state == "reconnecting")
        await wait_for(pilot, lambda: builds_table(app).row_count == FIRST)
        develocity = status_line(app).splitlines()[0]
        assert "reconnecting" in develocity
        assert HISTORY_SHOWN in develocity and app.store.develocity.detail in develocity


async def test_a_long_problem_is_cut_short_so_both_sources_stay_in_view(
    history: Path
) -> None:

    app = history_app(DEAD_URL, history)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.store.develocity.state == "reconnecting")
        bar = app.screen.query_one(StatusBar)
        shown = [strip.text for strip in bar.render_lines(Region(0, 0, *bar.size))]
        develocity = status_line(app).splitlines()[0]

    assert len(develocity) > bar.size.width
    assert "Develocity" in shown[0] and HISTORY_SHOWN in shown[0]
    assert "BuildBuddy" in shown[1]


async def test_an_explicit_since_lists_from_that_time_not_from_the_history(
    sim: SimulatorThread, history: Path
) -> None:
    since = sim.ctx.now_ms() - 3_600_000
    already = len(listings(sim))

    app = HistoryApp(dataclasses.replace(
        simulator_settings(sim.develocity_url, "sim-token", "sim-api-key", since=since),
        history=history, resume=False,
    ))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(listings(sim)) > already)

    assert listings(sim)[already].endswith(f"/builds/since/{since}")


async def test_new_credentials_resume_after_the_last_build_received(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    app = history_app(sim.develocity_url, tmp_path / "history.sqlite3")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, FIRST))
        newest = sim.publish_builds(1)[0]
        await wait_for(pilot, lambda: newest in app.store.builds)
        already = len(listings(sim))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        await pilot.press(*"sim-token", "enter")
        await wait_for(pilot, lambda: len(listings(sim)) > already)

    assert listings(sim)[already].endswith(f"/builds/sinceBuild/{newest}")
