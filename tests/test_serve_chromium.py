"""`buildwatch serve`: the monitor in a real browser (headless Chromium), and the server's guards.

The browser test reads what xterm.js holds on screen. textual-serve's page draws on a canvas, so
there is no text in the DOM: a script injected before the page's own records each xterm.js
Terminal as it is built (it is the one object given a `_core`), and the test reads its buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from buildwatch.cli import build_parser
from buildwatch.cli.serve import app_command, is_loopback
from buildwatch.sim.develocity_data import build_id

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,900",
    "--remote-debugging-port=0",
]

RECORD_TERMINALS = """
window.__terminals = [];
Object.defineProperty(Object.prototype, "_core", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "_core", {value, writable: true, configurable: true});
    window.__terminals.push(this);
  },
});
"""

READ_SCREEN = """(() => {
  const term = window.__terminals.find(t => t.buffer && t.buffer.active && t.buffer.active.getLine);
  if (!term) return "";
  const buffer = term.buffer.active, lines = [];
  for (let row = 0; row < term.rows; row++) {
    lines.push(buffer.getLine(buffer.viewportY + row).translateToString(true));
  }
  return lines.join("\\n");
})()"""

WARNING = "warning: serving on"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


@contextlib.contextmanager
def serving(*options: str) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """Run `buildwatch serve OPTIONS --port P` until the block ends; yields P and the process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "serve", *options, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, process)
        yield port, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop_and_read_stderr(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=10)[1]


class DevTools:
    """Just enough of the Chrome DevTools protocol: call a method, wait for its answer."""

    def __init__(self, socket_: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket_
        self._next_id = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        await self._socket.send_json({"id": self._next_id, "method": method, "params": params})
        async for message in self._socket:
            answer: dict[str, Any] = json.loads(message.data)
            if answer.get("id") == self._next_id:
                assert "error" not in answer, answer
                result: dict[str, Any] = answer["result"]
                return result
        raise AssertionError(f"the browser closed the DevTools socket during {method}")


@contextlib.contextmanager
def headless_chromium(profile_dir: Path) -> Iterator[int]:
    """Start Chromium on about:blank; yields its DevTools port."""
    assert CHROMIUM is not None
    browser = subprocess.Popen(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not port_file.exists() or not port_file.read_text().strip():
            assert browser.poll() is None, "chromium exited before opening DevTools"
            assert time.monotonic() < deadline, "chromium did not open DevTools in 20 s"
            time.sleep(0.05)
        yield int(port_file.read_text().split()[0])
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()


async def screen_text_when(devtools_port: int, url: str, ready: Callable[[str], bool]) -> str:
    """Open `url` and return the terminal's text once `ready` accepts it (or after 30 s)."""
    async with aiohttp.ClientSession() as session:
        listing = await session.get(f"http://127.0.0.1:{devtools_port}/json/list")
        page = next(target for target in await listing.json() if target["type"] == "page")
        async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            devtools = DevTools(ws)
            await devtools.call("Page.enable")
            await devtools.call("Page.addScriptToEvaluateOnNewDocument", source=RECORD_TERMINALS)
            await devtools.call("Page.navigate", url=url)
            text = ""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not ready(text):
                await asyncio.sleep(0.25)
                evaluated = await devtools.call(
                    "Runtime.evaluate", expression=READ_SCREEN, returnByValue=True
                )
                text = evaluated["result"]["value"]
            return text


@needs_chromium
@pytest.mark.timeout(90)
def test_browser_shows_the_live_builds_table_of_the_served_demo(tmp_path: Path) -> None:
    seed = build_parser().parse_args(["demo"]).seed
    simulator_ids = {build_id(seed, index) for index in range(10_000)}
    header = re.compile(r"Outcome\s+Build\s+Project\s.*Published")

    def shown_ids(text: str) -> set[str]:
        return {word for word in text.split() if word in simulator_ids}

    def shows_the_table(text: str) -> bool:
        return bool(header.search(text) and shown_ids(text))

    with serving("--demo") as (port, _), headless_chromium(tmp_path / "profile") as devtools:
        url = f"http://127.0.0.1:{port}/"
        text = asyncio.run(screen_text_when(devtools, url, shows_the_table))

    assert header.search(text), f"no builds table on the page:\n{text}"
    assert shown_ids(text), f"no simulator build on the page:\n{text}"


def test_serving_on_loopback_prints_no_warning() -> None:
    with serving("--demo") as (_, process):
        stderr = stop_and_read_stderr(process)
    assert WARNING not in stderr


def test_serving_beyond_loopback_warns_that_there_is_no_authentication() -> None:
    with serving("--demo", "--host", "0.0.0.0") as (_, process):
        stderr = stop_and_read_stderr(process)
    assert "buildwatch: warning: serving on 0.0.0.0: there is no authentication" in stderr


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.1.2.3", "::1"])
def test_loopback_hosts_are_recognised(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "wallboard.example.org"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_a_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "buildwatch", "serve", "--demo", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"buildwatch: cannot listen on 127.0.0.1:{port}: Address already in use"
    )


def test_bad_monitor_options_fail_before_serving() -> None:
    port = str(free_port())
    result = subprocess.run(
        [sys.executable, "-m", "buildwatch", "serve", "--since", "yesterday", "--port", port],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("buildwatch: --since 'yesterday'")


def test_each_visit_runs_the_monitor_with_the_served_options() -> None:
    args = build_parser().parse_args(
        ["serve", "--since", "2h", "--watch-commit", "ABCDEF1234", "--profile", "default"]
    )
    command = app_command(args)
    assert command[:3] == [sys.executable, "-m", "buildwatch"]
    assert command[3:] == ["--profile", "default", "--since", "2h", "--watch-commit", "abcdef1234"]


def test_each_visit_runs_the_demo_when_serving_the_demo() -> None:
    args = build_parser().parse_args(["serve", "--demo"])
    assert app_command(args)[3:] == ["demo"]


def test_importing_the_cli_does_not_load_textual_serve() -> None:
    code = "import sys, buildwatch.cli; print('textual_serve' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
