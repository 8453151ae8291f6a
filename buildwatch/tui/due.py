"""Which rows' relative times ("5m ago") need rewriting now: a heap of when each next changes.

Rewriting only those keeps the cost of keeping times fresh proportional to the rows whose text
actually moves on, not to the table's size.
"""

from __future__ import annotations

import heapq


class DueTimes:
    """Keys, each due at a time; a key scheduled again replaces its earlier time."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, str]] = []
        self._due_at: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._due_at)

    def schedule(self, key: str, at: int) -> None:
        """Make `key` due at `at` (and no longer at any earlier time)."""
        if self._due_at.get(key) == at:
            return
        self._due_at[key] = at
        heapq.heappush(self._heap, (at, key))

    def pop_due(self, now: int, limit: int | None = None) -> list[str]:
        """The keys due at or before `now` (at most `limit`, earliest first); they are unscheduled."""
        due: list[str] = []
        heap = self._heap
        while heap and heap[0][0] <= now and (limit is None or len(due) < limit):
            at, key = heapq.heappop(heap)
            if self._due_at.get(key) == at:
                del self._due_at[key]
                due.append(key)
        return due
