"""One file from the BuildBuddy cache: shown as it downloads, saved, or deleted.

Text is highlighted by its name (test.xml, sources; logs stay plain with error jumps), binary is
shown as a hex dump. The download streams into the view and stops at `Preview.limit`, so a huge
artifact shows its first screen at once and never fills the memory; `s` saves it whole. A
download that failed (after the client's retries) keeps what it had shown, and `r` downloads the
file again from the start. `D` deletes it from the cache after an explicit confirmation.

The download and the delete never touch a widget: they post messages the screen handles, and
Textual delivers none to a screen being removed, whose widgets go before its workers are
cancelled (the delete, an app worker, runs on).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from buildwatch.core.buildbuddy.files import BlobUri
from buildwatch.core.buildbuddy.models import File
from buildwatch.core.buildbuddy.triage import size_text
from buildwatch.core.errors import BuildwatchError
from buildwatch.core.file_preview import DEFAULT_LIMIT, Preview
from buildwatch.core.sanitize import sanitize_line
from buildwatch.tui.screens.confirm_delete import confirm_and_delete
from buildwatch.tui.screens.save_as import SaveAsScreen
from buildwatch.tui.services import services
from buildwatch.tui.widgets.breadcrumb import Breadcrumb
from buildwatch.tui.widgets.log_panel import LogPanel


class _PreviewFull(Exception):
    """Raised from the download's consumer to stop it once the preview holds enough."""


class FileViewerScreen(Screen[None]):
    """Shows one file; `on_deleted` is told the URI once a delete succeeded."""

    CSS_PATH = "file_viewer.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back"),
        Binding("q", "app.quit", "Quit", id="screen.quit"),
        Binding("r", "reload", "Download again", id="file.reload"),
        Binding("D", "delete", "Delete from cache", id="file.delete"),
    ]

    class Arrived(Message, bubble=False):
        """More of the preview."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Ended(Message, bubble=False):
        """The download ended: `rest` ends the preview, `state` says how it ended, and `failed`
        whether it ended before the file (or the preview) was whole."""

        def __init__(self, rest: str, state: str, *, failed: bool = False) -> None:
            super().__init__()
            self.rest = rest
            self.state = state
            self.failed = failed

    class DeleteAnswered(Message, bubble=False):
        """The delete succeeded, or failed with `error`."""

        def __init__(self, error: str | None) -> None:
            super().__init__()
            self.error = error

    def __init__(self, file: File, *, on_deleted: Callable[[str], None] | None = None,
                 preview_limit: int | None = None) -> None:
        super().__init__()
        self.file = file
        self.name_shown = sanitize_line(file.name) or "file"
        self.crumb = self.name_shown
        self.deleted = False
        self._on_deleted = on_deleted
        self._preview_limit = DEFAULT_LIMIT if preview_limit is None else preview_limit
        self._preview = self._new_preview()
        self._state = "loading…"
        self._failed = False

    def compose(self) -> ComposeResult:
        yield Breadcrumb()
        yield Static(id="file-header")
        yield LogPanel(Path(self.name_shown).name, follow=False, save=self._ask_save,
                       id="file-view")
        yield Footer()

    def on_mount(self) -> None:
        self._show_header()
        self.query_one(LogPanel).focus_log()
        self._start_loading()

    def _new_preview(self) -> Preview:
        return Preview(self.file.name, self.file.size_bytes or None, self._preview_limit)

    def _start_loading(self) -> None:
        self.run_worker(self._load(), group="file-load", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        client = services(self.app).buildbuddy
        if client is None:
            self.post_message(self.Ended("", "BuildBuddy is not configured"))
            return
        preview = self._preview

        def show(data: bytes) -> None:
            text = preview.feed(data)
            if text:
                self.post_message(self.Arrived(text))
            if preview.full:
                raise _PreviewFull

        try:
            await client.get_file(self.file.uri, show)
        except _PreviewFull:
            self.post_message(self.Ended(
                preview.finish(), f"showing the first {size_text(preview.limit)}; s saves it whole"))
            return
        except BuildwatchError as error:
            # The key comes first: the header is narrow, and a long error would hide it.
            self.post_message(self.Ended(preview.finish(),
                                         f"download failed (r tries again): {error}", failed=True))
            return
        blob = BlobUri.parse(self.file.uri)
        checked = f", {blob.digest_function} verified" if blob.digest_function else ""
        self.post_message(self.Ended(preview.finish(), f"complete{checked}"))

    def on_file_viewer_screen_arrived(self, message: Arrived) -> None:
        self.query_one(LogPanel).append(message.text)

    def on_file_viewer_screen_ended(self, message: Ended) -> None:
        if message.rest:
            self.query_one(LogPanel).append(message.rest)
        self._failed = message.failed
        self.refresh_bindings()
        self._set_state(message.state)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`r` is offered only once a download has failed."""
        return self._failed if action == "reload" else True

    def action_reload(self) -> None:
        """Download the file again from the start, in place of what a failed download showed."""
        self._failed = False
        self.refresh_bindings()
        self._preview = self._new_preview()
        self.query_one(LogPanel).view.clear()
        self._set_state("loading…")
        self._start_loading()

    def _set_state(self, state: str) -> None:
        self._state = state
        self._show_header()

    def _show_header(self) -> None:
        file, preview = self.file, self._preview
        kind = ("binary (hex dump)" if preview.binary
                else "text, highlighted" if preview.highlighted
                else "text" if preview.binary is False else "")
        parts = [
            ("file", self.name_shown),
            ("size", size_text(file.size_bytes) or "unknown"),
            ("digest", sanitize_line(file.hash or BlobUri.parse(file.uri).hash or "")),
            ("kind", kind),
            ("state", "DELETED from the cache" if self.deleted else sanitize_line(self._state)),
        ]
        text = Text()
        for label, value in parts:
            if value:
                text.append(f"{label} ", style="dim")
                text.append(value + "   ", style="bold red" if self.deleted else "bold")
        text.append("\nuri ", style="dim")
        text.append(sanitize_line(file.uri))
        self.query_one("#file-header", Static).update(text)

    def _ask_save(self) -> None:
        def save(path: Path | None) -> None:
            if path is not None:
                self.run_worker(self._download(path), group="file-save", exit_on_error=False)

        self.app.push_screen(SaveAsScreen(f"{self.name_shown}", Path(self.name_shown).name), save)

    async def _download(self, path: Path) -> None:
        client = services(self.app).buildbuddy
        if client is None:
            return
        try:
            size = await client.download(self.file.uri, path)
        except (BuildwatchError, OSError) as error:
            self.notify(sanitize_line(f"cannot save {self.name_shown}: {error}"), severity="error",
                        markup=False)
            return
        self.notify(f"saved {size:,} bytes to {path}", markup=False)

    def action_delete(self) -> None:
        """Ask, then delete the file from the cache."""
        client = services(self.app).buildbuddy
        if client is None or self.deleted:
            return
        confirm_and_delete(self.app, client, self.file.uri, self._deleted)

    def _deleted(self, error: str | None) -> None:
        """Told by the delete, an app worker, which may end after the screen has closed."""
        if error is not None:
            self.app.notify(f"delete failed: {error}", severity="error", markup=False)
        else:
            self.app.notify(f"deleted {self.name_shown} from the cache", markup=False)
            if self._on_deleted is not None:
                self._on_deleted(self.file.uri)
        self.post_message(self.DeleteAnswered(error))

    def on_file_viewer_screen_delete_answered(self, message: DeleteAnswered) -> None:
        if message.error is not None:
            self._set_state(f"delete failed: {message.error}")
            return
        self.deleted = True
        self._show_header()

    def action_back(self) -> None:
        """Clear the search if there is one, else go back to the invocation."""
        if not self.query_one(LogPanel).clear_search():
            self.dismiss()
