"""Checking the ids a user or a server hands to a client before they become part of a request.

Develocity puts a build id in the URL path (`/build/<id>/events`): an id of `..` would make the
request name another resource once the URL is normalised, and a 100,000-character one is not a
URL at all. BuildBuddy ids travel in a JSON body, where neither can do harm, but an id that no
server ever issues only earns a confusing answer. So every id is checked once, in the client that
sends it (which protects the command line and the app alike), and refused with one line.
"""

from __future__ import annotations

import re

from buildwatch.core.errors import ConfigError
from buildwatch.core.sanitize import sanitize_line

MAX_ID_LENGTH = 256
"""Longer than any id either server issues (Develocity's are 13 characters, BuildBuddy's UUIDs
36, target ids a label of at most a few hundred); a file URI gets `MAX_URI_LENGTH`."""
MAX_URI_LENGTH = 4096

# What a URL path treats specially (`/ ? # %`, and `\\`, which some servers read as `/`),
# whitespace and control characters.
_NOT_IN_SEGMENT = re.compile(r"[/?#%\\\s\x00-\x1f\x7f-\x9f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class InvalidIdError(ConfigError):
    """An id or URI given to a client is not one a server could have issued."""


def checked_path_segment(value: str, what: str) -> str:
    """`value` if it can stand alone as one URL path segment; else `InvalidIdError`.

    `what` names the value in the message ("build id").
    """
    if len(value) > MAX_ID_LENGTH:
        raise InvalidIdError(f"{what} is {len(value):,} characters long: not an id")
    if value in ("", ".", "..") or _NOT_IN_SEGMENT.search(value):
        raise InvalidIdError(
            f"{what} {_shown(value)} is not an id: an id is not . or .. and holds no / ? # % \\, "
            "space or control character"
        )
    return value


def checked_text(value: str, what: str, limit: int = MAX_ID_LENGTH) -> str:
    """`value` if it is non-empty text of at most `limit` characters without control characters
    (a target label or a file URI, which may hold `/` and spaces); else `InvalidIdError`."""
    if len(value) > limit:
        raise InvalidIdError(f"{what} is {len(value):,} characters long: too long")
    if not value.strip() or _CONTROL.search(value):
        raise InvalidIdError(f"{what} {_shown(value)} is empty or holds control characters")
    return value


def _shown(value: str) -> str:
    """The value quoted for a message: sanitised and cut short."""
    cleaned = sanitize_line(value)
    return repr(cleaned if len(cleaned) <= 60 else cleaned[:59] + "…")
