"""How `buildwatch bb` writes to stdout: JSON lines, plain tables, and server text on a terminal.

Everything the server sent is hostile until sanitised. JSON lines are safe by construction
(`json.dumps` escapes every control and non-ASCII character); table cells go through
`sanitize_line`; logs and files shown on a terminal go through `sanitize`, a complete line at a
time so that an escape sequence split between two pieces is still recognised.
"""

from __future__ import annotations

import codecs
import json
import shutil
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, BinaryIO, NamedTuple, TextIO

from rich.cells import cell_len, set_cell_size

from buildwatch.core.sanitize import sanitize, sanitize_line

_LINE_LIMIT = 64 * 1024
"""A line longer than this is written in pieces, so a file without newlines stays in bounded memory."""


def write_json_lines(objects: Iterable[Mapping[str, Any]], stream: TextIO) -> None:
    """One JSON object per line, exactly the fields the server sent."""
    for item in objects:
        stream.write(json.dumps(item, separators=(",", ":")) + "\n")


class Coloured(NamedTuple):
    """A table cell shown in an SGR colour, e.g. `Coloured("FAILED", "31")` for red."""

    text: str
    sgr: str


Cell = str | Coloured


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Cell]]) -> list[str]:
    """Left-aligned columns two spaces apart; cells are sanitised, the last column is not padded."""
    cleaned = [[_cell(cell) for cell in row] for row in rows]
    widths = [cell_len(header) for header in headers]
    for row in cleaned:
        for index, (_, width) in enumerate(row):
            widths[index] = max(widths[index], width)
    lines = [_join([(header, cell_len(header)) for header in headers], widths)]
    lines.extend(_join(row, widths) for row in cleaned)
    return lines


def _cell(cell: Cell) -> tuple[str, int]:
    if isinstance(cell, Coloured):
        text = sanitize_line(cell.text)
        return f"\x1b[{cell.sgr}m{text}\x1b[0m", cell_len(text)
    text = sanitize_line(cell)
    return text, cell_len(text)


def _join(cells: Sequence[tuple[str, int]], widths: Sequence[int]) -> str:
    parts = [text + " " * (widths[i] - width) for i, (text, width) in enumerate(cells[:-1])]
    return "  ".join([*parts, cells[-1][0]]).rstrip()


class TerminalText:
    """Writes server text to a terminal a line at a time, neutralising every escape sequence
    but SGR colours; below it, optionally, a status line that the next write replaces."""

    def __init__(self, stream: TextIO, *, width: int | None = None) -> None:
        """`width`: the terminal's columns (default: asked of the terminal at each status)."""
        self._stream = stream
        self._width = width
        self._pending = ""
        self._status_shown = False

    def write(self, text: str) -> None:
        """Write the complete lines of `pending + text`; keep the last, incomplete one."""
        text = self._pending + text
        cut = text.rfind("\n") + 1
        if cut == 0 and len(text) >= _LINE_LIMIT:
            cut = len(text)
        self._pending = text[cut:]
        if cut:
            self._clear_status()
            self._stream.write(sanitize(text[:cut], keep_sgr=True))
            self._stream.flush()

    def show_status(self, line: str) -> None:
        """Show `line` (Bazel's progress, say) as the status: plain, and cut to the width so
        that it never wraps and a carriage return can always erase it. Empty clears it."""
        self._clear_status()
        # One column spare: a line filling the last column would leave the cursor past it.
        room = (self._width or shutil.get_terminal_size().columns) - 1
        shown = sanitize_line(line).rstrip()
        if cell_len(shown) > room:
            shown = set_cell_size(shown, max(room - 1, 0)) + "…"
        if shown:
            self._stream.write(shown)
            self._stream.flush()
            self._status_shown = True

    def close(self) -> None:
        """Write what is left, and reset the colours in case the text left one on."""
        self._clear_status()
        if self._pending:
            self._stream.write(sanitize(self._pending, keep_sgr=True))
        self._stream.write("\x1b[0m")
        self._stream.flush()
        self._pending = ""

    def _clear_status(self) -> None:
        if self._status_shown:
            self._stream.write("\r\x1b[K")
            self._status_shown = False


class TerminalBytes:
    """A file's bytes shown on a terminal: decoded as UTF-8 (bad bytes replaced), then sanitised."""

    def __init__(self, stream: TextIO) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._text = TerminalText(stream)

    def write(self, data: bytes) -> None:
        """Show the next piece of the file."""
        self._text.write(self._decoder.decode(data))

    def close(self) -> None:
        """Show what is left."""
        self._text.write(self._decoder.decode(b"", final=True))
        self._text.close()



class RawText:
    """Writes server text to a pipe or file as the exact UTF-8 bytes the server sent."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, text: str) -> None:
        """Write `text` now (`surrogatepass`: no string the JSON decoder makes can fail)."""
        self._stream.write(text.encode("utf-8", "surrogatepass"))
        self._stream.flush()

    def close(self) -> None:
        """Nothing is held back."""
