"""Desktop notifications as the terminal receives them: the real app on a pseudo-terminal,
against a server whose every string is hostile, every byte it writes read back.

A build published while the app runs fails, its project and requested task named with OSC
titles, clipboard writes, links, screen clears, DCS, 8-bit CSI and ST, markup and a `;`. Asked for
every kind of notification, the app writes OSC 9, OSC 777 and kitty's OSC 99 carrying that name
as one harmless line, then rings the bell; inside tmux (`$TMUX` set) each sequence comes wrapped
in tmux's passthrough, and a real tmux with `allow-passthrough on` hands the bare sequence to
the terminal attached to it. Nothing the server sent reaches the terminal as a sequence.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hostile_server import FORBIDDEN, WATCHED_COMMIT, assert_harmless, serve
from terminal import PtyProcess

pytestmark = pytest.mark.timeout(120)

NAME = "   click      [bold red]FAKE[/] [link=https://evil.example]x[/link] semi,colon"
"""The server's hostile name as a notification's field: one line, its sequences gone, its
markup as text, its `;` a `,`."""
TITLE = f"Build failed: {NAME}"
EVERY_KIND = '["osc9", "osc777", "osc99", "bell", "toast"]'
TMUX = "/tmp/tmux-1000/default,4242,0"
OUR_SEQUENCES = re.compile(rb"\x1b\](?:9|777|99);")


@pytest.fixture(scope="module")
def server_url() -> str:
    return serve()


def app_environment(server_url: str, home: Path, kinds: str) -> dict[str, str]:
    """The environment of the monitor on the hostile server, asked for `kinds` of
    notification, its configuration and history in `home`."""
    config = home / "config.toml"
    config.write_text(f"[profiles.default.ui]\nnotify = {kinds}\n", encoding="utf-8")
    return {
        "TERM": "xterm-256color", "TEXTUAL_ANIMATIONS": "none", "TMUX": "",
        "BUILDWATCH_DEVELOCITY_URL": server_url, "BUILDWATCH_DEVELOCITY_TOKEN": "token",
        "BUILDWATCH_BUILDBUDDY_URL": server_url, "BUILDWATCH_BUILDBUDDY_API_KEY": "key",
        "BUILDWATCH_CONFIG": str(config), "BUILDWATCH_STATE_DIR": str(home / "state"),
    }


@contextmanager
def app_on(server_url: str, home: Path, kinds: str, *options: str,
           env: dict[str, str] | None = None) -> Iterator[PtyProcess]:
    """The monitor on the hostile server, asked for `kinds` of notification; quit at the end,
    its whole output read."""
    environment = {**app_environment(server_url, home, kinds), **(env or {})}
    with PtyProcess([sys.executable, "-m", "buildwatch", *options], environment,
                    size=(40, 160)) as app:
        yield app
        app.send(b"q")
        assert app.wait() == 0


def every_sequence(pid: int, title: str = TITLE, body: str = NAME, number: int = 1) -> list[bytes]:
    """What each kind of desktop notification writes for one notification."""
    kitty = f"buildwatch-{pid}-{number}"
    return [
        f"\x1b]9;{title} — {body}\x07".encode(),
        f"\x1b]777;notify;{title};{body}\x07".encode(),
        f"\x1b]99;i={kitty}:d=0;{title}\x1b\\\x1b]99;i={kitty}:p=body;{body}\x1b\\".encode(),
    ]


def in_tmux(sequence: bytes) -> bytes:
    return b"\x1bPtmux;" + sequence.replace(b"\x1b", b"\x1b\x1b") + b"\x1b\\"


def test_a_failed_build_writes_each_kind_of_notification_then_rings(
    server_url: str, tmp_path: Path
) -> None:
    with app_on(server_url, tmp_path, EVERY_KIND) as app:
        expected = b"".join(every_sequence(app.pid)) + b"\x07"
        app.read_until(expected)
        app.read_until(b"Build failed:    click")  # the toast
        output = bytes(app.output)
    assert len(OUR_SEQUENCES.findall(output)) == 4, "one of each, OSC 99 in two parts"
    assert_harmless(output)


def test_inside_tmux_each_notification_comes_wrapped_for_passthrough(
    server_url: str, tmp_path: Path
) -> None:
    with app_on(server_url, tmp_path, EVERY_KIND, env={"TMUX": TMUX}) as app:
        wrapped = [in_tmux(sequence) for sequence in every_sequence(app.pid)]
        # tmux rings the outer terminal's bell itself: the bell is not passed through.
        app.read_until(b"".join(wrapped) + b"\x07")
        output = bytes(app.output)
    bare = re.compile(rb"(?<!\x1b)\x1b\](?:9|777|99);")
    assert not bare.search(output), "no notification sequence outside the passthrough"
    unwrapped = output
    for sequence in wrapped:
        unwrapped = unwrapped.replace(sequence, b"")
    assert_harmless(unwrapped)


def test_only_the_kinds_asked_for_are_written(server_url: str, tmp_path: Path) -> None:
    with app_on(server_url, tmp_path, '["osc777"]') as app:
        osc777 = every_sequence(app.pid)[1]
        app.read_until(osc777)
        # A toast would be drawn before the frame that answers a key pressed after it.
        app.answer(b"f", "❚❚ paused".encode())
        output = bytes(app.output)
    assert OUR_SEQUENCES.findall(output) == [b"\x1b]777;"]
    assert b"Build failed" not in output.replace(osc777, b""), "no toast was asked for"
    assert_harmless(output)


def test_hostile_invocations_notify_as_plain_text_too(server_url: str, tmp_path: Path) -> None:
    with app_on(server_url, tmp_path, '["osc777"]', "--watch-commit", WATCHED_COMMIT) as app:
        # The build's and the two invocations', in the order they arrive.
        app.read_until(every_sequence(app.pid)[1])
        app.read_until(re.compile(
            rb"(?:\x1b\]777;notify;Invocation failed: test;"
            + re.escape(NAME.encode()) + rb"\x07.*){2}", re.DOTALL))
        output = bytes(app.output)
    assert len(OUR_SEQUENCES.findall(output)) == 3
    assert_harmless(output)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (.ci/run installs it)")
def test_through_tmux_with_passthrough_on_the_outer_terminal_gets_the_bare_sequence(
    server_url: str, tmp_path: Path
) -> None:
    """The app inside a real tmux (its own server, `allow-passthrough on`); a client attached on
    a pty stands for the laptop's terminal, and reads what tmux hands on."""
    socket = str(tmp_path / "tmux.socket")
    tmux = ["tmux", "-S", socket, "-f", "/dev/null"]
    # tmux sets $TMUX in its panes: the app sees it and wraps what it writes.
    environment = {key: value for key, value in
                   app_environment(server_url, tmp_path, '["osc9", "osc777"]').items()
                   if key != "TMUX"}
    command = ["env", *(f"{key}={value}" for key, value in environment.items()),
               sys.executable, "-m", "buildwatch"]
    # The pane waits until the terminal is attached: tmux hands a passthrough to the clients
    # attached when it arrives.
    subprocess.run([*tmux, "new-session", "-d", "-x", "120", "-y", "36", "cat"], check=True)
    try:
        subprocess.run([*tmux, "set", "-g", "allow-passthrough", "on"], check=True)
        with PtyProcess([*tmux, "attach"], {"TERM": "xterm-256color", "TMUX": ""},
                        size=(36, 120)) as laptop:
            laptop.read_until(b"\x1b[")
            subprocess.run([*tmux, "respawn-pane", "-k", *command], check=True)
            laptop.read_until(f"\x1b]777;notify;{TITLE};{NAME}\x07".encode(), timeout=40)
            output = bytes(laptop.output)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    assert f"\x1b]9;{TITLE} — {NAME}\x07".encode() in output
    # tmux draws the screen with clears and cursor moves of its own: only the server's
    # sequences, which carry its words, must be absent.
    assert not [sequence for sequence in FORBIDDEN.values()
                if re.search(rb"PWNED|evil|ZXZpbA", sequence) and sequence in output]
