"""Hostile server strings reach the terminal as harmless text: the app's real output bytes.

A server sends OSC 0/2 titles, OSC 52 clipboard writes, OSC 8 links, CSI 6n queries, cursor
moves, screen clears, DCS, 8-bit CSI, Rich markup, invalid UTF-8 and a 1 MB line in every field
the screens show: build events, task and test names, user names, tags, target labels, logs and
files. The app runs on a real pseudo-terminal and every byte it writes is checked.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import hostile_server
import pytest
from hostile_server import HOSTILE_SHOWN
from terminal import PtyProcess, crumb, focused_row

pytestmark = pytest.mark.timeout(90)

SCRIPT = Path(__file__).parent / "hostile_app.py"
ENTER = b"\r"
FILE_URI = b"bytestream://hostile/blobs/"


@contextmanager
def screen(which: str, first: bytes, env: dict[str, str] | None = None) -> Iterator[PtyProcess]:
    """One drill-down screen on the hostile server, on a pty, once it shows `first`; quit at
    the end, its whole output read."""
    command = [sys.executable, str(SCRIPT), which]
    environment = {"TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none", **(env or {})}
    with PtyProcess(command, environment, size=(40, 160)) as app:
        app.read_until(first)
        yield app
        app.send(b"q")
        assert app.wait() == 0


def assert_harmless(output: bytes) -> None:
    hostile_server.assert_harmless(output, HOSTILE_SHOWN.encode())


def test_the_build_screen_writes_no_escape_sequence_from_the_server() -> None:
    with screen("build", b" events") as app:
        for key, tab in ((b"2", "Tasks"), (b"3", "Tests"), (b"4", "Events"), (b"5", "Console"),
                         (b"1", "Summary")):
            app.answer(key, crumb(tab))
        output = bytes(app.output)
    assert_harmless(output)


def test_the_invocation_screen_writes_no_escape_sequence_from_the_server() -> None:
    with screen("invocation", b"//evil:") as app:
        app.answer(b"3", b"ERROR: ")
        app.answer(b"G", b"following")
        app.answer(b"1", focused_row(b"//evil:"))
        app.answer(ENTER, b"Actions of //evil:")
        app.read_until(focused_row(rb"YQ +evil"))
        app.answer(ENTER, FILE_URI)
        output = bytes(app.output)
    assert_harmless(output)


def test_the_file_viewer_writes_no_escape_sequence_from_the_server() -> None:
    with screen("file", FILE_URI) as app:
        app.read_until(b"sha256 verified")
        app.answer(b"G", b"following")
        output = bytes(app.output)
    assert_harmless(output)


def test_p_hands_the_log_to_the_pager_with_the_app_suspended(tmp_path: Path) -> None:
    copy = tmp_path / "paged.txt"
    pager = f"{sys.executable} -c \"import shutil, sys; shutil.copy(sys.argv[1], {str(copy)!r})\""
    with screen("file", FILE_URI, {"PAGER": pager}) as app:
        app.read_until(b"sha256 verified")
        # Back from the pager, the app draws its whole screen again.
        app.answer(b"p", FILE_URI)
    text = copy.read_text(encoding="utf-8")
    assert "[bold red]FAKE[/]" in text and "bad utf-8: \ufffd" in text
    assert "\x1b]" not in text and "\x1b[6n" not in text
