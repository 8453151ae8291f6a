"""`buildwatch tail --since 0 --json` over 300 builds whose listing the network keeps cutting.

Each round starts a simulator of 300 builds that cuts 80% of its responses at a random byte
(`--faults drop=0.8`); its fault decisions follow its seed, so every round meets the same cuts
(14 with the default seed). The baseline is the same listing from a simulator without faults,
in the same run. Whole processes are timed from spawn to exit; the figures are medians, and the
ratio says how many times longer the cut listing takes. The waits between connections are read
from the "retrying in" lines buildwatch writes on stderr.

    python bench/develocity_cuts.py [--rounds N]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time

from bb_harness import buildwatch, simulator
from develocity_events import environment

BUILDS = 300
CUTS = "drop=0.8"
_RETRY = re.compile(r"retrying in ([0-9.]+) s")


def listing(options: tuple[str, ...]) -> tuple[float, int, float]:
    """List every build of a fresh simulator run with `options`: (seconds, reconnections, sum
    of the waits announced), checking that every build was written once."""
    with simulator("--builds", str(BUILDS), *options) as origin:
        started = time.perf_counter()
        done = subprocess.run(
            buildwatch("tail", "--since", "0", "--json"),
            env=environment(origin),
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - started
    lines = done.stdout.splitlines()
    if len(lines) != BUILDS or len(set(lines)) != BUILDS:
        sys.exit(f"wrote {len(lines)} lines ({len(set(lines))} distinct), expected {BUILDS}")
    waits = [float(wait) for wait in _RETRY.findall(done.stderr)]
    return seconds, len(waits), sum(waits)


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    plain = [listing(()) for _ in range(rounds)]
    cut = [listing(("--faults", CUTS)) for _ in range(rounds)]
    plain_s = statistics.median(seconds for seconds, _, _ in plain)
    cut_s = statistics.median(seconds for seconds, _, _ in cut)
    print(f"tail --since 0 --json, {BUILDS} builds, {rounds} rounds, whole processes, medians")
    print(f"  no faults            {plain_s:6.2f} s")
    print(
        f"  faults {CUTS:<13} {cut_s:6.2f} s  "
        f"({statistics.median(count for _, count, _ in cut):.0f} reconnections, "
        f"{statistics.median(waited for _, _, waited in cut):.1f} s announced waiting)"
    )
    print(f"  ratio (cut / uncut time): {cut_s / plain_s:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
