"""The sequences buildwatch writes to the terminal itself: desktop notifications (OSC 9, OSC 777,
kitty's OSC 99), the clipboard (OSC 52), tmux's passthrough, and the fields a server's text
becomes inside them."""

from __future__ import annotations

import re

import pytest
from test_sanitize import HOSTILE

from buildwatch.core.terminal_sequences import (
    for_terminal,
    notification_field,
    osc9,
    osc99,
    osc777,
    tmux_passthrough,
)

SEPARATOR_TRAPS = {
    "a semicolon, OSC 777's separator": "a;b",
    "an OSC 777 of its own": "a\x1b]777;notify;PWNED;x\x07b",
    "an OSC 9 of its own": "a\x1b]9;PWNED\x07b",
    "an OSC 99 of its own": "a\x1b]99;;PWNED\x1b\\b",
    "a bare BEL": "a\x07b",
    "a bare ST": "a\x1b\\b",
    "an 8-bit ST": "a\x9cb",
    "an ESC ending a line": "a\x1b\nb",
    "a tmux passthrough of its own": "a\x1bPtmux;\x1b\x1b]52;c;ZXZpbA==\x07\x1b\\b",
    "a line break": "a\r\nb",
}
"""Text that would end a notification's field or sequence, or start another sequence."""
TRAPS = {**HOSTILE, **SEPARATOR_TRAPS}
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f;]")

ONE_OSC9 = re.compile(r"\x1b\]9;[^\x00-\x1f\x7f-\x9f;]*\x07")
ONE_OSC777 = re.compile(r"\x1b\]777;notify;[^\x00-\x1f\x7f-\x9f;]*;[^\x00-\x1f\x7f-\x9f;]*\x07")
ONE_OSC99 = re.compile(
    r"\x1b\]99;i=n1:d=0;[^\x00-\x1f\x7f-\x9f;]*\x1b\\\x1b\]99;i=n1:p=body;[^\x00-\x1f\x7f-\x9f;]*\x1b\\"
)


@pytest.mark.parametrize("text", TRAPS.values(), ids=TRAPS.keys())
def test_a_field_holds_no_control_character_and_no_separator(text: str) -> None:
    field = notification_field(text, 100)
    assert not CONTROLS.search(field)
    assert field.startswith("a") and field.endswith("b")


@pytest.mark.parametrize("text", TRAPS.values(), ids=TRAPS.keys())
def test_a_field_made_of_hostile_text_stays_inside_its_one_sequence(text: str) -> None:
    field = notification_field(text, 100)
    assert ONE_OSC9.fullmatch(osc9(field))
    assert ONE_OSC777.fullmatch(osc777(field, field))
    assert ONE_OSC99.fullmatch(osc99(field, field, "n1"))


def test_a_semicolon_becomes_a_comma_and_the_text_around_it_is_kept() -> None:
    assert notification_field("compileJava; test", 100) == "compileJava, test"


def test_a_lone_surrogate_from_json_becomes_a_question_mark_so_the_field_encodes() -> None:
    field = notification_field("a\ud800b", 100)
    assert field == "a?b"
    field.encode("utf-8")


def test_a_long_field_is_cut_to_its_limit_with_an_ellipsis() -> None:
    assert notification_field("x" * 50, 10) == "x" * 9 + "…"
    assert notification_field("x" * 10, 10) == "x" * 10


def test_osc9_is_the_text_between_the_introducer_and_bel() -> None:
    assert osc9("Build failed: app") == "\x1b]9;Build failed: app\x07"


def test_osc777_notify_carries_the_title_then_the_body() -> None:
    assert osc777("Build failed: app", ":test") == "\x1b]777;notify;Build failed: app;:test\x07"


def test_osc99_sends_the_title_held_back_then_the_body_that_completes_it() -> None:
    assert osc99("Build failed: app", ":test", "n1") == (
        "\x1b]99;i=n1:d=0;Build failed: app\x1b\\"
        "\x1b]99;i=n1:p=body;:test\x1b\\"
    )


def test_inside_tmux_a_sequence_is_wrapped_with_every_escape_doubled() -> None:
    sequence = osc99("t", "b", "n1")
    wrapped = for_terminal(sequence, {"TMUX": "/tmp/tmux-1000/default,42,0"})
    assert wrapped == tmux_passthrough(sequence) == (
        "\x1bPtmux;"
        "\x1b\x1b]99;i=n1:d=0;t\x1b\x1b\\"
        "\x1b\x1b]99;i=n1:p=body;b\x1b\x1b\\"
        "\x1b\\"
    )


def test_outside_tmux_a_sequence_is_written_as_it_is() -> None:
    assert for_terminal(osc9("x"), {"TERM": "xterm-kitty", "TMUX": ""}) == osc9("x")
