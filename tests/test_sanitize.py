"""Hostile text from servers reaches the terminal without any escape sequence but colour."""

from __future__ import annotations

import pytest

from buildwatch.core.sanitize import sanitize, sanitize_line

HOSTILE = {
    "osc52 clipboard, BEL-terminated": "a\x1b]52;c;ZWNobyBwd25lZA==\x07b",
    "osc52 clipboard, ST-terminated": "a\x1b]52;c;ZWNobyBwd25lZA==\x1b\\b",
    "osc0 window title": "a\x1b]0;you have been pwned\x07b",
    "osc2 window title": "a\x1b]2;title\x1b\\b",
    "osc8 hyperlink": "a\x1b]8;;https://evil.example\x1b\\b\x1b]8;;\x1b\\",
    "dcs passthrough": "a\x1bPtmux;\x1b\x1b]52;c;eA==\x07\x1b\\b",
    "apc": "a\x1b_payload\x1b\\b",
    "pm and sos": "a\x1b^pm\x1b\\\x1bXsos\x1b\\b",
    "csi clear screen and home": "a\x1b[2J\x1b[Hb",
    "csi cursor up": "a\x1b[3Ab",
    "csi device status report": "a\x1b[6nb",
    "reset terminal": "a\x1bcb",
    "c1 csi": "a\x9b6nb",
    "c1 osc": "a\x9d0;title\x9cb",
    "bell and backspace": "a\x07\x08b",
}
FORBIDDEN = ("\x1b", "\x9b", "\x9d", "\x9c", "\x07", "\x08")


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_escape_sequences_are_removed_and_visible_text_kept(text: str) -> None:
    assert sanitize(text) == "ab"


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_keeping_colour_still_removes_every_other_sequence(text: str) -> None:
    assert not any(char in sanitize(text, keep_sgr=True) for char in FORBIDDEN)


def test_sgr_colour_is_kept_only_when_asked() -> None:
    text = "\x1b[31mERROR\x1b[0m: boom"
    assert sanitize(text, keep_sgr=True) == text
    assert sanitize(text) == "ERROR: boom"


def test_unterminated_osc_does_not_swallow_the_next_line() -> None:
    assert sanitize("one\x1b]0;title never ends\ntwo\n") == "one\ntwo\n"


def test_carriage_return_cannot_hide_an_error_line() -> None:
    assert sanitize("ERROR: disk full\rOK") == "ERROR: disk full\nOK"
    assert sanitize("line\r\n") == "line\n"


def test_plain_text_and_markup_like_brackets_are_untouched() -> None:
    text = "[bold red]not markup[/] arr[0] [link=https://x]y[/link]\ttab"
    assert sanitize(text) == text


def test_json_decoded_escapes_are_removed() -> None:
    import json

    decoded = json.loads('"x\\u001b]52;c;eA==\\u0007y"')
    assert sanitize(decoded) == "xy"


def test_one_line_fields_lose_line_breaks_and_invisible_characters() -> None:
    assert sanitize_line("//pkg:te\u202est\u200b\nsecond\tthird") == "//pkg:test second third"
