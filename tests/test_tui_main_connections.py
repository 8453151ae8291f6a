"""Refused credentials, dead servers and the status bar, driven with Pilot against the simulator."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator

import pytest
from keyring_backend import TempDirKeyring
from textual.widgets import Input
from tui_harness import (
    BUILDS,
    DEAD_URL,
    all_enriched,
    app_on,
    builds_table,
    invocations_table,
    sim_config,
    wait_for,
)

from buildwatch.core import credentials
from buildwatch.core.connection import DevelocityConnection
from buildwatch.sim import SimulatorThread
from buildwatch.tui.app import BuildwatchApp
from buildwatch.tui.screens.credentials import CredentialsScreen
from buildwatch.tui.screens.main import MainScreen
from buildwatch.tui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.timeout(60)
SIZE = (140, 40)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config()) as running:
        yield running


def status_line(app: BuildwatchApp) -> str:
    return str(app.screen.query_one(StatusBar).render())


async def test_a_refused_token_asks_for_a_new_one_and_reconnects(
    sim: SimulatorThread, temp_keyring: TempDirKeyring
) -> None:
    app = app_on(sim, token="wrong-token")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        assert app.store.develocity.state == "auth_failed"
        key = app.screen.query_one("#key", Input)
        assert key.password
        await pilot.press(*"sim-token", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(pilot, all_enriched(app, BUILDS))
        assert app.store.develocity.state == "live"
    stored = credentials.read_stored("develocity", sim.develocity_url)
    assert stored is not None and stored.token is not None
    assert stored.token.reveal() == "sim-token"


async def test_a_key_the_server_also_refuses_keeps_the_screen_open(sim: SimulatorThread) -> None:
    app = app_on(sim, token="wrong-token")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        await pilot.press(*"still-wrong", "enter")
        await wait_for(pilot, lambda: "401" in str(app.screen.query_one("#problem").render()))
        assert isinstance(app.screen, CredentialsScreen)
        assert "still-wrong" not in app.export_screenshot()


async def test_a_late_answer_to_a_replaced_check_is_ignored(sim: SimulatorThread) -> None:
    app = app_on(sim, token="wrong-token")
    # A server that takes the connection and never answers keeps the second check waiting.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))
            screen = app.screen
            await pilot.press(*"still-wrong", "enter")
            await wait_for(pilot, lambda: "401" in str(screen.query_one("#problem").render()))
            screen.query_one("#url", Input).value = f"http://127.0.0.1:{silent.getsockname()[1]}"
            await pilot.press("enter")
            # The first check's answer arrives while the second one waits.
            screen.post_message(CredentialsScreen.Refused(1, "late answer"))
            await pilot.pause()
            assert "late answer" not in str(screen.query_one("#problem").render())
            assert "Checking" in str(screen.query_one("#progress").render())


async def test_without_a_usable_keyring_the_key_is_used_for_the_session(
    sim: SimulatorThread,
) -> None:
    app = app_on(sim, token="wrong-token")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        await pilot.press(*"sim-token", "enter")
        await wait_for(pilot, all_enriched(app, BUILDS))
        assert any(title == "Keyring" and severity == "warning"
                   for title, _, severity in app.notices)


async def test_a_refused_api_key_asks_for_the_buildbuddy_key(sim: SimulatorThread) -> None:
    app = app_on(sim, api_key="wrong-key")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        assert app.store.buildbuddy.state == "auth_failed"
        await pilot.press(*"sim-api-key", "enter")
        await wait_for(pilot, lambda: invocations_table(app).row_count > 0)
        assert app.store.buildbuddy.state == "live"


async def test_c_opens_the_credentials_screen_for_the_focused_pane(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "c")
        assert isinstance(app.screen, CredentialsScreen)
        assert "BuildBuddy" in app.export_screenshot()
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_a_dead_develocity_server_freezes_neither_the_screen_nor_buildbuddy(
    sim: SimulatorThread,
) -> None:
    app = app_on(sim)
    settings = app.session.settings
    dead = DevelocityConnection(base_url=DEAD_URL, token=settings.develocity.token
                                if settings.develocity else None)
    app = type(app)(dataclasses.replace(settings, develocity=dead))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store.develocity.state == "reconnecting")
        await wait_for(pilot, lambda: app.store.buildbuddy.state == "live")
        assert "reconnecting" in status_line(app)
        await pilot.press("tab")
        assert app.focused is invocations_table(app)


async def test_the_status_bar_shows_counts_and_the_live_state(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        line = status_line(app)
        assert f"Develocity live · {BUILDS} builds" in line
        assert "BuildBuddy live" in line
        assert builds_table(app).row_count == BUILDS


async def test_without_any_server_configured_both_sources_say_what_to_do() -> None:
    from buildwatch.core.config import Profile
    from buildwatch.core.monitor.session import MonitorSettings

    app = BuildwatchApp(MonitorSettings(Profile()))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.store.develocity.state == "offline"
                       and app.store.buildbuddy.state == "offline")
        line = status_line(app)
        assert "no Develocity server" in line
        assert "not configured" in line
        assert isinstance(app.screen, MainScreen)
