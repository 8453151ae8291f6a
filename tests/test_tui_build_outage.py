"""A build opened while Develocity is down: the screen says what it waits for, keeps trying for
as long as it is open, keeps its header, and loads the build when the server is back."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
from drilldown_app import (
    DrillApp,
    LateMessages,
    leave_while_loading,
    pick_build,
    screen_text,
    sim_config,
    wait_until,
)
from ports import free_port
from textual.screen import Screen

from buildwatch.core.backoff import Backoff
from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DEFAULT_MAX_FAILURES, DevelocityClient
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimulatorThread
from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.services import Services

pytestmark = pytest.mark.timeout(60)


class QuickRetryApp(DrillApp):
    """The drill-down app whose Develocity client retries every few hundredths of a second, or
    more often: at most `retry_cap_s` after a failure."""

    def __init__(self, sim: SimulatorThread, screen: Callable[[], Screen[Any]],
                 retry_cap_s: float = 0.05) -> None:
        super().__init__(sim, screen)
        connection = DevelocityConnection(sim.develocity_url, token=Secret("sim-token"))
        quick = DevelocityClient(
            connection, backoff=lambda: Backoff(base_s=retry_cap_s / 2, cap_s=retry_cap_s))
        self._quick: Services = dataclasses.replace(super().services, develocity=quick)

    @property
    def services(self) -> Services:
        return self._quick


def attempt_shown(screen: str) -> int:
    """The attempt the progress says the load is waiting at (0: not waiting)."""
    found = re.search(r"waiting \(attempt (\d+), again in \d+s\): cannot co", screen)
    return int(found.group(1)) if found else 0



async def test_a_build_opened_while_the_server_is_down_waits_for_it_and_then_loads() -> None:
    port = free_port()
    config = sim_config(builds=20)
    with SimulatorThread(config, port=port) as sim:
        build_id = pick_build(sim, lambda build: build["toolType"] == "gradle")
        app = QuickRetryApp(sim, lambda: BuildScreen(build_id))
    # The server is down from here on.
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, BuildScreen)
        await wait_until(pilot, lambda: attempt_shown(screen_text(app)) > DEFAULT_MAX_FAILURES)
        shown = screen_text(app)
        assert "stopped" not in shown
        top, header = shown.splitlines()[:2]
        assert build_id in top and f"build {build_id}" in header

        with SimulatorThread(config, port=port):
            await wait_until(pilot, lambda: screen.loaded)
            await wait_until(pilot, lambda: "waiting" not in screen_text(app))
        assert " events" in screen_text(app).splitlines()[0]


async def test_leaving_a_build_that_waits_for_the_server_ends_its_load_quietly() -> None:
    with SimulatorThread(sim_config(builds=20)) as sim:
        build_id = pick_build(sim, lambda build: build["toolType"] == "gradle")
        app = QuickRetryApp(sim, lambda: BuildScreen(build_id), retry_cap_s=0.005)
    # The server is down from here on: the load says so at every attempt, hundreds of times a
    # second, so it goes on saying so while the screen is being removed.
    late = LateMessages()
    async with app.run_test(size=(80, 24), message_hook=late) as pilot:
        await wait_until(pilot, lambda: attempt_shown(screen_text(app)) > 1)
        await leave_while_loading(pilot, late)
