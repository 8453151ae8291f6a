"""`buildwatch events ID --json` against the Node `eventsource` client, on a 200,000-event build.

Both read the same build's events from the same simulator process and do the same work: check
each message is JSON and write it as one line to stdout (/dev/null). Whole processes are timed
from spawn to exit, alternating which goes first, and the medians compared; the ratio is events
per second of buildwatch over those of Node (above 1: buildwatch is faster). The same ratio per
CPU second (user + system) is printed too: Node spreads its work over several threads, which
win it a larger share of a machine busy with other work than one Python thread gets, so with
load the wall ratio falls much further than the CPU ratio. Before timing, one run of each is
checked to have written every message.

Three streams are compared, each from its own simulator: log lines all ASCII, log lines all
UTF-8 (accented names, CJK, emoji, as servers send them), and the UTF-8 one written one message
per write. For the UTF-8 stream, buildwatch's peak RSS is also reported for a filtered run of
the same build (~16k events) and for builds of 130k to 250k events, to show that memory does
not grow with the number of events.

    python bench/develocity_events.py [--rounds N] [--packet-rounds N]

Needs node and npm; the Node client is installed into bench/node on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from bb_harness import Run, measure, simulator

NODE_DIR = Path(__file__).parent / "node"
TOKEN = "sim-token"
SMALL_RUN_TYPES = "TestStarted,TestFinished,TaskStarted,TaskFinished,PlannedTask"


def node_client() -> list[str]:
    """The command line of the Node baseline, installing its `eventsource` package if needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        sys.exit("node and npm are needed for the baseline")
    if not (NODE_DIR / "node_modules" / "eventsource").is_dir():
        subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    return [node, str(NODE_DIR / "events.cjs")]


def environment(origin: str) -> dict[str, str]:
    """Point buildwatch at the simulator, with no keyring lookups."""
    return {
        **os.environ,
        "BUILDWATCH_DEVELOCITY_URL": origin,
        "BUILDWATCH_DEVELOCITY_TOKEN": TOKEN,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


def buildwatch_events(build_id: str, *extra: str) -> list[str]:
    """The command line of `buildwatch events BUILD_ID --json`."""
    return [sys.executable, "-m", "buildwatch", "events", build_id, "--json", *extra]


def lines_written(command: list[str], env: dict[str, str]) -> int:
    """Run `command` once with its output in a file; the number of lines it wrote."""
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "out"
        measure(command, env, output)
        with output.open("rb") as written:
            return sum(1 for _ in written)


STREAMS = (
    ("ASCII log text", ("--log-text", "ascii")),
    ("UTF-8 log text", ("--log-text", "utf8")),
    ("UTF-8, one message per write", ("--log-text", "utf8", "--faults", "packets")),
)
"""The streams compared: what the big builds' log lines are written in, and how they are sent."""


def compare(
    label: str, options: tuple[str, ...], rounds: int, node: list[str], with_memory: bool
) -> tuple[float, float]:
    """Time both clients on the ~200,000-event build of a simulator run with `options`; print
    the figures and return the ratios of wall and of CPU time."""
    with simulator(*options) as origin:
        with urllib.request.urlopen(f"{origin}/_sim/develocity/builds") as response:
            big = sorted(
                (build for build in json.load(response) if build["eventCount"]),
                key=lambda build: build["eventCount"],
            )
        target = min(big, key=lambda build: abs(build["eventCount"] - 200_000))
        build_id, messages = target["buildId"], target["eventCount"] + 1
        env = environment(origin)
        ours = buildwatch_events(build_id)
        theirs = [*node, f"{origin}/build-export/v2/build/{build_id}/events", TOKEN]

        # The first request makes the simulator encode the build: keep it out of the timings.
        for name, command in (("buildwatch", ours), ("node eventsource", theirs)):
            written = lines_written(command, env)
            if written != messages:
                sys.exit(f"{name} wrote {written} lines, expected {messages}")

        timings: dict[str, list[Run]] = {"buildwatch": [], "node": []}
        for round_number in range(rounds):
            order = [("buildwatch", ours), ("node", theirs)]
            for name, command in order if round_number % 2 == 0 else reversed(order):
                timings[name].append(measure(command, env))

        memory = []
        if with_memory:
            memory.append(
                (
                    lines_written(buildwatch_events(build_id, "--types", SMALL_RUN_TYPES), env),
                    measure(buildwatch_events(build_id, "--types", SMALL_RUN_TYPES), env),
                )
            )
            memory += [
                (build["eventCount"] + 1, measure(buildwatch_events(build["buildId"]), env))
                for build in big
            ]

    ours_s = statistics.median(run.seconds for run in timings["buildwatch"])
    theirs_s = statistics.median(run.seconds for run in timings["node"])
    ours_cpu = statistics.median(run.cpu_seconds for run in timings["buildwatch"])
    theirs_cpu = statistics.median(run.cpu_seconds for run in timings["node"])
    print(f"{label}: build {build_id}, {messages:,} messages, {rounds} rounds, medians")
    print(
        f"  buildwatch events --json   {ours_s:6.2f} s  {messages / ours_s:10,.0f} events/s  "
        f"CPU {ours_cpu:5.2f} s  "
        f"peak RSS {max(run.peak_rss_mb for run in timings['buildwatch']):.0f} MB"
    )
    print(
        f"  node eventsource           {theirs_s:6.2f} s  {messages / theirs_s:10,.0f} events/s  "
        f"CPU {theirs_cpu:5.2f} s  "
        f"peak RSS {max(run.peak_rss_mb for run in timings['node']):.0f} MB"
    )
    print(
        f"  ratio (buildwatch / node events per second): {theirs_s / ours_s:.2f}x; "
        f"per CPU second: {theirs_cpu / ours_cpu:.2f}x"
    )
    if memory:
        print("  buildwatch peak RSS by number of events:")
        for count, run in sorted(memory, key=lambda item: item[0]):
            print(f"    {count:>9,} events  {run.peak_rss_mb:6.1f} MB")
    return theirs_s / ours_s, theirs_cpu / ours_cpu


def main() -> int:
    """Run the benchmark on each stream and print its figures, then the ratios together."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--packet-rounds",
        type=int,
        default=3,
        help="rounds for the one-message-per-write stream, which is many times slower",
    )
    args = parser.parse_args()
    node = node_client()
    ratios = [
        (
            label,
            compare(
                label,
                options,
                args.packet_rounds if "packets" in options else args.rounds,
                node,
                with_memory=index == 1,
            ),
        )
        for index, (label, options) in enumerate(STREAMS)
    ]
    print("ratios (buildwatch / node events per second, whole processes, same run):")
    for label, (wall, cpu) in ratios:
        print(f"  {label:<30} {wall:5.2f}x   per CPU second {cpu:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
