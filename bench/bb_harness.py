"""What the `buildwatch bb` benchmarks share: a simulator process and timed child processes.

The simulator runs as its own process so that the command under test never shares a GIL with
it; every measured command is a whole process, timed from spawn to exit, with its peak RSS
taken from `wait4`. A child's peak RSS starts at this process's size when it is forked, so this
process imports nothing heavy: whatever it needs from buildwatch it asks a subprocess for.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

API_KEY = "bench-api-key"


@contextmanager
def simulator(*options: str) -> Iterator[str]:
    """Run `buildwatch sim` with `options` on a free port; yield its BuildBuddy base URL.

    buildwatch's bytecode is compiled first, as `pip install` does, so that every measured
    command starts as an installed one would rather than timing the compiler (an environment
    with PYTHONDONTWRITEBYTECODE set would otherwise recompile each module in every run).
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", "buildwatch"], check=True,
                   cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL)
    process = subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "sim", "--api-key", API_KEY, *options],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            found = re.match(r"BuildBuddy:\s+(\S+)", line)
            if found:
                yield found.group(1)
                break
        else:
            raise RuntimeError("the simulator exited before printing its URL")
    finally:
        process.terminate()
        process.wait()


def benchmark_invocation_id() -> str:
    """The simulator's soak-test invocation, which holds the benchmark's big log and file."""
    code = "from buildwatch.sim.buildbuddy_invocations import BENCHMARK_INVOCATION_ID as i; print(i)"
    return subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def environment(url: str) -> dict[str, str]:
    """The environment that points `buildwatch bb` at the simulator with its key."""
    return {
        **os.environ,
        "BUILDWATCH_BUILDBUDDY_URL": url,
        "BUILDWATCH_BUILDBUDDY_API_KEY": API_KEY,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


@dataclass(frozen=True)
class Run:
    """One measured process."""

    seconds: float
    peak_rss_mb: float
    cpu_seconds: float
    """User and system time: what a machine busy with other work changes least."""


def measure(command: Sequence[str], env: dict[str, str], stdout: Path | None = None) -> Run:
    """Run `command` to completion (stdout to a file or discarded); fail loudly if it fails."""
    with open(stdout or os.devnull, "wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])}… exited with {process.returncode}")
    return Run(seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def median_run(runs: Sequence[Run]) -> Run:
    """The median times and the highest peak RSS of several runs."""
    return Run(
        statistics.median(run.seconds for run in runs),
        max(run.peak_rss_mb for run in runs),
        statistics.median(run.cpu_seconds for run in runs),
    )


def buildwatch(*args: str) -> list[str]:
    """The command line of a `buildwatch` subcommand in this interpreter."""
    return [sys.executable, "-m", "buildwatch", *args]
