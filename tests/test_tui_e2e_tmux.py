"""`buildwatch demo` in a real terminal: what a newcomer sees, read back with tmux capture-pane."""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from terminal import TmuxSession

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
BUILDWATCH = str(Path(sys.executable).with_name("buildwatch"))


def test_demo_shows_live_builds_opens_a_failed_one_and_comes_back() -> None:
    environment = {"TERM": "xterm-256color", "PATH": os.environ.get("PATH", "")}
    with TmuxSession([BUILDWATCH, "demo"], env=environment) as session:
        screen = session.wait_for("✓ succeeded", timeout=30)
        assert "Develocity live" in screen
        session.wait_for("✗ FAILED", timeout=30)
        session.send("/")
        session.wait_for("filter: words, or fields")
        session.send("-l", "FAILED")
        session.send("Enter")
        filtered = session.wait_for("filter: FAILED")
        failed_id = _first_build_id(filtered)
        session.send("Enter")
        detail = _wait_until_gone(session, "Develocity builds (published)")
        assert failed_id in detail
        session.send("Escape")
        back = session.wait_for("Develocity builds (published)")
        assert "filter: FAILED" in back
        session.send("q")
        deadline = time.monotonic() + 10
        while session.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not session.alive()


def _first_build_id(screen: str) -> str:
    match = re.search(r"✗ FAILED\s+([a-z0-9]{13})", screen)
    assert match, f"no failed build row on screen:\n{screen}"
    return match.group(1)


def _wait_until_gone(session: TmuxSession, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    screen = session.screen()
    while text in screen:
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never went away; last screen:\n{screen}")
        time.sleep(0.2)
        screen = session.screen()
    return screen
