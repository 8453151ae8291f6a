"""Turning GetLog's chunk snapshots into text that is written once, for append-only outputs.

A view that can redraw (the TUI) simply replaces the live chunk with each new snapshot. A pipe
or a terminal cannot take text back, so `LogAssembler` works out what is new in each snapshot:
the complete lines of a live chunk that extend what was already written, and the rest of a chunk
once it is final. When a chunk becomes final, the lines still being redrawn at its end (Bazel's
progress lines) move to the start of the next chunk; having been written already, they are not
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
        self._written = ""
        """Text of the current chunk already written (possibly carried over from the previous)."""
        self._held = ""
        """The incomplete last line of the latest live snapshot, written only by `finish`."""

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
        if chunk.live:
            end = text.rfind("\n", start) + 1 or start
            self._written = text[:end]
            self._held = text[end:]
            return text[start:end]
        self._written = ""
        self._held = ""
        return text[start:]

    def finish(self) -> str:
        """What is left to write when the log stops on a live chunk: its incomplete last line."""
        held, self._held = self._held, ""
        if held:
            self._written += held
        return held
