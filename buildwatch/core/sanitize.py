"""The one place where text from a server is made safe to put on a terminal.

Build logs, event payloads, target labels, user names and tags are written by whoever can push a
commit. Neither Rich nor Textual strips escape sequences, so an OSC 52 in a log line would write
the user's clipboard, a CSI 6n would make the terminal type into the app, an OSC 8 would hide a
link. Every string that came over the network passes through here, after JSON decoding and before
it becomes a `Text`, a table cell or stdout on a terminal.
"""

from __future__ import annotations

import re

_CONTROL_SEQUENCE = re.compile(
    # OSC, DCS, SOS, PM and APC (7- and 8-bit), up to their terminator or the end of the line:
    # an unterminated one must not swallow the lines after it.
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    # CSI (7- and 8-bit) with its parameters and final byte.
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    # Every other ESC form (ESC c, ESC 7, charset selection, ...).
    r"|\x1b[ -/]*[0-~]?"
    # Remaining C0 controls but TAB and LF, DEL, and C1 controls.
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
)
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_NEEDS_WORK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"\r\n?")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_WHITESPACE = re.compile(r"[\t\n]+")


def _keep_sgr_only(match: re.Match[str]) -> str:
    sequence = match.group(0)
    return sequence if _SGR.fullmatch(sequence) else ""


def sanitize(text: str, keep_sgr: bool = False) -> str:
    """Remove every escape sequence and control character except TAB and LF.

    A carriage return becomes a line break, so a progress line cannot hide the error it
    overwrites. With `keep_sgr`, SGR colour sequences (`ESC [ ... m`) survive so the caller can
    render colours; nothing else does, OSC 8 hyperlinks included.
    """
    if not _NEEDS_WORK.search(text):
        return text
    text = _LINE_BREAKS.sub("\n", text)
    if keep_sgr:
        return _CONTROL_SEQUENCE.sub(_keep_sgr_only, text)
    return _CONTROL_SEQUENCE.sub("", text)


def sanitize_line(text: str) -> str:
    """Make a one-line field (label, user, tag, task path) safe and unambiguous.

    Besides `sanitize`, line breaks and tabs become single spaces and bidirectional overrides and
    zero-width characters are dropped, so two different names cannot be made to look alike.
    """
    cleaned = _INVISIBLE.sub("", sanitize(text))
    return _WHITESPACE.sub(" ", cleaned) if "\n" in cleaned or "\t" in cleaned else cleaned
