"""One failure group: what it is, how often and where it failed, and its builds and invocations,
newest first, each beside what the other tool (BuildBuddy for a build, Develocity for an
invocation) failed on its commit; Enter opens one in its drill-down screen.

Like the Failures view, it follows the group as failures are recorded: a run that fails with it
joins the table as it is recorded, and one of the other tool on its commits shows beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Footer, Static

from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.sanitize import sanitize_line
from buildwatch.core.triage.groups import FailureGroup, SameCommitFailure
from buildwatch.core.triage.model import FailureKind, RunSource
from buildwatch.tui.failure_rows import (
    RUN_COLUMNS,
    build_run_row,
    group_summary,
    invocation_run_row,
    status_badge,
)
from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.screens.invocation import InvocationScreen
from buildwatch.tui.screens.table_screen import TableScreen
from buildwatch.tui.services import services
from buildwatch.tui.widgets.breadcrumb import Breadcrumb
from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.table_model import TableRow

REFRESH_S = 0.25
"""How often the screen looks for a change to the group."""


class FailureGroupScreen(TableScreen):
    """A failure group's account and its runs."""

    CSS_PATH = Path(__file__).with_name("failure_group.tcss")

    def __init__(self, kind: FailureKind, name: str, *, now_ms: Callable[[], int],
                 highlight_seconds: float = 5.0) -> None:
        """The group of `kind` and `name`; `now_ms` dates the relative times."""
        super().__init__(highlight_seconds)
        self.kind = kind
        self.group_name = name
        self.crumb = name
        self._now_ms = now_ms
        self._group: FailureGroup | None = None
        self._beside: tuple[SameCommitFailure, ...] = ()
        self._version: int | None = None
        self._run_keys: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Breadcrumb()
        yield Static(id="group-header")
        yield from self.table_widgets(RUN_COLUMNS)
        yield Footer()

    def on_mount(self) -> None:
        self.table.sort_by("when", descending=True)
        self.table.focus()
        self.refresh_group()
        self.set_interval(REFRESH_S, self.refresh_group)

    def refresh_group(self) -> None:
        """Show the group as the store knows it now, if that changed."""
        store = services(self.app).store
        if store.failures.version == self._version:
            return
        index = store.failures.index
        group = index.group(self.kind, self.group_name)
        # Another signature's run on one of its commits changes what shows beside it.
        beside = index.same_commit(self.kind, self.group_name)
        first_fill = self._version is None
        self._version = store.failures.version
        if group is self._group and beside == self._beside and not first_fill:
            return
        self._group, self._beside = group, beside
        self.query_one("#group-header", Static).update(self._header(group))
        rows = _run_rows(group, beside, store, self._now_ms()) if group is not None else []
        gone = self._run_keys.difference(row.key for row in rows)
        self._run_keys = {row.key for row in rows}
        self.table.upsert_rows(rows, highlight=not first_fill)
        if gone:
            self.table.remove_rows(gone)
        self.show_title()

    def title_text(self) -> str:
        group = self._group
        if group is None:
            return "No run recorded fails with it any more"
        return f"Its builds and invocations: {self.table.row_count:,}"

    def _header(self, group: FailureGroup | None) -> Text:
        # Names, branches, projects and users came from a server: sanitised before they join
        # the header (a Text, never markup).
        header = Text()
        if group is not None:
            header.append_text(status_badge(group.status))
            header.append("  ")
        header.append(f"{self.kind} ", style="dim")
        header.append(sanitize_line(self.group_name), style="bold")
        if group is None:
            return header
        header.append("\n" + group_summary(group, self._now_ms()))
        if group.headline:
            header.append("\n" + sanitize_line(group.headline))
        where = []
        if group.projects:
            where.append("projects: " + sanitize_line(", ".join(group.projects)))
        if group.users:
            where.append("users: " + sanitize_line(", ".join(group.users)))
        if where:
            header.append("\n" + " · ".join(where), style="dim")
        return header

    @on(LiveTable.RowActivated, "#table")
    def _open_run(self, event: LiveTable.RowActivated) -> None:
        source, _, run_id = event.row_key.partition(" ")
        if source == "build":
            self.app.push_screen(BuildScreen(run_id))
        else:
            self.app.push_screen(InvocationScreen(run_id))


def _run_rows(group: FailureGroup, beside: tuple[SameCommitFailure, ...], store: MonitorStore,
              now_ms: int) -> list[TableRow]:
    """The rows of the group's builds and invocations, with what the store knows of each and
    what the other tool failed on its commit."""
    index = store.failures.index
    # (commit, tool of the row) -> what the other tool failed on that commit.
    names: dict[tuple[str, RunSource], list[str]] = {}
    for failure in beside:
        if failure.invocations:
            names.setdefault((failure.commit, "develocity"), []).append(failure.name)
        if failure.builds:
            names.setdefault((failure.commit, "buildbuddy"), []).append(failure.name)

    def beside_run(source: RunSource, run_id: str) -> str:
        run = index.run(source, run_id)
        commit = run.commit if run is not None else None
        return ", ".join(names.get((commit, source), ())) if commit is not None else ""

    rows = [build_run_row(build_id, store.builds.get(build_id),
                          beside_run("develocity", build_id), now_ms)
            for build_id in group.builds]
    rows += [invocation_run_row(invocation_id, store.invocations.get(invocation_id),
                                beside_run("buildbuddy", invocation_id), now_ms)
             for invocation_id in group.invocations]
    return rows
