"""The monitor in a real terminal against a simulator process that goes away for longer than ten
backoff rounds and comes back on the same port: the app goes live again by itself and shows the
builds published meanwhile exactly once, whether it was running all along or started from its
stored history while the server was down."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from ports import free_port
from terminal import TmuxSession, app_environment

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
BUILDWATCH = str(Path(sys.executable).with_name("buildwatch"))
SEED = 9
BEFORE, AFTER = 8, 12
"""Builds the server has published before the outage, and after it (the first eight the same)."""
ROUNDS = 10
"""Backoff rounds the server stays away for, at least."""
WIDTH, HEIGHT = 120, 60
"""Tall enough for every build to be on screen at once."""



def wait_until(condition: Callable[[], bool], what: Callable[[], str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition never became true; last:\n{what()}")
        time.sleep(0.2)


@contextmanager
def simulator(port: int, builds: int) -> Iterator[list[str]]:
    """`buildwatch sim` as its own process on `port`; yields its build ids, stops it on exit."""
    process = subprocess.Popen(
        [BUILDWATCH, "sim", "--port", str(port), "--seed", str(SEED), "--builds", str(builds)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # printed once it listens
        assert first.startswith("Develocity:"), first
        url = f"http://127.0.0.1:{port}/_sim/develocity/builds"
        with urllib.request.urlopen(url, timeout=10) as response:
            yield [build["buildId"] for build in json.load(response)]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def environment(tmp_path: Path, port: int) -> dict[str, str]:
    """The app's environment: its own state directory, and reconnections at most 0.5 s apart."""
    return app_environment(
        tmp_path, "[profiles.default.ui]\nretry_max_seconds = 0.5\n", (WIDTH, HEIGHT),
        BUILDWATCH_DEVELOCITY_URL=f"http://127.0.0.1:{port}",
        BUILDWATCH_DEVELOCITY_TOKEN="sim-token",
    )


def develocity_line(screen: str) -> str:
    return next((line for line in screen.splitlines() if "Develocity " in line
                 and ("live" in line or "reconnecting" in line or "offline" in line)), "")


def attempts(screen: str) -> int:
    found = re.search(r"reconnecting (?:in \d+s )?\(attempt (\d+)\)", develocity_line(screen))
    return int(found.group(1)) if found else 0


def ride_out_the_outage(session: TmuxSession) -> None:
    """Wait until the app has failed more than `ROUNDS` times in a row, and is still trying."""
    wait_until(lambda: attempts(session.screen()) > ROUNDS, session.screen, timeout=60)
    assert "offline" not in develocity_line(session.screen())


def shows_every_build_once(session: TmuxSession, builds: list[str]) -> str:
    """Wait until the app is live with `builds`; each must be on screen exactly once."""
    count = f"{len(builds)} builds"
    wait_until(
        lambda: "Develocity live" in (line := develocity_line(session.screen())) and count in line,
        session.screen, timeout=60,
    )
    screen = session.screen()
    wait_until(lambda: all(build in session.screen() for build in builds), session.screen, 30)
    screen = session.screen()
    assert {build: screen.count(build) for build in builds} == dict.fromkeys(builds, 1)
    return screen


def quit_app(session: TmuxSession) -> None:
    session.send("q")
    wait_until(lambda: not session.alive(), session.screen, timeout=15)


def test_a_running_monitor_goes_live_again_after_a_long_outage(
    port: int, environment: dict[str, str]
) -> None:
    with TmuxSession([BUILDWATCH, "--since", "0"], env=environment, width=WIDTH, height=HEIGHT) as session:
        with simulator(port, BEFORE) as before:
            shows_every_build_once(session, before)
        ride_out_the_outage(session)
        with simulator(port, AFTER) as after:
            assert after[:BEFORE] == before
            shows_every_build_once(session, after)
        quit_app(session)


def test_a_monitor_started_from_its_history_during_an_outage_goes_live_when_it_ends(
    port: int, environment: dict[str, str]
) -> None:
    first = TmuxSession([BUILDWATCH], env=environment, width=WIDTH, height=HEIGHT)
    with simulator(port, BEFORE) as before, first:
        shows_every_build_once(first, before)
        quit_app(first)
    with TmuxSession([BUILDWATCH], env=environment, width=WIDTH, height=HEIGHT) as session:
        session.wait_for("showing history", timeout=30)
        ride_out_the_outage(session)
        with simulator(port, AFTER) as after:
            shows_every_build_once(session, after)
        quit_app(session)
