"""LiveTable: a keyed, sorted, filterable table that follows a live feed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot
from tui_harness import wait_for

from buildwatch.tui.widgets import Column, LiveTable, TableRow
from buildwatch.tui.widgets.table_model import TableModel
from buildwatch.tui.widgets.table_render import MARK_WIDTH, column_layout, layout_width

COLUMNS = [
    Column("id", "ID", width=5),
    Column("name", "Name", share=2),
    Column("status", "Status", width=8),
    Column("duration", "Duration", width=9, align="right"),
]
HIDEABLE = [
    Column("id", "ID", width=5),
    Column("name", "Name", share=2),
    Column("status", "Status", width=8, hide_order=1),
    Column("duration", "Duration", width=9, align="right", hide_order=2),
]
SGR_ONLY = re.compile(r"\x1b\[[0-9;]*m")


def build(number: int, status: str = "ok", name: str | None = None) -> TableRow:
    """A row whose duration sorts by seconds, not by its text."""
    seconds = (number * 7) % 50
    return TableRow(f"b{number}", (str(number), name or f"build {number}", status, f"{seconds}s"),
                    (number, name or f"build {number}", status, seconds))


class TableApp(App[None]):
    """One table filling the screen; the table's messages are kept in order."""

    def __init__(self, rows: Iterable[TableRow] = (), highlight_seconds: float = 60.0,
                 columns: Sequence[Column] = COLUMNS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.rows = list(rows)
        self.columns = columns
        self.highlight_seconds = highlight_seconds
        self.clock = clock
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield LiveTable(self.columns, highlight_seconds=self.highlight_seconds, clock=self.clock)

    def on_mount(self) -> None:
        self.query_one(LiveTable).upsert_rows(self.rows, highlight=False)

    def on_live_table_row_activated(self, message: LiveTable.RowActivated) -> None:
        self.messages.append(message)

    def on_live_table_cursor_moved(self, message: LiveTable.CursorMoved) -> None:
        self.messages.append(message)

    def on_live_table_follow_changed(self, message: LiveTable.FollowChanged) -> None:
        self.messages.append(message)

    def on_live_table_new_while_paused_changed(
            self, message: LiveTable.NewWhilePausedChanged) -> None:
        self.messages.append(message)

    def sent(self, kind: type[Message]) -> list[Any]:
        """The messages of one kind, oldest first."""
        return [message for message in self.messages if isinstance(message, kind)]


def screen_text(table: LiveTable) -> list[str]:
    """What the table shows, one string per line."""
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


def shown_keys(table: LiveTable) -> list[str]:
    return [table.row_key_at(index) for index in range(table.row_count)]


async def started(pilot: Pilot[None]) -> LiveTable:
    await pilot.pause()
    table = pilot.app.query_one(LiveTable)
    table.focus()
    await pilot.pause()
    return table


async def test_rows_show_newest_first_under_the_column_titles() -> None:
    async with TableApp([build(1), build(2), build(3)]).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        lines = screen_text(table)
    assert lines[0].split() == ["↓", "ID", "Name", "Status", "Duration"]
    assert [line.split()[0] for line in lines[1:4]] == ["3", "2", "1"]


async def test_cell_text_that_looks_like_markup_is_shown_literally() -> None:
    rows = [build(1, name="[bold red]x[/] [link=https://evil.example]y[/link]")]
    async with TableApp(rows).run_test(size=(80, 6)) as pilot:
        table = await started(pilot)
        line = screen_text(table)[1]
    assert "[bold red]x[/] [link=https://evil.example]y[/link]" in line


async def test_escape_sequences_in_cells_never_reach_the_rendered_output() -> None:
    hostile = "a\x1b]52;c;aGVsbG8=\x07b\x1b[6nc\x9b31md\x1b]8;;https://evil.example\x1b\\e"
    rows = [build(1, name=hostile), TableRow("t", ("2", Text(hostile), "ok", "1s"))]
    async with TableApp(rows).run_test(size=(80, 6)) as pilot:
        table = await started(pilot)
        output = "".join(table.render_line(y).render(pilot.app.console) for y in range(3))
    assert SGR_ONLY.sub("", output).isprintable()
    assert "abcde" in SGR_ONLY.sub("", output)


@pytest.mark.parametrize(("keys", "row"), [
    (["j"], 1), (["down"], 1), (["j", "j", "k"], 1), (["j", "j", "up"], 1),
    (["pagedown"], 7), (["pagedown", "pageup"], 0), (["G"], 29), (["end"], 29),
    (["G", "g"], 0), (["G", "home"], 0),
])
async def test_cursor_keys_move_the_cursor(keys: list[str], row: int) -> None:
    async with TableApp(build(n) for n in range(30)).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.press(*keys)
    assert table.cursor_row == row


async def test_cursor_moves_post_the_key_of_the_row_under_the_cursor() -> None:
    app = TableApp(build(n) for n in range(5))
    async with app.run_test(size=(60, 8)) as pilot:
        await started(pilot)
        await pilot.press("j", "j")
        await pilot.pause()
    assert [message.row_key for message in app.sent(LiveTable.CursorMoved)][-2:] == ["b3", "b2"]


async def test_enter_posts_row_activated_with_the_cursor_row_key() -> None:
    app = TableApp(build(n) for n in range(5))
    async with app.run_test(size=(60, 8)) as pilot:
        await started(pilot)
        await pilot.press("j", "enter")
        await pilot.pause()
    assert [message.row_key for message in app.sent(LiveTable.RowActivated)] == ["b3"]


async def test_clicking_a_row_selects_it_and_a_double_click_activates_it() -> None:
    app = TableApp(build(n) for n in range(5))
    async with app.run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.click(LiveTable, offset=(10, 3))
        selected = table.cursor_row_key
        await pilot.double_click(LiveTable, offset=(10, 4))
        await pilot.pause()
    assert selected == "b2"
    assert [message.row_key for message in app.sent(LiveTable.RowActivated)] == ["b1"]


async def test_the_mouse_wheel_scrolls_and_pauses_following() -> None:
    async with TableApp(build(n) for n in range(50)).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        for _ in range(2):
            table.post_message(events.MouseScrollDown(table, 5, 3, 0, 1, 0, False, False, False))
        await pilot.pause()
    assert table.scroll_y > 0
    assert not table.following


async def test_s_reverses_the_order_and_flips_the_arrow() -> None:
    async with TableApp(build(n) for n in range(3)).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.press("s")
        lines = screen_text(table)
    assert lines[0].split()[0] == "↑"
    assert shown_keys(table) == ["b0", "b1", "b2"]


async def test_greater_than_sorts_by_the_next_column_and_marks_its_header() -> None:
    # Without sort values a column sorts by its text, ignoring case.
    rows = [TableRow(f"b{n}", (str(n), name, "ok", "1s"))
            for n, name in [(2, "beta"), (1, "alpha"), (3, "Gamma")]]
    async with TableApp(rows).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.press("greater_than_sign", "greater_than_sign")
        header = screen_text(table)[0]
    assert table.sort_column == "name"
    assert "Name ↑" in header
    assert shown_keys(table) == ["b1", "b2", "b3"]


async def test_less_than_from_order_of_arrival_sorts_by_the_last_column() -> None:
    async with TableApp(build(n) for n in range(3)).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.press("less_than_sign")
    assert table.sort_column == "duration"


async def test_pressing_s_again_on_a_sorted_column_reverses_it() -> None:
    async with TableApp(build(n) for n in range(4)).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.press("greater_than_sign", "s")
        header = screen_text(table)[0]
    assert "ID ↓" in header
    assert shown_keys(table) == ["b3", "b2", "b1", "b0"]


async def test_clicking_a_header_sorts_by_it_and_clicking_again_reverses() -> None:
    async with TableApp(build(n) for n in range(4)).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        status_x = column_layout(COLUMNS, table.scrollable_content_region.width)[2][0]
        await pilot.click(LiveTable, offset=(status_x + 1, 0))
        first = (table.sort_column, table.sort_descending)
        await pilot.click(LiveTable, offset=(status_x + 1, 0))
    assert first == ("status", False)
    assert (table.sort_column, table.sort_descending) == ("status", True)


async def test_a_column_sorts_by_its_sort_values_not_its_text() -> None:
    async with TableApp(build(n) for n in range(8)).run_test(size=(60, 12)) as pilot:
        table = await started(pilot)
        table.sort_by("duration")
    durations = [table.row_key_at(i) for i in range(8)]
    assert durations == sorted(durations, key=lambda key: (int(key[1:]) * 7) % 50)


async def test_the_filter_matches_any_column_ignoring_case() -> None:
    rows = [build(1, status="FAILED"), build(2), build(3, name="failover test")]
    async with TableApp(rows).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        table.set_filter("fail")
    assert shown_keys(table) == ["b3", "b1"]
    assert (table.row_count, table.total_row_count) == (2, 3)


async def test_a_filter_starting_with_an_exclamation_mark_inverts_it() -> None:
    rows = [build(1, status="FAILED"), build(2), build(3)]
    async with TableApp(rows).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        table.set_filter("!failed")
    assert shown_keys(table) == ["b3", "b2"]


async def test_narrowing_then_clearing_the_filter_shows_every_row_again() -> None:
    rows = [build(n) for n in range(12)]
    async with TableApp(rows).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        for text in ["1", "11", "1", ""]:
            table.set_filter(text)
    assert table.row_count == 12


async def test_new_rows_appear_at_the_top_while_following() -> None:
    app = TableApp(build(n) for n in range(5))
    async with app.run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        table.upsert_rows([build(5), build(6)])
        await pilot.pause()
        lines = screen_text(table)
    assert table.cursor_row_key == "b6"
    assert lines[1].split()[:2] == ["+", "6"]
    assert app.sent(LiveTable.CursorMoved)[-1].row_key == "b6"


async def test_moving_the_cursor_down_pauses_and_arrivals_do_not_move_the_view() -> None:
    app = TableApp(build(n) for n in range(30))
    async with app.run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.press("j", "j")
        before = screen_text(table)
        table.upsert_rows([build(30), build(31)])
        await pilot.pause()
        after = screen_text(table)
    assert not table.following
    assert app.sent(LiveTable.FollowChanged)[-1].following is False
    assert table.cursor_row_key == "b27"
    assert after[1:] == before[1:]


def on_screen(app: App[None]) -> list[str]:
    """What the terminal shows: the screen as composited from what each widget last drew."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def test_rows_arriving_above_a_paused_view_leave_the_screen_as_it_was() -> None:
    app = TableApp(build(n) for n in range(30))
    async with app.run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.press("j", "j")
        before = on_screen(app)
        table.upsert_rows([build(n) for n in range(30, 400)])
        await pilot.pause()
        after = on_screen(app)
        keys = [table.row_key_at(index) for index in range(round(table.scroll_y),
                                                            round(table.scroll_y) + 6)]
    assert keys == ["b29", "b28", "b27", "b26", "b25", "b24"]
    # The scrollbar (the two columns at the right edge) moves; every cell of the rows stays.
    assert [line[:-2] for line in after] == [line[:-2] for line in before]
    assert after != before


async def test_a_row_that_changes_on_screen_is_redrawn_while_paused() -> None:
    app = TableApp(build(n) for n in range(30))
    async with app.run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.press("j", "j")
        table.upsert_rows([build(40), build(27, status="FAILED"), build(41)])
        await pilot.pause()
        lines = on_screen(app)
    assert [line.split()[:4] for line in lines if "build 27" in line] == [
        ["*", "27", "build", "27"]]
    assert any("FAILED" in line for line in lines)


async def test_rows_arriving_while_paused_are_counted_for_a_badge() -> None:
    app = TableApp(build(n) for n in range(5))
    async with app.run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.press("f")
        table.upsert_rows([build(5), build(6)])
        table.upsert_rows([build(7), build(1, status="FAILED")])
        await pilot.pause()
    assert table.new_while_paused == 3
    assert app.sent(LiveTable.NewWhilePausedChanged)[-1].count == 3


async def test_f_resumes_following_at_the_top_and_clears_the_count() -> None:
    app = TableApp(build(n) for n in range(20))
    async with app.run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.press("pagedown")
        table.upsert_rows([build(20)])
        await pilot.press("f")
        await pilot.pause()
    assert table.following
    assert (table.cursor_row, table.cursor_row_key, table.scroll_y) == (0, "b20", 0)
    assert table.new_while_paused == 0


async def test_new_and_changed_rows_are_marked_for_a_while() -> None:
    now = [1000.0]
    app = TableApp([build(1)], highlight_seconds=5.0, clock=lambda: now[0])
    async with app.run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        table.upsert_rows([build(2), build(1, status="FAILED")])
        await pilot.pause()
        marked = [line[:MARK_WIDTH] for line in screen_text(table)[1:3]]
        now[0] += 5.0
        # The table repaints the expired marks on its own fade timer.
        await wait_for(pilot, lambda: screen_text(table)[1][:MARK_WIDTH] == "  ")
        faded = [line[:MARK_WIDTH] for line in screen_text(table)[1:3]]
    assert marked == ["+ ", "* "]
    assert faded == ["  ", "  "]


async def test_an_unchanged_row_is_not_marked_as_changed() -> None:
    async with TableApp([build(1)]).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        table.upsert_rows([build(1)])
        await pilot.pause()
        line = screen_text(table)[1]
    assert line.startswith("  1")


async def test_removing_the_cursor_row_leaves_the_cursor_on_the_next_one() -> None:
    async with TableApp(build(n) for n in range(6)).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        await pilot.press("j", "j")
        table.remove_rows(["b3", "unknown"])
    assert (table.cursor_row, table.cursor_row_key, table.row_count) == (2, "b2", 5)


async def test_every_binding_has_an_id_and_a_description() -> None:
    ids = [binding.id for binding in LiveTable.BINDINGS]  # type: ignore[union-attr]
    assert all(ids) and len(set(ids)) == len(ids)
    assert all(binding.description for binding in LiveTable.BINDINGS)  # type: ignore[union-attr]


async def test_a_keymap_can_rebind_a_table_key() -> None:
    async with TableApp(build(n) for n in range(3)).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        pilot.app.set_keymap({"table.follow": "p"})
        await pilot.press("p")
    assert not table.following


def test_flexible_columns_share_the_width_left_by_fixed_ones() -> None:
    layout = column_layout(COLUMNS, 60)
    widths = [width for _, width in layout]
    assert widths == [5, 60 - MARK_WIDTH - 3 - 5 - 8 - 9, 8, 9]
    assert layout[-1][0] + layout[-1][1] == 60


def test_flexible_columns_keep_their_minimum_width_when_space_runs_out() -> None:
    widths = [width for _, width in column_layout(COLUMNS, 20)]
    assert widths[1] == COLUMNS[1].min_width


def test_columns_fill_the_table_exactly_whenever_their_least_widths_fit() -> None:
    columns = [*COLUMNS, Column("host", "Host", min_width=10), Column("tags", "Tags", share=3)]
    least = MARK_WIDTH + len(columns) - 1 + sum(c.width or c.min_width for c in columns)
    for width in range(least, least + 60):
        assert layout_width(column_layout(columns, width)) == width


def test_a_narrow_table_hides_columns_lowest_hide_order_first_until_the_rest_fit() -> None:
    def shown(width: int) -> list[str]:
        layout = column_layout(HIDEABLE, width)
        return [column.key for column, (_, w) in zip(HIDEABLE, layout, strict=True) if w]

    assert shown(31) == ["id", "name", "status", "duration"]
    assert shown(30) == ["id", "name", "duration"]
    assert shown(21) == ["id", "name"]
    assert shown(10) == ["id", "name"]


async def test_hidden_columns_are_left_out_of_the_header_and_of_sorting() -> None:
    app = TableApp((build(n) for n in range(3)), columns=HIDEABLE)
    async with app.run_test(size=(27, 8)) as pilot:
        table = await started(pilot)
        header = screen_text(table)[0]
        await pilot.press("less_than_sign")
        first = table.sort_column
        await pilot.press("less_than_sign")
    assert header.split() == ["↓", "ID", "Name", "Duration"]
    assert (first, table.sort_column) == ("duration", "name")


async def test_shown_columns_are_drawn_in_their_order_and_sorting_steps_through_them_only() -> None:
    async with TableApp(build(n) for n in (1, 2)).run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        table.show_columns(["duration", "id"])
        await pilot.pause()
        lines = screen_text(table)
        steps = []
        for _ in range(3):
            await pilot.press("greater_than_sign")
            steps.append(table.sort_column)
    assert lines[0].split() == ["↓", "Duration", "ID"]
    assert lines[1].split() == ["14s", "2"]
    assert steps == ["duration", "id", None]


async def test_a_row_changing_under_other_columns_repaints_its_line_alone() -> None:
    app = TableApp(build(n) for n in range(30))
    async with app.run_test(size=(60, 8)) as pilot:
        table = await started(pilot)
        table.show_columns(["status", "name"])
        await pilot.press("j", "j")
        repainted: list[int] = []
        refresh_line = table.refresh_line

        def recording(y: int) -> None:
            repainted.append(y)
            refresh_line(y)

        table.refresh_line = recording  # type: ignore[method-assign]
        table.upsert_rows([build(40), build(27, status="FAILED"), build(41)])
        await pilot.pause()
        lines = on_screen(app)
    assert repainted == [shown_keys(table).index("b27") + 1]  # under the header
    assert [line.split()[:2] for line in lines if "build 27" in line] == [["*", "FAILED"]]


operations = st.lists(st.tuples(st.sampled_from(["upsert", "remove"]),
                                st.lists(st.integers(0, 40), max_size=300)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(operations=operations, sort=st.sampled_from([None, "name", "duration"]),
       descending=st.booleans(), needle=st.sampled_from(["", "1", "!2"]))
def test_incremental_order_equals_a_full_sort(operations: list[tuple[str, list[int]]],
                                              sort: str | None, descending: bool,
                                              needle: str) -> None:
    model = TableModel(COLUMNS)
    model.sort_by(sort, descending)
    model.set_filter(needle)
    for round_number, (operation, numbers) in enumerate(operations):
        if operation == "upsert":
            model.upsert([build(n, name=f"n{(n * round_number) % 7}") for n in numbers], 0.0)
        else:
            model.remove(f"b{n}" for n in numbers)
    assert_shown_as_a_full_sort_and_filter_would(model, descending, needle)


@settings(max_examples=40, deadline=None)
@given(batches=st.lists(st.lists(st.integers(0, 700), min_size=257, max_size=600), max_size=4),
       sort=st.sampled_from([None, "name", "duration"]), descending=st.booleans(),
       needle=st.sampled_from(["", "1", "!2"]))
def test_large_batches_of_new_and_changed_rows_merge_into_the_same_order(
    batches: list[list[int]], sort: str | None, descending: bool, needle: str
) -> None:
    model = TableModel(COLUMNS)
    model.sort_by(sort, descending)
    model.set_filter(needle)
    for round_number, numbers in enumerate(batches):
        model.upsert([build(n, name=f"n{(n * round_number) % 7}") for n in numbers], 0.0)
    assert_shown_as_a_full_sort_and_filter_would(model, descending, needle)


def assert_shown_as_a_full_sort_and_filter_would(model: TableModel, descending: bool,
                                                 needle: str) -> None:
    """Every row passing the filter is shown once, in the order sorting them all would give."""
    keys = [model.key_at(i) for i in range(model.shown)]
    invert, text = needle.startswith("!"), needle.lstrip("!")
    passing = [model.record(key) for key in model._rows
               if (text in model.record(key).haystack) != invert]
    expected = sorted(passing, key=lambda record: record.sort_key, reverse=descending)
    assert keys == [record.key for record in expected]


def test_snapshot_of_a_paused_feed_with_new_and_changed_rows(snap_compare: Any) -> None:
    async def arrive(pilot: Pilot[None]) -> None:
        table = await started(pilot)
        await pilot.press("j", "j")
        table.upsert_rows([build(30), build(31), build(28, status="FAILED")])
        await pilot.pause()

    assert snap_compare(TableApp(build(n) for n in range(30)), terminal_size=(64, 12),
                        run_before=arrive)


def test_snapshot_of_a_filtered_table_sorted_by_duration_in_a_narrow_terminal(
        snap_compare: Any) -> None:
    async def filter_and_sort(pilot: Pilot[None]) -> None:
        table = await started(pilot)
        table.set_filter("build 1")
        table.sort_by("duration", descending=True)
        await pilot.pause()

    rows = [build(n, name=f"build {n} of a very long pipeline name") for n in range(40)]
    assert snap_compare(TableApp(rows), terminal_size=(44, 10), run_before=filter_and_sort)


@settings(max_examples=40, deadline=None)
@given(removed=st.lists(st.integers(0, 699), min_size=257, max_size=600, unique=True),
       sort=st.sampled_from([None, "name", "duration"]), descending=st.booleans(),
       needle=st.sampled_from(["", "1", "!2"]))
def test_a_large_batch_of_removals_leaves_the_same_order(
    removed: list[int], sort: str | None, descending: bool, needle: str
) -> None:
    model = TableModel(COLUMNS)
    model.sort_by(sort, descending)
    model.set_filter(needle)
    model.upsert([build(n, name=f"n{n % 7}") for n in range(700)], 0.0)
    assert model.remove(f"b{n}" for n in removed) == len(removed)
    assert_shown_as_a_full_sort_and_filter_would(model, descending, needle)


def test_a_row_test_decides_by_key_and_haystack_for_rows_arriving_and_changing() -> None:
    model = TableModel(COLUMNS)
    model.upsert([build(n) for n in range(6)], 0.0)
    model.set_test("even failing", lambda key, haystack: int(key[1:]) % 2 == 0
                   and "failing" in haystack)
    assert model.shown == 0
    model.upsert([build(2, status="failing"), build(3, status="failing"),
                  build(8, status="failing")], 0.0)
    assert [model.key_at(index) for index in range(model.shown)] == ["b8", "b2"]
    assert model.filter_text == "even failing"
    model.set_filter("build 1")
    assert [model.key_at(index) for index in range(model.shown)] == ["b1"]


def test_a_word_beyond_ascii_shows_the_rows_holding_it_and_only_those() -> None:
    model = TableModel(COLUMNS)
    model.upsert([build(1, status="✓ ok", name="Straße"), build(2, status="✗ FAILED"),
                  build(3, name="strasse ✓")], 0.0)
    # "â" is U+00E2, the first byte of "✓" in UTF-8: no row holds the letter.
    for word, keys in (("✓", ["b3", "b1"]), ("✗ f", ["b2"]), ("straße", ["b3", "b1"]),
                       ("!✓", ["b2"]), ("â", [])):
        model.set_filter(word)
        assert [model.key_at(index) for index in range(model.shown)] == keys, word


def test_a_narrowing_test_is_asked_only_about_the_rows_shown_and_shows_the_same() -> None:
    model = TableModel(COLUMNS)
    model.upsert([build(n) for n in range(8)], 0.0)
    model.set_test("even", lambda key, haystack: int(key[1:]) % 2 == 0)
    asked: list[str] = []

    def multiple_of_four(key: str, haystack: str) -> bool:
        asked.append(key)
        return int(key[1:]) % 4 == 0

    model.set_test("four", multiple_of_four, narrowing=True)
    assert sorted(asked) == ["b0", "b2", "b4", "b6"]
    assert [model.key_at(index) for index in range(model.shown)] == ["b4", "b0"]


def test_a_narrowing_test_after_a_bare_filter_tests_every_row() -> None:
    model = TableModel(COLUMNS)
    model.upsert([build(n) for n in range(4)], 0.0)
    model.set_filter("build 1")
    model.set_test("odd", lambda key, haystack: int(key[1:]) % 2 == 1, narrowing=True)
    assert [model.key_at(index) for index in range(model.shown)] == ["b3", "b1"]


def test_rows_tested_in_bulk_show_in_sort_order_and_later_ones_meet_the_row_test() -> None:
    model = TableModel(COLUMNS)
    model.upsert([build(n) for n in range(6)], 0.0)
    model.set_test("even", lambda key, haystack: int(key[1:]) % 2 == 0, passing={"b2", "b4"})
    assert [model.key_at(index) for index in range(model.shown)] == ["b4", "b2"]
    model.upsert([build(7), build(8)], 0.0)
    assert [model.key_at(index) for index in range(model.shown)] == ["b8", "b4", "b2"]
