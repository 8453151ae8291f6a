"""Logging that never shows a secret, and the `--debug` switch that turns the wire logs on.

`--debug` sends the DEBUG records of buildwatch, httpx (one line per request, full URL) and
httpcore (connection events, response headers as lists of byte tuples) to stderr, or with
`--debug-file` to a file, which is the way to watch them beside the full-screen UI. Everything the
handler writes passes `redact` first: it masks the values of credential headers in every shape
those libraries print them (`Name: value` lines, `(b'name', b'value')` tuples, `{'name': 'value'}`
dicts), and every secret registered with `register_secret`, raw, escaped as `repr` shows it, or
inside base64 (the Develocity client may send its token encoded, and basic auth encodes
`user:password`, whose encoding contains no encoding of the password alone).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
import sys
import threading
from pathlib import Path

MASK = "****"

_HEADER_NAMES = r"(?:proxy-)?authorization|x-buildbuddy-api-key|(?:set-)?cookie"
_QUOTED_HEADER = re.compile(
    rf"(?P<head>['\"](?:{_HEADER_NAMES})['\"]\s*[,:]\s*b?)(?P<quote>['\"])"
    r"(?:\\.|(?!(?P=quote)).)*(?P=quote)",
    re.IGNORECASE,
)
"""A header inside a tuple or dict repr: `(b'Authorization', b'Bearer x')`, `{'cookie': 'x'}`."""
_HEADER_LINE = re.compile(
    rf"(?P<head>(?<![\w-])(?:{_HEADER_NAMES})[ \t]*:[ \t]*)[^\r\n]+", re.IGNORECASE
)
"""A header as it goes on the wire: `Authorization: Bearer x`, to the end of the line."""
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{8,}={0,2}")

_WIRE_LOGGERS = ("httpx", "httpcore")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_literals: tuple[str, ...] = ()


def register_secret(value: str) -> None:
    """Make `redact` mask `value` from now on, in this process."""
    global _secrets, _literals
    if not value or value in _secrets:
        return
    with _lock:
        _secrets = _secrets | {value}
        forms = {
            form
            for secret in _secrets
            for form in (
                secret,
                repr(secret)[1:-1],
                repr(secret.encode())[2:-1],
                base64.b64encode(secret.encode()).decode(),
            )
        }
        # Longest first, so a secret that contains another is masked whole.
        _literals = tuple(sorted(forms, key=len, reverse=True))


def redact(text: str) -> str:
    """`text` with credential header values and registered secrets replaced by `****`."""
    text = _QUOTED_HEADER.sub(rf"\g<head>\g<quote>{MASK}\g<quote>", text)
    text = _HEADER_LINE.sub(rf"\g<head>{MASK}", text)
    secrets, literals = _secrets, _literals
    if not secrets:
        return text
    for literal in literals:
        text = text.replace(literal, MASK)
    return _BASE64_RUN.sub(lambda run: _masked_if_encodes_secret(run.group(), secrets), text)


def configure_logging(debug: bool, file: Path | None = None) -> None:
    """Send buildwatch's, httpx's and httpcore's records to stderr (or `file`), redacted.

    With `debug` or a `file`, everything from DEBUG up; otherwise warnings only: httpx's INFO
    lines carry full URLs and httpcore's DEBUG lines carry response headers. The file is
    appended to and readable by its owner only. Calling it again replaces the previous set-up
    instead of doubling every line. Raises `OSError` if the file cannot be opened.
    """
    handler = _CurrentStderrHandler() if file is None else _private_file_handler(file)
    handler.setFormatter(RedactingFormatter(_FORMAT))
    level = logging.DEBUG if debug or file is not None else logging.WARNING
    for name in ("buildwatch", *_WIRE_LOGGERS):
        logger = logging.getLogger(name)
        for previous in [h for h in logger.handlers if isinstance(h, _OURS)]:
            logger.removeHandler(previous)
            previous.close()
        logger.addHandler(handler)
        logger.setLevel(level)
        # Handlers further up (the root's) would write the record without redaction.
        logger.propagate = False


class RedactingFormatter(logging.Formatter):
    """A formatter whose whole output (message, arguments, traceback) has passed `redact`."""

    def format(self, record: logging.LogRecord) -> str:
        """The formatted record, redacted."""
        return redact(super().format(record))


class _CurrentStderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time of the record.

    A full-screen UI redirects `sys.stderr` while it runs; a handler holding the terminal's
    stream would paint log lines over the screen.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def _private_file_handler(path: Path) -> logging.FileHandler:
    # Created owner-only before logging opens it: even masked, the lines name servers and builds.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    return logging.FileHandler(path, encoding="utf-8")


_OURS = (_CurrentStderrHandler, logging.FileHandler)
"""The handler types `configure_logging` installs, and so replaces."""


def _masked_if_encodes_secret(run: str, secrets: frozenset[str]) -> str:
    try:
        decoded = base64.b64decode(run + "=" * (-len(run) % 4), validate=True)
    except (binascii.Error, ValueError):
        return run
    text = decoded.decode("utf-8", "replace")
    return MASK if any(secret in text for secret in secrets) else run
