"""What the failure screens share: a title line over one live table, a filter box, going back.

A subclass composes its widgets around `table_widgets()` and says what its title shows
(`title_text`). `/` opens the filter box, Enter keeps the filter and goes back to the table,
Escape closes the box, else clears the filter, else goes back a screen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static

from buildwatch.tui.screens.drill_down import FILTER_PLACEHOLDER
from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.table_model import Column


class TableScreen(Screen[None]):
    """A screen of one filterable `LiveTable` (id `table`) under a title line (id `title`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back / clear filter", id="failures.back"),
        Binding("slash", "filter", "Filter", key_display="/", id="failures.filter"),
    ]

    def __init__(self, highlight_seconds: float) -> None:
        """New and changed rows stay marked `highlight_seconds`."""
        super().__init__()
        self._highlight_seconds = highlight_seconds
        self._title = ""

    def table_widgets(self, columns: Sequence[Column]) -> Iterator[Widget]:
        """The title line, the table of `columns`, and the (hidden) filter box."""
        yield Static(id="title")
        yield LiveTable(columns, id="table", highlight_seconds=self._highlight_seconds)
        yield Input(id="filter", placeholder=FILTER_PLACEHOLDER)

    @property
    def table(self) -> LiveTable:
        """The screen's table."""
        return self.query_one("#table", LiveTable)

    def title_text(self) -> str:
        """What the title line says; the filter is added to it."""
        raise NotImplementedError

    def show_title(self) -> None:
        """Redraw the title line if what it says changed."""
        title = self.title_text()
        if self.table.filter_text:
            title += f" · filter: {self.table.filter_text}"
        if title != self._title:
            self._title = title
            # A Text, not markup: the filter is whatever was typed, brackets included.
            self.query_one("#title", Static).update(Text(title, no_wrap=True, overflow="ellipsis"))

    def action_filter(self) -> None:
        """Open the filter box on the table's filter."""
        box = self.query_one("#filter", Input)
        box.value = self.table.filter_text
        box.add_class("-shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_filter(event.value)
        self.show_title()

    @on(Input.Submitted, "#filter")
    def _filter_kept(self) -> None:
        self._close_filter()

    def action_back(self) -> None:
        """Back one level: close the filter box, else clear the filter, else leave."""
        if self.query_one("#filter", Input).has_focus:
            self._close_filter()
        elif self.table.filter_text:
            self.table.set_filter("")
            self.show_title()
        else:
            self.dismiss()

    def _close_filter(self) -> None:
        self.query_one("#filter", Input).remove_class("-shown")
        self.table.focus()
