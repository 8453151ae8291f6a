"""How fast `buildwatch bb file get URI -o PATH` saves the simulator's 200 MB file, and in how much memory.

Target: at least 200 MB/s to disk (the whole process, start to exit, including the digest check
and the fsync before the rename) with a peak RSS under 100 MB. Baselines in the same run: curl
(if installed) and a bare httpx download of the same bytes, neither of which verifies anything
or waits for the disk, and the disk alone: the same number of bytes written and fsynced by a
process that reads no network, the ceiling of any download that ends with an fsync (a virtual
machine's disk can swing several-fold between runs; rounds alternate between the commands so
that each meets the same swings).

    python bench/bb_file_get.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bb_harness import (
    API_KEY,
    Run,
    benchmark_invocation_id,
    buildwatch,
    environment,
    measure,
    median_run,
    simulator,
)

TARGET_MB_S = 200.0
TARGET_RSS_MB = 100.0
_RAW_HTTPX = """
import sys, httpx
url, key, uri, path = sys.argv[1:]
with httpx.Client(timeout=120) as client, open(path, "wb") as out:
    with client.stream("POST", url + "/api/v1/GetFile", json={"uri": uri},
                       headers={"x-buildbuddy-api-key": key, "Accept-Encoding": "identity"}) as r:
        r.raise_for_status()
        for piece in r.iter_raw():
            out.write(piece)
"""
_DISK_ALONE = """
import os, sys
path, size = sys.argv[1], int(sys.argv[2])
piece = bytes(4 << 20)
with open(path, "wb", buffering=0) as out:
    for start in range(0, size, len(piece)):
        out.write(piece[: size - start])
    os.fsync(out.fileno())
"""


def benchmark_file(env: dict[str, str]) -> tuple[str, int]:
    """The URI and size of the biggest file of the simulator's benchmark invocation."""
    listing = subprocess.run(
        buildwatch("bb", "actions", benchmark_invocation_id(), "--json"),
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    files = [f for line in listing.splitlines() for f in json.loads(line).get("file", [])]
    if not files:
        raise SystemExit("the simulator serves no benchmark file")
    biggest = max(files, key=lambda file: int(file.get("sizeBytes", 0)))
    return biggest["uri"], int(biggest["sizeBytes"])


def report(name: str, run: Run, size: int) -> float:
    rate = size / run.seconds / 1e6
    print(f"  {name:<12} {run.seconds:6.2f} s  {rate:7.0f} MB/s  peak RSS {run.peak_rss_mb:5.0f} MB")
    return rate


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    with simulator() as url, tempfile.TemporaryDirectory(dir=".") as scratch:
        env = environment(url)
        uri, size = benchmark_file(env)
        target = Path(scratch) / "file.bin"
        commands = {
            "buildwatch": buildwatch("bb", "file", "get", uri, "-o", str(target)),
            "raw httpx": [sys.executable, "-c", _RAW_HTTPX, url, API_KEY, uri, str(target)],
            "disk alone": [sys.executable, "-c", _DISK_ALONE, str(target), str(size)],
        }
        if shutil.which("curl"):
            commands["curl"] = [
                "curl", "-sS", "--fail", "-X", "POST", "-H", f"x-buildbuddy-api-key: {API_KEY}",
                "-H", "Content-Type: application/json", "--data", f'{{"uri": "{uri}"}}',
                "-o", str(target), f"{url}/api/v1/GetFile",
            ]
        measure(commands["raw httpx"], env)  # warm the simulator's page cache and blob
        runs: dict[str, list[Run]] = {name: [] for name in commands}
        for _ in range(rounds):
            for name, command in commands.items():
                runs[name].append(measure(command, env))
                if target.stat().st_size != size:
                    raise SystemExit(f"{name} wrote {target.stat().st_size} of {size} bytes")
                target.unlink()
        results = {name: median_run(each) for name, each in runs.items()}
    print(f"bb file get, {size / 1e6:.0f} MB file, median of {rounds} whole processes:")
    rates = {name: report(name, run, size) for name, run in results.items()}
    ours = results["buildwatch"]
    for name, rate in rates.items():
        if name != "buildwatch":
            print(f"  buildwatch / {name}: {rates['buildwatch'] / rate:.2f}x")
    met = rates["buildwatch"] >= TARGET_MB_S and ours.peak_rss_mb < TARGET_RSS_MB
    print(f"  target >= {TARGET_MB_S:.0f} MB/s and < {TARGET_RSS_MB:.0f} MB RSS: "
          f"{'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
