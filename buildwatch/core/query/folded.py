"""What each field reads of a row, casefolded once per row rather than once per query.

A table of 100,000 builds is tested row by row each time its filter changes. Reading each field
through the build's summary and casefolding it there, for every row and every query, was most of
that time; a `FoldedRow` holds the result instead, made when the row arrives or changes
(`FoldedRows.note`).

A folded row is a tuple: the row itself first, then one item per field of the pane, in the
fields' order (`positions` says where):

- a text field: its one text as a `str`, or its several texts as a tuple, or None while unknown
  (a build's summary fields until the summary arrives);
- a keyed field (`value:KEY`): two items, where each name is (a `Layout`) and the values,
  both None while unknown; rows naming the same values in the same order share one layout, so
  finding a name is one lookup and reads no row's own memory;
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
from buildwatch.core.shared_values import shared

FoldedRow = tuple[Any, ...]
"""A row, then what each field reads of it, casefolded (see the module's docstring)."""

FoldedTexts = str | Texts
"""A text field's folded value: its one text, or its several."""

Layout = dict[str, tuple[int, ...]]
"""Where a keyed field's values lie, by their casefolded name: a name given twice has two."""

_SHARED_LAYOUTS = 1_000
"""Layouts of custom values kept to be shared: builds name the same few, in the same order, but
a server whose names vary endlessly must not fill the memory with them."""


def positions(fields: Fields[Row]) -> tuple[dict[str, int], dict[str, int]]:
    """Where `fold` puts each field's value, and each text field's own texts."""
    folded: dict[str, int] = {}
    at = 1
    for name, field in fields.items():
        folded[name] = at
        at += 2 if isinstance(field, KeyedField) else 1  # its layout, then its values
    texts = [name for name, field in fields.items() if isinstance(field, TextField)]
    return folded, {name: own for own, name in enumerate(texts, start=at)}


def fold(row: Row, fields: Fields[Row], layouts: dict[Texts, Layout] | None = None) -> FoldedRow:
    """`row` followed by what each of `fields` reads of it, texts casefolded, then each text
    field's own texts where casefolding changed them. `layouts` keeps the layouts rows share,
    by their names."""
    values: list[Any] = [row]
    own: list[Texts | None] = []
    for field in fields.values():
        if isinstance(field, NumberField):
            values.append(field.read(row))
        elif isinstance(field, KeyedField):
            pairs = field.pairs(row)
            values.extend((None, None) if pairs is None else _fold_pairs(pairs, layouts))
        else:
            texts = field.read(row)
            folded = None if texts is None else _fold_texts(texts)
            values.append(folded)
            kept = folded is texts or (texts is not None and folded is texts[0])
            own.append(None if folded is None or kept else texts)
    return (*values, *own)


def casefolded(text: str) -> str:
    """`text` casefolded: the text itself when casefolding leaves it as it is (most do), else
    one copy shared by every row folding alike (`shared`): 100,000 rows would otherwise hold a
    copy of each of their texts."""
    folded = text.casefold()
    return text if folded == text else shared(folded)


def _fold_texts(texts: Texts) -> FoldedTexts:
    if len(texts) == 1:
        return casefolded(texts[0])
    folded = tuple([casefolded(text) for text in texts])
    # The row's own tuple when nothing changed, else one shared by the rows folding alike.
    return texts if folded == texts else shared(folded)


def _fold_pairs(pairs: Pairs, layouts: dict[Texts, Layout] | None) -> tuple[Layout, Texts]:
    # Names repeat on every build (`Git branch`): one copy of each, and one layout of each
    # sequence of them.
    names = tuple([sys.intern(name.casefold()) for name, _ in pairs])
    layout = None if layouts is None else layouts.get(names)
    if layout is None:
        layout = _layout(names)
        if layouts is not None and len(layouts) < _SHARED_LAYOUTS:
            layouts[names] = layout
    return layout, shared(tuple([casefolded(value or "") for _, value in pairs]))


def _layout(names: Texts) -> Layout:
    layout: dict[str, list[int]] = {}
    for at, name in enumerate(names):
        layout.setdefault(name, []).append(at)
    return {name: tuple(places) for name, places in layout.items()}


class FoldedRows(Generic[Row]):
    """A table's rows folded, by key: `note` each row as it arrives or changes."""

    def __init__(self, fields: Fields[Row], key: Callable[[Row], str]) -> None:
        """`fields` are the pane's; `key` is a row's key in its table."""
        self.fields = fields
        self._key = key
        self.rows: dict[str, FoldedRow] = {}
        """The folded rows by key (`CompiledQuery.by_key` reads them)."""
        self._layouts: dict[Texts, Layout] = {}

    def note(self, row: Row) -> None:
        """Fold `row` unless it is the very row already folded under its key."""
        key = self._key(row)
        folded = self.rows.get(key)
        if folded is None or folded[0] is not row:
            self.rows[key] = fold(row, self.fields, self._layouts)
