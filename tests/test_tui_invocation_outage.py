"""An invocation opened while BuildBuddy is unavailable: the screen says what it waits for, keeps
trying for as long as it is open, keeps its header and breadcrumb, and loads the invocation when
the server is back."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
from drilldown_app import (
    DrillApp,
    LateMessages,
    failed_test_invocation,
    leave_while_loading,
    screen_text,
    sim_config,
    wait_until,
)
from textual.screen import Screen

from buildwatch.core.backoff import Backoff
from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.connection import BuildBuddyConnection
from buildwatch.core.secrets import Secret
from buildwatch.sim import FaultSpec, SimulatorThread
from buildwatch.tui.screens.invocation import InvocationScreen
from buildwatch.tui.services import Services
from buildwatch.tui.widgets.live_table import LiveTable

pytestmark = pytest.mark.timeout(60)

CLIENT_ATTEMPTS = 3
"""The tries the app's client makes of a read on its own; the screen goes on past them."""
DOWN = FaultSpec(unavailable=1.0, burst=1_000_000)
"""Every BuildBuddy call answers `Unavailable` (the burst never lets one through)."""


class QuickRetryApp(DrillApp):
    """The drill-down app whose BuildBuddy client retries every few hundredths of a second, or
    more often: at most `retry_cap_s` after a failure."""

    def __init__(self, sim: SimulatorThread, screen: Callable[[], Screen[Any]],
                 retry_cap_s: float = 0.05) -> None:
        super().__init__(sim, screen)
        quick = BuildBuddyClient(
            BuildBuddyConnection(sim.buildbuddy_url, api_key=Secret("sim-api-key")),
            max_attempts=CLIENT_ATTEMPTS,
            backoff=lambda: Backoff(base_s=retry_cap_s / 2, cap_s=retry_cap_s),
            live_poll_s=0.1,
        )
        self._quick: Services = dataclasses.replace(super().services, buildbuddy=quick)

    @property
    def services(self) -> Services:
        return self._quick


def attempts_shown(screen: str) -> list[int]:
    """The attempts the screen says it is waiting at, top to bottom."""
    return [int(n) for n in re.findall(r"waiting \(attempt (\d+), again in \d+s\): ", screen)]


async def test_an_invocation_opened_while_buildbuddy_is_unavailable_waits_for_it_and_then_loads(
) -> None:
    invocation_id = failed_test_invocation()
    with SimulatorThread(sim_config()) as sim:
        sim.set_faults(DOWN)
        app = QuickRetryApp(sim, lambda: InvocationScreen(invocation_id))
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.screen
            assert isinstance(screen, InvocationScreen)
            await wait_until(
                pilot, lambda: any(n > CLIENT_ATTEMPTS for n in attempts_shown(screen_text(app)))
            )
            shown = screen_text(app)
            assert "stopped" not in shown
            top, header = shown.splitlines()[:2]
            assert f"invocation {invocation_id[:8]}" in top
            assert header.strip().startswith(f"invocation {invocation_id}: waiting (attempt ")

            await pilot.press("3")
            await wait_until(
                pilot, lambda: any(n > CLIENT_ATTEMPTS for n in attempts_shown(screen_text(app)))
            )
            assert "stopped" not in screen_text(app)

            sim.set_faults(FaultSpec())
            await wait_until(pilot, lambda: screen.finished and screen.log_complete)
            await wait_until(pilot, lambda: "waiting" not in screen_text(app))
            assert "complete" in screen_text(app)
            assert screen.query_one("#targets-table", LiveTable).row_count > 0


async def test_leaving_an_invocation_that_waits_for_buildbuddy_ends_its_loads_quietly() -> None:
    invocation_id = failed_test_invocation()
    late = LateMessages()
    with SimulatorThread(sim_config()) as sim:
        sim.set_faults(DOWN)
        app = QuickRetryApp(sim, lambda: InvocationScreen(invocation_id), retry_cap_s=0.005)
        async with app.run_test(size=(100, 30), message_hook=late) as pilot:
            # The poll and the log each say what they wait for, hundreds of times a second, so
            # they go on saying so while the screen is being removed.
            await wait_until(pilot, lambda: any(n > 1 for n in attempts_shown(screen_text(app))))
            await leave_while_loading(pilot, late)
