"""A small dialog that asks for a commit to watch on BuildBuddy."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from buildwatch.core.monitor.store import normalize_commit


class WatchCommitScreen(ModalScreen[str | None]):
    """Returns the commit SHA typed, or None if cancelled."""

    DEFAULT_CSS = """
    WatchCommitScreen { align: center middle; }
    WatchCommitScreen > Vertical {
        width: 60; height: auto; padding: 1 2; border: round $accent; background: $panel;
    }
    WatchCommitScreen #problem { color: $error; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="watch.cancel"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Watch a commit's BuildBuddy invocations")
            yield Input(placeholder="commit SHA (7 or more hex digits)", id="commit")
            yield Label("", id="problem")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        sha = normalize_commit(event.value)
        if sha is None:
            self.query_one("#problem", Label).update("That is not a commit SHA: 7 or more hex digits.")
            return
        self.dismiss(sha)

    def action_cancel(self) -> None:
        """Close without watching anything."""
        self.dismiss(None)
