"""Pictures of the main screen in each state it can be in, at 80x24 and at a large size.

Every clock is frozen (`make_app(frozen=True)`), so relative times, rates and ages are stable.
States that depend on timing (reconnecting, auth failed) are set on the store once the feeds
are stopped: the feed tests check how the feeds get there; these check what the user sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input
from tui_harness import (
    DEAD_URL,
    all_enriched,
    builds_table,
    caught_up,
    make_app,
    sim_config,
    stop_feed,
    wait_for,
)

from buildwatch.core.config import UiPreferences
from buildwatch.sim import SimulatorThread
from buildwatch.tui.screens.credentials import CredentialsScreen

pytestmark = pytest.mark.timeout(90)
BUILDS = 12
QUIET = UiPreferences(notify=())
LARGE = (160, 48)

SnapCompare = Callable[..., bool]


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config(builds=BUILDS)) as running:
        yield running


def settled(count: int) -> Callable[[Pilot[Any]], Any]:
    """Wait until every build is summarised and every watched commit has been polled."""

    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        store = app.store  # type: ignore[attr-defined]
        await wait_for(pilot, all_enriched(app, count))  # type: ignore[arg-type]
        watched = len(store.watched_commits())
        await wait_for(pilot, lambda: store.buildbuddy.detail.startswith(f"{watched} commit"))
        await wait_for(pilot, lambda: not store.has_changes)

    return run_before


def test_empty(snap_compare: SnapCompare) -> None:
    with SimulatorThread(sim_config(builds=0)) as empty:
        app = make_app(empty.develocity_url, frozen=True, ui=QUIET)

        async def run_before(pilot: Pilot[Any]) -> None:
            store = app.store
            await wait_for(pilot, lambda: store.develocity.state == "live"
                           and store.buildbuddy.state == "live")

        assert snap_compare(app, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), LARGE], ids=["80x24", "160x48"])
def test_live(snap_compare: SnapCompare, sim: SimulatorThread, size: tuple[int, int]) -> None:
    app = make_app(sim.develocity_url, frozen=True, ui=QUIET)
    assert snap_compare(app, terminal_size=size, run_before=settled(BUILDS))


def test_filtered(snap_compare: SnapCompare, sim: SimulatorThread) -> None:
    app = make_app(sim.develocity_url, frozen=True, ui=QUIET)
    assert snap_compare(app, terminal_size=LARGE, run_before=settled(BUILDS),
                        press=["slash", *"FAILED", "enter"])


def test_paused_with_new_builds(snap_compare: SnapCompare, sim: SimulatorThread) -> None:
    app = make_app(sim.develocity_url, frozen=True, ui=QUIET)

    async def run_before(pilot: Pilot[Any]) -> None:
        await settled(BUILDS)(pilot)
        await pilot.press("j", "j")
        sim.publish_builds(3)
        await wait_for(pilot, lambda: builds_table(app).new_while_paused == 3)
        await settled(BUILDS + 3)(pilot)

    assert snap_compare(app, terminal_size=LARGE, run_before=run_before)


def test_reconnecting(snap_compare: SnapCompare) -> None:
    app = make_app(DEAD_URL, frozen=True, ui=QUIET)

    async def run_before(pilot: Pilot[Any]) -> None:
        await stop_feed(pilot, "develocity")
        await stop_feed(pilot, "buildbuddy")
        app.store.retrying("develocity", "cannot connect (connection refused)", 7.0, 3)
        app.store.set_state("buildbuddy", "offline", "cannot reach BuildBuddy")
        await caught_up(pilot)

    assert snap_compare(app, run_before=run_before)


def test_auth_failed(snap_compare: SnapCompare) -> None:
    app = make_app(DEAD_URL, frozen=True, ui=QUIET)

    async def run_before(pilot: Pilot[Any]) -> None:
        await stop_feed(pilot, "develocity")
        await stop_feed(pilot, "buildbuddy")
        app.store.set_state("buildbuddy", "offline", "not configured")
        app.store.set_state(
            "develocity", "auth_failed",
            "127.0.0.1:9 refused the credentials (401): set BUILDWATCH_DEVELOCITY_TOKEN or run "
            "`buildwatch auth login` with a valid access key",
        )
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        for field in app.screen.query(Input):
            field.cursor_blink = False

    assert snap_compare(app, terminal_size=LARGE, run_before=run_before)


def test_help(snap_compare: SnapCompare, sim: SimulatorThread) -> None:
    app = make_app(sim.develocity_url, frozen=True, ui=QUIET)
    assert snap_compare(app, terminal_size=LARGE, run_before=settled(BUILDS), press=["question_mark"])
