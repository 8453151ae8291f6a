"""`buildwatch sim`: what it prints, what it serves, and how it stops."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from sim_sse import parse_sse

from buildwatch.sim.develocity_data import build_id

pytestmark = pytest.mark.timeout(60)


def run_sim(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "sim", "--builds", "5", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def sim_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A running `buildwatch sim --token T` and the banner it printed."""
    process = run_sim("--seed", "9", "--token", "cli-token", "--api-key", "cli-key")
    assert process.stdout is not None
    banner = "".join(process.stdout.readline() for _ in range(3))
    yield process, banner
    if process.poll() is None:
        process.kill()
    process.communicate()


def url_of(banner: str, api: str) -> str:
    match = re.search(rf"^{api}:\s+(\S+)", banner, re.MULTILINE)
    assert match, banner
    return match.group(1)


def test_sim_prints_both_base_urls_and_the_credentials_to_use(
    sim_process: tuple[subprocess.Popen[str], str],
) -> None:
    _, banner = sim_process
    assert url_of(banner, "Develocity").startswith("http://127.0.0.1:")
    assert url_of(banner, "BuildBuddy").startswith("http://127.0.0.1:")
    assert "cli-token" in banner
    assert "cli-key" in banner


def test_sim_serves_the_seeded_builds_to_the_printed_credentials(
    sim_process: tuple[subprocess.Popen[str], str],
) -> None:
    _, banner = sim_process
    url = url_of(banner, "Develocity")
    response = httpx.get(
        f"{url}/build-export/v2/builds/since/0", headers={"Authorization": "Bearer cli-token"}
    )
    assert [m.id for m in parse_sse(response.text)] == [build_id(9, index) for index in range(5)]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_sim_exits_0_when_stopped_even_with_a_stream_open(
    sim_process: tuple[subprocess.Popen[str], str], stop: signal.Signals
) -> None:
    process, banner = sim_process
    url = url_of(banner, "Develocity")
    with (
        httpx.Client(headers={"Authorization": "Bearer cli-token"}, timeout=10) as client,
        client.stream("GET", f"{url}/build-export/v2/builds/since/now?stream") as response,
    ):
        assert response.status_code == 200
        process.send_signal(stop)
        assert process.wait(timeout=10) == 0


def test_sim_applies_the_faults_it_is_given() -> None:
    process = run_sim("--faults", "unavailable=1")
    try:
        assert process.stdout is not None
        url = url_of(process.stdout.readline(), "Develocity")
        response = httpx.get(
            f"{url}/build-export/v2/builds/since/0", headers={"Authorization": "Bearer sim-token"}
        )
        assert response.status_code == 503
    finally:
        process.kill()
        process.communicate()


def test_sim_rejects_an_unknown_fault_in_one_line() -> None:
    _, stderr = run_sim("--faults", "explode=1").communicate(timeout=30)
    assert stderr.startswith("buildwatch: unknown fault 'explode'")
    assert stderr.count("\n") == 1


@pytest.mark.parametrize("module", ["buildwatch.cli.sim", "buildwatch.sim"])
def test_the_simulator_never_imports_textual(module: str) -> None:
    code = f"import sys, {module}; print('textual' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_sim_on_a_taken_port_fails_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = run_sim("--port", str(taken.getsockname()[1]))
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert stderr.startswith("buildwatch: cannot listen on 127.0.0.1:")
    assert stderr.count("\n") == 1


def _hang_up_after_asking(url: str, path: str, *, read: int) -> None:
    """Ask for `path` on a raw connection, read `read` bytes of the answer, then hang up."""
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer cli-token\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        received = b""
        while len(received) < read:
            received += connection.recv(read - len(received))


def test_sim_stays_quiet_when_clients_hang_up_mid_stream(
    sim_process: tuple[subprocess.Popen[str], str],
) -> None:
    process, banner = sim_process
    url = url_of(banner, "Develocity")
    events = f"/build-export/v2/build/{build_id(9, 0)}/events"
    for _ in range(40):
        # Before the answer's first byte, and after its first bytes.
        _hang_up_after_asking(url, events, read=0)
        _hang_up_after_asking(url, events, read=1)
        _hang_up_after_asking(url, "/build-export/v2/builds/since/0?stream", read=1)
    # The simulator still answers, and has handled every hang-up by the time it does: the
    # requests above were all read before this one's answer.
    assert httpx.get(f"{url}{events}", headers={"Authorization": "Bearer cli-token"}).is_success
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert stderr == ""
