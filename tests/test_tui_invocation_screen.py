"""The invocation screen takes a red invocation to its failing target, its files and its log."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from buildbuddy_picks import MID_BUILD_SEED, invocation_leaving_targets_building, old_server_run
from drilldown_app import (
    FIXED_NOW_MS,
    DrillApp,
    failed_test_invocation,
    log_text,
    sim_config,
    wait_until,
)
from textual.pilot import Pilot
from textual.widgets import Static

from buildwatch.core.backoff import Backoff
from buildwatch.sim import FaultSpec, SimulatorThread
from buildwatch.sim.buildbuddy_invocations import plan_invocations
from buildwatch.sim.world import World
from buildwatch.tui.screens.file_viewer import FileViewerScreen
from buildwatch.tui.screens.invocation import InvocationScreen
from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.log_panel import LogPanel

pytestmark = pytest.mark.timeout(90)
FAILED = failed_test_invocation()


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config()) as thread:
        yield thread


def app_for(sim: SimulatorThread, invocation_id: str = FAILED) -> DrillApp:
    return DrillApp(sim, lambda: InvocationScreen(invocation_id))


async def loaded(pilot: Pilot[None]) -> InvocationScreen:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, InvocationScreen))
    screen = pilot.app.screen
    assert isinstance(screen, InvocationScreen)
    await wait_until(pilot, lambda: screen.finished and screen.log_complete)
    await pilot.pause()
    return screen


def target_table(screen: InvocationScreen) -> LiveTable:
    return screen.query_one("#targets-table", LiveTable)


async def test_targets_are_listed_failures_first(sim: SimulatorThread) -> None:
    async with app_for(sim).run_test() as pilot:
        screen = await loaded(pilot)
        table = target_table(screen)
        statuses = [screen.targets[table.row_key_at(i)].status for i in range(table.row_count)]
        assert statuses[0] == "failed" and "failed" not in statuses[statuses.index("passed"):]


def shown_statuses(screen: InvocationScreen) -> list[str]:
    table = target_table(screen)
    return [screen.targets[table.row_key_at(i)].status for i in range(table.row_count)]


async def test_targets_a_finished_invocation_left_building_show_as_not_built_last(
        sim: SimulatorThread) -> None:
    invocation = invocation_leaving_targets_building(sim, sim_config().seed, running=False)
    async with app_for(sim, invocation).run_test() as pilot:
        screen = await loaded(pilot)
        statuses = shown_statuses(screen)
        assert "building" not in statuses and "not built" in statuses
        others = [i for i, status in enumerate(statuses) if status not in ("not built", "skipped")]
        assert max(others) < statuses.index("not built")


async def test_targets_of_a_running_invocation_still_show_as_building() -> None:
    with SimulatorThread(sim_config(seed=MID_BUILD_SEED)) as mid_build:
        invocation = invocation_leaving_targets_building(mid_build, MID_BUILD_SEED, running=True)
        async with DrillApp(mid_build, lambda: InvocationScreen(invocation)).run_test() as pilot:
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, InvocationScreen))
            screen = pilot.app.screen
            assert isinstance(screen, InvocationScreen)
            await wait_until(pilot, lambda: bool(screen.targets))
            await pilot.pause()
            statuses = shown_statuses(screen)
            assert not screen.finished
            assert "building" in statuses and "not built" not in statuses


async def test_the_header_names_status_command_and_the_web_link(sim: SimulatorThread) -> None:
    async with app_for(sim).run_test(size=(200, 40)) as pilot:
        screen = await loaded(pilot)
        header = str(screen.query_one("#invocation-header", Static).render())
        assert "status FAILED (tests failed)" in header and "command bazel test" in header
        assert f"{sim.buildbuddy_url}/invocation/{FAILED}" in header


async def test_the_header_of_an_invocation_with_success_and_no_status_says_success(
    sim: SimulatorThread,
) -> None:
    async with app_for(sim, old_server_run("2021", "ok")).run_test(size=(200, 40)) as pilot:
        screen = await loaded(pilot)
        header = str(screen.query_one("#invocation-header", Static).render())
        assert "status SUCCESS" in header
        assert "UNKNOWN" not in header and "unknown" not in header


async def test_actions_without_a_target_label_show_the_target_their_id_encodes(
    sim: SimulatorThread,
) -> None:
    async with app_for(sim, old_server_run("2021", "build")).run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press("a")
        title = screen.query_one("#actions-title", Static)
        await wait_until(pilot, lambda: "All actions:" in str(title.render()))
        shown = {row.target for row in screen.files.values()}
        assert shown and shown <= {row.label for row in screen.targets.values()}


async def test_enter_on_a_target_lists_its_actions_and_files(sim: SimulatorThread) -> None:
    async with app_for(sim).run_test() as pilot:
        screen = await loaded(pilot)
        label = screen.targets[target_table(screen).row_key_at(0)].label
        await pilot.press("enter")
        table = screen.query_one("#actions-table", LiveTable)
        await wait_until(pilot, lambda: table.row_count > 1)
        assert screen.active_tab == "actions"
        names = {screen.files[table.row_key_at(i)].target for i in range(table.row_count)}
        assert names == {label}


async def test_a_lists_every_action_of_the_invocation(sim: SimulatorThread) -> None:
    async with app_for(sim).run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press("a")
        table = screen.query_one("#actions-table", LiveTable)
        title = screen.query_one("#actions-title", Static)
        await wait_until(pilot, lambda: "All actions:" in str(title.render()))
        labels = {screen.files[table.row_key_at(i)].target for i in range(table.row_count)}
        assert len(labels) > 1


async def test_actions_that_cannot_be_read_say_why_and_a_lists_them_again(
    sim: SimulatorThread,
) -> None:
    # Quick retries: the title says why only once the client has given up.
    app = DrillApp(sim, lambda: InvocationScreen(FAILED),
                   backoff=lambda: Backoff(base_s=0.01, cap_s=0.05))
    async with app.run_test() as pilot:
        screen = await loaded(pilot)
        title = screen.query_one("#actions-title", Static)
        sim.set_faults(FaultSpec(unavailable=1.0, burst=1000))
        try:
            await pilot.press("a")
            await wait_until(pilot, lambda: "a lists them again" in str(title.render()))
            assert "Unavailable" in str(title.render())
        finally:
            sim.set_faults(FaultSpec())  # the simulator serves the module's other tests too
        await pilot.press("a")
        table = screen.query_one("#actions-table", LiveTable)
        await wait_until(pilot, lambda: "All actions:" in str(title.render())
                         and "again" not in str(title.render()))
        assert table.row_count > 1


async def test_l_jumps_to_the_log_from_the_targets(sim: SimulatorThread) -> None:
    async with app_for(sim).run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press("l")
        panel = screen.query_one("#invocation-log", LogPanel)
        assert screen.active_tab == "log" and panel.view.has_focus
        assert "INFO:" in log_text(panel.view) or "FAILED" in log_text(panel.view)


async def test_number_keys_switch_the_three_tabs(sim: SimulatorThread) -> None:
    async with app_for(sim).run_test() as pilot:
        screen = await loaded(pilot)
        shown = []
        for key in "321":
            await pilot.press(key)
            shown.append(screen.active_tab)
        assert shown == ["log", "actions", "targets"]


async def test_a_filter_narrows_the_targets(sim: SimulatorThread) -> None:
    async with app_for(sim).run_test() as pilot:
        screen = await loaded(pilot)
        total = target_table(screen).row_count
        await pilot.press("slash", *"payments", "enter")
        assert 0 < target_table(screen).row_count < total


async def test_enter_on_a_file_opens_the_file_viewer_and_escape_comes_back(
        sim: SimulatorThread) -> None:
    async with app_for(sim).run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press("enter")
        table = screen.query_one("#actions-table", LiveTable)
        await wait_until(pilot, lambda: table.row_count > 1)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, FileViewerScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: pilot.app.screen is screen)
        assert screen.active_tab == "actions"


async def test_a_running_invocation_is_followed(sim: SimulatorThread) -> None:
    recent = {commit.sha for commit in World(sim_config().seed).commits[-3:]}
    plans = plan_invocations(World(sim_config().seed), 0)
    live = next(p.invocation_id for p in plans if p.role == "CI" and p.commit.sha in recent)
    async with app_for(sim, live).run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, InvocationScreen))
        screen = pilot.app.screen
        assert isinstance(screen, InvocationScreen)
        await wait_until(pilot, lambda: screen.invocation is not None)
        header = str(screen.query_one("#invocation-header", Static).render())
        panel = screen.query_one("#invocation-log", LogPanel)
        await wait_until(pilot, lambda: "following" in str(panel.query_one(".log-status", Static).render()))
        assert "IN PROGRESS" in header and not screen.finished and not screen.log_complete


async def test_a_running_invocation_shows_its_progress_in_the_status_not_in_the_log(
    sim: SimulatorThread,
) -> None:
    now_us = FIXED_NOW_MS * 1000
    running = next(
        plan for plan in plan_invocations(World(sim_config().seed), now_us)
        if plan.role == "CI" and (plan.elapsed(now_us) or 0) > plan.analysed
    )
    async with app_for(sim, running.invocation_id).run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, InvocationScreen))
        panel = pilot.app.screen.query_one("#invocation-log", LogPanel)

        def status() -> str:
            return str(panel.query_one(".log-status", Static).render())

        await wait_until(pilot, lambda: "actions running" in status())
        assert "invocation running" in status()
        assert log_text(panel.view) and "actions running" not in log_text(panel.view)
