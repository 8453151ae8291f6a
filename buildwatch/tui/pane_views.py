"""A main screen pane's saved views: what each shows, in which order, and the columns its table
holds so that any of them shows without building a row again.

A pane's rows hold its usual columns and then every other column one of its views names, so
picking a view changes which columns are drawn (`LiveTable.show_columns`), never the rows: with
100,000 builds, a view is a repaint away. A profile whose views name only usual columns (the
default ones) builds its rows exactly as before views had columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from buildwatch.core.columns import (
    USUAL_COLUMNS,
    SortOrder,
    column_key,
    custom_value_name,
    view_columns,
    view_sort,
)
from buildwatch.core.config import View
from buildwatch.core.query import Pane
from buildwatch.tui.rows import ExtraCell, extra_cell, table_columns
from buildwatch.tui.widgets.table_model import Column

NEWEST_FIRST: dict[Pane, SortOrder] = {
    "builds": SortOrder("published", descending=True),
    "invocations": SortOrder("created", descending=True),
}
"""Each pane's order before a view is picked, and in a view without a `sort`."""


@dataclass(frozen=True)
class PaneView:
    """A saved view as its pane shows it."""

    view: View
    columns: tuple[str, ...]
    """The keys of its columns, in order (`buildwatch.core.columns.column_key`)."""
    sort: SortOrder


@dataclass(frozen=True)
class PaneViews:
    """A pane's saved views, and the columns of its table."""

    views: tuple[PaneView, ...]
    columns: tuple[Column, ...]
    """The table's columns: the pane's usual ones, then the others its views name."""
    extras: tuple[ExtraCell, ...]
    """How a row reads the columns after the usual ones, in order."""


def pane_views(pane: Pane, views: Sequence[View]) -> PaneViews:
    """The views of `pane` among `views` (checked when the configuration was read: a column
    the pane lacks is a `ColumnError`), in order."""
    shown: list[PaneView] = []
    titles: dict[str, str] = {}
    for view in views:
        if view.pane != pane:
            continue
        columns = view_columns(pane, view.columns)
        for name in view.columns:
            value = custom_value_name(name)
            if value is not None:
                # Two spellings of one custom value are one column, titled as first written.
                titles.setdefault(column_key(pane, name), value)
        order = view_sort(pane, view.sort, columns) or NEWEST_FIRST[pane]
        shown.append(PaneView(view, columns, order))
    usual = USUAL_COLUMNS[pane]
    extras = tuple(dict.fromkeys(key for item in shown for key in item.columns if key not in usual))
    return PaneViews(tuple(shown), table_columns(pane, (*usual, *extras), titles),
                     tuple(extra_cell(pane, key) for key in extras))
