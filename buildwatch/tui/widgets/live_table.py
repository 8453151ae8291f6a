"""A keyed, virtualised table for live feeds.

Rows are keyed by a string id and arrive in batches (`upsert_rows`, `remove_rows`). Only the visible
lines are rendered, each row's strip is cached until the row changes, and the order is maintained
incrementally, so the cost of a batch follows its size and the screen height, not the table size.
Cells are plain `str` or Rich `Text` and are never read as markup.

Keys (each binding has an id a keymap can rebind):
`j`/`k`/arrows move, PageUp/PageDown page, `g`/Home go to the top and follow, `G`/End go to the
bottom, Enter activates; `>`/`<` sort by the next/previous column, `s` reverses the order (the
header shows ↑ or ↓ on the sort column; the marker column stands for order of arrival); `f`
toggles follow. Clicking a header sorts by it, clicking it again reverses.

`show_columns` shows some of the rows' columns, in any order (a saved view's): rows keep every
cell, so showing others costs a repaint of the screen, not a pass over the rows.

In follow mode the cursor stays on the top row, which shows the newest rows in the default order.
Moving the cursor or scrolling away from the top pauses: rows that arrive then do not move the
view, and `new_while_paused` counts them for a "+N new" badge. New and changed rows carry a `+` or
`*` marker and a tint for `highlight_seconds`.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Sequence
from pathlib import Path
from time import monotonic
from typing import Any, ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from buildwatch.tui.widgets.table_model import Column, RowTest, TableModel, TableRow
from buildwatch.tui.widgets.table_render import (
    MARK_WIDTH,
    column_layout,
    header_text,
    layout_width,
    row_text,
    to_strip,
)

SCROLLBAR_S = 0.1
"""How often new rows move the scrollbar, at most."""


class LiveTable(ScrollView, can_focus=True):
    """A keyed, sorted, filterable table that follows a live feed."""

    DEFAULT_CSS = (Path(__file__).parent / "live_table.tcss").read_text(encoding="utf-8")

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "live-table--header",
        "live-table--cursor",
        "live-table--new",
        "live-table--changed",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False, id="table.cursor_down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="table.cursor_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("home,g", "top", "Top and follow", show=False, id="table.top"),
        Binding("end,G", "bottom", "Bottom", show=False, id="table.bottom"),
        Binding("enter", "activate", "Open", id="table.activate"),
        Binding("s", "reverse_sort", "Reverse sort", id="table.sort"),
        Binding("greater_than_sign", "sort_next", "Sort by next column", key_display=">",
                id="table.sort_next"),
        Binding("less_than_sign", "sort_previous", "Sort by previous column", key_display="<",
                show=False, id="table.sort_previous"),
        Binding("f", "toggle_follow", "Follow/pause", id="table.follow"),
    ]

    following: var[bool] = var(True, init=False)
    """Whether the cursor stays on the top row as rows arrive."""

    new_while_paused: var[int] = var(0, init=False)
    """Rows added (and passing the filter) since the table was paused."""

    class _Message(Message):
        def __init__(self, table: LiveTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> LiveTable:
            """The table that sent the message."""
            return self.table

    class RowActivated(_Message):
        """Enter or a double click on a row."""

        def __init__(self, table: LiveTable, row_key: str) -> None:
            super().__init__(table)
            self.row_key = row_key

    class CursorMoved(_Message):
        """The row under the cursor changed (by a key, a click or new data)."""

        def __init__(self, table: LiveTable, row_key: str | None) -> None:
            super().__init__(table)
            self.row_key = row_key

    class FollowChanged(_Message):
        """The table started or stopped following new rows."""

        def __init__(self, table: LiveTable, following: bool) -> None:
            super().__init__(table)
            self.following = following

    class NewWhilePausedChanged(_Message):
        """`new_while_paused` changed; only the latest count matters."""

        def __init__(self, table: LiveTable, count: int) -> None:
            super().__init__(table)
            self.count = count

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LiveTable.NewWhilePausedChanged)

    def __init__(self, columns: Sequence[Column], *, highlight_seconds: float = 5.0,
                 clock: Callable[[], float] = monotonic,
                 name: str | None = None, id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        """Create a table with `columns`; new and changed rows stay marked `highlight_seconds`
        of `clock` (monotonic seconds)."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._model = TableModel(columns)
        self._columns = self._model.columns
        """The columns shown, in order (`show_columns`)."""
        self._column_indices = tuple(range(len(self._columns)))
        """Where each shown column's cell is in a row's cells."""
        self.highlight_seconds = highlight_seconds
        self._clock = clock
        self._layout: list[tuple[int, int]] = []
        self._layout_for = -1
        self._layout_width = 0
        self._layout_version = 0
        self._cursor_index = 0
        self._cursor_key: str | None = None
        self._row_cache: LRUCache[tuple[Any, ...], Strip] = LRUCache(1024)
        self._marked_lines: dict[int, float] = {}
        self._scrollbar_due = False
        self._scrollbar_shown_at = float("-inf")
        self._repaint_after_data: list[tuple[str, int, bool]] | None = None
        """While new data moves the view: what the lines showed before (see `_data_changed`)."""

    @property
    def row_count(self) -> int:
        """Rows passing the filter."""
        return self._model.shown

    @property
    def total_row_count(self) -> int:
        """All rows, filtered or not."""
        return self._model.total

    @property
    def cursor_row(self) -> int:
        """The index of the cursor row (0 is the top)."""
        return self._cursor_index

    @property
    def cursor_row_key(self) -> str | None:
        """The key of the row under the cursor, `None` when no row is shown."""
        return self._cursor_key

    @property
    def sort_column(self) -> str | None:
        """The column rows are sorted by, `None` for order of arrival."""
        return self._model.sort_column

    @property
    def sort_descending(self) -> bool:
        """Whether the order is descending (newest first, for order of arrival)."""
        return self._model.descending

    @property
    def filter_text(self) -> str:
        """The filter as last given to `set_filter`."""
        return self._model.filter_text

    @property
    def shown_columns(self) -> tuple[str, ...]:
        """The keys of the columns shown, in order."""
        return tuple(column.key for column in self._columns)

    def row_key_at(self, index: int) -> str:
        """The key of the row shown at `index`."""
        return self._model.key_at(index)

    def upsert_rows(self, rows: Iterable[TableRow], *, highlight: bool = True) -> None:
        """Add new rows and replace changed ones; `highlight=False` leaves them unmarked."""
        anchor, shown = self._anchor(), self._shown_lines()
        added = self._model.upsert(rows, self._clock() if highlight else float("-inf"))
        if not self.following and added:
            self.new_while_paused += added
        self._data_changed(anchor, shown)

    def remove_rows(self, keys: Iterable[str]) -> None:
        """Remove rows by key; unknown keys are ignored."""
        anchor, shown = self._anchor(), self._shown_lines()
        if self._model.remove(keys):
            self._data_changed(anchor, shown)

    def clear(self) -> None:
        """Remove every row."""
        self._model.clear()
        self._data_changed(None, None)

    def set_filter(self, text: str) -> None:
        """Show only rows with `text` in a cell, ignoring case; a leading `!` inverts."""
        self._model.set_filter(text)
        self._order_changed()

    def set_test(self, text: str, test: RowTest | None,
                 passing: Container[str] | None = None, *, narrowing: bool = False) -> None:
        """Show only rows passing `test` (from their key and casefolded cells), as they
        arrive too; `text` is what `filter_text` then says. `passing`: the keys of the rows
        that pass now, if the caller tested them in bulk; `narrowing`: `test` passes no row
        the current test fails (`TableModel.set_test`)."""
        self._model.set_test(text, test, passing, narrowing=narrowing)
        self._order_changed()

    def sort_by(self, column: str | None, descending: bool | None = None) -> None:
        """Sort by `column`, or by order of arrival for `None`.

        Without `descending`, arrival order is newest first and columns are ascending.
        """
        self._model.sort_by(column, column is None if descending is None else descending)
        self._order_changed()

    def show_columns(self, keys: Sequence[str]) -> None:
        """Show the columns `keys`, in that order, of those the table was made with."""
        if tuple(keys) == self.shown_columns:
            return
        index = {column.key: i for i, column in enumerate(self._model.columns)}
        unknown = [key for key in keys if key not in index]
        if unknown or not keys:
            raise ValueError(f"no columns {unknown} in this table" if unknown else "no columns")
        self._column_indices = tuple(index[key] for key in keys)
        self._columns = tuple(self._model.columns[i] for i in self._column_indices)
        self._layout_for = -1  # lay the new columns out, and draw every line again
        self._ensure_layout()

    def select_row(self, key: str) -> bool:
        """Put the cursor on row `key`; return whether it is shown."""
        index = self._model.index_of(key)
        if index is None:
            return False
        self._move_cursor(index, user=True)
        return True

    def action_cursor_down(self) -> None:
        """Move the cursor down a row."""
        self._move_cursor(self._cursor_index + 1, user=True)

    def action_cursor_up(self) -> None:
        """Move the cursor up a row."""
        self._move_cursor(self._cursor_index - 1, user=True)

    def action_page_down(self) -> None:
        """Move the cursor down a screen."""
        self._move_cursor(self._cursor_index + self._body_height, user=True)

    def action_page_up(self) -> None:
        """Move the cursor up a screen."""
        self._move_cursor(self._cursor_index - self._body_height, user=True)

    def action_top(self) -> None:
        """Go to the top row and follow new rows."""
        self._move_cursor(0, user=True)
        self.following = True

    def action_bottom(self) -> None:
        """Go to the last row."""
        self._move_cursor(self._model.shown - 1, user=True)

    def action_activate(self) -> None:
        """Post `RowActivated` for the cursor row."""
        if self._cursor_key is not None:
            self.post_message(self.RowActivated(self, self._cursor_key))

    def action_reverse_sort(self) -> None:
        """Reverse the current order."""
        self.sort_by(self.sort_column, not self.sort_descending)

    def action_sort_next(self) -> None:
        """Sort by the next column (after the last comes order of arrival)."""
        self._sort_step(1)

    def action_sort_previous(self) -> None:
        """Sort by the previous column."""
        self._sort_step(-1)

    def action_toggle_follow(self) -> None:
        """Pause, or resume following new rows."""
        self.following = not self.following

    def watch_following(self, following: bool) -> None:
        if following:
            self.new_while_paused = 0
            self._move_cursor(0, user=False)
        self.post_message(self.FollowChanged(self, following))

    def watch_new_while_paused(self, count: int) -> None:
        self.post_message(self.NewWhilePausedChanged(self, count))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        if self._repaint_after_data is not None:
            # New data moved the view: `_data_changed` repaints the lines whose row changed.
            self._show_scrollbar_soon()
        else:
            super().watch_scroll_y(old_value, new_value)
        if self.following and round(new_value) > 0:
            self.following = False

    def on_mount(self) -> None:
        self.set_interval(0.5, self._fade_marks)

    def on_resize(self, event: events.Resize) -> None:
        self._ensure_layout()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            self._ensure_layout()
            self._sort_by_header(offset.x + round(self.scroll_x))
            return
        index = round(self.scroll_y) + offset.y - 1
        if index < self._model.shown:
            self._move_cursor(index, user=True)
            if event.chain >= 2:
                self.action_activate()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._row_cache.clear()

    def render_line(self, y: int) -> Strip:
        self._ensure_layout()
        scroll_x, scroll_y = self.scroll_offset
        width = self._layout_for
        if y == 0:
            strip = self._header_strip()
        else:
            index = scroll_y + y - 1
            if index >= self._model.shown:
                return Strip.blank(width, self.rich_style)
            strip = self._row_strip(index, y)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    @property
    def _body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _ensure_layout(self) -> None:
        """Lay the columns out again when the width changed (a scrollbar came or went)."""
        width = self.scrollable_content_region.width
        if width == self._layout_for:
            return
        self._layout_for = width
        self._layout = column_layout(self._columns, self._layout_for)
        self._layout_width = layout_width(self._layout)
        self._layout_version += 1
        self._update_virtual_size()
        self.refresh()

    def _update_virtual_size(self) -> None:
        size = Size(self._layout_width, self._model.shown + 1)
        if size == self.virtual_size:
            return
        # Not by assignment: the reactive would repaint every line, and whoever changed the
        # rows repaints the lines that show something else (`_data_changed`).
        self.set_reactive(LiveTable.virtual_size, size)
        self._show_scrollbar_soon()

    def _show_scrollbar_soon(self) -> None:
        """Bring the scrollbar up to date now, or, if it was a moment ago, once that moment is
        over: a backfill changes the table's height with every slice of rows, and a frame
        drawn for the scrollbar alone would delay the frame of a key."""
        if self._scrollbar_due:
            return
        wait = self._scrollbar_shown_at + SCROLLBAR_S - monotonic()
        if wait <= 0:
            self._show_scrollbar()
        else:
            self._scrollbar_due = True
            self.set_timer(wait, self._show_scrollbar)

    def _show_scrollbar(self) -> None:
        self._scrollbar_due = False
        self._scrollbar_shown_at = monotonic()
        # Textual's own update of the scrollbars from `virtual_size` (a layout pass would do it
        # too, and recomposite the whole table because its virtual size changed).
        self._scroll_update(self.virtual_size)
        if self.show_vertical_scrollbar:
            self.vertical_scrollbar.position = self.scroll_y

    def _anchor(self) -> tuple[str, int] | None:
        """The row to keep still on screen while paused: the cursor, else the top row."""
        top = round(self.scroll_y)
        if self.following or top >= self._model.shown:
            return None
        if self._cursor_key is not None and 0 <= self._cursor_index - top < self._body_height:
            return self._cursor_key, self._cursor_index - top
        return self._model.key_at(top), 0

    def _shown_lines(self) -> list[tuple[str, int, bool]]:
        """What the body's lines show, top to bottom: each row's key and version, and whether
        the cursor is on it."""
        model, top, cursor = self._model, round(self.scroll_y), self._cursor_index
        lines = []
        for index in range(top, min(model.shown, top + self._body_height)):
            record = model.record(model.key_at(index))
            lines.append((record.key, record.version, index == cursor))
        return lines

    def _data_changed(self, anchor: tuple[str, int] | None,
                      shown: list[tuple[str, int, bool]] | None) -> None:
        """Keep the cursor and the view where they belong after rows changed, and repaint.

        With `shown`, what the lines showed before, only the lines that now show another row
        (or a changed one, or the cursor come or gone) are repainted: while paused, a backfill
        adds rows off screen and the anchor keeps every line as it was, so there is nothing to
        draw but the scrollbar.
        """
        self._update_virtual_size()
        self._repaint_after_data = shown
        try:
            if self.following:
                self._move_cursor(0, user=False)
            else:
                self._move_cursor(self._index_of_cursor(), user=False, scroll=False)
                anchor_index = None if anchor is None else self._model.index_of(anchor[0])
                if anchor is not None and anchor_index is not None:
                    self.scroll_to(y=anchor_index - anchor[1], animate=False, force=True)
        finally:
            self._repaint_after_data = None
        if shown is None:
            self.refresh()
            return
        now = self._shown_lines()
        top = round(self.scroll_y)
        for y in range(max(len(shown), len(now))):
            if y >= len(shown) or y >= len(now) or shown[y] != now[y]:
                self.refresh_line(top + y + 1)

    def _order_changed(self) -> None:
        self._update_virtual_size()
        self._move_cursor(0 if self.following else self._index_of_cursor(), user=False)
        self.refresh()

    def _index_of_cursor(self) -> int:
        """Where the cursor row is now; where it was if it went away."""
        if self._cursor_key is not None:
            index = self._model.index_of(self._cursor_key)
            if index is not None:
                return index
        return self._cursor_index

    def _move_cursor(self, index: int, *, user: bool, scroll: bool = True) -> None:
        shown = self._model.shown
        old_index, old_key = self._cursor_index, self._cursor_key
        self._cursor_index = max(0, min(index, shown - 1))
        self._cursor_key = self._model.key_at(self._cursor_index) if shown else None
        if scroll:
            self._scroll_to_cursor()
        if self._repaint_after_data is None:
            for row in (old_index, self._cursor_index):
                self.refresh_line(row + 1)
        if user and self.following and self._cursor_index > 0:
            self.following = False
        if self._cursor_key != old_key:
            self.post_message(self.CursorMoved(self, self._cursor_key))

    def _scroll_to_cursor(self) -> None:
        top, height = round(self.scroll_y), self._body_height
        if self._cursor_index < top:
            self.scroll_to(y=self._cursor_index, animate=False, force=True)
        elif self._cursor_index >= top + height:
            self.scroll_to(y=self._cursor_index - height + 1, animate=False, force=True)

    def _sort_step(self, step: int) -> None:
        self._ensure_layout()
        # Hidden columns (a narrow terminal) are skipped: the sort must be one the header shows.
        shown = [column.key for column, (_, width) in zip(self._columns, self._layout, strict=True)
                 if width]
        choices: list[str | None] = [None, *shown]
        current = choices.index(self.sort_column) if self.sort_column in choices else 0
        self.sort_by(choices[(current + step) % len(choices)])

    def _sort_by_header(self, x: int) -> None:
        """Sort by the column under `x`; the marker column stands for order of arrival."""
        hits = [spec.key for spec, (left, width) in zip(self._columns, self._layout, strict=True)
                if width and left <= x <= left + width]
        if x >= MARK_WIDTH and not hits:
            return
        column = hits[0] if hits else None
        if column == self.sort_column:
            self.action_reverse_sort()
        else:
            self.sort_by(column)

    def _fade_marks(self) -> None:
        """Repaint the lines whose new/changed marker has just expired."""
        now = self._clock()
        expired = [y for y, until in self._marked_lines.items() if until <= now]
        for y in expired:
            del self._marked_lines[y]
            self.refresh(Region(0, y, self._layout_for, 1))

    def _header_strip(self) -> Strip:
        style = self.get_component_rich_style("live-table--header")
        model = self._model
        cache_key = ("header", self._layout_version, model.sort_column, model.descending, style)
        strip = self._row_cache.get(cache_key)
        if strip is None:
            text = header_text(self._columns, self._layout, model.sort_column, model.descending)
            strip = to_strip(text, style, self._layout_width, self.app.console)
            self._row_cache.set(cache_key, strip)
        return strip

    def _row_strip(self, index: int, y: int) -> Strip:
        record = self._model.record(self._model.key_at(index))
        until = record.marked_at + self.highlight_seconds
        mark = record.mark if until > self._clock() else None
        if mark is not None:
            self._marked_lines[y] = until
        if index == self._cursor_index:
            style = self.get_component_rich_style("live-table--cursor")
        elif mark is not None:
            style = self.get_component_rich_style(f"live-table--{mark}")
        else:
            style = self.rich_style
        cache_key = (record.key, record.version, self._layout_version, mark, style)
        strip = self._row_cache.get(cache_key)
        if strip is None:
            cells = record.cells
            text = row_text(self._columns, self._layout,
                            [cells[i] for i in self._column_indices], mark)
            strip = to_strip(text, style, self._layout_width, self.app.console)
            self._row_cache.set(cache_key, strip)
        return strip
