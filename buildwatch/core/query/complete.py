"""What the text before the cursor is in the middle of typing, for completion.

The caller (the filter input) offers the candidates: field names (`FIELD_NAMES`), custom value
names, or the values seen of a field. Completing replaces `text[start:cursor]` with the
candidate as `format_value` (a field's value) or `format_key` (a custom value's name) writes it,
quoted when it must be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from buildwatch.core.query.parse import KEYED_FIELD

CompletionKind = Literal["field", "key", "value"]
"""`field`: a field name (or a bare word: the same letters); `key`: a custom value's name after
`value:`; `value`: a value of `field`."""

_SPACE = re.compile(r"\s")
_FIELD_SO_FAR = re.compile(r"[-!]?([A-Za-z][A-Za-z0-9_]*)?")
_VALUE_SO_FAR = re.compile(
    r"[-!]?([A-Za-z][A-Za-z0-9_]*)(?::(?:\"(?:[^\"\\]|\\.)*\"|[^\s:=~<>\"]*))?(>=|<=|[:=~<>])(.*)",
    re.DOTALL,
)


@dataclass(frozen=True)
class Completion:
    """What is being typed at the cursor: a `kind`, for a value the `field` (lower-cased; for
    `value:KEY` the field is `value` and `key` its name), and `prefix`, what of it is typed so
    far (quotes and escapes removed), which starts at `start` in the text."""

    kind: CompletionKind
    prefix: str
    start: int
    field: str | None = None
    key: str | None = None


def completion_at(text: str, cursor: int) -> Completion | None:
    """What the cursor at `cursor` (an offset into `text`) is completing; None inside a quoted
    bare word, where nothing is offered."""
    start = _term_start(text, cursor)
    typed = text[start:cursor]
    value = _VALUE_SO_FAR.fullmatch(typed)
    if value is not None:
        field_name, so_far, at = value.group(1).lower(), value.group(3), start + value.start(3)
        key = None
        if field_name == KEYED_FIELD:
            key_text = typed[value.end(1) + 1 : value.start(2)]
            if not key_text and value.group(2) == ":":  # `value:CI j`: the name is being typed
                return Completion("key", _unquoted(so_far), at, KEYED_FIELD)
            key = _unquoted(key_text) if key_text else None
        return Completion("value", _unquoted(so_far), at, field_name, key)
    name = _FIELD_SO_FAR.fullmatch(typed)
    if name is not None:
        begin = name.start(1) if name.group(1) is not None else len(typed)
        return Completion("field", name.group(1) or "", start + begin)
    return None


def _term_start(text: str, cursor: int) -> int:
    """Where the term the cursor is in begins: after the last space outside quotes."""
    start, quoted, escaped = 0, False, False
    for at, char in enumerate(text[:cursor]):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and _SPACE.match(char):
            start = at + 1
    return start


def _unquoted(text: str) -> str:
    """What a value typed so far says: an opening quote and escapes removed."""
    if not text.startswith('"'):
        return text
    body = text[1:-1] if len(text) > 1 and text.endswith('"') and not text.endswith('\\"') else text[1:]
    return re.sub(r'\\(["\\])', r"\1", body)
