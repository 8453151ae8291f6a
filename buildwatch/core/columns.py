"""The columns a saved view may show, by name, and the order it may sort its rows in.

    columns = ["outcome", "id", "project", "value:CI job", "branch", "duration"]
    sort = "duration desc"

A builds column is a field of the builds pane's queries (`outcome`, `project`, `tag`…) or a
custom value by name, `value:CI job`, whose name is matched ignoring case as `value:` in a
query matches it (servers write `Git commit id` and `Git Commit ID`). An invocations column is a
field of that pane's queries, or `actions` (how many actions it ran). Column names ignore case.

The configuration checks names here (`buildwatch.core.config`), so a mistake is reported at its
line; the TUI draws the columns (`buildwatch.tui.rows`).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from buildwatch.core.panes import Pane
from buildwatch.core.query.fields import BUILD_FIELDS, INVOCATION_FIELDS, KeyedField

VALUE_PREFIX = "value:"
"""How a custom value's column is named: `value:` then the value's name."""

USUAL_COLUMNS: dict[Pane, tuple[str, ...]] = {
    "builds": ("outcome", "id", "project", "tool", "requested", "user", "host", "branch", "tag",
               "duration", "published"),
    "invocations": ("status", "id", "command", "pattern", "user", "host", "role", "duration",
                    "actions", "commit", "created"),
}
"""Each pane's columns in a view that names none (and before a view is picked)."""

COLUMN_NAMES: dict[Pane, tuple[str, ...]] = {
    "builds": tuple(name for name, field in BUILD_FIELDS.items()
                    if not isinstance(field, KeyedField)),
    "invocations": (*INVOCATION_FIELDS, "actions"),
}
"""Each pane's columns by their fixed names (a builds view also has `value:NAME`)."""

_DIRECTIONS = {"asc": False, "desc": True}


class ColumnError(ValueError):
    """A column or sort a pane does not have; the message says what it has."""

    def __init__(self, message: str, name: str, setting: str = "columns") -> None:
        super().__init__(message)
        self.name = name
        """The faulty text as the view writes it."""
        self.setting = setting
        """The view's setting that holds it: `columns` or `sort`."""


@dataclass(frozen=True)
class SortOrder:
    """A view's order: by a column's key (as `column_key` gives it), descending or not."""

    column: str
    descending: bool


def column_key(pane: Pane, name: str) -> str:
    """The key of the column `name` in `pane`: a fixed name in lower case, or `value:` and the
    value's name casefolded, so two spellings of one custom value are one column.
    `ColumnError` for a name the pane has no column for."""
    folded = name.casefold()
    if pane == "builds" and folded.startswith(VALUE_PREFIX):
        if len(folded) == len(VALUE_PREFIX):
            raise ColumnError(f"the column {name!r} needs a custom value's name: "
                              '"value:CI job"', name)
        return folded
    if folded in COLUMN_NAMES[pane]:
        return folded
    known = [*COLUMN_NAMES[pane], *(["value:NAME"] if pane == "builds" else [])]
    near = difflib.get_close_matches(folded, known, n=1, cutoff=0.6)
    hint = f"did you mean {near[0]!r}?" if near else f"columns are {', '.join(known)}"
    raise ColumnError(f"no column {name!r} in the {pane} pane: {hint}", name)


def custom_value_name(name: str) -> str | None:
    """The custom value's name a column name gives, as written (`value:CI job`: `CI job`), or
    None for a fixed column."""
    return name[len(VALUE_PREFIX):] if name.casefold().startswith(VALUE_PREFIX) else None


def view_columns(pane: Pane, names: Sequence[str]) -> tuple[str, ...]:
    """The keys of a view's columns in order, the pane's usual ones when it names none.
    `ColumnError` for an unknown name or one named twice."""
    if not names:
        return USUAL_COLUMNS[pane]
    keys: list[str] = []
    for name in names:
        key = column_key(pane, name)
        if key in keys:
            raise ColumnError(f"the column {name!r} is named twice", name)
        keys.append(key)
    return tuple(keys)


def view_sort(pane: Pane, text: str, columns: Sequence[str]) -> SortOrder | None:
    """A view's `sort` (`"duration desc"`, `"project"`: ascending) over its column keys
    `columns`, or None for `""` (newest first). `ColumnError` for a column the view does not
    show (a last word other than `asc` or `desc` is part of the column's name)."""
    if not text.strip():
        return None
    name, _, direction = text.strip().rpartition(" ")
    if direction.casefold() not in _DIRECTIONS:
        name, direction = text.strip(), "asc"
    try:
        key = column_key(pane, name.strip())
    except ColumnError as error:
        raise ColumnError(str(error), text, "sort") from None
    if key not in columns:
        raise ColumnError(f"{name.strip()!r} is not one of the view's columns "
                          f"({', '.join(columns)})", text, "sort")
    return SortOrder(key, _DIRECTIONS[direction.casefold()])
