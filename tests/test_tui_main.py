"""The main screen's keys, driven with Pilot against the simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from buildbuddy_picks import old_server_run
from textual.command import CommandList, CommandPalette
from textual.widgets import Input
from tui_harness import (
    BUILDS,
    RecordingApp,
    all_enriched,
    app_on,
    builds_table,
    invocations_table,
    sim_config,
    wait_for,
)

from buildwatch.core.config import UiPreferences
from buildwatch.sim import SimulatorThread
from buildwatch.sim.world import World
from buildwatch.tui.screens.help import HelpScreen
from buildwatch.tui.screens.invocation import InvocationScreen
from buildwatch.tui.screens.main import MainScreen
from buildwatch.tui.screens.watch_commit import WatchCommitScreen
from buildwatch.tui.widgets.live_table import LiveTable

pytestmark = pytest.mark.timeout(60)
SIZE = (140, 40)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config()) as running:
        yield running


async def test_builds_and_invocations_appear_with_both_sources_live(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await wait_for(pilot, lambda: invocations_table(app).row_count > 0)
        assert builds_table(app).row_count == BUILDS
        assert app.store.develocity.state == "live"
        assert app.store.buildbuddy.state == "live"


async def test_newest_build_is_on_top(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        times = [app.store.builds[builds_table(app).row_key_at(index)].published_ms or 0
                 for index in range(BUILDS)]
        assert times == sorted(times, reverse=True)


async def test_slash_filters_the_focused_table_as_you_type(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        failed = sum(1 for entry in app.store.builds.values()
                     if entry.summary and entry.summary.outcome == "failed")
        await pilot.press("slash", *"FAILED")
        assert builds_table(app).row_count == failed
        await pilot.press("enter")
        assert app.focused is builds_table(app)
        assert builds_table(app).filter_text == "FAILED"


async def test_escape_clears_the_filter(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await pilot.press("slash", *"zzz-no-such-row")
        assert builds_table(app).row_count == 0
        await pilot.press("escape")
        assert builds_table(app).row_count == BUILDS
        assert not app.screen.query_one("#filter", Input).display


async def test_tab_and_shift_tab_move_between_panes(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        assert app.focused is builds_table(app)
        await pilot.press("tab")
        assert app.focused is invocations_table(app)
        await pilot.press("shift+tab")
        assert app.focused is builds_table(app)


async def test_the_focused_panes_title_is_the_bold_one(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:

        def bold_titles() -> list[str]:
            return [title.id or "" for title in app.screen.query(".pane-title")
                    if title.styles.text_style.bold]

        assert bold_titles() == ["builds-title"]
        await pilot.press("tab")
        assert bold_titles() == ["invocations-title"]
        await pilot.press("shift+tab")
        assert bold_titles() == ["builds-title"]


async def test_enter_opens_the_build_and_escape_comes_back(sim: SimulatorThread) -> None:
    from buildwatch.tui.screens.build import BuildScreen

    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await pilot.press("enter")
        assert isinstance(app.screen, BuildScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_enter_on_an_invocation_opens_the_invocation(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: invocations_table(app).row_count > 0)
        await pilot.press("tab", "enter")
        assert isinstance(app.screen, InvocationScreen)


async def test_f_pauses_and_counts_new_builds(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        top = builds_table(app).cursor_row_key
        await pilot.press("f")
        sim.publish_builds(3)
        await wait_for(pilot, lambda: builds_table(app).new_while_paused == 3)
        assert builds_table(app).cursor_row_key == top
        title = app.screen.query_one("#builds-title").render()
        assert "+3 new" in str(title)
        await pilot.press("f")
        assert builds_table(app).new_while_paused == 0
        assert builds_table(app).cursor_row == 0


async def test_s_reverses_the_sort(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        newest = builds_table(app).row_key_at(0)
        await pilot.press("s")
        assert not builds_table(app).sort_descending
        assert builds_table(app).row_key_at(BUILDS - 1) == newest


async def test_w_watches_a_commit(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        assert isinstance(app.screen, WatchCommitScreen)
        await pilot.press(*"ABCDEF12", "enter")
        assert isinstance(app.screen, MainScreen)
        assert "abcdef12" in app.store.watched_commits()


async def test_w_refuses_what_is_not_a_commit(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w", *"main", "enter")
        assert isinstance(app.screen, WatchCommitScreen)
        await pilot.press("escape")
        assert "main" not in app.store.watched_commits()


async def test_y_copies_the_build_id_and_shift_y_its_scan_url(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        key = builds_table(app).cursor_row_key
        await pilot.press("y")
        assert app.clipboard == key
        await pilot.press("Y")
        assert app.clipboard == f"{sim.develocity_url}/s/{key}"


async def test_o_over_ssh_copies_the_page_instead_of_opening_it(
    sim: SimulatorThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.1 50000 10.0.0.2 22")
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: invocations_table(app).row_count > 0)
        # Paused, so that an invocation polled meanwhile cannot take the cursor's row.
        await pilot.press("tab", "f")
        key = invocations_table(app).cursor_row_key
        await pilot.press("o")
        assert app.clipboard == f"{sim.buildbuddy_url}/invocation/{key}"


async def test_o_opens_the_build_scan_locally(
    sim: SimulatorThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.delenv("SSH_TTY", raising=False)
    app = app_on(sim)
    opened: list[str] = []
    monkeypatch.setattr(app, "open_url", lambda url, new_tab=True: opened.append(url))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await pilot.press("o")
        assert opened == [f"{sim.develocity_url}/s/{builds_table(app).cursor_row_key}"]


async def test_question_mark_lists_every_key_with_its_id(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = app.export_screenshot()
        for binding_id in ("main.filter", "main.watch", "main.open", "main.copy_id",
                           "table.follow", "table.sort", "app.quit"):
            assert binding_id in text
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_ctrl_p_opens_the_command_palette(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)


async def test_q_quits(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_a_keymap_from_the_config_rebinds_a_key(sim: SimulatorThread) -> None:
    app = app_on(sim, ui=UiPreferences(keys={"main.watch": "x"}))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        assert isinstance(app.screen, WatchCommitScreen)


async def test_a_new_failed_build_notifies_and_rings_by_default() -> None:
    with SimulatorThread(sim_config(now_ms=None)) as live_sim:
        app = app_on(live_sim)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, all_enriched(app, BUILDS))
            backfill = set(app.store.builds)
            assert not [notice for notice in app.notices if notice[2] == "error"]
            live_sim.publish_builds(40)
            await wait_for(pilot, all_enriched(app, BUILDS + 40))
            failed = {key for key, entry in app.store.builds.items() if key not in backfill
                      and entry.summary and entry.summary.outcome == "failed"}
            errors = [notice for notice in app.notices if notice[2] == "error"]
            assert failed, "the simulator published no failed build: pick another count"
            assert len(errors) == len(failed)
            assert app.bells == len(errors)


def palette_searched(app: RecordingApp) -> bool:
    """The command palette is open, has finished searching and lists what it found."""
    palette = app.screen
    return (
        isinstance(palette, CommandPalette)
        and not any(worker.node is palette and not worker.is_finished for worker in app.workers)
        and palette.query_one(CommandList).option_count > 0
    )


async def test_the_command_palette_offers_watching_a_commit(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"Watch a commit")
        await wait_for(pilot, lambda: palette_searched(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, WatchCommitScreen))


async def test_clicking_a_row_selects_it(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await pilot.click("#builds", offset=(20, 4))
        assert builds_table(app).cursor_row == 3
        assert not builds_table(app).following


def table_text(table: LiveTable) -> str:
    """What the table shows, line by line, without styles."""
    return "\n".join("".join(segment.text for segment in table.render_line(y))
                     for y in range(table.size.height))


async def test_an_invocation_with_success_and_no_status_is_listed_as_succeeded(
    sim: SimulatorThread,
) -> None:
    old = old_server_run("2021", "ok")
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w", *World(sim_config().seed).commits[0].sha, "enter")
        await wait_for(pilot, lambda: old in app.store.invocations)
        table = invocations_table(app)
        table.set_filter(old)
        await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.pause()
        shown = table_text(table)
        assert "✓ succeeded" in shown and "unknown" not in shown
