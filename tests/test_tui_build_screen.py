"""The build screen takes a red build to its failing task, test, event and console line."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from drilldown_app import DrillApp, log_text, pick_build, screen_text, sim_config, wait_until
from textual.pilot import Pilot
from textual.widgets import Input, Static, TabbedContent
from textual.worker import WorkerState

from buildwatch.sim import SimulatorThread
from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.screens.log import LogScreen
from buildwatch.tui.widgets.breadcrumb import Breadcrumb
from buildwatch.tui.widgets.event_list import EventList
from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.log_panel import LogPanel
from buildwatch.tui.widgets.log_view import LogView

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config()) as thread:
        yield thread


@pytest.fixture(scope="module")
def failed_gradle(sim: SimulatorThread) -> str:
    return pick_build(sim, lambda b: b["toolType"] == "gradle" and b["failed"]
                      and not b["eventCount"])


def app_for(sim: SimulatorThread, build_id: str) -> DrillApp:
    return DrillApp(sim, lambda: BuildScreen(build_id))


async def loaded(pilot: Pilot[None]) -> BuildScreen:
    screen = pilot.app.screen
    assert isinstance(screen, BuildScreen)
    await wait_until(pilot, lambda: screen.loaded)
    await pilot.pause()
    return screen


def static_text(screen: BuildScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_the_summary_shows_the_failure_chain_then_failed_tasks_and_tests(
        sim: SimulatorThread, failed_gradle: str) -> None:
    async with app_for(sim, failed_gradle).run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        text = log_text(screen.query_one("#summary-log", LogPanel).view)
        assert text.startswith("BUILD FAILED\n\norg.gradle.api.tasks.TaskExecutionException")
        assert text.index("Caused by:") < text.index("Failed tasks") < text.index("Failed tests")


async def test_the_header_names_outcome_tool_user_and_the_build_scan_link(
        sim: SimulatorThread, failed_gradle: str) -> None:
    async with app_for(sim, failed_gradle).run_test(size=(200, 40)) as pilot:
        screen = await loaded(pilot)
        header = static_text(screen, "#build-header")
        assert "outcome FAILED" in header and "tool gradle" in header and "user " in header
        assert header.splitlines()[1] == f"{sim.develocity_url}/s/{failed_gradle}"
        assert f"{sim.develocity_url}/s/{failed_gradle}" in header


async def test_number_keys_switch_tabs_in_order(sim: SimulatorThread, failed_gradle: str) -> None:
    async with app_for(sim, failed_gradle).run_test() as pilot:
        screen = await loaded(pilot)
        shown = []
        for key in "23451":
            await pilot.press(key)
            shown.append(screen.active_tab)
        assert shown == ["work", "tests", "events", "console", "summary"]


async def test_clicking_a_tab_switches_to_it(sim: SimulatorThread, failed_gradle: str) -> None:
    async with app_for(sim, failed_gradle).run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await pilot.click("#--content-tab-tests")
        assert screen.active_tab == "tests"


async def test_the_tasks_tab_lists_failed_tasks_first(sim: SimulatorThread,
                                                      failed_gradle: str) -> None:
    async with app_for(sim, failed_gradle).run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press("2")
        table = screen.query_one("#work-table", LiveTable)
        assert screen.detail.work[table.row_key_at(0)].outcome == "failed"
        assert table.row_count == len(screen.detail.work)


async def test_a_filter_narrows_the_table_and_escape_keeps_it(sim: SimulatorThread,
                                                               failed_gradle: str) -> None:
    async with app_for(sim, failed_gradle).run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press("2", "slash", *"compileJava")
        table = screen.query_one("#work-table", LiveTable)
        assert 0 < table.row_count < len(screen.detail.work)
        await pilot.press("escape")
        assert table.has_focus and table.filter_text == "compileJava"
        assert isinstance(pilot.app.screen, BuildScreen)


async def test_enter_on_the_failed_test_opens_its_failure(sim: SimulatorThread,
                                                          failed_gradle: str) -> None:
    async with app_for(sim, failed_gradle).run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press("3", "enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, LogScreen))
        await pilot.pause()
        text = log_text(pilot.app.screen.query_one(LogView))
        failed = screen.detail.failed_tests()[0]
        assert text.startswith(f"{failed.class_name}.{failed.name}\noutcome: failed")
        assert "AssertionFailedError" in text


async def test_escape_goes_back_keeping_the_tab_filter_and_cursor(
        sim: SimulatorThread, failed_gradle: str) -> None:
    async with app_for(sim, failed_gradle).run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press("3", "slash", *"core", "enter", "down", "down")
        table = screen.query_one("#tests-table", LiveTable)
        cursor = table.cursor_row_key
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, LogScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: pilot.app.screen is screen)
        assert (screen.active_tab, table.filter_text, table.cursor_row_key) == (
            "tests", "core", cursor)


async def test_the_events_tab_filters_by_type_and_shows_the_selected_events_json(
        sim: SimulatorThread, failed_gradle: str) -> None:
    async with app_for(sim, failed_gradle).run_test(size=(140, 40)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("4", "slash", *"TaskFinished", "enter")
        events = screen.query_one("#event-list", EventList)
        assert events.row_count == screen.detail.events.type_counts()["TaskFinished"]
        await pilot.press("down")
        await pilot.pause()
        json_text = log_text(screen.query_one("#event-json", LogView))
        assert '"eventType": "TaskFinished"' in json_text and '"outcome"' in json_text


async def test_the_console_tab_shows_the_output_and_e_jumps_to_an_error(
        sim: SimulatorThread, failed_gradle: str) -> None:
    async with app_for(sim, failed_gradle).run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press("5", "g", "e")
        view = screen.query_one("#console-log", LogPanel).view
        assert "> Task :" in log_text(view)
        assert view.current_line is not None


async def test_q_quits_but_is_typed_inside_the_filter(sim: SimulatorThread,
                                                       failed_gradle: str) -> None:
    app = app_for(sim, failed_gradle)
    async with app.run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press("2", "slash", "q")
        assert screen.query_one("#filter", Input).value == "q" and app.return_code is None
        await pilot.press("escape", "q")
        await pilot.pause()
        assert app.return_code == 0


async def test_closing_the_screen_cancels_the_event_stream(sim: SimulatorThread) -> None:
    big = pick_build(sim, lambda b: (b["eventCount"] or 0) > 100_000)
    async with app_for(sim, big).run_test() as pilot:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, BuildScreen))
        screen = pilot.app.screen
        assert isinstance(screen, BuildScreen)
        await wait_until(pilot, lambda: len(screen.detail.events) > 1000)
        [worker] = [w for w in pilot.app.workers if w.group == "build-events"]
        await pilot.press("escape")
        await wait_until(pilot, lambda: worker.state is WorkerState.CANCELLED)
        assert not screen.loaded


async def test_a_big_build_streams_every_event_with_progress(sim: SimulatorThread) -> None:
    big = pick_build(sim, lambda b: (b["eventCount"] or 0) > 100_000)
    async with app_for(sim, big).run_test() as pilot:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, BuildScreen))
        screen = pilot.app.screen
        assert isinstance(screen, BuildScreen)
        await wait_until(pilot, lambda: "loading" in static_text(screen, "#build-progress"))
        await wait_until(pilot, lambda: screen.loaded, timeout=60)
        await pilot.pause()
        count = len(screen.detail.events)
        assert count > 100_000
        assert static_text(screen, "#build-progress") == f"{count:,} events"
        assert screen.query_one("#event-list", EventList).row_count == count


async def test_a_maven_build_names_its_work_goals(sim: SimulatorThread) -> None:
    build_id = pick_build(sim, lambda b: b["toolType"] == "maven")
    async with app_for(sim, build_id).run_test() as pilot:
        screen = await loaded(pilot)
        label = screen.query_one("#tabs", TabbedContent).get_tab("work").label_text
        assert label == "2 Goals"


async def test_the_breadcrumb_names_the_build_its_tab_and_filter(sim: SimulatorThread,
                                                                 failed_gradle: str) -> None:
    async with app_for(sim, failed_gradle).run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press("2", "slash", *"core", "enter")
        trail = str(screen.query_one(Breadcrumb).render())
        assert trail == f"build {failed_gradle} \u203a Tasks (filter: core)"


def shown_rows(app: DrillApp, event_list: EventList) -> list[str]:
    """The event list's rows on screen, by their text."""
    lines = screen_text(app).splitlines()
    region = event_list.scrollable_content_region
    return [line[region.x:region.right] for line in
            lines[region.y:region.y + min(event_list.row_count, region.height)]]


@pytest.mark.parametrize(("event_type", "account"), [
    ("TaskFinished", re.compile(r"path=:\S+ outcome=\w+")),
    ("ExceptionData", re.compile(r"\w+(\.\w+)+(Exception|Error): \S")),
    ("TestStarted", re.compile(r"name=\S")),
    ("OutputStyledTextEvent", re.compile(r"OutputStyledTextEvent +> Task :")),
])
async def test_the_events_tab_shows_a_one_line_account_of_each_event(
        sim: SimulatorThread, failed_gradle: str, event_type: str, account: re.Pattern[str]
) -> None:
    app = app_for(sim, failed_gradle)
    async with app.run_test(size=(200, 40)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("4", "slash", *event_type, "enter")
        await pilot.pause()
        rows = shown_rows(app, screen.query_one("#event-list", EventList))
        assert rows and all(event_type in row and '{"' not in row for row in rows)
        assert any(account.search(row) for row in rows)


def searching(screen: BuildScreen) -> bool:
    """Whether the current tab shows a search: the event list's filter, or the log's search."""
    if screen.active_tab == "events":
        return screen.query_one("#event-list", EventList).filter_text != ""
    return screen.query_one(f"#{screen.active_tab}-log", LogPanel).view.searching


@pytest.mark.parametrize("tab", ["4", "5"])
async def test_escape_after_a_search_clears_it_then_goes_back(
        sim: SimulatorThread, failed_gradle: str, tab: str) -> None:
    async with app_for(sim, failed_gradle).run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press(tab, "slash", *"Task", "enter")
        assert searching(screen)
        await pilot.press("escape")
        assert pilot.app.screen is screen and not searching(screen)
        await pilot.press("escape")
        await wait_until(pilot, lambda: pilot.app.screen is not screen)


async def test_escape_after_a_search_in_the_log_viewer_clears_it_then_goes_back(
        sim: SimulatorThread, failed_gradle: str) -> None:
    async with app_for(sim, failed_gradle).run_test() as pilot:
        screen = await loaded(pilot)
        await pilot.press("3", "enter")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, LogScreen))
        log_screen = pilot.app.screen
        await pilot.press("slash", *"failed", "enter")
        assert log_screen.query_one(LogView).searching
        await pilot.press("escape")
        assert pilot.app.screen is log_screen and not log_screen.query_one(LogView).searching
        await pilot.press("escape")
        await wait_until(pilot, lambda: pilot.app.screen is screen)
