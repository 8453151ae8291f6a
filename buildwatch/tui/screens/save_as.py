"""Asks where to save something: a path, prefilled with a sensible file name."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class SaveAsScreen(ModalScreen[Path | None]):
    """Returns the path typed (relative to the working directory), or None if cancelled."""

    CSS_PATH = "save_as.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="save_as.cancel"),
    ]

    def __init__(self, what: str, default_name: str) -> None:
        super().__init__()
        self._what = what
        self._default_name = default_name

    def compose(self) -> ComposeResult:
        with Vertical(id="save-as-dialog"):
            yield Label(f"Save {self._what} to:", markup=False)
            yield Input(self._default_name, id="save-as-path")
            yield Label("Enter saves, Escape cancels", classes="hint", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        self.dismiss(Path(value).expanduser() if value else None)

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)
