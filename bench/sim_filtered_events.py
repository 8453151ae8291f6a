"""Simulator CPU per build for a summary's filtered events request, against the whole build's.

A summary pass asks each build once for its ~10 summary event types (`?eventTypes=...`), so
what the simulator spends answering that, for a build it has not served before, caps how many
builds a second any summary pass or collector can read from it. This bench starts two
simulators (separate processes, same seed, nothing cached), asks one for every build's summary
types (the types `buildwatch` asks for the build's tool) and the other for every build's whole
events, one request at a time, and reads each simulator's CPU time (user + system, its worker
threads included) from /proc before and after. The builds include the one in 50 that has
130,000 to 250,000 events, as on a real server. Prints milliseconds of simulator CPU per build
for each and the ratio.

    python bench/sim_filtered_events.py [--builds 200]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

from buildwatch.core.develocity.summary import summary_event_types

TOKEN = "bench-token"
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Simulator:
    """A running `buildwatch sim` process and where its Develocity API listens."""

    pid: int
    origin: str

    def cpu_s(self) -> float:
        """CPU seconds the process has used so far (user + system, all threads)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS


@contextmanager
def simulator(builds: int) -> Iterator[Simulator]:
    """A fresh simulator with `builds` builds published."""
    command = [sys.executable, "-m", "buildwatch", "sim", "--builds", str(builds), "--seed", "1",
               "--token", TOKEN]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        match = re.search(r"Develocity:\s+(\S+)", process.stdout.readline())
        assert match, "buildwatch sim printed no Develocity URL"
        yield Simulator(process.pid, match.group(1))
    finally:
        process.terminate()
        process.wait()


def read(url: str) -> int:
    """GET `url` with the bench's token; the bytes of the body."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request) as response:
        return len(response.read())


def cpu_per_build(builds: int, filtered: bool) -> tuple[float, float, int]:
    """(simulator CPU ms per build, wall seconds, bytes) asking every build once."""
    with simulator(builds) as sim:
        with urllib.request.urlopen(f"{sim.origin}/_sim/develocity/builds") as response:
            overview = json.load(response)
        before, started, received = sim.cpu_s(), time.perf_counter(), 0
        for build in overview:
            url = f"{sim.origin}/build-export/v2/build/{build['buildId']}/events"
            if filtered:
                url += "?eventTypes=" + quote(",".join(summary_event_types(build["toolType"])))
            received += read(url)
        wall = time.perf_counter() - started
        return (sim.cpu_s() - before) * 1000 / len(overview), wall, received


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=200)
    builds = parser.parse_args().builds
    whole_ms, whole_s, whole_bytes = cpu_per_build(builds, filtered=False)
    summary_ms, summary_s, summary_bytes = cpu_per_build(builds, filtered=True)
    print(f"{builds:,} builds, each asked once, simulator CPU per build (load {os.getloadavg()[0]:.1f}):")
    print(f"  whole events:   {whole_ms:7.2f} ms  ({whole_bytes / builds / 1e3:8.1f} kB a build, "
          f"{builds / whole_s:6.0f} builds/s)")
    print(f"  summary types:  {summary_ms:7.2f} ms  ({summary_bytes / builds / 1e3:8.1f} kB a build, "
          f"{builds / summary_s:6.0f} builds/s)")
    print(f"  summary/whole:  {summary_ms / whole_ms:7.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
