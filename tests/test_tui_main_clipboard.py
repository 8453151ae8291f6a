"""Copying over SSH and through tmux: the bytes written to the terminal."""

from __future__ import annotations

import base64

from buildwatch.core.terminal_sequences import osc52, tmux_passthrough
from buildwatch.tui.clipboard import clipboard_sequence


def test_osc52_carries_the_text_base64_encoded() -> None:
    sequence = osc52("5fz4xsdoq2gbs")
    assert sequence.startswith("\x1b]52;c;") and sequence.endswith("\x07")
    assert base64.b64decode(sequence[7:-1]).decode() == "5fz4xsdoq2gbs"


def test_outside_tmux_the_sequence_is_sent_bare() -> None:
    assert clipboard_sequence("x", {}) == osc52("x")


def test_inside_tmux_the_sequence_is_wrapped_for_passthrough() -> None:
    wrapped = clipboard_sequence("x", {"TMUX": "/tmp/tmux-0/default,1,0"})
    assert wrapped == tmux_passthrough(osc52("x"))
    assert wrapped.startswith("\x1bPtmux;\x1b\x1b]52;c;")
    assert wrapped.endswith("\x1b\\")
