"""A minimal app around the drill-down screens, with real clients talking to a simulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from textual.app import App
from textual.command import CommandPalette
from textual.message import Message
from textual.pilot import Pilot
from textual.screen import Screen
from textual.worker import WorkerState

from buildwatch.core.backoff import Backoff
from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimConfig, SimulatorThread
from buildwatch.sim.buildbuddy_invocations import plan_invocations
from buildwatch.sim.world import World
from buildwatch.tui.services import ProvidesServices, Services
from buildwatch.tui.widgets.log_view import LogView

FIXED_NOW_MS = 1_780_000_000_000
"""The simulator's clock for tests and snapshots: same data, same pictures."""


def sim_config(**overrides: Any) -> SimConfig:
    """A small, reproducible simulator whose builds are ready at once."""
    settings: dict[str, Any] = {"builds": 60, "now_ms": FIXED_NOW_MS, "not_ready_s": 0.0}
    settings.update(overrides)
    return SimConfig(**settings)


def pick_build(sim: SimulatorThread, wanted: Callable[[dict[str, Any]], bool]) -> str:
    """The id of the first published build the simulator describes as `wanted`."""
    builds = httpx.get(f"{sim.develocity_url}/_sim/develocity/builds", timeout=10).json()
    return str(next(build["buildId"] for build in builds if wanted(build)))


class DrillApp(ProvidesServices, App[None]):
    """Opens one screen over an empty base screen; its clients talk to the simulator."""

    def __init__(self, sim: SimulatorThread, screen: Callable[[], Screen[Any]],
                 web_urls: tuple[str, str] | None = None,
                 backoff: Callable[[], Backoff] = Backoff) -> None:
        """`web_urls` (Develocity, BuildBuddy) replace the simulator's in links, for pictures;
        `backoff` paces the BuildBuddy client's retries."""
        super().__init__()
        develocity_web, buildbuddy_web = web_urls or (sim.develocity_url, sim.buildbuddy_url)
        self._make_screen = screen
        self._services = Services(
            develocity=DevelocityClient(
                DevelocityConnection(sim.develocity_url, token=Secret("sim-token"))),
            buildbuddy=BuildBuddyClient(
                BuildBuddyConnection(sim.buildbuddy_url, api_key=Secret("sim-api-key")),
                live_poll_s=0.1, backoff=backoff),
            develocity_url=develocity_web,
            buildbuddy_url=buildbuddy_web,
            store=MonitorStore(),
        )

    @property
    def services(self) -> Services:
        return self._services

    def on_mount(self) -> None:
        self.push_screen(self._make_screen())

    async def on_unmount(self) -> None:
        for client in (self.services.develocity, self.services.buildbuddy):
            if client is not None:
                await client.aclose()


def failed_test_invocation() -> str:
    """A finished CI `bazel test` whose tests failed, in the simulator `sim_config` starts."""
    plans = plan_invocations(World(sim_config().seed), 0)
    return next(plan.invocation_id for plan in plans
                if plan.exit_code == "TESTS_FAILED" and plan.command == "test")


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app run until `condition` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        await pilot.pause(0.05)


async def until_idle(pilot: Pilot[None]) -> None:
    """Let the app run until every worker it started has ended (a load, a delete): what the app
    has sent by then is all it will send."""
    await wait_until(pilot, lambda: all(worker.is_finished for worker in pilot.app.workers))
    await pilot.pause()


class LateMessages:
    """A `message_hook` for `run_test` that keeps the messages a screen's class defines which are
    handled anywhere once the screen has stopped: what its workers say then must reach no one."""

    def __init__(self) -> None:
        self.screen: Screen[Any] | None = None
        """The screen watched, from when it is left."""
        self.handled: list[Message] = []

    def __call__(self, message: Message) -> None:
        screen = self.screen
        if (screen is not None and not screen.is_running
                and type(message).__qualname__.startswith(f"{type(screen).__name__}.")):
            self.handled.append(message)


async def leave_while_loading(pilot: Pilot[Any], late: LateMessages) -> None:
    """Leave the app's screen with Escape while its workers load, and check that it went
    quietly: its workers ended with it, none in an error (one that touched a removed widget
    would have ended in `NoMatches`), nothing they said was handled once it had gone, and the
    app runs on and answers a key on the screen below."""
    app = pilot.app
    screen = late.screen = app.screen
    workers = [worker for worker in app.workers if worker.node is screen]
    assert workers and not any(worker.is_finished for worker in workers)
    await pilot.press("escape")
    await wait_until(pilot, lambda: all(worker.is_finished for worker in workers))
    assert [worker.error for worker in workers if worker.state is WorkerState.ERROR] == []
    await pilot.press("ctrl+p")
    assert isinstance(app.screen, CommandPalette) and app.return_code is None
    assert late.handled == []


def log_text(view: LogView) -> str:
    """What a log view holds, without colour sequences."""
    return "".join(view.iter_text(strip_sgr=True))


def screen_text(app: App[Any]) -> str:
    """The characters on the app's screen, line by line, without styles."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)
