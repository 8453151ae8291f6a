"""The filter line's query help: values seen per field, completion, and the fault's highlight.

`KnownValues` gathers, as rows arrive, the values of the fields worth completing (a handful
per build, never a scan of the table per key press). `QuerySuggester` offers, after the cursor
at the end of the line, a field name, a custom value's name or a value seen
(`completion_at` says which), accepted with the right arrow. `FaultHighlighter` marks the
character a `QueryError` points at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic

from rich.highlighter import Highlighter
from rich.text import Text
from textual.suggester import Suggester

from buildwatch.core.query import Completion, completion_at, format_key, format_value
from buildwatch.core.query.fields import Fields, Row, TextField

COMPLETED_FIELDS = ("outcome", "status", "project", "tool", "user", "host", "branch", "tag",
                    "role", "command", "repo")
"""The fields whose values seen are offered: those with few distinct values (not ids, commits
or times)."""


class KnownValues(Generic[Row]):
    """The values seen of a pane's completed fields, and the custom values' names."""

    def __init__(self, fields: Fields[Row], keys: Callable[[Row], Iterable[str]] | None = None):
        self._readers = {name: field.read for name, field in fields.items()
                         if name in COMPLETED_FIELDS and isinstance(field, TextField)}
        self._keys = keys
        self.values: dict[str, set[str]] = {name: set() for name in self._readers}
        self.keys: set[str] = set()
        """Custom values' names (`value:KEY`)."""

    def add(self, row: Row) -> None:
        """Note the values of `row`."""
        for name, read in self._readers.items():
            texts = read(row)
            if texts:
                self.values[name].update(text for text in texts if text)
        if self._keys is not None:
            self.keys.update(self._keys(row))


class QuerySuggester(Suggester):
    """Completes the term at the end of the filter line for the pane it filters."""

    def __init__(self, offers: Callable[[], tuple[Fields[Any], KnownValues[Any]]]) -> None:
        """`offers` gives the filtered pane's fields and the values seen in it."""
        # Uncached: the same text completes differently per pane and as values arrive.
        super().__init__(use_cache=False, case_sensitive=True)
        self._offers = offers

    async def get_suggestion(self, value: str) -> str | None:
        """The line with its last term completed, or None when nothing fits."""
        completion = completion_at(value, len(value))
        if completion is None:
            return None
        fields, known = self._offers()
        candidate = _first_fitting(completion, _candidates(completion, fields, known))
        return None if candidate is None else value[: completion.start] + candidate


def _candidates(completion: Completion, fields: Fields[Any],
                known: KnownValues[Any]) -> list[str]:
    """What may follow at the cursor, written as a query writes it, in the order offered."""
    if completion.kind == "field":
        return [name + ":" for name in fields]
    if completion.kind == "key":
        return [format_key(key) + "=" for key in sorted(known.keys)]
    return [format_value(value) for value in sorted(known.values.get(completion.field or "", ()))]


def _first_fitting(completion: Completion, candidates: list[str]) -> str | None:
    prefix = completion.prefix.casefold()
    for candidate in candidates:
        unquoted = candidate.lstrip('"').casefold()
        if unquoted.startswith(prefix) and len(candidate) > len(completion.prefix):
            return candidate
    return None


class FaultHighlighter(Highlighter):
    """Marks the character at `position` (a fault's), or nothing for `None`."""

    def __init__(self) -> None:
        self.position: int | None = None

    def highlight(self, text: Text) -> None:
        """Style the faulty character of `text` (the filter line) in the error colour."""
        at = self.position
        if at is not None and at < len(text):
            text.stylize("bold reverse red", at, at + 1)

