"""Timing context on screen, driven with Pilot against the simulator: a running invocation well
past its typical duration is marked SLOW (and becomes so as it runs on), a typical one is not,
the build and invocation screens' headers say how long their work usually takes, and the
typical durations a restart reads from the history are those the first run built live."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static
from tui_harness import (
    FIXED_NOW_MS,
    RecordingApp,
    all_enriched,
    builds_table,
    caught_up,
    invocations_table,
    sim_config,
    wait_for,
)

from buildwatch.cli.tui import simulator_settings
from buildwatch.core.config import Profile, UiPreferences
from buildwatch.core.triage.typical_durations import MIN_SAMPLES, SLOW_RATIO, Typical, build_work
from buildwatch.sim import SimulatorThread
from buildwatch.sim.buildbuddy_invocations import HUNG_FOR_US, hung_invocation, plan_invocations
from buildwatch.sim.world import World
from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.screens.invocation import InvocationScreen
from buildwatch.tui.screens.main import MainScreen
from buildwatch.tui.widgets.live_table import LiveTable

pytestmark = pytest.mark.timeout(90)
SnapCompare = Callable[..., bool]
SIZE = (160, 40)
WORLD = World(sim_config().seed)
HUNG = hung_invocation(WORLD, 0).invocation_id
"""The simulator's CI `bazel test //...` that has run for 40 minutes at its start."""
LIVE = next(plan.invocation_id for plan in plan_invocations(WORLD, 0)
            if plan.role == "CI" and plan.commit == WORLD.commits[-1]
            and plan.command == "test" and plan.invocation_id != HUNG)
"""A CI `bazel test //...` of the same commit that started a few minutes before the start."""


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config()) as running:
        yield running


def watching_every_commit(sim: SimulatorThread, now_ms: Callable[[], int],
                          poll_s: float = 5.0) -> RecordingApp:
    """The app on `sim`, every commit of the world watched: enough finished `bazel test //...`
    runs for a typical duration. BuildBuddy is polled every `poll_s`."""
    settings = simulator_settings(sim.develocity_url, "sim-token", "sim-api-key")
    ui = UiPreferences(poll_interval_seconds=poll_s)
    settings = dataclasses.replace(settings, profile=Profile(name="demo", ui=ui))
    return RecordingApp(settings, watch=[(commit.sha, "command line") for commit in WORLD.commits],
                        now_ms=now_ms, clock=lambda: 1000.0, highlight_seconds=0.0)


def cells(table: LiveTable, key: str) -> dict[str, str]:
    """What the table holds for row `key`, as column key -> text."""
    model = table._model
    return {column.key: cell.plain if isinstance(cell, Text) else cell
            for column, cell in zip(model.columns, model.record(key).cells, strict=True)}


async def typical_known(pilot: Pilot[None], app: RecordingApp) -> None:
    """Wait until both invocations are listed and their work's typical duration is known."""
    store = app.store

    def ready() -> bool:
        hung = store.invocations.get(HUNG)
        return (hung is not None and LIVE in store.invocations
                and store.timings.of_invocation(hung) is not None)

    await wait_for(pilot, ready)


async def shown(pilot: Pilot[None], app: RecordingApp, key: str) -> dict[str, str]:
    """Invocation `key`'s row, once its work's typical duration is known and it is listed."""
    await typical_known(pilot, app)
    table = invocations_table(app)
    await wait_for(pilot, lambda: table._model.index_of(key) is not None)
    return cells(table, key)


async def test_a_running_invocation_far_past_its_typical_duration_is_marked_slow(
    sim: SimulatorThread,
) -> None:
    app = watching_every_commit(sim, lambda: FIXED_NOW_MS)
    async with app.run_test(size=SIZE) as pilot:
        row = await shown(pilot, app, HUNG)

        assert row["status"] == "⟳ SLOW"
        assert re.fullmatch(r"(39m59|40m00)s/~\d+m", row["duration"])


async def test_a_running_invocation_within_its_typical_duration_is_not_marked(
    sim: SimulatorThread,
) -> None:
    app = watching_every_commit(sim, lambda: FIXED_NOW_MS)
    async with app.run_test(size=SIZE) as pilot:
        row = await shown(pilot, app, LIVE)

        assert row["status"] == "⟳ in progress"
        assert "/~" in row["duration"]


async def test_a_running_invocation_becomes_slow_as_it_runs_on_without_news(
    sim: SimulatorThread,
) -> None:
    now = [FIXED_NOW_MS - HUNG_FOR_US // 1000 + 60_000]
    """A minute into the hung run: not slow yet."""
    app = watching_every_commit(sim, lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        assert (await shown(pilot, app, HUNG))["status"] == "⟳ in progress"
        table = invocations_table(app)
        typical = app.store.timings.of_invocation(app.store.invocations[HUNG])
        assert typical is not None
        now[0] += int(typical.p50_ms * (SLOW_RATIO + 1))

        await wait_for(pilot, lambda: cells(table, HUNG)["status"] == "⟳ SLOW")


def header_says(screen: BuildScreen | InvocationScreen, typical: Typical | None) -> bool:
    header = screen.query_one("#build-header" if isinstance(screen, BuildScreen)
                              else "#invocation-header", Static)
    return typical is not None and f"typical {typical.text()}" in str(header.render())


async def test_the_build_screen_header_says_how_long_its_work_usually_takes(
    sim: SimulatorThread,
) -> None:
    app = watching_every_commit(sim, lambda: FIXED_NOW_MS)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, sim_config().builds))
        top = app.store.builds[builds_table(app).row_key_at(0)].summary
        work = build_work(top) if top is not None else None
        assert work is not None
        # Twelve builds are too few for a typical: earlier runs of the same work.
        for number in range(MIN_SAMPLES):
            app.store.timings.add(work, f"earlier{number}", number, (180 + 30 * number) * 1000)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BuildScreen))
        screen = app.screen
        assert isinstance(screen, BuildScreen)

        await wait_for(pilot, lambda: header_says(screen, app.store.timings.of_build(top)))


async def test_the_invocation_screen_header_says_how_long_its_work_usually_takes(
    sim: SimulatorThread,
) -> None:
    app = watching_every_commit(sim, lambda: FIXED_NOW_MS)
    async with app.run_test(size=SIZE) as pilot:
        await typical_known(pilot, app)
        assert invocations_table(app).select_row(HUNG)
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InvocationScreen))
        screen = app.screen
        assert isinstance(screen, InvocationScreen) and screen.invocation_id == HUNG

        await wait_for(pilot, lambda: header_says(
            screen, app.store.timings.of_invocation(app.store.invocations[HUNG])))


async def test_a_restart_reads_the_typical_durations_the_first_run_built_live(
    tmp_path: Path,
) -> None:
    history = tmp_path / "history.sqlite3"
    with SimulatorThread(sim_config(now_ms=None)) as sim:
        settings = dataclasses.replace(
            simulator_settings(sim.develocity_url, "sim-token", "sim-api-key"), history=history)
        live = RecordingApp(settings, watch=[(c.sha, "command line") for c in WORLD.commits])
        async with live.run_test(size=SIZE) as pilot:
            await wait_for(pilot, all_enriched(live, sim_config().builds))
            await wait_for(pilot, lambda: len(live.store.watched_commits()) > 0 and (
                live.store.buildbuddy.detail.startswith(
                    f"{len(live.store.watched_commits())} commit")))
        assert live.closing_problems == []
        assert live.store.timings.version > 0

        restarted = RecordingApp(dataclasses.replace(settings, offline=True))
        async with restarted.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: len(restarted.store.builds) == len(live.store.builds)
                           and len(restarted.store.invocations) == len(live.store.invocations))

        assert restarted.store.timings == live.store.timings


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_timing_context_picture(snap_compare: SnapCompare, sim: SimulatorThread,
                                size: tuple[int, int]) -> None:
    # The simulator starts a millisecond or so after its frozen time, and the hung run's time
    # so far would read 39m59s or 40m00s by chance: half a second later, it reads 40m00s. One
    # poll only: the next would count the running invocations again in the rate shown.
    app = watching_every_commit(sim, lambda: FIXED_NOW_MS + 500, poll_s=3600)

    async def run_before(pilot: Pilot[None]) -> None:
        await typical_known(pilot, app)
        await wait_for(pilot, all_enriched(app, sim_config().builds))
        watched = len(app.store.watched_commits())
        await wait_for(pilot, lambda: app.store.buildbuddy.detail.startswith(f"{watched} commit"))
        await wait_for(pilot, lambda: not app.store.has_changes)
        # The longest first: the slow run and the finished ones that took long.
        await pilot.press("tab")
        invocations_table(app).sort_by("duration", descending=True)
        # What the timer does every second: rows made before the last runs were counted are
        # rewritten against the typical durations as they are now.
        screen = app.screen
        assert isinstance(screen, MainScreen)
        screen.refresh_invocation_durations()
        await caught_up(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
