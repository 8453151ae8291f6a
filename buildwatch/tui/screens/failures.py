"""The Failures view: every failure group the monitor knows, new and flaky ones marked, live.

The groups live in the store (`MonitorStore.failures`), kept up to date as failures are
recorded; this screen only shows them. Twice a second it looks at their version, and when it
moved, puts in the table only the groups that changed: the index hands back the same object for
a group nothing happened to, so a group is compared by identity.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer

from buildwatch.core.triage.groups import FailureGroup
from buildwatch.tui.failure_rows import GROUP_COLUMNS, group_key, group_row
from buildwatch.tui.screens.failure_group import FailureGroupScreen
from buildwatch.tui.screens.table_screen import TableScreen
from buildwatch.tui.services import services
from buildwatch.tui.widgets.breadcrumb import Breadcrumb
from buildwatch.tui.widgets.live_table import LiveTable

REFRESH_S = 0.25
"""How often the screen looks for changed groups."""
_MINUTE_MS = 60_000
_ORDER_NAMES = {column.key: column.title.lower() for column in GROUP_COLUMNS}


class FailuresScreen(TableScreen):
    """The failure groups, most recently failed (or most often failed) first."""

    CSS_PATH = Path(__file__).with_name("failures.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "toggle_order", "Sort by count / last seen", id="failures.order"),
    ]

    def __init__(self, *, now_ms: Callable[[], int], highlight_seconds: float = 5.0) -> None:
        """`now_ms` dates the relative times."""
        super().__init__(highlight_seconds)
        self.crumb = "failures"
        self._now_ms = now_ms
        self._shown: dict[str, FailureGroup] = {}
        self._version: int | None = None
        self._minute = 0

    def compose(self) -> ComposeResult:
        yield Breadcrumb()
        yield from self.table_widgets(GROUP_COLUMNS)
        yield Footer()

    def on_mount(self) -> None:
        self.table.sort_by("last", descending=True)
        self.table.focus()
        self.refresh_groups()
        self.set_interval(REFRESH_S, self.refresh_groups)

    def refresh_groups(self) -> None:
        """Put the groups that changed since the last look in the table (every group, once a
        minute, for the relative times), once the history's groups are loaded."""
        failures = services(self.app).store.failures
        now_ms = self._now_ms()
        minute = now_ms // _MINUTE_MS
        # While the history loads, most groups change at every slice: they show once it is
        # done, the title counting the runs meanwhile.
        if not failures.loading and (failures.version != self._version
                                     or minute != self._minute):
            every_row = minute != self._minute
            groups = {group_key(group.kind, group.name): group
                      for group in failures.index.groups()}
            shown = self._shown
            changed = [group_row(group, now_ms) for key, group in groups.items()
                       if every_row or shown.get(key) is not group]
            gone = [key for key in shown if key not in groups]
            # The first fill is what was known before the screen opened: nothing to mark.
            self.table.upsert_rows(changed, highlight=self._version is not None)
            if gone:
                self.table.remove_rows(gone)
            self._shown, self._version, self._minute = groups, failures.version, minute
        self.show_title()

    def title_text(self) -> str:
        shared = services(self.app)
        table, failures = self.table, shared.store.failures
        title = f"Failure groups: {table.row_count:,}"
        if table.row_count != table.total_row_count:
            title += f" of {table.total_row_count:,}"
        title += f" · by {_ORDER_NAMES.get(table.sort_column or '', 'arrival')}"
        if failures.loading:
            source = "the team store" if shared.team_store else "the history"
            title += f" · reading {source}: {failures.loaded:,} of {failures.to_load:,} runs"
        elif failures.problem:
            title += f" · {failures.problem}"
        return title

    def action_toggle_order(self) -> None:
        """Sort by count, or back to last seen: the most first either way."""
        column = "count" if self.table.sort_column == "last" else "last"
        self.table.sort_by(column, descending=True)
        self.show_title()

    @on(LiveTable.RowActivated, "#table")
    def _open_group(self, event: LiveTable.RowActivated) -> None:
        group = self._shown.get(event.row_key)
        if group is not None:
            self.app.push_screen(FailureGroupScreen(
                group.kind, group.name, now_ms=self._now_ms,
                highlight_seconds=self._highlight_seconds,
            ))
