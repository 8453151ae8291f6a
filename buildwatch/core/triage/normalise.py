"""Failure messages reduced to what stays the same each time the same thing fails.

Two runs of one broken test rarely fail with the same bytes: the message names a temporary
directory, a port, a timestamp, an object's identity hash, a duration. `normalise` masks those,
so that a build failure known by nothing finer than its exception and message still groups with
its earlier occurrences, and so that a headline stays short and readable.

What is masked, in this order (an earlier mask keeps a later one from eating its parts):

- `<file>`: a `file:` URL (Gradle's "See the report at: file:///home/ci/...");
- `<tmp>`: a path under a temporary directory (`/tmp/...`, macOS's `/var/folders/...`,
  `C:\\Users\\...\\AppData\\Local\\Temp\\...`) or a Bazel output base
  (`.../_bazel_ci/8f3e.../execroot/...`);
- `<uuid>`: a UUID;
- `<time>`: an ISO date-time (`2026-12-02T03:04:05.123Z`), a date, a clock time (`03:04:05`);
- `<host>:<port>`: an IP address, and a port after it or after `localhost`;
- `<hex>`: `0x...`, an identity hash after `@` (`Foo@1b6d3586`), and a run of 7 or more hex
  digits holding both digits and letters (commits, digests);
- `<id>`: a lower-case token of 8 or more letters and digits, 3 or more of them digits (build
  scan ids, generated names);
- `#`: a number not glued to a letter, digit or dot before it (`took 1500ms` is `took #ms`;
  `Sha256`, `x86_64` and `v1.2` stay).

Whitespace (line breaks included) collapses to single spaces and the result is cut to
`HEADLINE_LIMIT` characters. The text is sanitised first: what comes out is safe to print.
"""

from __future__ import annotations

import re

from buildwatch.core.sanitize import sanitize_line

HEADLINE_LIMIT = 160
"""Characters a normalised headline keeps; a longer one ends in `…`."""

_PATH_CHARS = r"[^\s'\"`,;()\[\]<>]*"
_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bfile:" + _PATH_CHARS, re.IGNORECASE), "<file>"),
    (
        re.compile(
            r"(?<![\w.])(?:/private)?(?:/var/folders/" + _PATH_CHARS
            + r"|/(?:var/)?tmp\b(?:/" + _PATH_CHARS + r")?)"
            + r"|[A-Za-z]:\\Users\\[^\\\s]+\\AppData\\Local\\Temp(?:\\" + _PATH_CHARS + r")?"
            + r"|[A-Za-z]:\\(?:Windows\\)?Temp(?:\\" + _PATH_CHARS + r")?"
            + r"|" + _PATH_CHARS + r"/_bazel_[^/\s]+/[0-9a-f]{32}" + _PATH_CHARS,
            re.IGNORECASE,
        ),
        "<tmp>",
    ),
    (
        re.compile(
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE
        ),
        "<uuid>",
    ),
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?\b"
            r"|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"
        ),
        "<time>",
    ),
    (
        re.compile(
            r"\b(?:localhost|\d{1,3}(?:\.\d{1,3}){3})(?=:\d)|\[[0-9a-f:]*:[0-9a-f:]*\](?=:\d)",
            re.IGNORECASE,
        ),
        "<host>",
    ),
    (re.compile(r"(?<=<host>):\d{1,5}\b"), ":<port>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"), "<host>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.IGNORECASE), "<hex>"),
    (re.compile(r"(?<=[\w$]@)[0-9a-f]{4,16}\b", re.IGNORECASE), "<hex>"),
    (
        re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,}\b", re.IGNORECASE),
        "<hex>",
    ),
    (re.compile(r"\b(?=(?:[a-z]*\d){3})(?=[0-9]*[a-z])[a-z0-9]{8,}\b"), "<id>"),
    (re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*"), "#"),
)
_WHITESPACE = re.compile(r"\s+")


def normalise(text: str, limit: int = HEADLINE_LIMIT) -> str:
    """`text` with what changes between occurrences of one failure masked (see the module's
    table), on one line, at most `limit` characters."""
    result = sanitize_line(text)
    for pattern, mask in _MASKS:
        result = pattern.sub(mask, result)
    result = _WHITESPACE.sub(" ", result).strip()
    if len(result) > limit:
        result = result[: limit - 1].rstrip() + "…"
    return result


def build_failure_name(class_name: str | None, message: str | None) -> str:
    """The name of a `build` failure: its exception class, a colon and its normalised message
    (`java.lang.IllegalStateException: port # in use`); either alone when the other is not
    known, `unknown failure` when neither is."""
    parts = [
        part
        for part in (sanitize_line(class_name or "").strip(), normalise(message or ""))
        if part
    ]
    return ": ".join(parts) or "unknown failure"
