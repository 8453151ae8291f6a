"""Copy text to the clipboard of the terminal the user sits at, over SSH and through tmux.

OSC 52 asks the terminal itself to set its clipboard, so it reaches the laptop over SSH. tmux
swallows it unless it is wrapped in a DCS passthrough (and `allow-passthrough` is on), which
Textual's `copy_to_clipboard` does not do.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import App

from buildwatch.core.terminal_sequences import for_terminal, inside_tmux, osc52
from buildwatch.tui.terminal_output import write_sequence


def clipboard_sequence(text: str, environment: Mapping[str, str]) -> str:
    """What to write to the terminal to copy `text`, given the process environment."""
    return for_terminal(osc52(text), environment)


def copy_text(app: App[object], text: str, environment: Mapping[str, str]) -> None:
    """Copy `text` through the app's terminal (and into the app's own clipboard for pasting)."""
    app.copy_to_clipboard(text)
    if inside_tmux(environment):
        # copy_to_clipboard wrote the bare sequence, which tmux drops; write it again wrapped.
        write_sequence(app, clipboard_sequence(text, environment))
