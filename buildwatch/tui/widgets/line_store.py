"""The text behind a `LogView`: sanitised once, kept as UTF-8 blocks, indexed by line.

A 100 MB log is about 100 MB of blocks plus eight bytes per line of index, whatever characters it
holds (a Python `str` would widen to four bytes a character for one emoji). Lines never straddle
blocks. Searches run over whole blocks with compiled byte patterns, so their cost is the regular
expression engine's, not a Python loop over lines.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections import deque
from collections.abc import Iterator
from itertools import accumulate, islice
from time import monotonic

from buildwatch.core.sanitize import sanitize

BLOCK_BYTES = 1 << 20
"""Lines are appended to the last block until it holds this many bytes."""

QUEUE_SLICE = 1 << 18
"""Characters of queued text taken in at a time."""

SGR = rb"\x1b\[[0-9;:]*m"
"""A colour sequence, the only escape sequence left after `sanitize(..., keep_sgr=True)`."""

_SGR = re.compile(SGR)
_SGR_GAP = b"(?:" + SGR + b")*"
_CONTROLS_BUT_TAB_LF_ESC = bytes([*range(0, 9), *range(11, 27), *range(28, 32), 127])
_ESC_NOT_SGR = re.compile(rb"\x1b(?!\[[0-9;:]*m)")
_C1 = re.compile("[\x80-\x9f]")
_MAY_START_IN_SGR = frozenset(b"[0123456789;:m")


def already_clean(text: str, data: bytes) -> bool:
    """Whether `sanitize(text, keep_sgr=True)` would return `text` (UTF-8 `data`) unchanged.

    It would when the only controls are TAB, LF and well-formed SGR sequences, which is what most
    logs hold. This check runs in C over the bytes; the sanitiser calls back into Python for every
    colour sequence, about twenty times slower on a coloured log.
    """
    return (len(data.translate(None, _CONTROLS_BUT_TAB_LF_ESC)) == len(data)
            and _ESC_NOT_SGR.search(data) is None
            and (text.isascii() or _C1.search(text) is None))


class SearchPattern:
    """A literal search, case-insensitive for ASCII letters, compiled for stored and shown text."""

    def __init__(self, text: str) -> None:
        if not text:
            raise ValueError("an empty search pattern matches nothing useful")
        self.text = text
        # Colour sequences may sit between any two characters: a word coloured halfway matches.
        self.stored = re.compile(
            _SGR_GAP.join(re.escape(char.encode().lower()) for char in text))
        self.shown = re.compile(re.escape(text), re.IGNORECASE | re.ASCII)
        self._could_start_in_sgr = text[0].encode().lower()[0] in _MAY_START_IN_SGR

    def starts(self, data: bytes | bytearray, position: int) -> Iterator[int]:
        """Where the pattern matches lower-cased stored `data`, outside colour sequences."""
        match = self.stored.search(data, position)
        while match is not None:
            start = match.start()
            if self._could_start_in_sgr and _inside_sgr(data, start):
                match = self.stored.search(data, start + 1)
                continue
            yield start
            match = self.stored.search(data, match.end())


def _inside_sgr(data: bytes | bytearray, position: int) -> bool:
    # Looking back a bounded distance keeps this cheap on megabyte-long lines; a colour sequence
    # longer than that is absurd, and a match inside one would only be miscounted, never shown.
    escape = data.rfind(b"\x1b", max(0, position - 256), position)
    return escape != -1 and data.find(b"m", escape) >= position


class LineStore:
    """Append-only text, sanitised on the way in and addressed by line number."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._queue: deque[str] = deque()
        self._queue_offset = 0
        self._blocks: list[bytearray] = []
        self._block_starts = array("q")
        # _bounds[i] is where line i starts; line i ends one byte (its LF) before _bounds[i + 1].
        self._bounds = array("q", [0])
        self._tail = ""
        self._clean_tail: bytes | None = b""

    @property
    def complete_lines(self) -> int:
        """Lines ended by a line break."""
        return len(self._bounds) - 1

    @property
    def line_count(self) -> int:
        """Lines, counting an unfinished last one."""
        return self.complete_lines + (1 if self._tail else 0)

    @property
    def nbytes(self) -> int:
        """Memory held by the text and its index, roughly."""
        return (sum(len(block) for block in self._blocks) + len(self._tail)
                + self._bounds.itemsize * len(self._bounds))

    def add(self, text: str) -> None:
        """Append text; a last line without a line break stays open for the next call.

        Sanitising happens per complete line, so an escape sequence split across two calls is
        seen whole. A carriage return ends a line, as `sanitize` makes it; one at the very end
        waits in case an LF follows.
        """
        text = self._tail + text
        end = len(text) - 1 if text.endswith("\r") else len(text)
        cut = max(text.rfind("\n", 0, end), text.rfind("\r", 0, end)) + 1
        self._tail = text[cut:]
        self._clean_tail = None
        if cut:
            self._add_lines(text[:cut])

    @property
    def queued(self) -> bool:
        """Whether queued text waits to be taken in."""
        return bool(self._queue)

    def queue(self, text: str) -> None:
        """Keep text to be taken in later by `take_queued`."""
        if text:
            self._queue.append(text)

    def take_queued(self, seconds: float) -> None:
        """Take in queued text, a slice at a time, until `seconds` have passed (one slice at
        least), so a caller on the UI loop can draw a frame between calls."""
        deadline = monotonic() + seconds
        while self._queue:
            text, start = self._queue[0], self._queue_offset
            self.add(text[start:start + QUEUE_SLICE])
            if start + QUEUE_SLICE >= len(text):
                self._queue.popleft()
                self._queue_offset = 0
            else:
                self._queue_offset = start + QUEUE_SLICE
            if monotonic() >= deadline:
                break

    def clear(self) -> None:
        """Forget all text, queued or taken in."""
        self._reset()

    def line(self, index: int, limit: int) -> tuple[str, int]:
        """Line `index` with its colour sequences, cut to `limit` bytes, and how many were cut."""
        data = self._line_bytes(index)
        if len(data) <= limit:
            return data.decode(), 0
        cut = data[:limit]
        # Never leave half a colour sequence for the renderer to print as text.
        escape = cut.rfind(b"\x1b")
        if escape != -1 and cut.find(b"m", escape) == -1:
            cut = cut[:escape]
        return cut.decode(errors="ignore"), len(data) - len(cut)

    def find_matches(self, search: SearchPattern, first_line: int, limit: int) -> array[int]:
        """The line of each match from `first_line` on, once per match, at most `limit`."""
        found = array("q")
        for block, base in self._blocks_from(first_line):
            data = block.lower()
            counted = max(0, self._bounds[first_line] - base)
            line = bisect_right(self._bounds, base + counted) - 1
            for start in islice(search.starts(data, counted), limit - len(found)):
                line += data.count(b"\n", counted, start)
                counted = start
                found.append(line)
            if len(found) >= limit:
                return found
        if self._tail and first_line <= self.complete_lines:
            tail = self._tail_bytes().lower()
            found.extend(self.complete_lines for _ in islice(search.starts(tail, 0),
                                                               limit - len(found)))
        return found

    def find_line(self, pattern: re.Pattern[bytes], first_line: int) -> int | None:
        """The first line from `first_line` on where `pattern` matches the text as stored."""
        for block, base in self._blocks_from(first_line):
            match = pattern.search(block, max(0, self._bounds[first_line] - base))
            if match is not None:
                return bisect_right(self._bounds, base + match.start()) - 1
        if self._tail and pattern.search(self._tail_bytes()) is not None:
            return self.complete_lines
        return None

    def iter_text(self, strip_sgr: bool = False) -> Iterator[str]:
        """The whole text as it is now, a block at a time, with or without its colour sequences.

        The blocks are taken when this is called (the last one, which may still grow, copied),
        so another thread may read them while more text arrives."""
        blocks: list[bytes | bytearray] = [*self._blocks[:-1], *map(bytes, self._blocks[-1:]),
                                           self._tail_bytes()]
        return ((_SGR.sub(b"", block) if strip_sgr else block).decode() for block in blocks)

    def _add_lines(self, text: str) -> None:
        data = text.encode(errors="replace")
        if not already_clean(text, data):
            data = sanitize(text, keep_sgr=True).encode(errors="replace")
        lengths = [len(line) + 1 for line in data.split(b"\n")[:-1]]
        start = self._bounds[-1]
        self._bounds.extend(islice(accumulate(lengths, initial=start), 1, None))
        if self._blocks and len(self._blocks[-1]) < BLOCK_BYTES:
            self._blocks[-1] += data
        else:
            self._blocks.append(bytearray(data))
            self._block_starts.append(start)

    def _tail_bytes(self) -> bytes:
        if self._clean_tail is None:
            self._clean_tail = sanitize(self._tail, keep_sgr=True).rstrip("\n").encode(
                errors="replace")
        return self._clean_tail

    def _line_bytes(self, index: int) -> bytes | bytearray:
        if index >= self.complete_lines:
            return self._tail_bytes() if index == self.complete_lines else b""
        start, end = self._bounds[index], self._bounds[index + 1] - 1
        block = bisect_right(self._block_starts, start) - 1
        base = self._block_starts[block]
        return self._blocks[block][start - base:end - base]

    def _blocks_from(self, first_line: int) -> Iterator[tuple[bytearray, int]]:
        if first_line >= self.complete_lines:
            return
        first = bisect_right(self._block_starts, self._bounds[first_line]) - 1
        yield from zip(self._blocks[first:], self._block_starts[first:], strict=True)

