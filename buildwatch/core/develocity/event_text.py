"""How a build event reads as text: one line in a list (`buildwatch events` and the build screen's
Events tab print the same), and in full, its JSON followed by its multi-line texts as they print.

Both are sanitised here, so neither caller can forget to.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import msgspec

from buildwatch.core.develocity.models import MalformedMessageError, decode_object
from buildwatch.core.sanitize import sanitize, sanitize_line

BRIEF_WIDTH = 120
"""Characters of an event's one-line account."""
_ENTITY_ID_FLOOR = 10**13
"""Entity ids are random signed 64-bit numbers, nearly all beyond this; a count, a duration and
a time in epoch milliseconds (until the year 2286) stay below it."""


def event_brief(data: Mapping[str, object], width: int = BRIEF_WIDTH) -> str:
    """A short, safe, one-line account of an event's data.

    Console output reads as its text; exception data as its first exception; anything else as
    its plain fields, `name=value`, with a true flag by its name and a list of texts joined.
    """
    spans = data.get("spans")
    if isinstance(spans, list):
        text = "".join(str(span.get("text", "")) for span in spans if isinstance(span, dict))
        return _one_line(text, width)
    exceptions = data.get("exceptions")
    if isinstance(exceptions, dict):
        # The Export API keys the table by exception id; it holds the causes too.
        exceptions = list(exceptions.values())
    if isinstance(exceptions, list) and exceptions and isinstance(exceptions[0], dict):
        first = exceptions[0]
        head = f"{first.get('className') or 'exception'}: {first.get('message') or ''}".strip()
        more = f" (+{len(exceptions) - 1} more)" if len(exceptions) > 1 else ""
        return _one_line(head + more, width)
    parts: list[str] = []
    references: list[str] = []
    for key, value in data.items():
        if isinstance(value, bool):
            if value:
                parts.append(key)
        elif isinstance(value, (str, int, float)):
            # Ids tie events together but say little to a reader: they come last.
            is_reference = isinstance(value, int) and (
                key == "id" or key.endswith("Id") or abs(value) >= _ENTITY_ID_FLOOR)
            (references if is_reference else parts).append(f"{key}={value}")
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            parts.append(f"{key}={','.join(value)}")
    return _one_line(" ".join(parts + references), width)


def _one_line(text: str, width: int) -> str:
    """`text` made safe, its line breaks and runs of spaces one space each, cut to `width`."""
    return " ".join(sanitize_line(text).split())[:width]


def event_detail(source: bytes) -> str:
    """An event in full: its JSON, indented, then each of its texts that spans several lines
    (a failure message, a stack trace, console output) under its path, as it prints."""
    text = msgspec.json.format(source, indent=2).decode("utf-8", "replace")
    try:
        decoded: object = decode_object(source)
    except MalformedMessageError:
        decoded = None
    blocks = [f"\n{path}:\n" + "".join(f"  {line}\n" for line in value.rstrip("\n").split("\n"))
              for path, value in _multi_line_texts(decoded, "")]
    return sanitize(text + "\n" + "".join(blocks))


def _multi_line_texts(value: object, path: str) -> Iterator[tuple[str, str]]:
    """The strings within a decoded JSON value that hold a line break, with their paths."""
    if isinstance(value, str):
        if "\n" in value.rstrip("\n"):
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _multi_line_texts(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _multi_line_texts(item, f"{path}[{index}]")
