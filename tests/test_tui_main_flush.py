"""The main screen's flush: rows reach the tables a slice at a time, within a time budget."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from textual import events
from textual.pilot import Pilot
from tui_harness import DEAD_URL, RecordingApp, builds_table, stop_feed

from buildwatch.cli.tui import simulator_settings
from buildwatch.core.develocity.models import Build
from buildwatch.core.monitor.pacing import InputGate
from buildwatch.tui.screens.main import FLUSH_S, ROWS_PER_SLICE
from buildwatch.tui.widgets.live_table import LiveTable

SIZE = (120, 30)
PUBLISHED_MS = 1_767_225_600_000


def listed(count: int) -> list[Build]:
    """Builds as a listing brings them: oldest first, a second apart."""
    builds = []
    for number in range(count):
        build_id = f"b{number:012d}"
        data = {"buildId": build_id, "timestamp": PUBLISHED_MS + number * 1000,
                "toolType": "gradle", "toolVersion": "8.5"}
        builds.append(Build(json.dumps(data).encode(), build_id))
    return builds


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run (its timers included) until `condition()` holds."""

    async def poll() -> None:
        while not condition():
            await pilot.pause()

    await asyncio.wait_for(poll(), timeout)


async def flushed_once(pilot: Pilot[None], count: int) -> LiveTable:
    """The builds table after one flush of `count` listed builds (the feeds stopped)."""
    app = pilot.app
    assert isinstance(app, RecordingApp)
    await stop_feed(pilot, "develocity")
    await stop_feed(pilot, "buildbuddy")
    app.store.add_builds(listed(count))
    app.screen.flush()  # type: ignore[attr-defined]
    return builds_table(app)


async def test_a_flush_over_its_budget_leaves_the_rest_for_later_frames_and_every_row_arrives_once_in_order() -> None:
    app = RecordingApp(simulator_settings(DEAD_URL, "token", "key"), flush_budget_s=0.0)
    count = 5 * ROWS_PER_SLICE + 7
    async with app.run_test(size=SIZE) as pilot:
        table = await flushed_once(pilot, count)
        first = table.total_row_count
        await until(pilot, lambda: table.total_row_count == count)

        shown = [table.row_key_at(index) for index in range(table.row_count)]
    assert first == ROWS_PER_SLICE
    assert shown == [build.build_id for build in reversed(listed(count))]


async def test_rows_wait_while_a_key_is_answered_then_arrive() -> None:
    now = [0.0]
    app = RecordingApp(simulator_settings(DEAD_URL, "token", "key"), flush_budget_s=0.0)
    # A gate on a clock of the test's: closed for as long as the test says.
    app.session.input_gate = InputGate(clock=lambda: now[0])
    count = 3 * ROWS_PER_SLICE
    async with app.run_test(size=SIZE) as pilot:
        table = await flushed_once(pilot, count)
        app.session.input_gate.key_pressed()

        # Flush ticks and the carried-over part come and go: none adds a row meanwhile.
        await pilot.pause(3 * FLUSH_S)
        assert table.total_row_count == ROWS_PER_SLICE
        now[0] += 1.0
        await until(pilot, lambda: table.total_row_count == count)


async def test_a_key_closes_the_input_gate_as_the_terminal_driver_reads_it() -> None:
    app = RecordingApp(simulator_settings(DEAD_URL, "token", "key"))
    async with app.run_test(size=SIZE) as pilot:
        gate = app.session.input_gate
        await until(pilot, lambda: not gate.closed_for)
        driver = app._driver
        assert driver is not None
        # What the driver's input thread does with a key it read: before any turn of the loop.
        driver.send_message(events.Key("down", None))
        assert gate.closed_for > 0
        await pilot.pause()


async def test_the_screen_tells_the_session_how_many_rows_it_has_still_to_show() -> None:
    app = RecordingApp(simulator_settings(DEAD_URL, "token", "key"), flush_budget_s=0.0)
    backlog = app.session.backlog
    count = 1_000 + 3 * ROWS_PER_SLICE
    async with app.run_test(size=SIZE) as pilot:
        table = await flushed_once(pilot, count)
        behind = backlog.flowing
        await until(pilot, lambda: table.total_row_count == count)
        await until(pilot, lambda: not backlog.flowing)
    assert behind
