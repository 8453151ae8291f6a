"""A full-screen log viewer for any text source: a test's output, a failure, a saved log.

The source is a string or an async iterator of text pieces; pieces stream into the view as they
arrive, from a worker that ends with the screen. The worker never touches a widget: it posts
messages the screen handles, and Textual delivers none to a screen being removed, whose widgets
go before its workers are cancelled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer

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

    class Arrived(Message, bubble=False):
        """The next piece of the source."""

        def __init__(self, piece: str) -> None:
            super().__init__()
            self.piece = piece

    class Ended(Message, bubble=False):
        """The source ended: `state` says whether whole or why not."""

        def __init__(self, state: str) -> None:
            super().__init__()
            self.state = state

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
        try:
            async for piece in source:
                self.post_message(self.Arrived(piece))
        except Exception as error:
            # Shown, not raised: what arrived so far stays readable.
            self.post_message(self.Ended(f"stopped: {error}"))
            return
        self.post_message(self.Ended("complete"))

    def on_log_screen_arrived(self, message: Arrived) -> None:
        self.query_one(LogPanel).append(message.piece)

    def on_log_screen_ended(self, message: Ended) -> None:
        self.query_one(LogPanel).set_state(message.state)

    def action_back(self) -> None:
        """Clear the search if there is one, else go back to the previous screen."""
        if not self.query_one(LogPanel).clear_search():
            self.dismiss()
