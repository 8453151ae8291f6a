"""One copy of each value that many builds repeat: project, user, host, branch, commit, tool
names and versions, tags, custom values, requested work.

A summary decoded from the history or read from a server brings its own copy of every string;
with 100,000 builds held, those copies were most of the memory a summary takes. Values are
shared through a bounded table: a server whose values never repeat (a build URL per build) fills
it, and it then starts over, so it never holds more than `LIMIT` values of its own.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

LIMIT = 50_000
"""The most values held for sharing before the table starts over."""

_values: dict[Any, Any] = {}


def shared(value: T) -> T:
    """The copy of `value` (a string, or a tuple of strings and such tuples) that other builds
    use, or `value` itself, now shared, if none did."""
    known: T | None = _values.get(value)
    if known is not None:
        return known
    if len(_values) >= LIMIT:
        _values.clear()
    _values[value] = value
    return value
