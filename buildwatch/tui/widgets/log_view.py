"""A viewer for build logs, console output, test logs and text files.

Text arrives with `append` in chunks of any size. It is sanitised (colour kept, every other escape
sequence dropped) and stored compactly by `LineStore`; a large chunk is taken in slices between
frames, so the first screen shows before the rest is indexed. Only visible lines are rendered.

Keys (each binding has an id a keymap can rebind): `j`/`k`/`h`/`l` and arrows scroll, `g`/`G`
go to the top/bottom (the bottom follows new output), `n`/`N` move between search matches, `e`
jumps to the next error line, `w` toggles wrapping. The screen owns the search box and calls
`search`; the widget highlights the matches and reports "3/17" through `MatchesChanged`.

While the view is at the bottom it follows new output; scrolled up, it stays put. Wrapping
scrolls by whole lines, so a line taller than the screen shows only its first screenful.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker

from buildwatch.core.sanitize import sanitize_line
from buildwatch.tui.widgets.line_store import LineStore, SearchPattern
from buildwatch.tui.widgets.log_search import Matches

LINE_LIMIT = 16 * 1024
"""Bytes of a line that are rendered; the rest is replaced by a note of how much was cut."""

MATCH_LIMIT = 100_000
"""Matches recorded by one search; `match_limit_reached` tells when there were more."""

ERROR_PATTERN = re.compile(rb"ERROR|FAILED|FAIL:|error:|Exception|Traceback")
"""What `e` looks for."""

_SLICE_BUDGET = 0.04


class LogView(ScrollView, can_focus=True):
    """Scrollable, searchable, followable text with ANSI colours."""

    DEFAULT_CSS = (Path(__file__).parent / "log_view.tcss").read_text(encoding="utf-8")

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "log-view--match",
        "log-view--current-match",
        "log-view--current-line",
        "log-view--cut",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "scroll_lines(1)", "Down", show=False, id="log.down"),
        Binding("up,k", "scroll_lines(-1)", "Up", show=False, id="log.up"),
        Binding("right,l", "scroll_columns(4)", "Right", show=False, id="log.right"),
        Binding("left,h", "scroll_columns(-4)", "Left", show=False, id="log.left"),
        Binding("pagedown,space", "scroll_pages(1)", "Page down", show=False,
                id="log.page_down"),
        Binding("pageup,b", "scroll_pages(-1)", "Page up", show=False, id="log.page_up"),
        Binding("home,g", "top", "Top", show=False, id="log.top"),
        Binding("end,G", "bottom", "Bottom and follow", id="log.bottom"),
        Binding("n", "next_match", "Next match", id="log.next_match"),
        Binding("N", "previous_match", "Previous match", show=False, id="log.previous_match"),
        Binding("e", "next_error", "Next error", id="log.next_error"),
        Binding("w", "toggle_wrap", "Wrap", id="log.wrap"),
    ]

    following: var[bool] = var(True, init=False)
    """Whether the view is at the bottom and stays there as output arrives."""

    wrap: var[bool] = var(False, init=False)
    """Whether long lines wrap instead of scrolling horizontally."""

    class _Message(Message):
        def __init__(self, log_view: LogView) -> None:
            super().__init__()
            self.log_view = log_view

        @property
        def control(self) -> LogView:
            """The log view that sent the message."""
            return self.log_view

    class FollowChanged(_Message):
        """The view started or stopped following new output."""

        def __init__(self, log_view: LogView, following: bool) -> None:
            super().__init__(log_view)
            self.following = following

    class MatchesChanged(_Message):
        """The search's match count or current match changed; only the latest matters."""

        def __init__(self, log_view: LogView, index: int | None, count: int,
                     limit_reached: bool) -> None:
            super().__init__(log_view)
            self.index = index
            self.count = count
            self.limit_reached = limit_reached

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, LogView.MatchesChanged)

    def __init__(self, text: str = "", *, wrap: bool = False, name: str | None = None,
                 id: str | None = None, classes: str | None = None,
                 disabled: bool = False) -> None:
        """Create a log view holding `text`."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._store = LineStore()
        self._store.queue(text)
        self._loader: Worker[None] | None = None
        self._version = 0
        self._matches = Matches(self._store, None, MATCH_LIMIT)
        self._current_line: int | None = None
        self._cache: LRUCache[tuple[Any, ...], list[Strip]] = LRUCache(1024)
        self._rows_key: tuple[int, ...] = ()
        self._rows: list[tuple[int, int]] = []
        self._sized_for = (0, 0)
        self._widest = 0
        self.set_reactive(LogView.wrap, wrap)

    @property
    def line_count(self) -> int:
        """Lines held so far, counting an unfinished last one."""
        return self._store.line_count

    @property
    def has_pending_text(self) -> bool:
        """Whether appended text is still being taken in."""
        return self._store.queued

    @property
    def text_bytes(self) -> int:
        """Memory held for the text and its line index, roughly, in bytes."""
        return self._store.nbytes

    @property
    def match_count(self) -> int:
        """Matches of the current search (at most `MATCH_LIMIT`)."""
        return self._matches.count

    @property
    def match_index(self) -> int | None:
        """The current match, counting from 1, or `None`."""
        current = self._matches.current
        return None if current is None else current + 1

    @property
    def match_limit_reached(self) -> bool:
        """Whether the search stopped recording matches at `MATCH_LIMIT`."""
        return self._matches.limit_reached

    @property
    def current_line(self) -> int | None:
        """The line the last match or error jump landed on."""
        return self._current_line

    @property
    def top_line(self) -> int:
        """The first line on screen."""
        return round(self.scroll_y)

    def append(self, text: str) -> None:
        """Add text; it need not end at a line break. Escape sequences other than colour go."""
        if text:
            self._store.queue(text)
        if self.is_mounted:
            self._take_pending()

    def iter_text(self, strip_sgr: bool = False) -> Iterator[str]:
        """The text taken in so far, a block at a time, with or without colour sequences."""
        return self._store.iter_text(strip_sgr)

    def clear(self) -> None:
        """Drop all text and the search."""
        self._store.clear()
        self._widest = 0
        self.search("")
        self._fit()

    @property
    def searching(self) -> bool:
        """Whether a search is highlighted."""
        return self._matches.pattern is not None

    def search(self, pattern: str) -> int:
        """Highlight `pattern` (literal, ignoring ASCII case), go to the first match at or
        below the top line, and return the number of matches; "" clears the search."""
        pattern = sanitize_line(pattern)
        self._matches = Matches(self._store, SearchPattern(pattern) if pattern else None,
                                MATCH_LIMIT)
        self._current_line = None
        self._go_to_match(self._matches.first_from(self.top_line))
        self._changed()
        return self._matches.count

    def next_match(self) -> int | None:
        """Go to the next match (after the last comes the first); return its number."""
        return self._go_to_match(self._matches.step(1))

    def previous_match(self) -> int | None:
        """Go to the previous match; return its number."""
        return self._go_to_match(self._matches.step(-1))

    def next_error(self) -> int | None:
        """Go to the next line that looks like an error, wrapping around; return its index."""
        current = self._current_line
        start = current + 1 if current is not None and self._visible(current) else self.top_line
        line = self._store.find_line(ERROR_PATTERN, start)
        if line is None and start > 0:
            line = self._store.find_line(ERROR_PATTERN, 0)
        if line is not None:
            self._current_line = line
            self._reveal(line, None)
        return line

    def action_scroll_lines(self, lines: int) -> None:
        """Scroll by lines."""
        self.scroll_to(y=self.scroll_y + lines, animate=False, force=True)

    def action_scroll_pages(self, pages: int) -> None:
        """Scroll by screens."""
        page = max(1, self._height - 1)
        self.scroll_to(y=self.scroll_y + pages * page, animate=False, force=True)

    def action_scroll_columns(self, columns: int) -> None:
        """Scroll sideways (when not wrapping)."""
        self.scroll_to(x=self.scroll_x + columns, animate=False, force=True)

    def action_top(self) -> None:
        """Go to the first line."""
        self.scroll_to(x=0, y=0, animate=False, force=True)

    def action_bottom(self) -> None:
        """Go to the last line and follow new output."""
        self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
        self.following = True

    # The keys call the public methods; what they return is for callers, not bindings.
    action_next_match = next_match
    action_previous_match = previous_match
    action_next_error = next_error

    def action_toggle_wrap(self) -> None:
        """Wrap long lines, or stop wrapping them."""
        self.wrap = not self.wrap

    def watch_following(self, following: bool) -> None:
        self.post_message(self.FollowChanged(self, following))

    def watch_wrap(self) -> None:
        self._cache.clear()
        self.scroll_to(x=0, animate=False, force=True)
        self._fit()
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.following = round(new_value) >= self.max_scroll_y

    def on_mount(self) -> None:
        self._take_pending()

    def on_resize(self, event: events.Resize) -> None:
        self._fit()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if self.wrap:
            if (width, self._height) != self._sized_for:
                # A scrollbar came or went: wrapped heights change without a resize event.
                self._fit()
            rows = self._wrap_rows(scroll_y, width)
            if y >= len(rows):
                return Strip.blank(width, self.rich_style)
            line, part = rows[y]
            return self._strips(line, width)[part].crop_extend(0, width, self._base(line))
        line = scroll_y + y
        if line >= self._store.line_count:
            return Strip.blank(width, self.rich_style)
        return self._strips(line, None)[0].crop_extend(scroll_x, scroll_x + width,
                                                        self._base(line))

    def _base(self, line: int) -> Style:
        """The style under a line: the widget's, or the current line's."""
        if line == self._current_line:
            return self.get_component_rich_style("log-view--current-line")
        return self.rich_style

    @property
    def _height(self) -> int:
        return max(1, self.scrollable_content_region.height)

    def _take_pending(self) -> None:
        if self._loader is None and self._store.queued:
            self._take_some()
            if self._store.queued:
                self._loader = self.run_worker(self._take_rest(), group="log-view-load")

    async def _take_rest(self) -> None:
        try:
            while self._store.queued:
                # Give the screen a frame between slices.
                await asyncio.sleep(0)
                self._take_some()
        finally:
            self._loader = None

    def _take_some(self) -> None:
        self._store.take_queued(_SLICE_BUDGET)
        self._version += 1
        if self._matches.extend():
            self._post_matches()
        self._fit()
        self.refresh()

    def _fit(self) -> None:
        self._update_virtual_size()
        if self.following:
            self.scroll_to(y=self.max_scroll_y, animate=False, force=True)

    def _update_virtual_size(self) -> None:
        store = self._store
        width = self.scrollable_content_region.width
        self._sized_for = (width, self._height)
        if self.wrap and width > 0:
            # The last scroll position shows the last lines that fit on one screen.
            self.virtual_size = Size(width, self._last_page_top(width) + self._height)
        else:
            # Lines are measured as they are rendered: scrolling sideways reaches the widest
            # line seen so far, and measuring every line would cost as much as rendering it.
            self.virtual_size = Size(self._widest, store.line_count)

    def _last_page_top(self, width: int) -> int:
        rows, line = 0, self._store.line_count
        while line > 0:
            rows += len(self._strips(line - 1, width))
            if rows > self._height:
                break
            line -= 1
        return min(line, max(0, self._store.line_count - 1))

    def _wrap_rows(self, top: int, width: int) -> list[tuple[int, int]]:
        key = (top, width, self._height, self._version)
        if key != self._rows_key:
            rows: list[tuple[int, int]] = []
            line, count = top, self._store.line_count
            while line < count and len(rows) < self._height:
                rows.extend((line, part) for part in range(len(self._strips(line, width))))
                line += 1
            self._rows_key, self._rows = key, rows
        return self._rows

    def _go_to_match(self, index: int | None) -> int | None:
        """Show match `index` (already current) and report it; return its number."""
        if index is None:
            self._post_matches()
            return None
        line = self._matches.line_of(index)
        self._current_line = line
        column = None
        if self._matches.pattern is not None:
            plain = self._line_text(line, -1).plain
            starts = [match.start() for match in self._matches.pattern.shown.finditer(plain)]
            nth = self._matches.nth_in_line(line)
            column = cell_len(plain[:starts[nth]]) if nth < len(starts) else None
        self._reveal(line, column)
        self._post_matches()
        return index + 1

    def _post_matches(self) -> None:
        self.post_message(self.MatchesChanged(self, self.match_index, self.match_count,
                                              self.match_limit_reached))

    def _visible(self, line: int) -> bool:
        top, width = self.top_line, self.scrollable_content_region.width
        if self.wrap:
            return any(row_line == line for row_line, _ in self._wrap_rows(top, width))
        return top <= line < top + self._height

    def _reveal(self, line: int, column: int | None) -> None:
        if not self._visible(line):
            context = 1 if self.wrap else self._height // 3
            self.scroll_to(y=max(0, line - context), animate=False, force=True)
        width = self.scrollable_content_region.width
        if column is not None and not self.wrap and not (
                self.scroll_x <= column < self.scroll_x + width - 1):
            self.scroll_to(x=max(0, column - width // 3), animate=False, force=True)
        self.refresh()

    def _changed(self) -> None:
        self._cache.clear()
        self._version += 1
        self.refresh()

    def _strips(self, line: int, width: int | None) -> list[Strip]:
        """The rendered line, one strip per row when wrapping at `width`."""
        nth = self._matches.nth_in_line(line)
        key = (line, width, nth, line == self._current_line)
        # The unfinished last line changes with every append, so it is never cached.
        cacheable = line < self._store.complete_lines
        strips = self._cache.get(key) if cacheable else None
        if strips is None:
            text = self._line_text(line, nth)
            text.stylize_before(self._base(line))
            console = self.app.console
            parts = [text] if width is None else text.wrap(console, width, overflow="fold",
                                                            no_wrap=False)
            strips = [Strip(part.render(console), part.cell_len) for part in parts] or [Strip([])]
            if width is None and strips[0].cell_length > self._widest:
                self._widest = strips[0].cell_length
                self.call_after_refresh(self._update_virtual_size)
            if cacheable:
                self._cache.set(key, strips)
        return strips

    def _line_text(self, line: int, current_nth: int) -> Text:
        raw, cut = self._store.line(line, LINE_LIMIT)
        text = Text.from_ansi(raw, end="", no_wrap=True)
        if self._matches.pattern is not None:
            match_style = self.get_component_rich_style("log-view--match", partial=True)
            current_style = self.get_component_rich_style("log-view--current-match",
                                                          partial=True)
            for nth, match in enumerate(self._matches.pattern.shown.finditer(text.plain)):
                text.stylize(current_style if nth == current_nth else match_style,
                             match.start(), match.end())
        text.expand_tabs(8)
        if cut:
            text.append(f" … {cut:,} more bytes",
                        style=self.get_component_rich_style("log-view--cut", partial=True))
        return text
