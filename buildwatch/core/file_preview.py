"""Showing a downloaded file: text (highlighted by its name) or a hex dump, streamed and bounded.

`Preview` takes the file's bytes as they arrive and returns, for each piece, the text to append to
a viewer. Whether the file is text is decided from its first bytes, as `file` and `less` do; a
UTF-8 character split between two pieces is decoded whole. Past `limit` bytes it stops taking
more, so a 2 GB artifact cannot fill the memory: the user can still save it whole.
"""

from __future__ import annotations

import codecs
from pathlib import PurePosixPath

from pygments import highlight
from pygments.formatters import TerminalFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.util import ClassNotFound

from buildwatch.core.sanitize import sanitize

SNIFF_BYTES = 8192
"""Bytes looked at to tell text from binary."""
DEFAULT_LIMIT = 64 * 1024 * 1024
"""Bytes of a file shown at most."""
HIGHLIGHT_LIMIT = 4 * 1024 * 1024
"""Larger files are shown without syntax highlighting: it would cost seconds."""
HEX_WIDTH = 16

# Names that say "plain text" although Pygments would pick a lexer for a look-alike extension.
_PLAIN_SUFFIXES = frozenset({".log", ".txt", ".out", ".err"})
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\b\x1b")


def looks_binary(head: bytes) -> bool:
    """Whether the start of a file says it is binary: a NUL byte, over 10 % of control
    characters, or over 1 % of invalid UTF-8."""
    if not head:
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for byte in head if byte < 32 and byte not in _TEXT_CONTROLS)
    if controls * 10 > len(head):
        return True
    # A stray invalid byte in a log does not make it binary; mostly undecodable bytes do. A
    # character cut at the end of the sample is not counted.
    invalid = head.decode("utf-8", "replace")[:-1].count("\ufffd")
    return invalid * 100 > len(head)


def hex_dump(data: bytes, offset: int) -> str:
    """`data` as `xxd`-style lines (offset, 16 bytes in hex, printable ASCII), one per 16 bytes."""
    lines = []
    for start in range(0, len(data), HEX_WIDTH):
        row = data[start:start + HEX_WIDTH]
        hex_part = " ".join(row[i:i + 2].hex() for i in range(0, len(row), 2))
        text = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in row)
        lines.append(f"{offset + start:08x}  {hex_part:<39}  {text}\n")
    return "".join(lines)


def lexer_for(name: str) -> Lexer | None:
    """The Pygments lexer for a file name (`test.xml`, `Foo.java`, `BUILD`), None for plain text."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in _PLAIN_SUFFIXES:
        return None
    try:
        return get_lexer_for_filename(PurePosixPath(name).name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


class Preview:
    """Turns a file's bytes, piece by piece, into the text a viewer shows."""

    def __init__(self, name: str, size_hint: int | None = None, limit: int = DEFAULT_LIMIT) -> None:
        self.name = name
        self.limit = limit
        self.received = 0
        self.binary: bool | None = None
        """None until the first bytes arrived."""
        self._head = b""
        self._carry = b""
        self._text_carry = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        big = size_hint is not None and size_hint > HIGHLIGHT_LIMIT
        self._lexer = None if big else lexer_for(name)

    @property
    def full(self) -> bool:
        """Whether the limit is reached: further bytes are not shown."""
        return self.received >= self.limit

    @property
    def highlighted(self) -> bool:
        """Whether text is shown with syntax colours."""
        return self.binary is False and self._lexer is not None

    def feed(self, data: bytes) -> str:
        """Take the next bytes; return the text to append (possibly empty)."""
        data = data[: max(0, self.limit - self.received)]
        self.received += len(data)
        if self.binary is None:
            self._head += data
            if len(self._head) < SNIFF_BYTES and not self.full:
                return ""
            data, self._head = self._head, b""
            self.binary = looks_binary(data[:SNIFF_BYTES])
        return self._hex(data, final=False) if self.binary else self._text(data, final=False)

    def finish(self) -> str:
        """The text still held back at the end of the file (or at the limit)."""
        if self.binary is None:
            if not self._head:
                return ""  # nothing arrived (a refused download, an empty file): kind unknown
            data, self._head = self._head, b""
            self.binary = looks_binary(data[:SNIFF_BYTES])
            return self._hex(data, final=True) if self.binary else self._text(data, final=True)
        return self._hex(b"", final=True) if self.binary else self._text(b"", final=True)

    def _hex(self, data: bytes, final: bool) -> str:
        data = self._carry + data
        whole = len(data) if final else len(data) - len(data) % HEX_WIDTH
        start = self.received - len(data)
        self._carry = data[whole:]
        return hex_dump(data[:whole], start) if whole else ""

    def _text(self, data: bytes, final: bool) -> str:
        text = self._text_carry + self._decoder.decode(data, final=final)
        if self._lexer is None:
            self._text_carry = ""
            return sanitize(text)
        # Highlight whole lines only: a token cut between two pieces would be coloured wrong.
        cut = len(text) if final else text.rfind("\n") + 1
        self._text_carry = text[cut:]
        body = sanitize(text[:cut])
        return highlight(body, self._lexer, TerminalFormatter()) if body else ""
