"""A full-screen log viewer for any text source: a test's output, a failure, a saved log.

The source is a string or an async iterator of text pieces; pieces stream into the view as they
arrive, from a worker that ends with the screen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer

from buildwatch.tui.screens.drill_down import is_open
from buildwatch.tui.widgets.breadcrumb import Breadcrumb
from buildwatch.tui.widgets.log_panel import LogPanel

TextSource = str | AsyncIterator[str]


class LogScreen(Screen[None]):
    """Shows one text source in a `LogPanel`."""

    CSS_PATH = "log.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back"),
        Binding("q", "app.quit", "Quit", id="screen.quit"),
    ]

    def __init__(self, crumb: str, source: TextSource, file_name: str) -> None:
        """`crumb` names the screen in the breadcrumb; `file_name` is what `s` proposes."""
        super().__init__()
        self.crumb = crumb
        self._source = source
        self._file_name = file_name

    def compose(self) -> ComposeResult:
        yield Breadcrumb()
        text = self._source if isinstance(self._source, str) else ""
        # A finished text is read from the top; a stream follows its end.
        yield LogPanel(self._file_name, text=text, follow=not text)
        yield Footer()

    def on_mount(self) -> None:
        panel = self.query_one(LogPanel)
        panel.focus_log()
        if not isinstance(self._source, str):
            panel.set_state("loading")
            self.run_worker(self._stream(self._source), group="log-source", exit_on_error=False)

    async def _stream(self, source: AsyncIterator[str]) -> None:
        panel = self.query_one(LogPanel)
        try:
            async for piece in source:
                if not is_open(self):
                    return
                panel.append(piece)
        except Exception as error:
            # Shown, not raised: what arrived so far stays readable.
            panel.set_state(f"stopped: {error}")
            return
        if is_open(self):
            panel.set_state("complete")

    def action_back(self) -> None:
        """Clear the search if there is one, else go back to the previous screen."""
        if not self.query_one(LogPanel).clear_search():
            self.dismiss()
