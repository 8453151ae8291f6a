"""Pictures of every drill-down screen and tab, at 80x24 and at a large size.

The simulator's clock is fixed and links point at fixed addresses, so the pictures are stable;
`pytest --snapshot-update` accepts new ones after a look at them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from drilldown_app import (
    DrillApp,
    failed_test_invocation,
    pick_build,
    sim_config,
    until_idle,
    wait_until,
)
from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from buildwatch.sim import SimulatorThread
from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.screens.file_viewer import FileViewerScreen
from buildwatch.tui.screens.invocation import InvocationScreen
from buildwatch.tui.screens.log import LogScreen

pytestmark = pytest.mark.timeout(120)

WEB = ("https://develocity.example", "https://buildbuddy.example")
LARGE = (160, 48)
Compare = Callable[..., bool]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config()) as thread:
        yield thread


def build_app(sim: SimulatorThread) -> DrillApp:
    build_id = pick_build(sim, lambda b: b["toolType"] == "gradle" and b["failed"]
                          and not b["eventCount"])
    return DrillApp(sim, lambda: BuildScreen(build_id), WEB)


def invocation_app(sim: SimulatorThread) -> DrillApp:
    return DrillApp(sim, lambda: InvocationScreen(failed_test_invocation()), WEB)


def settled(condition: Callable[[Screen[Any]], bool], *keys: str,
            then: Callable[[Screen[Any]], bool] | None = None
            ) -> Callable[[Pilot[None]], Awaitable[None]]:
    """Wait for the screen to load, press `keys`, wait for `then` and for the work they started."""
    async def run_before(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: condition(pilot.app.screen))
        await pilot.press(*keys)
        if then is not None:
            await wait_until(pilot, lambda: then(pilot.app.screen))
        await until_idle(pilot)
    return run_before


def build_loaded(screen: Screen[Any]) -> bool:
    return isinstance(screen, BuildScreen) and screen.loaded


def invocation_loaded(screen: Screen[Any]) -> bool:
    return isinstance(screen, InvocationScreen) and screen.finished and screen.log_complete


@pytest.mark.parametrize("key", ["1", "2", "3", "4", "5"])
def test_build_screen_tabs(snap_compare: Compare, sim: SimulatorThread, key: str) -> None:
    assert snap_compare(build_app(sim), run_before=settled(build_loaded, key))


def test_build_screen_large(snap_compare: Compare, sim: SimulatorThread) -> None:
    assert snap_compare(build_app(sim), terminal_size=LARGE, run_before=settled(build_loaded))


def test_build_screen_filtered_tasks(snap_compare: Compare, sim: SimulatorThread) -> None:
    assert snap_compare(build_app(sim), run_before=settled(build_loaded, "2", "slash", *"test", "enter"))


@pytest.mark.parametrize("key", ["1", "3"])
def test_invocation_screen_tabs(snap_compare: Compare, sim: SimulatorThread, key: str) -> None:
    assert snap_compare(invocation_app(sim), run_before=settled(invocation_loaded, key))


def test_invocation_screen_actions_of_the_failed_target(snap_compare: Compare,
                                                        sim: SimulatorThread) -> None:
    def listed(screen: Screen[Any]) -> bool:
        return isinstance(screen, InvocationScreen) and len(screen.files) > 1

    assert snap_compare(invocation_app(sim),
                        run_before=settled(invocation_loaded, "enter", then=listed))


def test_invocation_screen_large(snap_compare: Compare, sim: SimulatorThread) -> None:
    assert snap_compare(invocation_app(sim), terminal_size=LARGE,
                        run_before=settled(invocation_loaded))


def file_app(sim: SimulatorThread, name: str) -> DrillApp:
    import httpx

    from buildwatch.core.buildbuddy.models import Action

    response = httpx.post(f"{sim.buildbuddy_url}/api/v1/GetAction",
                          json={"selector": {"invocation_id": failed_test_invocation()}},
                          headers={"x-buildbuddy-api-key": "sim-api-key"}, timeout=30)
    file = next(f for action in response.json()["action"]
                for f in Action.from_json(action).files if f.name == name)
    return DrillApp(sim, lambda: FileViewerScreen(file), WEB)


def file_loaded(screen: Screen[Any]) -> bool:
    return isinstance(screen, FileViewerScreen) and "complete" in screen._state


@pytest.mark.parametrize("name", ["test.xml", "test.log"])
def test_file_viewer(snap_compare: Compare, sim: SimulatorThread, name: str) -> None:
    assert snap_compare(file_app(sim, name), run_before=settled(file_loaded))


def test_confirm_delete_modal(snap_compare: Compare, sim: SimulatorThread) -> None:
    assert snap_compare(file_app(sim, "test.log"), run_before=settled(file_loaded, "D"))


class LogApp(App[None]):
    def on_mount(self) -> None:
        text = "".join(f"line {n}: \x1b[32mINFO\x1b[0m compiling [bold]Thing{n}.java\n"
                       for n in range(60))
        self.push_screen(LogScreen("console", text + "\x1b[1;31mERROR\x1b[0m: it broke\n",
                                   "console.log"))


def test_log_screen_searching(snap_compare: Compare) -> None:
    assert snap_compare(LogApp(), press=["g", "slash", *"Thing4", "enter", "n"])
