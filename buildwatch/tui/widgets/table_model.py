"""The rows behind a `LiveTable`: keyed, kept in order incrementally, filtered.

Nothing here knows about Textual. Each row keeps its sort key, so an upsert costs a binary search
and one list insertion instead of a re-sort, and reversing the order costs nothing: the list is
always ascending and a descending view reads it from the end.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.style import Style
from rich.text import Text

from buildwatch.core.query.haystack import one_byte
from buildwatch.core.sanitize import sanitize_line


class Link:
    """A cell that is a terminal hyperlink (OSC 8) to a web page: its text, and its address,
    made only when the cell is drawn.

    The address is `to(server, target)`: a table of 100,000 builds keeps four references per
    row rather than a Rich `Text` with a link style and its address, some 500 bytes each.
    """

    __slots__ = ("plain", "server", "target", "to")

    def __init__(self, plain: str, to: Callable[[str, str], str], server: str,
                 target: str) -> None:
        """`plain` is the text shown; the address is `to(server, target)`."""
        self.plain = plain
        self.to = to
        self.server = server
        self.target = target

    @property
    def url(self) -> str:
        """The address the cell links to."""
        return self.to(self.server, self.target)

    def text(self) -> Text:
        """The cell as a Rich `Text` whose style links to `url`."""
        return Text(self.plain, style=Style(link=self.url))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Link) and (
            (self.plain, self.to, self.server, self.target)
            == (other.plain, other.to, other.server, other.target))

    def __hash__(self) -> int:
        return hash((self.plain, self.server, self.target))


Cell = str | Text | Link
"""A table cell: plain text, a Rich `Text` for colour, or a `Link`. Never interpreted as
markup."""

Mark = Literal["new", "changed"]

RowTest = Callable[[str, str], bool]
"""Whether a row is shown, from its key and its haystack (its cells casefolded and joined, in
the form `buildwatch.core.query.haystack` says)."""

# Above this many rows in one batch, merging them in or taking them out in one pass over the
# table is cheaper than doing so one by one, each moving on average half the list.
_BATCH_IN_ONE_PASS = 256


@dataclass(frozen=True)
class Column:
    """One column of a live table.

    A column with a `width` is fixed. The others share what the fixed columns leave, in
    proportion to their `share`, never narrower than `min_width`. In a terminal too narrow for
    every column, those with a `hide_order` are hidden, lowest first, until the rest fit.
    """

    key: str
    title: str
    width: int | None = None
    min_width: int = 4
    share: int = 1
    align: Literal["left", "center", "right"] = "left"
    hide_order: int | None = None


@dataclass(frozen=True)
class TableRow:
    """One row as the caller hands it to the table.

    `cells` are in column order. `sort_values`, also in column order, are what the row sorts by
    (seconds for a duration, a timestamp for a date); without them a column sorts by its text,
    ignoring case. The values of one column must be comparable with each other; `None` sorts
    first.
    """

    key: str
    cells: Sequence[Cell]
    sort_values: Sequence[Any] | None = None


class RowRecord:
    """A row as the table keeps it. `version` changes whenever its cells do."""

    __slots__ = ("cells", "haystack", "key", "mark", "marked_at", "seq", "sort_key",
                 "sort_values", "version")

    def __init__(self, key: str, seq: int) -> None:
        self.key = key
        self.seq = seq
        self.version = 0
        self.cells: tuple[Cell, ...] = ()
        self.sort_values: tuple[Any, ...] | None = None
        self.haystack = ""
        """Its cells casefolded and joined by line breaks, which bare words search, one byte
        a character (`one_byte`)."""
        self.sort_key: Any = seq
        self.mark: Mark = "new"
        self.marked_at = 0.0


def plain(cell: Cell) -> str:
    """The text of a cell without its styles."""
    return cell if isinstance(cell, str) else cell.plain


def _clean(cell: Cell) -> Cell:
    # `isprintable()` is false for every control, line break and zero-width character, so the
    # common case skips the sanitiser's regular expressions.
    text = plain(cell)
    if text.isprintable():
        return cell
    cleaned = sanitize_line(text)
    if isinstance(cell, Link):
        return Link(cleaned, cell.to, cell.server, cell.target)
    # The styles' offsets no longer fit the cleaned text, so a dirty Text loses its spans.
    return Text(cleaned, style=cell.style) if isinstance(cell, Text) else cleaned


class TableModel:
    """Rows by key, in sort order, with an optional filter."""

    def __init__(self, columns: Sequence[Column]) -> None:
        if not columns:
            raise ValueError("a table needs at least one column")
        self.columns = tuple(columns)
        self._column_index = {column.key: i for i, column in enumerate(self.columns)}
        if len(self._column_index) != len(self.columns):
            raise ValueError("column keys must be unique")
        self._rows: dict[str, RowRecord] = {}
        self._order: list[str] = []
        self._shown: list[str] | None = None
        self._next_seq = 0
        self._sort_index: int | None = None
        self.descending = True
        self._needle = ""
        self._invert = False
        self._test: RowTest | None = None
        self.filter_text = ""

    @property
    def total(self) -> int:
        """How many rows the table holds."""
        return len(self._rows)

    @property
    def shown(self) -> int:
        """How many rows pass the filter."""
        return len(self._view)

    @property
    def sort_column(self) -> str | None:
        """The key of the column rows are sorted by, or `None` for order of arrival."""
        return None if self._sort_index is None else self.columns[self._sort_index].key

    @property
    def _view(self) -> list[str]:
        return self._order if self._shown is None else self._shown

    def _key_of(self, key: str) -> Any:
        return self._rows[key].sort_key

    def record(self, key: str) -> RowRecord:
        """The stored row for `key`."""
        return self._rows[key]

    def key_at(self, index: int) -> str:
        """The key of the row shown at `index` (0 is the top)."""
        view = self._view
        return view[len(view) - 1 - index] if self.descending else view[index]

    def index_of(self, key: str) -> int | None:
        """Where the row `key` is shown, or `None` if it is absent or filtered out."""
        record = self._rows.get(key)
        if record is None:
            return None
        view = self._view
        position = bisect_left(view, record.sort_key, key=self._key_of)
        if position == len(view) or view[position] != key:
            return None
        return len(view) - 1 - position if self.descending else position

    def upsert(self, rows: Iterable[TableRow], now: float) -> int:
        """Add new rows and replace changed ones; return how many new rows pass the filter.

        A large batch is merged in: its rows leave the sorted lists while their old sort keys
        still find them, and return in one merge, so its cost follows the batch and one copy of
        the list, never a re-sort of the whole table (100,000 rows: 40 ms per batch).
        """
        batch = list(rows)
        merging = len(batch) > _BATCH_IN_ONE_PASS
        returning: list[str] = []
        if merging:
            returning = [key for key in dict.fromkeys(row.key for row in batch) if key in self._rows]
            self._take_out([self._rows[key] for key in returning])
        added = 0
        for row in batch:
            cells = tuple(_clean(cell) for cell in row.cells)
            sort_values = None if row.sort_values is None else tuple(row.sort_values)
            self._check_width(row.key, cells, sort_values)
            record = self._rows.get(row.key)
            if record is None:
                record = RowRecord(row.key, self._next_seq)
                self._next_seq += 1
                self._rows[row.key] = record
                self._update(record, cells, sort_values, now)
                record.mark = "new"
                if merging:
                    returning.append(row.key)
                else:
                    self._attach(record)
                added += self._passes(record)
            elif record.cells != cells or record.sort_values != sort_values:
                if not merging:
                    self._detach(record)
                self._update(record, cells, sort_values, now)
                record.mark = "changed"
                if not merging:
                    self._attach(record)
        if merging:
            returning.sort(key=self._key_of)
            self._order = self._merged(self._order, returning)
            if self._shown is not None:
                passing = [key for key in returning if self._passes(self._rows[key])]
                self._shown = self._merged(self._shown, passing)
        return added

    def remove(self, keys: Iterable[str]) -> int:
        """Remove rows by key, ignoring unknown keys; return how many were removed."""
        doomed = [self._rows[key] for key in dict.fromkeys(keys) if key in self._rows]
        if len(doomed) > _BATCH_IN_ONE_PASS:
            self._take_out(doomed)
        else:
            for record in doomed:
                self._detach(record)
        for record in doomed:
            del self._rows[record.key]
        return len(doomed)

    def clear(self) -> None:
        """Remove every row."""
        self._rows.clear()
        self._order.clear()
        if self._shown is not None:
            self._shown.clear()

    def set_filter(self, text: str) -> None:
        """Show only rows with `text` in some cell (ignoring case); a leading `!` inverts."""
        invert = text.startswith("!")
        needle = one_byte((text[1:] if invert else text).casefold())
        # Typing one more letter only narrows a plain filter: scan what is shown, not everything.
        narrowing = (self._shown is not None and not invert and not self._invert
                     and self._needle in needle)
        narrowing = narrowing and self._test is None
        self.filter_text, self._needle, self._invert, self._test = text, needle, invert, None
        if not needle:
            self._shown = None
            return
        rows = self._rows
        source = self._shown if narrowing and self._shown is not None else self._order
        self._shown = [key for key in source if (needle in rows[key].haystack) != invert]

    def set_test(self, text: str, test: RowTest | None,
                 passing: Container[str] | None = None, *, narrowing: bool = False) -> None:
        """Show only rows that pass `test` (every row for `None`), from now on and as they
        arrive or change; `text` is what the filter says it is (`filter_text`). `passing`,
        when the caller has tested the rows in bulk, holds the keys of those that pass now:
        then `test` waits for rows arriving or changing. `narrowing` says that `test` passes
        no row the current test fails (a word typed on): only the rows shown are tested."""
        shown = self._shown if self._test is not None else None
        self.filter_text, self._needle, self._invert, self._test = text, "", False, test
        if test is None:
            self._shown = None
            return
        if narrowing and shown is not None and passing is None:
            rows = self._rows
            self._shown = [key for key in shown if test(key, rows[key].haystack)]
            return
        if passing is not None:
            self._shown = [key for key in self._order if key in passing]
            return
        # Tested in order of arrival, the order the rows lie in memory, then kept in sort
        # order: with 100,000 rows, testing them in sort order strays across memory and takes
        # half as long again.
        passing = {row.key for row in self._rows.values() if test(row.key, row.haystack)}
        self._shown = [key for key in self._order if key in passing]

    def sort_by(self, column: str | None, descending: bool) -> None:
        """Sort by a column (by order of arrival for `None`)."""
        if column is not None and column not in self._column_index:
            raise ValueError(f"no column {column!r} in this table")
        index = None if column is None else self._column_index[column]
        self.descending = descending
        if index == self._sort_index:
            return
        self._sort_index = index
        for record in self._rows.values():
            record.sort_key = self._sort_key(record)
        self._order.sort(key=self._key_of)
        if self._shown is not None:
            self._shown.sort(key=self._key_of)

    def _check_width(self, key: str, cells: tuple[Cell, ...],
                     sort_values: tuple[Any, ...] | None) -> None:
        expected = len(self.columns)
        if len(cells) != expected or (sort_values is not None and len(sort_values) != expected):
            raise ValueError(f"row {key!r} must have {expected} cells and sort values")

    def _update(self, record: RowRecord, cells: tuple[Cell, ...],
                sort_values: tuple[Any, ...] | None, now: float) -> None:
        record.cells = cells
        record.sort_values = sort_values
        record.haystack = one_byte("\n".join(plain(cell) for cell in cells).casefold())
        record.sort_key = self._sort_key(record)
        record.version += 1
        record.marked_at = now

    def _sort_key(self, record: RowRecord) -> Any:
        index = self._sort_index
        if index is None:
            return record.seq
        if record.sort_values is not None:
            value = record.sort_values[index]
        else:
            value = plain(record.cells[index]).casefold()
        # The arrival number breaks ties, which makes every key unique and bisect exact. One
        # flat tuple, None first: a key per row of 100,000 (a nested one took 48 bytes more).
        return (0, record.seq) if value is None else (1, value, record.seq)

    def _passes(self, record: RowRecord) -> bool:
        if self._test is not None:
            return self._test(record.key, record.haystack)
        return not self._needle or (self._needle in record.haystack) != self._invert

    def _attach(self, record: RowRecord) -> None:
        insort(self._order, record.key, key=self._key_of)
        if self._shown is not None and self._passes(record):
            insort(self._shown, record.key, key=self._key_of)

    def _detach(self, record: RowRecord) -> None:
        for keys in (self._order, self._shown):
            if keys is None:
                continue
            position = self._position(keys, record)
            if position is not None:
                del keys[position]

    def _position(self, keys: list[str], record: RowRecord) -> int | None:
        """Where `record` is in the sorted `keys`, or None if it is not there."""
        position = bisect_left(keys, record.sort_key, key=self._key_of)
        return position if position < len(keys) and keys[position] == record.key else None

    def _take_out(self, records: list[RowRecord]) -> None:
        """Take `records` out of the sorted lists, one pass over each (their sort keys as filed)."""
        self._order = self._without(self._order, records)
        if self._shown is not None:
            self._shown = self._without(self._shown, records)

    def _without(self, keys: list[str], records: Iterable[RowRecord]) -> list[str]:
        """The sorted `keys` without `records`, copied a run at a time."""
        found = (self._position(keys, record) for record in records)
        positions = sorted(position for position in found if position is not None)
        kept: list[str] = []
        start = 0
        for position in positions:
            kept += keys[start:position]
            start = position + 1
        kept += keys[start:]
        return kept

    def _merged(self, keys: list[str], arriving: list[str]) -> list[str]:
        """The sorted `keys` with the sorted `arriving` keys merged in, copied a run at a time."""
        merged: list[str] = []
        start = 0
        for key in arriving:
            position = bisect_left(keys, self._key_of(key), lo=start, key=self._key_of)
            merged += keys[start:position]
            merged.append(key)
            start = position
        merged += keys[start:]
        return merged
