"""How a live table's lines look: where columns go, how cells fit, the header's sort arrow."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from buildwatch.tui.widgets.table_model import Cell, Column, Link, Mark

MARK_WIDTH = 2
"""Cells taken by the marker column at the left of every row."""

GLYPHS: dict[Mark, str] = {"new": "+", "changed": "*"}
"""The marker shown beside a new or changed row, so the news never rests on colour alone."""


def column_layout(columns: Sequence[Column], width: int) -> list[tuple[int, int]]:
    """Place the columns in `width` cells: an `(x, width)` pair per column, width 0 if hidden.

    Fixed columns get their width; flexible ones share the rest by `share`, each at least
    `min_width`. When even those least widths do not fit, columns with a `hide_order` are
    hidden in that order until the rest fit; if they still do not, the table scrolls
    horizontally. Shown columns are one cell apart.
    """
    shown = _columns_that_fit(columns, width)
    widths = [column.width or 0 if i in shown else 0 for i, column in enumerate(columns)]
    flexible = [i for i in shown if columns[i].width is None]
    spare = width - MARK_WIDTH - (len(shown) - 1) - sum(widths)
    # A column whose share would fall below its least width takes that width, and the others
    # share what is left, so the columns together never overrun the table.
    while flexible:
        shares = sum(columns[i].share for i in flexible)
        short = [i for i in flexible
                 if max(spare, 0) * columns[i].share // shares < columns[i].min_width]
        if not short:
            break
        for i in short:
            widths[i] = columns[i].min_width
            spare -= widths[i]
            flexible.remove(i)
    shares = sum(columns[i].share for i in flexible) or 1
    for i in flexible:
        widths[i] = spare * columns[i].share // shares
    for i in flexible[: spare - sum(widths[i] for i in flexible)]:
        widths[i] += 1
    layout, x = [], MARK_WIDTH
    for column_width in widths:
        layout.append((x, column_width))
        if column_width:
            x += column_width + 1
    return layout


def layout_width(layout: Sequence[tuple[int, int]]) -> int:
    """Cells from the left edge to the end of the last shown column."""
    return max(x + width for x, width in layout if width)


def _columns_that_fit(columns: Sequence[Column], width: int) -> list[int]:
    shown = list(range(len(columns)))
    hideable = sorted(
        (i for i, column in enumerate(columns) if column.hide_order is not None),
        key=lambda i: columns[i].hide_order or 0,
    )
    for i in hideable:
        least = sum(columns[j].width or columns[j].min_width for j in shown)
        if MARK_WIDTH + least + len(shown) - 1 <= width:
            break
        shown.remove(i)
    return shown


def header_text(columns: Sequence[Column], layout: Sequence[tuple[int, int]],
                sort_column: str | None, descending: bool) -> Text:
    """The header line; the sort column's title ends with ↑ or ↓, order of arrival shows its
    arrow in the marker column."""
    arrow = "↓" if descending else "↑"
    titles: list[Cell] = []
    for column, (_, width) in zip(columns, layout, strict=True):
        title = Text(column.title)
        if column.key == sort_column:
            # Truncate the title, never the arrow.
            title.truncate(max(0, width - 2), overflow="ellipsis")
            title.append(" " + arrow)
        titles.append(title)
    return _line(arrow if sort_column is None else "", titles, columns, layout)


def row_text(columns: Sequence[Column], layout: Sequence[tuple[int, int]],
             cells: Iterable[Cell], mark: Mark | None) -> Text:
    """A row's line, with its marker if it is new or changed."""
    return _line("" if mark is None else GLYPHS[mark], cells, columns, layout)


def to_strip(text: Text, style: Style, width: int, console: Console) -> Strip:
    """Render a line over `style`, which `Text.render` would otherwise leave to the console."""
    text.stylize_before(style)
    return Strip(text.render(console), width)


def _line(lead: str, cells: Iterable[Cell], columns: Sequence[Column],
          layout: Sequence[tuple[int, int]]) -> Text:
    text = Text(lead, end="")
    text.align("left", MARK_WIDTH)
    for column, (_, width), cell in zip(columns, layout, cells, strict=True):
        if width:
            text.append_text(_cell_text(cell, width, column))
            text.append(" ")
    text.right_crop(1)
    return text


def _cell_text(cell: Cell, width: int, column: Column) -> Text:
    # `Text(str)` keeps brackets literal: a cell is never markup.
    if isinstance(cell, Link):
        text = cell.text()
    else:
        text = cell.copy() if isinstance(cell, Text) else Text(cell)
    text.truncate(width, overflow="ellipsis")
    text.align(column.align, width)
    return text
