"""The log viewer streams, searches, jumps to errors, follows, wraps and saves; text stays text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from drilldown_app import LateMessages, leave_while_loading, log_text, screen_text, wait_until
from loop_turns import LoopTurns
from textual.app import App
from textual.widgets import Static

from buildwatch.tui.screens.log import LogScreen, TextSource
from buildwatch.tui.widgets import log_panel
from buildwatch.tui.widgets.log_view import LINE_LIMIT, LogView

pytestmark = pytest.mark.timeout(60)

LOG = "".join(f"line {n} INFO ok\n" for n in range(200)) + "ERROR: it broke\n" + "".join(
    f"after {n}\n" for n in range(100))


class LogApp(App[None]):
    def __init__(self, source: TextSource) -> None:
        super().__init__()
        self._source = source

        self.notices: list[str] = []

    def on_mount(self) -> None:
        self.push_screen(LogScreen("test log", self._source, "test.log"))

    def notify(self, message: str, **options: Any) -> None:
        self.notices.append(message)
        super().notify(message, **options)


def view_of(app: App[None]) -> LogView:
    return app.screen.query_one(LogView)


def status_of(app: App[None]) -> str:
    return str(app.screen.query_one(".log-status", Static).render())


async def pieces() -> AsyncIterator[str]:
    for n in range(5):
        yield f"piece {n}\n"


async def test_pieces_of_a_source_stream_in_and_the_state_ends_complete() -> None:
    app = LogApp(pieces())
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: "complete" in status_of(app))
        assert log_text(view_of(app)) == "".join(f"piece {n}\n" for n in range(5))


async def endless_pieces() -> AsyncIterator[str]:
    """A source that never ends, one line at a time with a turn of the loop between."""
    n = 0
    while True:
        n += 1
        yield f"piece {n}\n"
        await asyncio.sleep(0)


async def test_leaving_a_source_that_streams_ends_its_worker_quietly() -> None:
    app = LogApp(endless_pieces())
    late = LateMessages()
    async with app.run_test(message_hook=late) as pilot:
        await wait_until(pilot, lambda: view_of(app).line_count > 1000)
        await leave_while_loading(pilot, late)


async def test_slash_searches_and_n_and_shift_n_move_between_counted_matches() -> None:
    app = LogApp(LOG)
    async with app.run_test() as pilot:
        await pilot.press("g", "slash", *"after 1", "enter")
        view = view_of(app)
        assert view.match_count == 11
        assert "match 1/11" in status_of(app)
        await pilot.press("n", "n", "N")
        assert view.match_index == 2 and "match 2/11" in status_of(app)


async def test_e_jumps_to_the_next_error_line() -> None:
    app = LogApp(LOG)
    async with app.run_test() as pilot:
        await pilot.press("g", "e")
        assert view_of(app).current_line == 200


async def test_g_goes_to_the_top_and_shift_g_to_the_bottom_which_follows() -> None:
    app = LogApp(LOG)
    async with app.run_test() as pilot:
        view = view_of(app)
        await pilot.press("g")
        assert view.top_line == 0 and not view.following and "paused" in status_of(app)
        await pilot.press("G")
        assert view.following and view.top_line > 0


async def test_w_toggles_wrapping() -> None:
    app = LogApp("x" * 500 + "\n")
    async with app.run_test() as pilot:
        await pilot.press("w")
        assert view_of(app).wrap
        await pilot.press("w")
        assert not view_of(app).wrap


async def test_s_saves_the_text_without_colour_sequences(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = LogApp("\x1b[31mred\x1b[0m plain\n")
    async with app.run_test() as pilot:
        await pilot.press("s", "ctrl+u", *"out.txt", "enter")
        await wait_until(pilot, lambda: any("saved" in notice for notice in app.notices))
        assert (tmp_path / "out.txt").read_text() == "red plain\n"


async def test_s_writes_a_large_log_whole_while_the_app_keeps_answering(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = "".join(f"\x1b[32mline {n}\x1b[0m of a long log\n" for n in range(300_000))
    turned: list[bool] = []
    app = LogApp(text)
    async with app.run_test() as pilot:
        turns = LoopTurns(asyncio.get_running_loop())
        monkeypatch.setattr(log_panel, "write_text", turns.watched(log_panel.write_text, turned))
        try:
            await pilot.press("s", "ctrl+u", *"out.txt", "enter")
            await wait_until(pilot, lambda: any("saved" in notice for notice in app.notices))
        finally:
            turns.stop()
    assert turned == [True]
    assert (tmp_path / "out.txt").read_text() == text.replace("\x1b[32m", "").replace(
        "\x1b[0m", "")


async def test_escape_closes_the_search_box_before_it_leaves_the_screen() -> None:
    app = LogApp(LOG)
    async with app.run_test() as pilot:
        screen = app.screen
        await pilot.press("slash", "escape")
        assert app.screen is screen and view_of(app).has_focus
        await pilot.press("escape")
        assert app.screen is not screen


async def test_markup_in_a_log_is_shown_literally() -> None:
    app = LogApp("[bold red]not markup[/] [link=https://evil.example]x[/link] [/]\n")
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        assert "[bold red]not markup[/] [link=https://evil.example]x[/link] [/]" in screen_text(app)


async def test_a_one_megabyte_line_is_cut_and_the_screen_stays_responsive() -> None:
    app = LogApp("A" * 1_000_000 + "\nnext line\n")
    async with app.run_test(size=(100, 10)) as pilot:
        await wait_until(pilot, lambda: view_of(app).line_count >= 2)
        await pilot.press("G")
        assert "next line" in screen_text(app)
        assert view_of(app).virtual_size.width < LINE_LIMIT + 100
