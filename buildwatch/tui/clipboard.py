"""Copy text to the clipboard of the terminal the user sits at, over SSH and through tmux.

OSC 52 asks the terminal itself to set its clipboard, so it reaches the laptop over SSH. tmux
swallows it unless it is wrapped in a DCS passthrough (and `allow-passthrough` is on), which
Textual's `copy_to_clipboard` does not do.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from textual.app import App


def osc52(text: str) -> str:
    """The OSC 52 sequence that sets the clipboard to `text`."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"\x1b]52;c;{payload}\x07"


def tmux_passthrough(sequence: str) -> str:
    """`sequence` wrapped so tmux hands it to the outer terminal (every ESC doubled)."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def clipboard_sequence(text: str, environment: Mapping[str, str]) -> str:
    """What to write to the terminal to copy `text`, given the process environment."""
    sequence = osc52(text)
    return tmux_passthrough(sequence) if environment.get("TMUX") else sequence


def copy_text(app: App[object], text: str, environment: Mapping[str, str]) -> None:
    """Copy `text` through the app's terminal (and into the app's own clipboard for pasting)."""
    app.copy_to_clipboard(text)
    if environment.get("TMUX"):
        # copy_to_clipboard wrote the bare sequence, which tmux drops; write it again wrapped.
        # Textual offers no public way to write raw bytes to the terminal.
        driver = app._driver
        if driver is not None:
            driver.write(clipboard_sequence(text, environment))
