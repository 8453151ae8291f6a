"""The escape sequences buildwatch itself sends to the terminal the user sits at: OSC 52 to copy,
and OSC 9, OSC 777 and OSC 99 to raise a desktop notification, wrapped for tmux when inside it.

These reach the laptop over SSH, where a process on the server cannot. Text from a server goes
into a notification's title and body, so every field is first made one harmless line
(`notification_field`): the sanitiser takes out ESC, BEL, ST and every other control, and the
`;` that separates OSC 777's fields (and OSC 9's, for terminals that read OSC 9's subcommands) is
replaced, so a build's name can neither end the sequence nor start another.

    ESC ] 9 ; text BEL                          OSC 9: iTerm2, WezTerm, Windows Terminal, Ghostty, kitty
    ESC ] 777 ; notify ; title ; body BEL       OSC 777: foot, Ghostty, rxvt-unicode, WezTerm
    ESC ] 99 ; i=ID:d=0 ; title ESC \\           OSC 99: kitty; the title, held until the body
    ESC ] 99 ; i=ID:p=body ; body ESC \\         comes with the same id (d=1 by default: done)
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from buildwatch.core.sanitize import sanitize_line

BEL = "\x07"
ST = "\x1b\\"
"""The string terminator, which kitty's OSC 99 is specified with."""
FIELD_SEPARATOR = ";"
SEPARATOR_STAND_IN = ","
"""What a `;` in a notification's text becomes."""
TITLE_CHARACTERS = 120
BODY_CHARACTERS = 400
"""The longest title and body sent, in characters: kitty takes at most 2048 bytes of UTF-8 per
payload, and a notification is read at a glance."""


def notification_field(text: str, limit: int) -> str:
    """`text` as one field of a notification sequence: sanitised to one line (no ESC, BEL, ST,
    C1 or other control), without the `;` that separates fields, valid UTF-8 (a lone surrogate
    from a server's JSON becomes `?`), and at most `limit` characters (cut with `…`)."""
    line = sanitize_line(text).replace(FIELD_SEPARATOR, SEPARATOR_STAND_IN)
    line = line.encode("utf-8", "replace").decode("utf-8")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def osc9(text: str) -> str:
    """OSC 9: a notification of one text (iTerm2's form; the terminal names the app)."""
    return f"\x1b]9;{text}{BEL}"


def osc777(title: str, body: str) -> str:
    """OSC 777 `notify`: a notification with a title and a body (rxvt-unicode's form)."""
    return f"\x1b]777;notify;{title};{body}{BEL}"


def osc99(title: str, body: str, identifier: str) -> str:
    """kitty's OSC 99: the title, not yet shown (`d=0`), then the body with the same id, which
    completes the notification. `identifier` holds only `[a-zA-Z0-9_+.-]`."""
    return f"\x1b]99;i={identifier}:d=0;{title}{ST}\x1b]99;i={identifier}:p=body;{body}{ST}"


def osc52(text: str) -> str:
    """The OSC 52 sequence that sets the clipboard to `text`."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"\x1b]52;c;{payload}{BEL}"


def tmux_passthrough(sequence: str) -> str:
    """`sequence` wrapped so tmux hands it to the outer terminal (every ESC doubled)."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + ST


def inside_tmux(environment: Mapping[str, str]) -> bool:
    """Whether the process runs inside tmux, which swallows OSC sequences it is not given in
    its passthrough (and passes those on only with `allow-passthrough` on)."""
    return bool(environment.get("TMUX"))


def for_terminal(sequence: str, environment: Mapping[str, str]) -> str:
    """`sequence` as written to the terminal: wrapped for tmux when inside it."""
    return tmux_passthrough(sequence) if inside_tmux(environment) else sequence
