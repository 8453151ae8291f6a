"""How fast `buildwatch bb log INVOCATION_ID > file` reads the simulator's 100 MB, 400-chunk log.

Target: the whole process, start to exit, in at most 2 s. Baseline in the same run: a bare
httpx loop over the same 400 GetLog pages, writing the contents, in its own process.

    python bench/bb_log.py [--rounds N]
"""

from __future__ import annotations

import argparse
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

TARGET_S = 2.0
_RAW_HTTPX = """
import json, sys, httpx
url, key, invocation = sys.argv[1:]
token = "0000"
with httpx.Client(headers={"x-buildbuddy-api-key": key}, timeout=60) as client:
    while token:
        body = {"selector": {"invocation_id": invocation}, "page_token": token}
        page = client.post(url + "/api/v1/GetLog", content=json.dumps(body),
                           headers={"Content-Type": "application/json"}).json()
        sys.stdout.buffer.write(page.get("log", {}).get("contents", "").encode())
        token = page.get("nextPageToken")
"""


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    invocation = benchmark_invocation_id()
    with simulator() as url, tempfile.TemporaryDirectory(dir=".") as scratch:
        env = environment(url)
        output = Path(scratch) / "log.txt"
        commands = {
            "buildwatch": buildwatch("bb", "log", invocation),
            "raw httpx": [sys.executable, "-c", _RAW_HTTPX, url, API_KEY, invocation],
        }
        measure(commands["raw httpx"], env)  # let the simulator build its chunks once
        results: dict[str, Run] = {}
        sizes: dict[str, int] = {}
        for name, command in commands.items():
            results[name] = median_run([measure(command, env, output) for _ in range(rounds)])
            sizes[name] = output.stat().st_size
    if sizes["buildwatch"] != sizes["raw httpx"]:
        raise SystemExit(f"buildwatch wrote {sizes['buildwatch']} bytes, the baseline {sizes['raw httpx']}")
    size = sizes["buildwatch"]
    print(f"bb log, {size / 1e6:.0f} MB log, median of {rounds} whole processes:")
    for name, run in results.items():
        print(f"  {name:<12} {run.seconds:6.2f} s  {size / run.seconds / 1e6:6.0f} MB/s  "
              f"peak RSS {run.peak_rss_mb:5.0f} MB")
    ours = results["buildwatch"].seconds
    print(f"  buildwatch / raw httpx time: {ours / results['raw httpx'].seconds:.2f}x")
    met = ours <= TARGET_S
    print(f"  target <= {TARGET_S:.0f} s: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
