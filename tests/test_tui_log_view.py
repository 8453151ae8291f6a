"""LogView: a followable, searchable viewer for large ANSI-coloured logs."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot

from buildwatch.core.sanitize import sanitize
from buildwatch.tui.widgets import LogView, line_store
from buildwatch.tui.widgets.line_store import LineStore, SearchPattern, already_clean

SGR_ONLY = re.compile(r"\x1b\[[0-9;]*m")
HOSTILE = ("clip\x1b]52;c;aGVsbG8=\x07 title\x1b]0;pwned\x1b\\ link\x1b]8;;https://evil.example"
           "\x1b\\here\x1b]8;;\x1b\\ ask\x1b[6n dcs\x1bPtmux;x\x1b\\ reset\x1bc c1\x9b2J end")


def numbered(count: int, start: int = 0) -> str:
    return "".join(f"line {n}\n" for n in range(start, start + count))


class LogApp(App[None]):
    """One log view filling the screen; its messages are kept in order."""

    def __init__(self, text: str = "", wrap: bool = False) -> None:
        super().__init__()
        self.text = text
        self.wrap = wrap
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield LogView(self.text, wrap=self.wrap)

    def on_log_view_matches_changed(self, message: LogView.MatchesChanged) -> None:
        self.messages.append(message)

    def on_log_view_follow_changed(self, message: LogView.FollowChanged) -> None:
        self.messages.append(message)


async def started(pilot: Pilot[None]) -> LogView:
    await pilot.pause()
    view = pilot.app.query_one(LogView)
    view.focus()
    await pilot.pause()
    return view


def screen_text(view: LogView) -> list[str]:
    return [view.render_line(y).text.rstrip()
            for y in range(view.scrollable_content_region.height)]


def terminal_output(pilot: Pilot[None], view: LogView) -> str:
    return "".join(view.render_line(y).render(pilot.app.console)
                   for y in range(view.scrollable_content_region.height))


async def test_colours_are_rendered_and_markup_stays_literal() -> None:
    async with LogApp("\x1b[31mred\x1b[0m [bold]not markup[/bold]\n").run_test(
            size=(60, 5)) as pilot:
        view = await started(pilot)
        strip = view.render_line(0)
    assert strip.text.rstrip() == "red [bold]not markup[/bold]"
    segment = next(segment for segment in strip if segment.text == "red")
    assert segment.style is not None and segment.style.color is not None
    assert segment.style.color.number == 1  # ANSI red


async def test_hostile_escape_sequences_never_reach_the_rendered_output() -> None:
    async with LogApp(HOSTILE + "\n").run_test(size=(100, 5)) as pilot:
        view = await started(pilot)
        output = terminal_output(pilot, view)
        first = screen_text(view)[0]
    assert SGR_ONLY.sub("", output).isprintable()
    assert first == "clip title linkhere ask dcs reset c1 end"


async def test_an_escape_sequence_split_between_appends_is_removed_whole() -> None:
    async with LogApp().run_test(size=(60, 5)) as pilot:
        view = await started(pilot)
        view.append("a\x1b]52;c;aGVs")
        view.append("bG8=\x07b\n")
        await pilot.pause()
        assert screen_text(view)[0] == "ab"


async def test_a_crlf_split_between_appends_ends_one_line() -> None:
    async with LogApp().run_test(size=(60, 5)) as pilot:
        view = await started(pilot)
        view.append("first\r")
        view.append("\nsecond\n")
        await pilot.pause()
        assert screen_text(view)[:3] == ["first", "second", ""]


async def test_a_carriage_return_does_not_hide_the_text_it_would_overwrite() -> None:
    async with LogApp("ERROR: disk full\rprogress 100%\n").run_test(size=(60, 5)) as pilot:
        view = await started(pilot)
        assert screen_text(view)[:2] == ["ERROR: disk full", "progress 100%"]


async def test_an_unfinished_last_line_is_shown_and_completed_later() -> None:
    async with LogApp("done\nbuild").run_test(size=(60, 5)) as pilot:
        view = await started(pilot)
        partial = screen_text(view)[1]
        view.append("ing\n")
        await pilot.pause()
        assert partial == "build"
        assert (screen_text(view)[1], view.line_count) == ("building", 2)


async def test_the_view_follows_new_output_while_at_the_bottom() -> None:
    async with LogApp(numbered(30)).run_test(size=(40, 10)) as pilot:
        view = await started(pilot)
        view.append(numbered(5, start=30))
        await pilot.pause()
        assert view.following
        assert screen_text(view)[-1] == "line 34"


async def test_a_view_scrolled_up_stays_put_when_output_arrives() -> None:
    app = LogApp(numbered(30))
    async with app.run_test(size=(40, 10)) as pilot:
        view = await started(pilot)
        await pilot.press("k", "k")
        before = screen_text(view)
        view.append(numbered(5, start=30))
        await pilot.pause()
        assert screen_text(view) == before
    assert not view.following
    assert [m.following for m in app.messages if isinstance(m, LogView.FollowChanged)] == [False]


async def test_g_goes_to_the_top_and_capital_g_to_the_bottom_and_follows() -> None:
    async with LogApp(numbered(30)).run_test(size=(40, 10)) as pilot:
        view = await started(pilot)
        await pilot.press("g")
        top = (screen_text(view)[0], view.following)
        await pilot.press("G")
        view.append(numbered(1, start=30))
        await pilot.pause()
        bottom = (screen_text(view)[-1], view.following)
    assert top == ("line 0", False)
    assert bottom == ("line 30", True)


@pytest.mark.parametrize(("keys", "top"), [
    (["j"], 1), (["down", "down"], 2), (["j", "k"], 0), (["j", "up"], 0),
    (["pagedown"], 9), (["space"], 9), (["pagedown", "pageup"], 0), (["pagedown", "b"], 0),
    (["end"], 20), (["end", "home"], 0),
])
async def test_scroll_keys_move_the_view(keys: list[str], top: int) -> None:
    async with LogApp(numbered(30)).run_test(size=(40, 10)) as pilot:
        view = await started(pilot)
        await pilot.press("g", *keys)
    assert view.top_line == top


async def test_l_and_h_scroll_sideways_when_not_wrapping() -> None:
    async with LogApp("x" * 200 + "\n").run_test(size=(40, 5)) as pilot:
        view = await started(pilot)
        await pilot.press("l", "l", "right", "h")
    assert view.scroll_x == 8


async def test_search_counts_matches_and_highlights_them() -> None:
    async with LogApp("an error\nfine\nERROR and Error\n").run_test(size=(40, 5)) as pilot:
        view = await started(pilot)
        count = view.search("error")
        highlighted = [segment.text for y in range(3) for segment in view.render_line(y)
                       if segment.style is not None and segment.style.bgcolor is not None
                       and segment.text.lower() == "error"]
    assert count == 3
    assert highlighted == ["error", "ERROR", "Error"]


async def test_n_and_capital_n_step_through_matches_and_wrap_around() -> None:
    app = LogApp("a x\nb\nx and x\n")
    async with app.run_test(size=(40, 5)) as pilot:
        view = await started(pilot)
        await pilot.press("g")
        view.search("x")
        steps = [view.match_index]
        for key in ["n", "n", "n", "N", "N"]:
            await pilot.press(key)
            steps.append(view.match_index)
        await pilot.pause()
    assert steps == [1, 2, 3, 1, 3, 2]
    last = [m for m in app.messages if isinstance(m, LogView.MatchesChanged)][-1]
    assert (last.index, last.count, last.limit_reached) == (2, 3, False)
    assert view.current_line == 2


async def test_search_is_literal() -> None:
    async with LogApp("abc\na.c\n(x)\n").run_test(size=(40, 5)) as pilot:
        view = await started(pilot)
        counts = [view.search("a.c"), view.search("(x)")]
    assert counts == [1, 1]


async def test_search_finds_a_word_coloured_halfway() -> None:
    async with LogApp("an \x1b[31mERR\x1b[0mOR here\n").run_test(size=(40, 5)) as pilot:
        view = await started(pilot)
        assert view.search("error") == 1


async def test_search_never_matches_inside_colour_sequences() -> None:
    async with LogApp("\x1b[31mred\x1b[0m\n\x1b[1;31mm\x1b[0m 31\n").run_test(
            size=(40, 5)) as pilot:
        view = await started(pilot)
        counts = [view.search("31"), view.search("m"), view.search("[")]
    assert counts == [1, 1, 0]


async def test_search_covers_output_appended_later() -> None:
    async with LogApp("one hit\npartial h").run_test(size=(40, 5)) as pilot:
        view = await started(pilot)
        first = view.search("hit")
        view.append("it\nhit again\n")
        await pilot.pause()
    assert (first, view.match_count) == (1, 3)


async def test_an_empty_search_clears_the_highlights() -> None:
    async with LogApp("error\n").run_test(size=(40, 5)) as pilot:
        view = await started(pilot)
        view.search("error")
        assert view.search("") == 0
        line = view.render_line(0)
    assert view.match_index is None
    assert all(segment.style is None or segment.style.bgcolor == view.rich_style.bgcolor
               for segment in line)


async def test_e_jumps_to_each_error_line_and_wraps_around() -> None:
    text = numbered(3) + "FAILED: :app:test\n" + numbered(20, 3) + "Traceback (most recent)\n"
    async with LogApp(text).run_test(size=(40, 8)) as pilot:
        view = await started(pilot)
        await pilot.press("g")
        lines = []
        for _ in range(3):
            await pilot.press("e")
            lines.append(view.current_line)
    assert lines == [3, 24, 3]


async def test_e_finds_nothing_in_a_clean_log() -> None:
    async with LogApp(numbered(5)).run_test(size=(40, 8)) as pilot:
        view = await started(pilot)
    assert view.next_error() is None


async def test_w_wraps_long_lines_and_unwraps_them() -> None:
    async with LogApp("a" * 100 + "\nshort\n").run_test(size=(42, 8)) as pilot:
        view = await started(pilot)
        await pilot.press("w")
        wrapped = screen_text(view)[:4]
        await pilot.press("w")
        unwrapped = screen_text(view)[:2]
        width = view.scrollable_content_region.width
    assert wrapped == ["a" * width, "a" * width, "a" * (100 - 2 * width), "short"]
    assert unwrapped == ["a" * width, "short"]


async def test_every_line_of_a_wrapped_log_can_be_scrolled_to() -> None:
    text = "".join(f"{n:02}" + "w" * 70 + "\n" for n in range(12))
    async with LogApp(text, wrap=True).run_test(size=(40, 10)) as pilot:
        view = await started(pilot)
        bottom = [line for line in screen_text(view) if line]
        seen: set[str] = set()
        await pilot.press("g")
        for _ in range(12):
            seen.update(line[:2] for line in screen_text(view) if line[:1].isdigit())
            await pilot.press("j")
    assert bottom[-2].startswith("11www") and len(bottom[-2]) + len(bottom[-1]) == 72
    assert seen == {f"{n:02}" for n in range(12)}


async def test_a_megabyte_line_is_cut_when_rendered() -> None:
    async with LogApp("x" * 2**20 + "\nnext\n").run_test(size=(60, 5)) as pilot:
        view = await started(pilot)
        await pilot.press("g")
        view.scroll_to(x=view.max_scroll_x, animate=False)
        await pilot.pause()
        first = view.render_line(0).text
    assert "more bytes" in first
    assert view.max_scroll_x < 20_000


async def test_a_large_append_ends_with_every_line_indexed() -> None:
    text = numbered(200_000)
    async with LogApp().run_test(size=(60, 5)) as pilot:
        view = await started(pilot)
        view.append(text)
        while view.has_pending_text:
            await pilot.pause(0.01)
        await pilot.pause()
        assert screen_text(view)[-1] == "line 199999"
    assert view.line_count == 200_000


async def test_iter_text_gives_back_the_whole_text_with_or_without_colours() -> None:
    text = "\x1b[32mok\x1b[0m one\ntwo\nthree"
    async with LogApp(text).run_test(size=(60, 5)) as pilot:
        view = await started(pilot)
        coloured = "".join(view.iter_text())
        plain = "".join(view.iter_text(strip_sgr=True))
    assert coloured == text
    assert plain == "ok one\ntwo\nthree"


def test_every_binding_has_an_id_and_a_description() -> None:
    ids = [binding.id for binding in LogView.BINDINGS]  # type: ignore[union-attr]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(binding.description for binding in LogView.BINDINGS)  # type: ignore[union-attr]


@given(st.text(st.sampled_from(["a", "é", "\t", "\n", "\r", "\x1b", "[", "3", "1", ";", "m",
                                "]", "\x07", "\x9b", "\x00", "\x7f", "P", "\\"]), max_size=30))
def test_text_judged_already_clean_is_what_sanitize_returns(text: str) -> None:
    if already_clean(text, text.encode(errors="replace")):
        assert sanitize(text, keep_sgr=True) == text


def test_lines_and_matches_are_found_across_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(line_store, "BLOCK_BYTES", 16)
    store = LineStore()
    for number in range(40):
        store.add(f"row {number} {'hit ' * (number % 3)}\n")
    store.add("hit tail")
    assert store.line(17, 100) == ("row 17 hit hit ", 0)
    found = list(store.find_matches(SearchPattern("hit"), 30, 1000))
    assert found == [31, 32, 32, 34, 35, 35, 37, 38, 38, 40]
    assert list(store.find_matches(SearchPattern("hit"), 0, 4)) == [1, 2, 2, 4]


def test_snapshot_of_a_coloured_log_with_a_search(snap_compare: Any) -> None:
    text = "".join(f"{n:03} \x1b[32mINFO\x1b[0m compiling \x1b[1mmodule-{n % 7}\x1b[0m\n"
                   for n in range(40))
    text += "\x1b[1;31mERROR\x1b[0m module-3 failed [bold]literally[/bold]\n" + numbered(3)

    async def search(pilot: Pilot[None]) -> None:
        view = await started(pilot)
        view.search("module-3")
        await pilot.press("n")

    assert snap_compare(LogApp(text), terminal_size=(60, 12), run_before=search)


def test_snapshot_of_a_wrapped_log_after_an_error_jump(snap_compare: Any) -> None:
    text = numbered(4) + "Exception in thread main: " + "a long message " * 12 + "\n" + \
        "\tat Foo.bar(Foo.java:12)\n" + numbered(10, 6)

    async def jump(pilot: Pilot[None]) -> None:
        await started(pilot)
        await pilot.press("g", "e")

    assert snap_compare(LogApp(text, wrap=True), terminal_size=(50, 10), run_before=jump)
