"""Hostile server strings reach the terminal as harmless text: the app's real output bytes.

A server sends OSC 0/2 titles, OSC 52 clipboard writes, OSC 8 links, CSI 6n queries, cursor
moves, screen clears, DCS, 8-bit CSI, Rich markup, invalid UTF-8 and a 1 MB line in every field
the screens show: build events, task and test names, user names, tags, target labels, logs and
files. The app runs on a real pseudo-terminal and every byte it writes is checked.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hostile_server
import pytest
from hostile_server import HOSTILE_SHOWN
from terminal import run_in_pty

pytestmark = pytest.mark.timeout(90)

SCRIPT = Path(__file__).parent / "hostile_app.py"
SETTLE = 2.0
STEP = 0.5


def run(which: str, keys: list[tuple[float, bytes]], env: dict[str, str] | None = None) -> bytes:
    return run_in_pty([sys.executable, str(SCRIPT), which], keys,
                      {"TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none", **(env or {})},
                      timeout=30, size=(40, 160))


def assert_harmless(output: bytes) -> None:
    hostile_server.assert_harmless(output, HOSTILE_SHOWN.encode())


def test_the_build_screen_writes_no_escape_sequence_from_the_server() -> None:
    keys = [(SETTLE, b"2"), (STEP, b"3"), (STEP, b"4"), (STEP, b"5"), (STEP, b"1"), (STEP, b"q")]
    assert_harmless(run("build", keys))


def test_the_invocation_screen_writes_no_escape_sequence_from_the_server() -> None:
    keys = [(SETTLE, b"3"), (STEP, b"G"), (STEP, b"1"), (STEP, b"\r"), (1.0, b"\r"), (1.0, b"q")]
    assert_harmless(run("invocation", keys))


def test_the_file_viewer_writes_no_escape_sequence_from_the_server() -> None:
    assert_harmless(run("file", [(SETTLE, b"G"), (STEP, b"g"), (STEP, b"q")]))


def test_p_hands_the_log_to_the_pager_with_the_app_suspended(tmp_path: Path) -> None:
    copy = tmp_path / "paged.txt"
    pager = f"{sys.executable} -c \"import shutil, sys; shutil.copy(sys.argv[1], {str(copy)!r})\""
    run("file", [(SETTLE, b"p"), (1.0, b"q")], {"PAGER": pager})
    text = copy.read_text(encoding="utf-8")
    assert "[bold red]FAKE[/]" in text and "bad utf-8: \ufffd" in text
    assert "\x1b]" not in text and "\x1b[6n" not in text
