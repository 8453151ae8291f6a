"""A `LogView` with what a log needs around it: a search box, a status line, save and pager.

Keys, on top of the log view's own: `/` searches (Enter runs it, Escape closes the box; the
screen's Escape then clears the search, with `clear_search`, before it goes back), `s`
saves the text without colour sequences to a file the user names, `p` opens it in `$PAGER`
(`less -R` by default) with the app suspended.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Static

from buildwatch.core.sanitize import sanitize_line
from buildwatch.tui.screens.save_as import SaveAsScreen
from buildwatch.tui.widgets.log_view import LogView


def write_text(path: Path, chunks: Iterable[str]) -> int:
    """Write `chunks` to `path` as UTF-8; return the number of characters written."""
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        for chunk in chunks:
            out.write(chunk)
            written += len(chunk)
    return written


class LogPanel(Vertical):
    """A log view, its search box and its status line."""

    DEFAULT_CSS = """
    LogPanel { height: 1fr; }
    LogPanel > LogView { height: 1fr; }
    LogPanel > .log-search { dock: bottom; display: none; }
    LogPanel > .log-search.-shown { display: block; }
    LogPanel > .log-status { height: 1; background: $panel; color: $text-muted; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search", key_display="/", id="log.search"),
        Binding("s", "save", "Save", id="log.save"),
        Binding("p", "pager", "Pager", id="log.pager"),
    ]

    def __init__(self, file_name: str, *, text: str = "", follow: bool = True,
                 save: Callable[[], None] | None = None, id: str | None = None) -> None:
        """`file_name` is what a save proposes and what the pager's temporary file is called;
        without `follow` the view starts at the top (a report, a file) rather than the end;
        `save` replaces saving the shown text (a file viewer saves the original bytes)."""
        super().__init__(id=id)
        # Named after ids that came from a server, and shown when saving.
        self.file_name = sanitize_line(file_name)
        self._follow = follow
        self._save = save
        self._text = text
        self._state = ""
        self._matches = ""

    @property
    def view(self) -> LogView:
        """The log view."""
        return self.query_one(LogView)

    def compose(self) -> ComposeResult:
        view = LogView(self._text)
        view.set_reactive(LogView.following, self._follow)
        yield view
        yield Static("", classes="log-status", markup=False)
        yield Input(placeholder="search (Enter: find, Escape: close)", classes="log-search")

    def on_mount(self) -> None:
        self._show_status()

    def append(self, text: str) -> None:
        """Add text to the log."""
        self.view.append(text)
        self._show_status()

    def set_state(self, state: str) -> None:
        """A word or two about the source: `loading 3 MB`, `following`, `complete`."""
        self._state = sanitize_line(state)
        self._show_status()

    def focus_log(self) -> None:
        """Give the log view the focus."""
        self.view.focus()

    def action_search(self) -> None:
        """Open the search box."""
        search = self.query_one(".log-search", Input)
        search.add_class("-shown")
        search.focus()

    def clear_search(self) -> bool:
        """Clear the search, if there is one; say whether there was (Escape then goes no
        further back)."""
        if not self.view.searching:
            return False
        self.query_one(".log-search", Input).value = ""
        self.view.search("")
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.view.search(event.value)
        self._close_search()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.query_one(".log-search", Input).has_focus:
            event.stop()
            self._close_search()

    def on_log_view_matches_changed(self, event: LogView.MatchesChanged) -> None:
        if event.count == 0 and event.index is None:
            self._matches = "no match" if self.query_one(".log-search", Input).value else ""
        else:
            more = "+" if event.limit_reached else ""
            self._matches = f"match {event.index or 0}/{event.count}{more}"
        self._show_status()

    def on_log_view_follow_changed(self, event: LogView.FollowChanged) -> None:
        self._show_status()

    def action_save(self) -> None:
        """Ask for a path and save the log there, without colour sequences."""
        if self._save is not None:
            self._save()
            return

        def save(path: Path | None) -> None:
            if path is not None:
                text = self.view.iter_text(strip_sgr=True)
                self.run_worker(self._write(path, text), group="log-save", exit_on_error=False)

        self.app.push_screen(SaveAsScreen("the log", self.file_name), save)

    async def _write(self, path: Path, text: Iterable[str]) -> None:
        """Write `text` to `path` in a thread: a log may be hundreds of megabytes."""
        try:
            count = await asyncio.to_thread(write_text, path, text)
        except OSError as error:
            self.notify(f"cannot save to {path}: {error.strerror}", severity="error",
                        markup=False)
            return
        self.notify(f"saved {count:,} characters to {path}", markup=False)

    def action_pager(self) -> None:
        """Show the log in `$PAGER`, the app suspended meanwhile."""
        command = shlex.split(os.environ.get("PAGER") or "less -R")
        with tempfile.TemporaryDirectory(prefix="buildwatch-") as directory:
            path = Path(directory) / Path(self.file_name).name
            write_text(path, self.view.iter_text(strip_sgr=False))
            try:
                with self.app.suspend():
                    subprocess.run([*command, str(path)], check=False)
            except SuspendNotSupported:
                self.notify("this terminal cannot hand over to a pager", severity="warning")
            except OSError as error:
                self.notify(f"cannot run the pager {command[0]}: {error.strerror}",
                            severity="error")

    def _close_search(self) -> None:
        search = self.query_one(".log-search", Input)
        search.remove_class("-shown")
        self.view.focus()

    def _show_status(self) -> None:
        log = self.query_one(LogView)
        parts = [f"{log.line_count:,} lines"]
        if self._state:
            parts.append(self._state)
        parts.append("following" if log.following else "paused (G follows)")
        if self._matches:
            parts.append(self._matches)
        self.query_one(".log-status", Static).update(Text(" · ".join(parts), no_wrap=True))
