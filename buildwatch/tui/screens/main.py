"""The main screen: Develocity builds above, BuildBuddy invocations below, health on top.

The store fills up as fast as the feeds bring data; this screen drains it on a timer
(`FLUSH_S`), so a burst of builds costs one table update, not one per build.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from operator import attrgetter
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.buildbuddy.triage import is_running
from buildwatch.core.columns import USUAL_COLUMNS
from buildwatch.core.config import View
from buildwatch.core.links import build_scan_url, invocation_url
from buildwatch.core.monitor.heap import HeapSettler
from buildwatch.core.monitor.notifier import Notifier
from buildwatch.core.monitor.pacing import SLICE_S, TimeBudget
from buildwatch.core.monitor.session import MonitorSession
from buildwatch.core.monitor.store import BuildEntry, Changes, SourceName, normalize_commit
from buildwatch.core.query import (
    BUILD_FIELDS,
    INVOCATION_FIELDS,
    PANE_FIELDS,
    CompiledQuery,
    Pane,
    QueryError,
)
from buildwatch.core.query import compile_query as compile_text
from buildwatch.core.query.fields import Fields
from buildwatch.core.query.folded import FoldedRows
from buildwatch.core.sanitize import sanitize_line
from buildwatch.tui.clipboard import copy_text
from buildwatch.tui.due import DueTimes
from buildwatch.tui.notifications import announce
from buildwatch.tui.pane_views import NEWEST_FIRST, PaneViews, pane_views
from buildwatch.tui.query_input import FaultHighlighter, KnownValues, QuerySuggester
from buildwatch.tui.rows import build_row, invocation_row, next_change_ms
from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.screens.invocation import InvocationScreen
from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.status_bar import StatusBar
from buildwatch.tui.widgets.table_model import TableRow

FLUSH_S = 0.1
"""How often new data reaches the screen."""
ROWS_PER_SLICE = 50
"""Rows taken from the store between two looks at the flush's time budget (a few ms' worth)."""
CARRY_S = 1 / 60
"""When the rows a flush left over follow: a frame later, so keys pressed meanwhile go first."""
DUE_PER_FLUSH = 100
"""Build rows whose relative time is rewritten per flush, at most."""
INVOCATION_TIMES_S = 30.0
ELAPSED_S = 1.0
"""How often running invocations' times so far (and whether they are slow) are rewritten, and
every invocation's deviation once the typical durations have changed."""

_PANE_SOURCES: dict[str, SourceName] = {"builds": "develocity", "invocations": "buildbuddy"}
_VIEW_DIGITS = frozenset("123456789")
QUERY_MOVES_S = 30.0
"""How often a filter with a time ago (`published>-2h`) is compiled again, so its window moves."""


class MainScreen(Screen[None]):
    """Both live tables, the status bar, and the keys that act on the selected row."""

    CSS_PATH = Path(__file__).with_name("main.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/", id="main.filter"),
        Binding("escape", "back", "Back / clear filter", show=False, id="main.back"),
        Binding("tab", "next_pane", "Next pane", show=False, id="main.next_pane"),
        Binding("shift+tab", "previous_pane", "Previous pane", show=False, id="main.previous_pane"),
        Binding("w", "watch", "Watch commit", id="main.watch"),
        Binding("o", "open_page", "Open page", id="main.open"),
        Binding("y", "copy_id", "Copy id", id="main.copy_id"),
        Binding("Y", "copy_url", "Copy URL", show=False, id="main.copy_url"),
        Binding("c", "credentials", "Credentials", show=False, id="main.credentials"),
        Binding("F", "failures", "Failures", id="main.failures"),
        Binding("v", "next_view", "Next view (1-9: view N)", show=False, id="main.views"),
    ]

    def __init__(
        self,
        session: MonitorSession,
        *,
        now_ms: Callable[[], int],
        restart: Callable[[SourceName], None],
        notifier: Notifier,
        highlight_seconds: float = 5.0,
        flush_budget_s: float = SLICE_S,
    ) -> None:
        """`restart` reconnects a source (after new credentials); `now_ms` dates relative times;
        `notifier` decides which finished runs notify; a flush puts rows in the tables for
        `flush_budget_s` at most, leaving the rest for the next frame."""
        super().__init__()
        self._session = session
        self._store = session.store
        self._now_ms = now_ms
        self._restart = restart
        self._notifier = notifier
        self._highlight_seconds = highlight_seconds
        self._filter_target: LiveTable | None = None
        self._asked_credentials: set[SourceName] = set()
        self._due = DueTimes()
        self._heap = HeapSettler()
        self._flush_budget = TimeBudget(session.input_gate, flush_budget_s)
        self._carrying = False
        """Whether a flush left rows over for after the next frame (one carry at a time)."""
        self._titles: dict[str, str] = {}
        self._tables: dict[str, LiveTable] = {}
        self._queries: dict[str, CompiledQuery[Any]] = {}
        """Each pane's filter while it has field terms or words, compiled."""
        self._folded: dict[str, FoldedRows[Any]] = {
            "builds": FoldedRows(BUILD_FIELDS, attrgetter("build_id")),
            "invocations": FoldedRows(INVOCATION_FIELDS, attrgetter("invocation_id")),
        }
        """Each pane's rows as queries read them, folded as each row is made."""
        self._known: dict[str, KnownValues[Any]] = {
            "builds": KnownValues(BUILD_FIELDS, _custom_value_names),
            "invocations": KnownValues(INVOCATION_FIELDS),
        }
        self._fault = FaultHighlighter()
        views = session.settings.profile.ui.views
        self._views: dict[Pane, PaneViews] = {pane: pane_views(pane, views)
                                              for pane in ("builds", "invocations")}
        self._view_shown: dict[str, View] = {}
        """The view each pane last switched to; named in its title while its query is the
        pane's filter."""
        self._timings_shown = 0
        """The version of the typical durations the invocation rows were last rewritten for."""

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        for pane, views in self._views.items():
            with Vertical(id=f"{pane}-pane", classes="pane"):
                yield Static(id=f"{pane}-title", classes="pane-title")
                yield LiveTable(views.columns, id=pane, highlight_seconds=self._highlight_seconds)
        yield Input(id="filter",
                    placeholder="filter: words, or fields: outcome:failed branch=main "
                                "duration>5m -user:ci (→ completes)",
                    suggester=QuerySuggester(self._query_offers), highlighter=self._fault)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        # Newest first by time, not by arrival: the history loads newest first and the
        # invocations come back per commit, and either way the newest must be on top. The
        # usual columns until a view is picked.
        for pane in self._views:
            table, order = self._table(pane), NEWEST_FIRST[pane]
            table.show_columns(USUAL_COLUMNS[pane])
            table.sort_by(order.column, descending=order.descending)
        self._builds.focus()
        self.set_interval(FLUSH_S, self._flush_unless_answering)
        self.set_interval(INVOCATION_TIMES_S, self.refresh_invocation_times)
        self.set_interval(QUERY_MOVES_S, self.move_relative_queries)
        self.set_interval(ELAPSED_S, self.refresh_invocation_durations)
        self.flush()

    def flush(self) -> None:
        """Move what changed in the store onto the screen, and redraw the status."""
        self._apply_pending()
        self.refresh_relative_times()
        store, now = self._store, self._store.clock()
        self.query_one(StatusBar).show(store.develocity, store.buildbuddy, now, self._notifier,
                                       self._session.team, self._now_ms())
        for pane in _PANE_SOURCES:
            self._show_title(pane)
        for source in ("develocity", "buildbuddy"):
            self._ask_credentials_if_refused(source)

    def _apply_pending(self) -> None:
        """Put the store's changes in the tables, a slice at a time, until the flush budget is
        spent; what is left waits for the next frame.

        A backfill queues 100,000 rows at once. Each carried-over part runs a frame after the
        last (later while a key is being answered), so keys pressed meanwhile are answered
        between parts, and the rows still reach the screen in the order they changed. The
        session's backlog hears how many rows are left: while they are many, the summary pass
        reads one build at a time.
        """
        self._flush_budget.restart()
        store = self._store
        while changes := store.drain(ROWS_PER_SLICE):
            self._apply(changes)
            self._heap.settle(len(store.builds), len(changes.builds) + len(changes.invocations),
                              idle_s=self._flush_budget.gate.idle_s)
            if self._flush_budget.spent and store.has_changes:
                if not self._carrying:
                    self._carrying = True
                    self.set_timer(max(CARRY_S, self._flush_budget.gate.closed_for),
                                   self._carry_on)
                break
        self._session.backlog.waiting(store.queued_rows)

    def _flush_unless_answering(self) -> None:
        """The flush timer's tick, skipped while a key is being answered: the key's frame
        goes out first, drawing only what the key changed, and the next tick catches up."""
        if not self._flush_budget.gate.closed_for:
            self.flush()

    def _carry_on(self) -> None:
        wait = self._flush_budget.gate.closed_for
        if wait:
            # A key came since this was planned: its frame first.
            self.set_timer(wait, self._carry_on)
            return
        self._carrying = False
        self._apply_pending()

    def refresh_relative_times(self) -> None:
        """Rewrite the relative times that have moved on: a slice of the builds, every invocation.

        Builds are done a slice per flush: with 100,000 of them a minute's worth of "5m ago"
        changes is thousands of rows, too many to rewrite between two key presses.
        """
        now_ms = self._now_ms()
        builds = self._store.builds
        due = [builds[key] for key in self._due.pop_due(now_ms, DUE_PER_FLUSH) if key in builds]
        if due:
            self._builds.upsert_rows([self._build_row(entry, now_ms) for entry in due],
                                     highlight=False)

    def refresh_invocation_durations(self) -> None:
        """Rewrite the rows of running invocations, whose time so far moves every second, and
        of every invocation (there are few) when the typical durations changed."""
        now_ms, timings = self._now_ms(), self._store.timings.version
        every = timings != self._timings_shown
        self._timings_shown = timings
        rows = [self._invocation_row(item, now_ms)
                for item in self._store.invocations.values() if every or is_running(item)]
        if rows:
            self._invocations.upsert_rows(rows, highlight=False)

    def refresh_invocation_times(self) -> None:
        """Rewrite every invocation row (there are few) so "created" times stay true."""
        now_ms = self._now_ms()
        self._invocations.upsert_rows(
            [self._invocation_row(item, now_ms) for item in self._store.invocations.values()],
            highlight=False,
        )

    @property
    def _builds(self) -> LiveTable:
        return self._table("builds")

    @property
    def _invocations(self) -> LiveTable:
        return self._table("invocations")

    def _table(self, pane: str) -> LiveTable:
        # Looked up once: the flush runs ten times a second.
        table = self._tables.get(pane)
        if table is None:
            table = self._tables[pane] = self.query_one(f"#{pane}", LiveTable)
        return table

    def _apply(self, changes: Changes) -> None:
        now_ms = self._now_ms()
        if changes.builds:
            self._note_values("builds", changes.builds)
            self._upsert(self._builds, changes.from_history,
                         [self._build_row(entry, now_ms) for entry in changes.builds])
        if changes.invocations:
            self._note_values("invocations", changes.invocations)
            self._upsert(self._invocations, changes.from_history,
                         [self._invocation_row(item, now_ms) for item in changes.invocations])
        for notice in changes.notices:
            announce(self.app, self._notifier, notice)

    @staticmethod
    def _upsert(table: LiveTable, from_history: frozenset[str], rows: list[TableRow]) -> None:
        """Put rows in `table`, marking as new or changed only those that are news: what the
        history held was seen in an earlier run."""
        stored = [row for row in rows if row.key in from_history] if from_history else []
        if stored:
            table.upsert_rows(stored, highlight=False)
            rows = [row for row in rows if row.key not in from_history]
        if rows:
            table.upsert_rows(rows)

    def _build_row(self, entry: BuildEntry, now_ms: int) -> TableRow:
        """A build's row, after noting when its "published" cell will next need rewriting
        and folding the build for queries."""
        self._folded["builds"].note(entry)
        if entry.published_ms is not None:
            self._due.schedule(entry.build_id, next_change_ms(entry.published_ms, now_ms))
        session = self._session
        return build_row(entry, now_ms, session.develocity_url,
                         reading=not session.settings.offline,
                         typical=self._store.timings.of_build(entry.summary),
                         extras=self._views["builds"].extras)

    def _invocation_row(self, invocation: Invocation, now_ms: int) -> TableRow:
        self._folded["invocations"].note(invocation)
        session = self._session
        return invocation_row(invocation, now_ms, session.buildbuddy_url,
                              polled=not session.settings.offline,
                              typical=self._store.timings.of_invocation(invocation),
                              extras=self._views["invocations"].extras)

    def _show_title(self, pane: str) -> None:
        table = self._table(pane)
        noun = "Develocity builds (published)" if pane == "builds" else "BuildBuddy invocations"
        parts = [f"{noun}: {table.row_count:,}"]
        if table.row_count != table.total_row_count:
            parts[0] += f" of {table.total_row_count:,}"
        view = self._view_shown.get(pane)
        if view is not None and view.query.strip() == table.filter_text.strip():
            parts.insert(0, f"[{view.name}]")
        if table.following:
            parts.append("▶ following")
        else:
            parts.append("❚❚ paused" + (f" · +{table.new_while_paused:,} new"
                                        if table.new_while_paused else ""))
        if table.filter_text:
            parts.append(f"filter: {table.filter_text}")
        title = " · ".join(parts)
        if self._titles.get(pane) != title:
            self._titles[pane] = title
            # A Text, not markup: the filter is whatever was typed, brackets included. The
            # title is one line across the pane whatever it says: no layout to redo.
            self.query_one(f"#{pane}-title", Static).update(Text(title), layout=False)

    def _ask_credentials_if_refused(self, source: SourceName) -> None:
        status = self._store.status(source)
        if status.state != "auth_failed":
            self._asked_credentials.discard(source)
            return
        if source in self._asked_credentials or self.app.screen is not self:
            return
        self._asked_credentials.add(source)
        self._open_credentials(source, status.detail)

    def _open_credentials(self, source: SourceName, problem: str) -> None:
        from buildwatch.tui.screens.credentials import CredentialsScreen, NewCredentials

        url = self._session.develocity_url if source == "develocity" else self._session.buildbuddy_url

        def done(result: NewCredentials | None) -> None:
            if result is None:
                return
            if source == "develocity":
                self._session.use_develocity(result.credential, result.base_url)
            else:
                self._session.use_buildbuddy(result.credential, result.base_url)
            self._restart(source)

        self.app.push_screen(CredentialsScreen(source, url, problem), done)

    def _focused_table(self) -> LiveTable:
        focused = self.focused
        return focused if isinstance(focused, LiveTable) else self._filter_target or self._builds

    def _selected(self) -> tuple[str, str | None] | None:
        """The selected row's id and web page, in the focused table."""
        table = self._focused_table()
        key = table.cursor_row_key
        if key is None:
            return None
        if table.id == "builds":
            url = self._session.develocity_url
            return key, build_scan_url(url, key) if url else None
        url = self._session.buildbuddy_url
        return key, invocation_url(url, key) if url else None

    def action_filter(self) -> None:
        """Show the filter line for the focused table."""
        self._filter_target = self._focused_table()
        field = self.query_one("#filter", Input)
        field.value = self._filter_target.filter_text
        field.display = True
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._filter_target is not None:
            self._show_fault(self._apply_query(self._filter_target, event.value))

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        if self._fault.position is None:
            self._close_filter()

    def action_back(self) -> None:
        """Close the filter line and clear its filter; else clear the focused table's filter."""
        field = self.query_one("#filter", Input)
        table = self._filter_target if field.display else self._focused_table()
        if table is not None:
            self._apply_query(table, "")
        self._show_fault(None)
        self._close_filter()

    def _apply_query(self, table: LiveTable, text: str) -> QueryError | None:
        """Filter `table` by the query `text`; a query that cannot apply leaves the table as
        it was and is returned."""
        pane = table.id or "builds"
        if not text.strip():
            self._queries.pop(pane, None)
            table.set_test("", None)
            return None
        try:
            compiled = compile_text(text, PANE_FIELDS[self._pane(table)], me=self._me,
                                    now_ms=self._now_ms())
        except QueryError as error:
            return error
        narrowing = compiled.narrows(self._queries.get(pane))
        self._queries[pane] = compiled
        # On the rows as folded when they were made: all at once now, one by one as they come;
        # a word typed on tests only the rows its shorter self let through.
        folded = self._folded[pane]
        table.set_test(text, compiled.by_key(folded), compiled.passing(folded),
                       narrowing=narrowing)
        return None

    @property
    def _me(self) -> tuple[str, ...]:
        return tuple(self._session.settings.profile.ui.me)

    def _show_fault(self, error: QueryError | None) -> None:
        """Mark where the filter line's query fails and say why on its border, or clear both."""
        field = self.query_one("#filter", Input)
        self._fault.position = None if error is None else error.position
        field.set_class(error is not None, "-invalid")
        # The message is the parser's own, but holds what was typed: sanitised like any input.
        field.border_subtitle = (None if error is None else
                                 Text(sanitize_line(f"column {error.column}: {error.message}")))
        field.refresh()

    def move_relative_queries(self) -> None:
        """Compile again the filters with a time ago, so `published>-2h` stays the last two
        hours."""
        for pane, compiled in list(self._queries.items()):
            if compiled.relative:
                table = self._table(pane)
                self._apply_query(table, table.filter_text)

    def _note_values(self, pane: str, rows: list[Any]) -> None:
        add = self._known[pane].add
        for row in rows:
            add(row)

    def _query_offers(self) -> tuple[Fields[Any], KnownValues[Any]]:
        pane = self._pane(self._filter_target or self._builds)
        return PANE_FIELDS[pane], self._known[pane]

    @staticmethod
    def _pane(table: LiveTable) -> Pane:
        return "invocations" if table.id == "invocations" else "builds"

    def action_next_view(self) -> None:
        """Show the focused pane's next saved view (after the last, the first)."""
        pane = self._pane(self._focused_table())
        views = [item.view for item in self._views[pane].views]
        shown = self._view_shown.get(pane)
        if views:
            self.action_view((views.index(shown) + 1) % len(views) if shown in views else 0)

    def on_key(self, event: events.Key) -> None:
        """A digit on a table shows the focused pane's view of that number (one handler, not
        nine bindings: the help lists `v` and says so)."""
        if event.character in _VIEW_DIGITS and isinstance(self.focused, LiveTable):
            event.stop()
            self.action_view(int(event.character or "1") - 1)

    def action_view(self, index: int) -> None:
        """Show the focused pane's saved view number `index` (from 0), if it has one: its
        filter, its columns and its order."""
        table = self._focused_table()
        pane = self._pane(table)
        views = self._views[pane].views
        if index >= len(views):
            return
        shown = views[index]
        view = shown.view
        error = self._apply_query(table, view.query)
        if error is not None:
            self.app.notify(sanitize_line(f"{view.name}: {error.message}"), title="View",
                            severity="warning", markup=False)
            return
        table.show_columns(shown.columns)
        table.sort_by(shown.sort.column, descending=shown.sort.descending)
        self._view_shown[pane] = view
        self._show_title(pane)

    def _close_filter(self) -> None:
        field = self.query_one("#filter", Input)
        field.display = False
        (self._filter_target or self._builds).focus()

    def action_next_pane(self) -> None:
        """Focus the other table."""
        self._switch_pane()

    def action_previous_pane(self) -> None:
        """Focus the other table (there are two, so previous is next)."""
        self._switch_pane()

    def _switch_pane(self) -> None:
        other = self._invocations if self._focused_table() is self._builds else self._builds
        self._close_filter_silently()
        other.focus()
        self._filter_target = other

    def _close_filter_silently(self) -> None:
        self.query_one("#filter", Input).display = False

    def action_watch(self) -> None:
        """Ask for a commit to watch on BuildBuddy."""
        from buildwatch.tui.screens.watch_commit import WatchCommitScreen

        def done(commit: str | None) -> None:
            sha = normalize_commit(commit or "")
            if sha is None:
                return
            if self._store.watch(sha, "you"):
                self.app.notify(f"Watching commit {sha[:12]}", title="BuildBuddy")
            else:
                self.app.notify(f"Commit {sha[:12]} is already watched", title="BuildBuddy")

        self.app.push_screen(WatchCommitScreen(), done)

    def action_open_page(self) -> None:
        """Open the selected row's web page (over SSH: copy it and show it as a link)."""
        selected = self._selected()
        if selected is None or selected[1] is None:
            self.app.notify("No row selected", severity="warning")
            return
        url = selected[1]
        if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"):
            copy_text(self.app, url, os.environ)
            self.app.notify(f"[link={url}]{url}[/link]", title="Copied (remote session)",
                            markup=True)
        else:
            self.app.open_url(url)

    def action_copy_id(self) -> None:
        """Copy the selected row's id."""
        self._copy(0)

    def action_copy_url(self) -> None:
        """Copy the selected row's web page address."""
        self._copy(1)

    def _copy(self, which: int) -> None:
        selected = self._selected()
        text = selected[which] if selected is not None else None
        if text is None:
            self.app.notify("Nothing to copy", severity="warning")
            return
        # An id is copied as shown: a control sequence in a server's id would otherwise reach
        # whatever terminal it is pasted into.
        text = sanitize_line(text)
        copy_text(self.app, text, os.environ)
        self.app.notify(text, title="Copied", markup=False)

    def action_failures(self) -> None:
        """Show the failure groups: what broke, and whether it is new, flaky or recurring."""
        from buildwatch.tui.screens.failures import FailuresScreen

        self.app.push_screen(FailuresScreen(now_ms=self._now_ms,
                                            highlight_seconds=self._highlight_seconds))

    def action_credentials(self) -> None:
        """Enter credentials for the focused pane's server."""
        source = _PANE_SOURCES.get(self._focused_table().id or "", "develocity")
        self._open_credentials(source, self._store.status(source).detail)

    @on(LiveTable.RowActivated)
    def _open_row(self, event: LiveTable.RowActivated) -> None:
        if event.control.id == "builds":
            self.app.push_screen(BuildScreen(event.row_key))
        else:
            self.app.push_screen(InvocationScreen(event.row_key))

    @on(LiveTable.FollowChanged)
    @on(LiveTable.NewWhilePausedChanged)
    def _table_state_changed(self, event: LiveTable.FollowChanged | LiveTable.NewWhilePausedChanged) -> None:
        pane = event.control.id
        if pane in _PANE_SOURCES:
            self._show_title(pane)


def _custom_value_names(entry: BuildEntry) -> list[str]:
    summary = entry.summary
    return [] if summary is None else [name for name, _ in summary.custom_values]
