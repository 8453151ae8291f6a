"""The real app on a pseudo-terminal, against a server whose ids and strings are hostile.

The server lists a build whose id carries an OSC 0 title, a screen clear, cursor moves, CR LF and
Rich markup, beside a build with a plain id whose every other string is hostile; BuildBuddy has
the same pair of invocations for a watched commit. `python -m buildwatch` runs on a pty, each key
waits for what it should bring on screen, and every byte the app wrote is checked: none of the
server's sequences, and its ids and markup shown as plain text.
"""

from __future__ import annotations

import base64
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hostile_server import (
    HOSTILE_BUILD_ID_SHOWN,
    HOSTILE_INVOCATION_ID_SHOWN,
    HOSTILE_SHOWN,
    WATCHED_COMMIT,
    assert_harmless,
    serve,
)
from terminal import PtyProcess, crumb, focused_row

pytestmark = pytest.mark.timeout(120)

ENTER, ESCAPE, TAB, CTRL_P = b"\r", b"\x1b", b"\t", b"\x10"
MARKUP = HOSTILE_SHOWN.encode()
BUILD_ID = HOSTILE_BUILD_ID_SHOWN.encode()
INVOCATION_ID = HOSTILE_INVOCATION_ID_SHOWN.encode()
BUILDS, INVOCATIONS = b"Develocity builds (published)", b"BuildBuddy invocations"
BUILD_ROWS = re.escape(b"hostilebuild1") + b"|" + re.escape(BUILD_ID)
INVOCATION_ROWS = re.escape(b"0bad0bad-") + b"|" + re.escape(INVOCATION_ID)
CLIPBOARD = re.compile(rb"\x1b\]52;c;([A-Za-z0-9+/=]*)")
"""The app's own OSC 52 clipboard write, and what it copies (in base64)."""


@pytest.fixture(scope="module")
def server_url() -> str:
    return serve()


@contextmanager
def app_on(server_url: str, home: Path, *options: str) -> Iterator[PtyProcess]:
    """The monitor on the hostile server with `options`, its configuration and history in
    `home`, showing both builds; quit at the end, its whole output read."""
    config = home / "config.toml"
    config.touch()
    environment = {
        "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none",
        "BUILDWATCH_DEVELOCITY_URL": server_url, "BUILDWATCH_DEVELOCITY_TOKEN": "token",
        "BUILDWATCH_BUILDBUDDY_URL": server_url, "BUILDWATCH_BUILDBUDDY_API_KEY": "key",
        "BUILDWATCH_CONFIG": str(config), "BUILDWATCH_STATE_DIR": str(home / "state"),
    }
    command = [sys.executable, "-m", "buildwatch", *options]
    with PtyProcess(command, environment, size=(40, 160)) as app:
        app.read_until(BUILD_ID)
        app.read_until(b"FAILED")
        yield app
        app.send(b"q")
        assert app.wait() == 0


@contextmanager
def watching(server_url: str, home: Path) -> Iterator[PtyProcess]:
    """`app_on`, watching the commit of the hostile invocations from the start, their table
    focused."""
    with app_on(server_url, home, "--watch-commit", WATCHED_COMMIT) as app:
        app.read_until(INVOCATION_ID)
        app.answer(TAB, focused_row(INVOCATION_ROWS))
        yield app


def open_row(app: PtyProcess, pane: bytes, only_it: bytes, shown: bytes) -> None:
    """Filter the focused table, titled `pane`, down to the row holding `only_it`, open it, and
    wait for `shown`."""
    app.answer(b"/", b"filter: words, or fields")
    app.answer(only_it, pane + b": 1 of 2")
    app.answer(ENTER, focused_row(re.escape(only_it)))
    app.answer(ENTER, shown)


def test_the_main_screen_shows_hostile_rows_and_dialogs_as_text(
    server_url: str, tmp_path: Path
) -> None:
    with app_on(server_url, tmp_path, "--watch-commit", WATCHED_COMMIT) as app:
        app.read_until(INVOCATION_ID)
        app.answer(b"/", b"filter: words, or fields")
        app.answer(b"[b]ID", BUILDS + b": 1 of 2")
        app.answer(ENTER, focused_row(re.escape(BUILD_ID)))
        copied = app.answer(b"y", b"Copied")
        app.answer(b"?", b"Rebind a key")
        app.answer(ESCAPE, focused_row(BUILD_ROWS))
        # The palette lists its commands in turns: the monitor's own come last.
        app.answer(CTRL_P, b"Poll BuildBuddy")
        app.answer(ESCAPE, focused_row(BUILD_ROWS))
        app.answer(b"c", b"Develocity access key")
        app.answer(ESCAPE, focused_row(BUILD_ROWS))
        output = bytes(app.output)
    assert_harmless(output, BUILD_ID, INVOCATION_ID, MARKUP)
    assert [base64.b64decode(match) for match in CLIPBOARD.findall(copied)] == [BUILD_ID]


def test_hostile_failures_in_a_watched_commit_notify_in_plain_text(
    server_url: str, tmp_path: Path
) -> None:
    with app_on(server_url, tmp_path) as app:
        build_failed = app.read_until(b"Build failed")
        app.answer(b"w", b"commit SHA")
        invocation_failed = app.answer(WATCHED_COMMIT.encode() + ENTER, b"Invocation failed")
        output = bytes(app.output)
    assert_harmless(output)
    # The build's project is the title's, its tasks the message; the invocation's pattern.
    assert_harmless(build_failed, b"Build failed:    click", MARKUP)
    assert_harmless(invocation_failed, b"Invocation failed: test", MARKUP)


def test_the_build_screen_shows_a_hostile_build_id_as_text(server_url: str, tmp_path: Path) -> None:
    with app_on(server_url, tmp_path) as app:
        open_row(app, BUILDS, b"[b]ID", b"build " + BUILD_ID + crumb("Summary"))
        app.read_until(b"is not an id")
        for key, tab in ((b"2", "Tasks"), (b"3", "Tests"), (b"4", "Events"), (b"5", "Console"),
                         (b"1", "Summary")):
            app.answer(key, crumb(tab))
        app.answer(ESCAPE, focused_row(BUILD_ROWS))
        output = bytes(app.output)
    assert_harmless(output, BUILD_ID)


def test_the_build_screen_shows_hostile_events_as_text(server_url: str, tmp_path: Path) -> None:
    with app_on(server_url, tmp_path) as app:
        open_row(app, BUILDS, b"hostilebuild1", b"build hostilebuild1" + crumb("Summary"))
        app.read_until(b"events")
        for key, tab in ((b"3", "Tests"), (b"4", "Events"), (b"5", "Console"), (b"1", "Summary")):
            app.answer(key, crumb(tab))
        app.answer(b"2", focused_row(b":   click"))
        app.answer(ENTER, crumb(":   click"))
        app.answer(ESCAPE, focused_row(b":   click"))
        app.answer(ESCAPE, focused_row(BUILD_ROWS))
        output = bytes(app.output)
    assert_harmless(output, MARKUP)


def test_the_invocation_screen_shows_a_hostile_invocation_id_as_text(
    server_url: str, tmp_path: Path
) -> None:
    with watching(server_url, tmp_path) as app:
        open_row(app, INVOCATIONS, b"[b]INV", b"invocation 0bad" + crumb("Targets"))
        app.answer(b"3", b"is not an id")
        app.answer(ESCAPE, focused_row(INVOCATION_ROWS))
        output = bytes(app.output)
    assert_harmless(output, INVOCATION_ID)


def test_the_invocation_screen_shows_hostile_targets_files_and_log_as_text(
    server_url: str, tmp_path: Path
) -> None:
    with watching(server_url, tmp_path) as app:
        open_row(app, INVOCATIONS, b"0bad0bad", b"invocation 0bad0bad" + crumb("Targets"))
        app.read_until(b"//evil:")
        app.answer(ENTER, b"Actions of //evil:")
        app.read_until(b"(Enter opens a file")
        app.read_until(focused_row(rb"YQ +evil"))
        # The first file has a plain URI: it opens. The second's URI is hostile: it is only
        # asked about, and not deleted.
        app.answer(ENTER, b"bytestream://hostile/blobs/")
        app.answer(ESCAPE, focused_row(rb"YQ +evil"))
        app.answer(b"j", focused_row(b"9 B"))
        dialog = app.answer(b"D", b"Delete this file from the cache?")
        assert b"bytestream://   click" in dialog
        app.answer(ESCAPE, focused_row(b"9 B"))
        app.answer(b"3", b"ERROR: ")
        app.answer(ESCAPE, focused_row(INVOCATION_ROWS))
        output = bytes(app.output)
    assert_harmless(output, MARKUP)
    assert b"delete failed" not in output and b"(deleted)" not in output, "nothing was asked"
