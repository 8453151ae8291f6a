"""A BuildBuddy invocation, for triage: which targets failed, their actions and files, the log.

Workers started on mount poll the invocation and its targets until it finishes, and follow its
log; they are cancelled when the screen closes, and until then wait out a server that is away,
saying so. The state the monitor holds (polled, or from the local history) shows at once;
without a server it is all there is, and the header says so.

The workers never touch a widget: they post messages the screen handles, and Textual delivers
none to a screen being removed, whose widgets go before its workers are cancelled.

Keys: `1`-`3` switch tabs (Targets, Actions, Log), `l` jumps to the log, `/` filters the current
table, Enter on a target lists its actions, Enter on a file opens it, `a` lists every action, `D`
deletes the file under the cursor from the cache, Escape goes back, `q` quits.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from buildwatch.core.backoff import RetryNotice
from buildwatch.core.buildbuddy.logs import LogAssembler
from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.buildbuddy.triage import (
    FileRow,
    TargetRow,
    file_rows,
    invocation_header,
    is_running,
    target_row,
)
from buildwatch.core.errors import BuildwatchError
from buildwatch.core.links import invocation_url
from buildwatch.core.sanitize import sanitize_line
from buildwatch.tui.screens.confirm_delete import confirm_and_delete
from buildwatch.tui.screens.drill_down import (
    FILTER_PLACEHOLDER,
    DrillDownScreen,
    tab_bindings,
    waiting_note,
)
from buildwatch.tui.screens.file_viewer import FileViewerScreen
from buildwatch.tui.services import services
from buildwatch.tui.widgets.breadcrumb import Breadcrumb
from buildwatch.tui.widgets.header_text import PairsHeader, outcome_style
from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.log_panel import LogPanel
from buildwatch.tui.widgets.table_model import Column, TableRow

POLL_S = 2.0
"""How often a running invocation and its targets are fetched again."""
NEEDS_SERVER = "the targets, actions and log need the server"
OFFLINE_NOTE = f"offline — from the history; {NEEDS_SERVER}"
"""Short enough for one line of an 80-column header (the status already says "last seen")."""
TEAM_STORE_NOTE = "from the team store; the targets, actions and log need a BuildBuddy key"
"""A team store's viewer without a BuildBuddy API key (`buildwatch auth login buildbuddy`)."""

TABS = ("targets", "actions", "log")
HEADER_LINES = ("link", "user")
"""Header labels that start a line: the run, its link, then who, where and which source."""

TARGET_COLUMNS = (
    Column("status", "Status", width=15),
    Column("label", "Label", share=4),
    Column("rule", "Rule", share=1),
    Column("language", "Lang", width=6),
    Column("duration", "Duration", width=9, align="right"),
    Column("tags", "Tags", share=1),
)
FILE_COLUMNS = (
    Column("target", "Target", share=2),
    Column("action", "Action", width=17),
    Column("file", "File", share=2),
    Column("size", "Size", width=9, align="right"),
)


def target_table_row(row: TargetRow) -> TableRow:
    """A target as a table row; sorting by status groups them, failures first."""
    return TableRow(
        row.key,
        [Text(row.status, style=outcome_style(row.status)), row.label, row.rule_type,
         row.language, row.duration, row.tags],
        # Within a status, by label: the server's order of targets is not stable.
        [(row.rank, row.label.casefold()), row.label.casefold(), row.rule_type, row.language,
         row.duration_s, row.tags],
    )


def file_table_row(row: FileRow, deleted: bool) -> TableRow:
    """A file (or an action without files) as a table row, marked once deleted."""
    name: str | Text = Text(f"{row.name} (deleted)", style="strike red") if deleted else row.name
    return TableRow(row.key, [row.target, row.action, name, row.size],
                    [row.target.casefold(), row.action, row.name.casefold(), row.size_bytes])


class InvocationScreen(DrillDownScreen):
    """One invocation: header, then Targets, Actions and Log tabs."""

    CSS_PATH = "invocation.tcss"
    FILTERABLE: ClassVar[dict[str, str]] = {
        "targets": "#targets-table", "actions": "#actions-table"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "show_tab('log')", "Log", id="invocation.log"),
        Binding("a", "all_actions", "All actions", id="invocation.all_actions"),
        Binding("D", "delete_file", "Delete file", id="invocation.delete_file"),
        *tab_bindings("invocation", TABS),
    ]

    class Polled(Message, bubble=False):
        """The server's invocation and its targets' rows; once it has `finished`, they are
        final."""

        def __init__(self, invocation: Invocation, rows: list[TargetRow], finished: bool) -> None:
            super().__init__()
            self.invocation = invocation
            self.rows = rows
            self.finished = finished

    class WatchNote(Message, bubble=False):
        """Why the header shows what it shows: what the poll waits for, why it stopped, or that
        the server is not there."""

        def __init__(self, note: str) -> None:
            super().__init__()
            self.note = note

    class LogChanged(Message, bubble=False):
        """The log's state line says `state`; `text`, if any, is more of the log, and `complete`
        says it has ended."""

        def __init__(self, state: str, text: str = "", complete: bool = False) -> None:
            super().__init__()
            self.state = state
            self.text = text
            self.complete = complete

    class ActionsArrived(Message, bubble=False):
        """An action's rows for the Actions table, from the listing numbered `listing`."""

        def __init__(self, listing: int, rows: list[FileRow]) -> None:
            super().__init__()
            self.listing = listing
            self.rows = rows

    class ActionsEnded(Message, bubble=False):
        """The listing numbered `listing` of `what` ended with `count` actions, or was stopped
        by `error`."""

        def __init__(self, listing: int, what: str, count: int, error: str | None = None
                     ) -> None:
            super().__init__()
            self.listing = listing
            self.what = what
            self.count = count
            self.error = error

    class FileDeleted(Message, bubble=False):
        """The file with this URI was deleted from the cache."""

        def __init__(self, uri: str) -> None:
            super().__init__()
            self.uri = uri

    def __init__(self, invocation_id: str) -> None:
        super().__init__()
        self.invocation_id = invocation_id
        self.crumb = f"invocation {invocation_id[:8]}"
        self.invocation: Invocation | None = None
        """The invocation as the server last answered."""
        self.stored: Invocation | None = None
        """The invocation as the monitor held it when the screen opened."""
        self.finished = False
        """Whether the invocation is complete and its targets final."""
        self.log_complete = False
        self.deleted: set[str] = set()
        self.targets: dict[str, TargetRow] = {}
        self.files: dict[str, FileRow] = {}
        self._listing = 0
        """The number of the Actions table's listing: a listing replaced by the next one may
        have posted rows the screen has not handled yet, and they must not show."""
        self._list_again = ""
        """The key that asks for the current listing again, said if it could not be read."""

    def compose(self) -> ComposeResult:
        yield Breadcrumb()
        yield PairsHeader(sanitize_line(f"invocation {self.invocation_id}"),
                          id="invocation-header")
        with TabbedContent(id="tabs"):
            with TabPane("1 Targets", id="targets"):
                yield LiveTable(TARGET_COLUMNS, highlight_seconds=3, id="targets-table")
            with TabPane("2 Actions", id="actions"):
                yield Static(Text("Enter on a target lists its actions; a lists all"),
                             id="actions-title")
                yield LiveTable(FILE_COLUMNS, highlight_seconds=0, id="actions-table")
            with TabPane("3 Log", id="log"):
                yield LogPanel(f"invocation-{self.invocation_id}.log", id="invocation-log")
        yield Input(placeholder=FILTER_PLACEHOLDER, id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#targets-table", LiveTable).sort_by("status", descending=False)
        self.query_one("#actions-table", LiveTable).sort_by("target", descending=False)
        self.query_one("#targets-table", LiveTable).focus()
        self.stored = services(self.app).store.invocations.get(self.invocation_id)
        self._show_header()
        self.run_worker(self._watch(), group="invocation-watch", exit_on_error=False)
        self.run_worker(self._follow_log(), group="invocation-log", exit_on_error=False)

    async def _watch(self) -> None:
        shared = services(self.app).buildbuddy
        if shared is None:
            stored_note = TEAM_STORE_NOTE if services(self.app).team_store else OFFLINE_NOTE
            self.post_message(
                self.WatchNote(stored_note if self.stored else "BuildBuddy is not configured"))
            return
        # However long the server is away, the screen waits for it while it is open; only a
        # refused key, an unknown invocation or an unreadable answer stop it.
        client = shared.until_cancelled(self._header_waiting)
        if self.stored is not None and services(self.app).store.buildbuddy.showing_history:
            self.post_message(self.WatchNote(
                "BuildBuddy has not answered yet — as last seen, from the history"))
        while True:
            try:
                invocation = None
                async for found in client.invocations(invocation_id=self.invocation_id):
                    invocation = found
                if invocation is None:
                    self.post_message(self.WatchNote("no such invocation"))
                    return
                # The invocation is asked first, so that once it has finished these targets
                # are final and those left BUILDING show as not built.
                finished = not is_running(invocation)
                rows = [target_row(target, invocation_finished=finished)
                        async for target in client.targets(self.invocation_id)]
            except BuildwatchError as error:
                unanswered = self.invocation is None and self.stored is not None
                self.post_message(self.WatchNote(f"stopped: {error}" + (
                    f" — showing the stored state; {NEEDS_SERVER}" if unanswered else "")))
                return
            self.post_message(self.Polled(invocation, rows, finished))
            if finished:
                return
            await asyncio.sleep(POLL_S)

    async def _follow_log(self) -> None:
        shared = services(self.app).buildbuddy
        if shared is None:
            self.post_message(self.LogChanged(
                "the log needs a BuildBuddy API key (buildwatch auth login buildbuddy)"
                if services(self.app).team_store else "offline: the log needs the server"))
            return
        client = shared.until_cancelled(self._log_waiting)
        # The lines the server still redraws (Bazel's progress) go to the status line, not
        # into the log once per poll.
        assembler = LogAssembler()
        self.post_message(self.LogChanged("loading"))
        try:
            async for chunk in client.log(self.invocation_id, follow=True):
                text = assembler.add(chunk)
                running = " · ".join(filter(None, ("invocation running", assembler.progress)))
                self.post_message(self.LogChanged(running if chunk.live else "loading", text))
        except BuildwatchError as error:
            self.post_message(self.LogChanged(f"stopped: {error}"))
            return
        self.post_message(self.LogChanged("complete", assembler.finish(), complete=True))

    def _header_waiting(self, notice: RetryNotice) -> None:
        """Say in the header what the invocation's load waits for."""
        note = waiting_note(notice)
        # `invocation` is set as the screen handles a poll's answer, long before the next poll.
        if self.invocation is None and self.stored is not None:
            # Until the server answers, the header is the stored state: say so first.
            note = f"as last seen, from the history · {note}"
        self.post_message(self.WatchNote(note))

    def _log_waiting(self, notice: RetryNotice) -> None:
        """Say in the log's state line what the log waits for."""
        self.post_message(self.LogChanged(waiting_note(notice)))

    def on_invocation_screen_polled(self, message: Polled) -> None:
        # Targets that change while the invocation runs are marked; the first load is not.
        first_poll = self.invocation is None
        self.invocation = message.invocation
        self.targets.update((row.key, row) for row in message.rows)
        self._show_header()
        self.query_one("#targets-table", LiveTable).upsert_rows(
            map(target_table_row, message.rows), highlight=not first_poll)
        self.finished = message.finished

    def on_invocation_screen_watch_note(self, message: WatchNote) -> None:
        self._header_note(message.note)

    def on_invocation_screen_log_changed(self, message: LogChanged) -> None:
        panel = self.query_one("#invocation-log", LogPanel)
        if message.text:
            panel.append(message.text)
        self.log_complete = message.complete
        panel.set_state(message.state)

    def _show_header(self, note: str | None = None) -> None:
        """The invocation's header (the server's answer, else the stored state), and `note`
        on a line of its own."""
        invocation = self.invocation or self.stored
        if invocation is None:
            return
        web = services(self.app).buildbuddy_url
        url = invocation_url(web, self.invocation_id) if web else None
        # A note says why the stored state is shown instead of the server's answer.
        last_seen = note is not None and self.invocation is None
        typical = services(self.app).store.timings.of_invocation(invocation)
        pairs = invocation_header(invocation, url, last_seen=last_seen,
                                  typical=typical.text() if typical else "")
        self.query_one("#invocation-header", PairsHeader).show(
            pairs, HEADER_LINES,
            None if note is None else Text(sanitize_line(note), style="italic yellow"))

    def _header_note(self, note: str) -> None:
        if self.invocation is not None or self.stored is not None:
            self._show_header(note)
            return
        self.query_one("#invocation-header", PairsHeader).show_text(
            Text(sanitize_line(f"invocation {self.invocation_id}: {note}")))

    def _list_actions(self, target_id: str | None, label: str) -> None:
        """Show the actions of a target (of the whole invocation when `target_id` is None) in
        the Actions table, in place of those it shows."""
        self._listing += 1
        what = f"Actions of {label}" if target_id else "All actions"
        self._list_again = "Enter on it" if target_id else "a"
        self.query_one("#actions-table", LiveTable).clear()
        self.files.clear()
        self.query_one("#actions-title", Static).update(Text(f"{what} (loading…)"))
        self.run_worker(self._load_actions(self._listing, target_id, what), group="actions",
                        exclusive=True, exit_on_error=False)
        self.action_show_tab("actions")

    async def _load_actions(self, listing: int, target_id: str | None, what: str) -> None:
        client = services(self.app).buildbuddy
        if client is None:
            return
        count = 0
        try:
            async for action in client.actions(self.invocation_id, target_id=target_id):
                count += 1
                self.post_message(self.ActionsArrived(listing, file_rows(action)))
        except BuildwatchError as error:
            self.post_message(self.ActionsEnded(listing, what, count, str(error)))
            return
        self.post_message(self.ActionsEnded(listing, what, count))

    def on_invocation_screen_actions_arrived(self, message: ActionsArrived) -> None:
        if message.listing != self._listing:
            return
        rows = message.rows
        self.files.update((row.key, row) for row in rows)
        self.query_one("#actions-table", LiveTable).upsert_rows(
            (file_table_row(row, self._is_deleted(row)) for row in rows), highlight=False)

    def on_invocation_screen_actions_ended(self, message: ActionsEnded) -> None:
        if message.listing != self._listing:
            return
        what, title = message.what, self.query_one("#actions-title", Static)
        if message.error is not None:
            # The way to ask again first: the title is one line, and an error can be long.
            title.update(Text(sanitize_line(
                f"{what} not read ({self._list_again} lists them again): {message.error}")))
        else:
            title.update(Text(f"{what}: {message.count} actions, {len(self.files)} rows"
                              " (Enter opens a file, D deletes it, a lists all)"))

    def _is_deleted(self, row: FileRow) -> bool:
        return row.file is not None and row.file.uri in self.deleted

    def mark_deleted(self, uri: str) -> None:
        """Show the file with this URI as deleted. A delete runs on as an app worker, so this
        may come once the screen has closed: it then does nothing."""
        self.post_message(self.FileDeleted(uri))

    def on_invocation_screen_file_deleted(self, message: FileDeleted) -> None:
        uri = message.uri
        self.deleted.add(uri)
        marked = [row for row in self.files.values() if row.file is not None and row.file.uri == uri]
        if marked:
            self.query_one("#actions-table", LiveTable).upsert_rows(
                (file_table_row(row, True) for row in marked), highlight=False)

    def on_live_table_row_activated(self, event: LiveTable.RowActivated) -> None:
        if event.table.id == "targets-table":
            target = self.targets.get(event.row_key)
            self._list_actions(event.row_key, target.label if target else "")
        elif event.table.id == "actions-table":
            row = self.files.get(event.row_key)
            if row is not None and row.file is not None:
                self.app.push_screen(FileViewerScreen(row.file, on_deleted=self.mark_deleted))

    def action_all_actions(self) -> None:
        """List every action of the invocation."""
        self._list_actions(None, "")

    def action_delete_file(self) -> None:
        """Delete the file under the cursor of the Actions table from the cache."""
        table = self.query_one("#actions-table", LiveTable)
        client = services(self.app).buildbuddy
        if self.active_tab != "actions" or client is None:
            return
        row = self.files.get(table.cursor_row_key or "")
        if row is None or row.file is None or row.file.uri in self.deleted:
            return
        uri = row.file.uri

        def done(error: str | None) -> None:
            if error is not None:
                self.app.notify(f"delete failed: {error}", severity="error", markup=False)
            else:
                self.app.notify(f"deleted {row.name} from the cache", markup=False)
                self.mark_deleted(uri)

        confirm_and_delete(self.app, client, uri, done)
