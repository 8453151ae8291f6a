"""A build's raw event stream as a list: position, time, type and a one-line account of its data,
as `buildwatch events` prints it.

Rows are read from an `EventLog` as they are drawn, so 500,000 events cost the log's memory and a
filtered list of positions, nothing per row. The list grows as events load; a type filter keeps
the positions of the matching types only.
"""

from __future__ import annotations

from array import array
from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from buildwatch.core.develocity.event_log import EventLog
from buildwatch.core.develocity.event_text import BRIEF_WIDTH, event_brief
from buildwatch.core.sanitize import sanitize_line

_MAX_TYPE_WIDTH = 30


def event_row(log: EventLog, position: int, columns: tuple[int, int]) -> str:
    """One event as a row: `#12  10:31:07.250 TaskFinished path=:app:test outcome=FAILED`
    (sanitised), its position and type padded to `columns`."""
    timestamp = log.timestamp(position)
    when = (datetime.fromtimestamp(timestamp / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]
            if timestamp is not None else "--:--:--.---")
    event = log.decoded(position)
    # A BuildEvent's fields are under `data`; the Build message that heads the stream has its own.
    data = event.get("data")
    brief = event_brief(data if isinstance(data, dict) else event)
    kind = sanitize_line(log.event_type(position))
    position_width, type_width = columns
    return f"#{position:<{position_width}} {when} {kind:<{type_width}} {brief}"


class EventList(ScrollView, can_focus=True):
    """Scrollable rows of an `EventLog`, optionally only some event types."""

    DEFAULT_CSS = """
    EventList { height: 1fr; }
    EventList > .event-list--cursor { background: $accent 40%; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"event-list--cursor"}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "move(1)", "Down", show=False, id="events.down"),
        Binding("up,k", "move(-1)", "Up", show=False, id="events.up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="events.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="events.page_up"),
        Binding("home,g", "top", "Top", show=False, id="events.top"),
        Binding("end,G", "bottom", "Bottom", show=False, id="events.bottom"),
    ]

    class Selected(Message):
        """The event under the cursor changed."""

        def __init__(self, event_list: EventList, position: int | None) -> None:
            super().__init__()
            self.event_list = event_list
            self.position = position

        @property
        def control(self) -> EventList:
            """The list that sent the message."""
            return self.event_list

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, EventList.Selected)

    def __init__(self, log: EventLog, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._log = log
        self._types: set[str] | None = None
        self._filter = ""
        self._positions = array("q")
        self._scanned = 0
        self._cursor = 0
        self._cache: LRUCache[tuple[int, bool], Strip] = LRUCache(512)
        self._columns = (0, 0)

    @property
    def filter_text(self) -> str:
        """The type filter as last given."""
        return self._filter

    @property
    def row_count(self) -> int:
        """Events shown."""
        return len(self._positions)

    @property
    def cursor_position(self) -> int | None:
        """The event position under the cursor."""
        return self._positions[self._cursor] if self._positions else None

    def set_filter(self, text: str) -> None:
        """Show only event types containing one of the comma-separated words (ignoring case)."""
        self._filter = text
        self._types = self._matching_types()
        self._positions = array("q")
        self._scanned = 0
        self._cursor = 0
        self.events_added()
        self._post_selected()

    def events_added(self) -> None:
        """Show the events the log received since the last call."""
        if self._types is not None:
            # A type first seen now may match the filter.
            self._types = self._matching_types()
        first = not self._positions
        self._positions.extend(self._log.indices(self._types, self._scanned))
        self._scanned = len(self._log)
        # Columns as wide as this build's positions and types need: at 80 columns, each
        # character they do not take is one more of the events' accounts shown.
        columns = (len(str(len(self._log))),
                   min(_MAX_TYPE_WIDTH, max(map(len, self._log.type_counts()), default=0)))
        if columns != self._columns:
            self._columns = columns
            self._cache.clear()
        self.virtual_size = Size(sum(columns) + 16 + BRIEF_WIDTH, len(self._positions))
        self.refresh()
        if first and self._positions:
            self._post_selected()

    def _matching_types(self) -> set[str] | None:
        words = [word.strip().casefold() for word in self._filter.split(",") if word.strip()]
        if not words:
            return None
        return {kind for kind in self._log.type_counts()
                if any(word in kind.casefold() for word in words)}

    def action_move(self, rows: int) -> None:
        """Move the cursor by rows."""
        self._move_to(self._cursor + rows)

    def action_page(self, pages: int) -> None:
        """Move the cursor by screens."""
        self._move_to(self._cursor + pages * max(1, self.scrollable_content_region.height))

    def action_top(self) -> None:
        """Go to the first event."""
        self._move_to(0)

    def action_bottom(self) -> None:
        """Go to the last event."""
        self._move_to(len(self._positions) - 1)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            self.focus()
            self._move_to(round(self.scroll_y) + offset.y)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        row = round(self.scroll_y) + y
        if row >= len(self._positions):
            return Strip.blank(width, self.rich_style)
        selected = row == self._cursor
        key = (self._positions[row], selected)
        strip = self._cache.get(key)
        if strip is None:
            style = (self.get_component_rich_style("event-list--cursor") if selected
                     else self.rich_style)
            # Padded to the list's width, so that a short row is styled to the end like the rest.
            line = event_row(self._log, self._positions[row], self._columns)
            text = Text(line.ljust(self.virtual_size.width), style=style, no_wrap=True, end="")
            strip = Strip(text.render(self.app.console))
            self._cache.set(key, strip)
        return strip.crop_extend(round(self.scroll_x), round(self.scroll_x) + width,
                                 self.rich_style)

    def _move_to(self, row: int) -> None:
        if not self._positions:
            return
        self._cursor = max(0, min(row, len(self._positions) - 1))
        height = max(1, self.scrollable_content_region.height)
        top = round(self.scroll_y)
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False)
        elif self._cursor >= top + height:
            self.scroll_to(y=self._cursor - height + 1, animate=False)
        self.refresh()
        self._post_selected()

    def _post_selected(self) -> None:
        self.post_message(self.Selected(self, self.cursor_position))
