"""What each field reads of a row, casefolded once per row rather than once per query.

A table of 100,000 builds is tested row by row each time its filter changes. Reading each field
through the build's summary and casefolding it there, for every row and every query, was most of
that time; a `FoldedRow` holds the result instead, made when the row arrives or changes
(`FoldedRows.note`).

A folded row is a tuple: the row itself first, then one item per field of the pane, in the
fields' order (`positions` says where):

- a text field: its one text as a `str`, or its several texts as a tuple, or None while unknown
  (a build's summary fields until the summary arrives);
- a keyed field (`value:KEY`): a pair of tuples, its names and its values, or None while
  unknown; rows naming the same values in the same order share one tuple of names, so finding
  a name reads no row's own memory;
- a number field: its number, or None;

then, for each text field, its own texts where casefolding changed them, else None: a regular
expression reads those, as it ignores case by itself and casefolding changes letters (`ß` is
`ss`). A text the casefold leaves as it was is kept, not copied, so most of a folded row is
references to what the row already holds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Generic

from buildwatch.core.query.fields import (
    Fields,
    KeyedField,
    NumberField,
    Pairs,
    Row,
    TextField,
    Texts,
)

FoldedRow = tuple[Any, ...]
"""A row, then what each field reads of it, casefolded (see the module's docstring)."""

FoldedTexts = str | Texts
"""A text field's folded value: its one text, or its several."""

_SHARED_NAMES = 1_000
"""Tuples of custom values' names kept to be shared: builds name the same few, in the same
order, but a server whose names vary endlessly must not fill the memory with them."""


def positions(fields: Fields[Row]) -> tuple[dict[str, int], dict[str, int]]:
    """Where `fold` puts each field's value, and each text field's own texts."""
    folded = {name: at for at, name in enumerate(fields, start=1)}
    texts = [name for name, field in fields.items() if isinstance(field, TextField)]
    return folded, {name: at for at, name in enumerate(texts, start=len(fields) + 1)}


def fold(row: Row, fields: Fields[Row], names: dict[Texts, Texts] | None = None) -> FoldedRow:
    """`row` followed by what each of `fields` reads of it, texts casefolded, then each text
    field's own texts where casefolding changed them. `names` keeps the tuples of names rows
    share."""
    values: list[Any] = [row]
    own: list[Texts | None] = []
    for field in fields.values():
        if isinstance(field, NumberField):
            values.append(field.read(row))
        elif isinstance(field, KeyedField):
            pairs = field.pairs(row)
            values.append(None if pairs is None else _fold_pairs(pairs, {} if names is None else names))
        else:
            texts = field.read(row)
            folded = None if texts is None else _fold_texts(texts)
            values.append(folded)
            kept = folded is texts or (texts is not None and folded is texts[0])
            own.append(None if folded is None or kept else texts)
    return (*values, *own)


def _folded(text: str) -> str:
    folded = text.casefold()
    return text if folded == text else folded


def _fold_texts(texts: Texts) -> FoldedTexts:
    if len(texts) == 1:
        return _folded(texts[0])
    folded = tuple(_folded(text) for text in texts)
    return texts if folded == texts else folded  # the row's own tuple when nothing changed


def _fold_pairs(pairs: Pairs, shared: dict[Texts, Texts]) -> tuple[Texts, Texts]:
    # Names repeat on every build (`Git branch`): one copy of each, and of each tuple of them.
    names = tuple([sys.intern(name.casefold()) for name, _ in pairs])
    if len(shared) < _SHARED_NAMES:
        names = shared.setdefault(names, names)
    return names, tuple([_folded(value or "") for _, value in pairs])


class FoldedRows(Generic[Row]):
    """A table's rows folded, by key: `note` each row as it arrives or changes."""

    def __init__(self, fields: Fields[Row], key: Callable[[Row], str]) -> None:
        """`fields` are the pane's; `key` is a row's key in its table."""
        self.fields = fields
        self._key = key
        self.rows: dict[str, FoldedRow] = {}
        """The folded rows by key (`CompiledQuery.by_key` reads them)."""
        self._names: dict[Texts, Texts] = {}

    def note(self, row: Row) -> None:
        """Fold `row` unless it is the very row already folded under its key."""
        key = self._key(row)
        folded = self.rows.get(key)
        if folded is None or folded[0] is not row:
            self.rows[key] = fold(row, self.fields, self._names)
