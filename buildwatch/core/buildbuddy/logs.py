"""Turning GetLog's chunk snapshots into text that is written once, for append-only outputs.

A pipe, a terminal or a log view cannot take text back, so `LogAssembler` works out what is new
in each snapshot: the lines of a live chunk that extend what was already written, and the rest
of a chunk once it is final.

The server keeps the last few lines of a live chunk redrawable (Bazel's progress area under
curses, none without) and drops what they showed when it persists the chunk. So the last line
of a live snapshot is held back (`held`: for a view to show apart, as Bazel shows its progress)
until another line follows it or the chunk is final. A redraw reaching lines already written
cannot take them back: their new form is written after them, and from then on as many lines are
held back. What is written is then the log as it will end up. When a chunk becomes final, lines
still redrawn at its end move to the start of the next chunk; any already written are not
written again.
"""

from __future__ import annotations

from buildwatch.core.buildbuddy.models import LogChunk


def _common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix, by bisection on C-speed comparisons."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


class LogAssembler:
    """Accepts GetLog chunks in order and returns, for each, the text to append."""

    def __init__(self) -> None:
        self._hold_lines = 1
        """Trailing lines of a live snapshot held back: the most seen redrawn, at least one."""
        self._written = ""
        """Text of the current chunk already written (possibly carried over from the previous)."""
        self._held = ""
        """The end of the latest live snapshot not written yet: the lines the server may still
        redraw. Written only by `finish`."""

    @property
    def held(self) -> str:
        """The end of the latest live snapshot that is not written yet (see `_held`)."""
        return self._held

    @property
    def progress(self) -> str:
        """The first line of `held` with any text: Bazel's progress while it runs."""
        return next((line for line in self._held.splitlines() if line.strip()), "")

    def add(self, chunk: LogChunk) -> str:
        """The text of `chunk` that has not been written yet."""
        text = chunk.contents
        written = self._written
        if text.startswith(written):
            start = len(written)
        else:
            common = _common_prefix(written, text)
            if not chunk.live and common == len(text):
                # The final chunk ends where the carried-over lines begin: keep them for the next.
                self._written = written[common:]
                self._held = ""
                return ""
            # A line already written was redrawn: it cannot be taken back, so write its new form.
            start = text.rfind("\n", 0, common) + 1
            # Every line of the last snapshot from the first one redrawn was redrawable.
            redrawn = (written + self._held).count("\n", start)
            self._hold_lines = max(self._hold_lines, redrawn)
        if chunk.live:
            end = self._hold_back(text, start)
            self._written = text[:end]
            self._held = text[end:]
            return text[start:end]
        self._written = ""
        self._held = ""
        return text[start:]

    def _hold_back(self, text: str, start: int) -> int:
        """Where the text to write from `start` ends: before the lines held back, of which an
        incomplete last line is one."""
        end = text.rfind("\n", start) + 1 or start
        lines = self._hold_lines - (1 if end < len(text) else 0)
        for _ in range(lines):
            if end <= start:
                break
            end = text.rfind("\n", start, end - 1) + 1 or start
        return end

    def finish(self) -> str:
        """What is left to write when the log stops on a live chunk: what `held` holds."""
        held, self._held = self._held, ""
        if held:
            self._written += held
        return held
