"""How fast `buildwatch sim` serves a 200,000-event build, against a bare loopback baseline.

Runs the simulator as a separate process (so this reader never competes with it for the GIL),
fetches one big build's events with a raw-socket reader that discards the bytes, and compares
the rate with a minimal server in the same run that only sends a prepared buffer of the same
size. Prints MB/s for each and the ratio.

    python bench/sim_throughput.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit

TOKEN = "bench-token"
_BASELINE_SERVER = r"""
import socket, sys
size = int(sys.argv[1])
head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % size
response = memoryview(head + b"x" * size)
with socket.create_server(("127.0.0.1", 0)) as server:
    print(server.getsockname()[1], flush=True)
    while True:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            for start in range(0, len(response), 1 << 20):
                connection.sendall(response[start : start + (1 << 20)])
"""


def fetch(url: str, headers: dict[str, str]) -> tuple[int, float]:
    """GET `url` over a raw socket, discard the bytes; return (bytes received, seconds)."""
    parts = urlsplit(url)
    lines = [
        f"GET {parts.path}?{parts.query} HTTP/1.1",
        f"Host: {parts.netloc}",
        "Connection: close",
    ]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    received = 0
    started = time.perf_counter()
    with socket.create_connection((parts.hostname, parts.port)) as connection:
        connection.sendall(request)
        while count := connection.recv_into(view):
            received += count
    return received, time.perf_counter() - started


def best_rate(url: str, headers: dict[str, str], rounds: int) -> tuple[float, int]:
    """The best of `rounds` fetches in MB/s, and the bytes of one fetch."""
    timings = [fetch(url, headers) for _ in range(rounds)]
    size = timings[0][0]
    return max(size / seconds for size, seconds in timings) / 1e6, size


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds

    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "buildwatch",
            "sim",
            "--builds",
            "10",
            "--seed",
            "1",
            "--token",
            TOKEN,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    baseline = None
    try:
        assert sim.stdout is not None
        match = re.search(r"Develocity:\s+(\S+)", sim.stdout.readline())
        assert match, "buildwatch sim printed no Develocity URL"
        origin = match.group(1)
        with urllib.request.urlopen(f"{origin}/_sim/develocity/builds") as response:
            builds = json.load(response)
        big = next(b for b in builds if (b["eventCount"] or 0) >= 200_000)
        url = f"{origin}/build-export/v2/build/{big['buildId']}/events"
        auth = {"Authorization": f"Bearer {TOKEN}"}

        first_size, first_seconds = fetch(url, {**auth, "Accept-Encoding": "identity"})
        plain_rate, plain_size = best_rate(url, {**auth, "Accept-Encoding": "identity"}, rounds)
        fetch(url, {**auth, "Accept-Encoding": "gzip"})
        gzip_rate, gzip_size = best_rate(url, {**auth, "Accept-Encoding": "gzip"}, rounds)

        baseline = subprocess.Popen(
            [sys.executable, "-c", _BASELINE_SERVER, str(plain_size)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert baseline.stdout is not None
        port = int(baseline.stdout.readline())
        baseline_rate, _ = best_rate(f"http://127.0.0.1:{port}/", {}, rounds)
    finally:
        for process in (sim, baseline):
            if process is not None:
                process.terminate()
                process.wait()

    print(
        f"build {big['buildId']}: {big['eventCount']:,} events, {plain_size / 1e6:.1f} MB plain, "
        f"{gzip_size / 1e6:.1f} MB gzipped"
    )
    print(
        f"first request (generate + encode + send): {first_seconds:.2f} s for {first_size / 1e6:.1f} MB"
    )
    print(f"baseline, bare socket sendall:  {baseline_rate:8.0f} MB/s")
    print(
        f"simulator, plain:               {plain_rate:8.0f} MB/s  ({plain_rate / baseline_rate:.2f}x baseline)"
    )
    print(
        f"simulator, gzip (wire bytes):   {gzip_rate:8.0f} MB/s  "
        f"(= {gzip_rate * plain_size / gzip_size:.0f} MB/s of events)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
