"""How every command ends when something outside it goes wrong: a full disk or a reader gone on
standard output, Ctrl-C, SIGTERM. Whole processes against the simulator, never a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from terminal import PtyProcess
from test_cli_bb import KEY, calls, failing_ci_run, uploaded_file

from buildwatch.sim import FaultSpec, SimConfig, SimulatorThread
from buildwatch.sim.world import World

pytestmark = pytest.mark.timeout(90)
SEED = 1


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=SEED, builds=40)) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def no_faults(sim: SimulatorThread) -> Iterator[None]:
    yield
    sim.set_faults(FaultSpec())


def environment(sim: SimulatorThread) -> dict[str, str]:
    return {
        **os.environ,
        "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url,
        "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token",
        "BUILDWATCH_BUILDBUDDY_URL": sim.buildbuddy_url,
        "BUILDWATCH_BUILDBUDDY_API_KEY": KEY,
    }


def a_build(sim: SimulatorThread) -> str:
    return str(httpx.get(f"{sim.develocity_url}/_sim/develocity/builds").json()[0]["buildId"])


WRITERS: dict[str, Callable[[SimulatorThread], list[str]]] = {
    "tail": lambda sim: ["tail", "--since", "0"],
    "events": lambda sim: ["events", a_build(sim)],
    "failures": lambda sim: ["failures", "--since", "0"],
    "wait": lambda sim: ["wait", "--build", a_build(sim)],
    "bb invocations": lambda sim: ["bb", "invocations", "--commit", World(SEED).commits[0].sha],
    "bb targets": lambda sim: ["bb", "targets", failing_ci_run(sim)],
    "bb actions": lambda sim: ["bb", "actions", failing_ci_run(sim)],
    "bb log": lambda sim: ["bb", "log", failing_ci_run(sim)],
    "bb file get": lambda sim: ["bb", "file", "get", uploaded_file(sim, "test.log")],
    "config show": lambda sim: ["config", "show"],
    "auth status": lambda sim: ["auth", "status"],
    "completion": lambda sim: ["completion", "bash"],
}


def run(sim: SimulatorThread, args: list[str], stdout: int) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "buildwatch", *args], env=environment(sim), stdout=stdout,
        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=60,
    )


@pytest.mark.parametrize("command", WRITERS)
def test_a_full_device_on_stdout_is_one_line_and_exit_1(sim: SimulatorThread, command: str) -> None:
    with open("/dev/full", "wb") as full:
        done = run(sim, WRITERS[command](sim), full.fileno())

    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [
        "buildwatch: cannot write the output: No space left on device"
    ]


@pytest.mark.parametrize("command", WRITERS)
def test_a_reader_gone_before_the_output_ends_the_command_quietly_with_141(
    sim: SimulatorThread, command: str
) -> None:
    reading, writing = os.pipe()
    os.close(reading)  # the reader is gone before the first byte: every write meets EPIPE
    try:
        done = run(sim, WRITERS[command](sim), writing)
    finally:
        os.close(writing)

    assert (done.returncode, done.stderr.decode()) == (141, "")


def test_ctrl_c_in_the_middle_of_events_exits_130(sim: SimulatorThread) -> None:
    # The stream stops after its first messages and stays open: events is mid-build.
    sim.set_faults(FaultSpec(stall=1.0, cut_after=2_000))
    process = subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "events", a_build(sim)],
        env=environment(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # output under way
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
    finally:
        process.kill()
    assert first.startswith(b"Build ")
    assert code == 130


def test_sigterm_during_a_download_removes_the_partial_file_and_exits_143(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    uri = uploaded_file(sim, "test.log")
    requests_before = calls(sim, "GetFile")
    sim.set_faults(FaultSpec(stall=1.0, cut_after=100))  # the body stops and stays open
    target = tmp_path / "test.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "bb", "file", "get", uri, "-o", str(target)],
        env=environment(sim), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while calls(sim, "GetFile") == requests_before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(tmp_path.glob("*.part")), "the download never started"
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
    finally:
        process.kill()
    assert code == 143
    assert list(tmp_path.iterdir()) == []
    assert process.stderr is not None and process.stderr.read() == b""


def test_ctrl_c_at_the_delete_prompt_cancels_at_once_and_sends_nothing(
    sim: SimulatorThread,
) -> None:
    uri = uploaded_file(sim, "test.log")
    before = calls(sim, "DeleteFile")
    command = [sys.executable, "-m", "buildwatch", "bb", "file", "delete", uri]
    with PtyProcess(command, environment(sim)) as terminal:
        terminal.read_until(b"[y/N] ")
        terminal.send(b"\x03")
        code = terminal.wait(timeout=10)
    assert code == 130
    assert calls(sim, "DeleteFile") == before


def test_sigterm_ends_the_monitor_like_q_restoring_the_terminal_and_exits_143(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    command = [sys.executable, "-m", "buildwatch", "--since", "1h", "--no-mouse"]
    env = {**environment(sim), "BUILDWATCH_STATE_DIR": str(tmp_path), "TERM": "xterm-256color"}
    with PtyProcess(command, env, size=(24, 100)) as terminal:
        terminal.read_until(b"Develocity builds")
        mark = len(terminal.output)
        os.kill(terminal.pid, signal.SIGTERM)
        code = terminal.wait(timeout=20)
        ending = bytes(terminal.output[mark:])
    assert code == 143
    assert b"\x1b[?1049l" in ending, "the alternate screen must be left"
    assert b"Traceback" not in ending and b"Task was destroyed" not in ending
