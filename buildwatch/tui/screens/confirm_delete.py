"""Deleting a file from the BuildBuddy cache: a modal that asks, then one request, never retried.

The modal names the URI and says what deleting means: the cache entry goes for everyone who uses
that cache. Cancel has the focus, so Enter or Escape by reflex deletes nothing; only the Delete
button (or `y`) sends the request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.errors import BuildwatchError
from buildwatch.core.sanitize import sanitize_line

WARNING = (
    "This removes the entry from the remote cache for everyone using that cache. Builds that "
    "need it will rebuild or re-upload it. It cannot be undone."
)


class ConfirmDeleteScreen(ModalScreen[bool]):
    """Returns True only when the user explicitly confirms."""

    CSS_PATH = "confirm_delete.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "cancel", "Cancel", id="delete.cancel"),
        Binding("y", "confirm", "Delete", id="delete.confirm"),
    ]

    def __init__(self, uri: str) -> None:
        super().__init__()
        self.uri = uri

    def compose(self) -> ComposeResult:
        with Vertical(id="delete-dialog"):
            yield Label("Delete this file from the cache?", id="delete-title")
            yield Static(Text(sanitize_line(self.uri)), id="delete-uri")
            yield Static(Text(WARNING), id="delete-warning")
            with Horizontal(id="delete-buttons"):
                yield Button("Cancel", id="cancel", variant="default")
                yield Button("Delete (y)", id="delete", variant="error")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "delete")

    def action_cancel(self) -> None:
        """Close without deleting."""
        self.dismiss(False)

    def action_confirm(self) -> None:
        """Delete."""
        self.dismiss(True)


def confirm_and_delete(app: App[object], client: BuildBuddyClient, uri: str,
                       done: Callable[[str | None], None]) -> None:
    """Ask, and on an explicit yes send one DeleteFile; `done` gets None or the error message.

    The request runs as an app worker so leaving the screen does not abandon it half-reported.
    """
    async def delete() -> None:
        try:
            await client.delete_file(uri)
        except BuildwatchError as error:
            done(sanitize_line(str(error)))
            return
        done(None)

    def answered(confirmed: bool | None) -> None:
        if confirmed:
            app.run_worker(delete(), group="delete-file", exit_on_error=False)

    app.push_screen(ConfirmDeleteScreen(uri), answered)
