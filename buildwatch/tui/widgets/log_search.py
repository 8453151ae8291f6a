"""One search in a `LineStore`: the line of every match, which one is current, and more as the
log grows."""

from __future__ import annotations

from array import array
from bisect import bisect_left

from buildwatch.tui.widgets.line_store import LineStore, SearchPattern


class Matches:
    """The matches of `pattern` in `store`, in order, at most `limit` of them."""

    def __init__(self, store: LineStore, pattern: SearchPattern | None, limit: int) -> None:
        self.pattern = pattern
        self._store = store
        self._limit = limit
        # The line of each match; a line with three matches appears three times.
        self._lines = array("q")
        self._searched = 0
        self.current: int | None = None
        """The current match, counting from 0."""
        self.extend()

    @property
    def count(self) -> int:
        """How many matches were recorded."""
        return len(self._lines)

    @property
    def limit_reached(self) -> bool:
        """Whether recording stopped at the limit."""
        return len(self._lines) >= self._limit

    def extend(self) -> bool:
        """Search what the store took in since the last call; return whether anything changed."""
        if self.pattern is None:
            return False
        before = (len(self._lines), self.current)
        # The unfinished last line was searched as it was; search it again with what came since.
        del self._lines[bisect_left(self._lines, self._searched):]
        self._lines.extend(self._store.find_matches(self.pattern, self._searched,
                                                    self._limit - len(self._lines)))
        self._searched = self._store.complete_lines
        if self.current is not None and self.current >= len(self._lines):
            self.current = len(self._lines) - 1 if self._lines else None
        return before != (len(self._lines), self.current)

    def first_from(self, line: int) -> int | None:
        """Make the first match at or after `line` current (else the first); return it."""
        if not self._lines:
            return None
        index = bisect_left(self._lines, line)
        self.current = index if index < len(self._lines) else 0
        return self.current

    def step(self, step: int) -> int | None:
        """Move the current match by `step`, wrapping around; return it."""
        if not self._lines:
            return None
        start = (-1 if step > 0 else 0) if self.current is None else self.current
        self.current = (start + step) % len(self._lines)
        return self.current

    def line_of(self, index: int) -> int:
        """The line match `index` is on."""
        return self._lines[index]

    def nth_in_line(self, line: int) -> int:
        """Which match on `line` is the current one, counting from 0; -1 if none is."""
        if self.current is None or self._lines[self.current] != line:
            return -1
        return self.current - bisect_left(self._lines, line)
