"""How long the headless commands take from spawn to exit: the start-up a script pays per call.

Target: at most 0.2 s for `buildwatch --help`, `buildwatch tail --help` and a real command
(`buildwatch tail --json --since now` against the simulator: configuration, credentials, the
HTTP client, one listing request, exit). Baselines in the same run: the interpreter alone
(`python -c pass`), which no command can beat, and the same listing request made by a script
of httpx's async client alone, the floor of any command built on it (its imports, asyncio's
and an event loop's start are most of a real command's time). Every command is a whole
process; the rounds alternate the commands, and the figures are medians of wall and CPU (user
+ system) time, the CPU time being what a machine busy with other work disturbs least.

Run it with the Python of a venv made as the README installs (`pip install .`): an editable
install (`pip install -e`) adds its finder to every interpreter's start, which the script points
out when it finds one.

    python bench/headless_start.py [--rounds N]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys

from bb_harness import Run, buildwatch, measure, median_run, simulator
from develocity_events import environment

TARGET_S = 0.2
_HTTPX_ALONE = """
import asyncio, sys, httpx
async def main():
    async with httpx.AsyncClient(verify=False) as client:
        response = await client.get(sys.argv[1] + "/build-export/v2/builds/since/now",
                                    headers={"Authorization": "Bearer " + sys.argv[2]})
        response.raise_for_status()
asyncio.run(main())
"""


def main() -> int:
    """Time each command over the rounds and print the medians against the interpreter's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with simulator() as origin:
        env = environment(origin)
        commands = {
            "python -c pass (baseline)": [sys.executable, "-c", "pass"],
            "httpx alone, one request (floor)": [
                sys.executable, "-c", _HTTPX_ALONE, origin, env["BUILDWATCH_DEVELOCITY_TOKEN"]
            ],
            "buildwatch --help": buildwatch("--help"),
            "buildwatch tail --help": buildwatch("tail", "--help"),
            "buildwatch tail --json --since now": buildwatch("tail", "--json", "--since", "now"),
        }
        runs: dict[str, list[Run]] = {name: [] for name in commands}
        for command in commands.values():
            measure(command, env)  # the first run of each warms the file cache
        for round_number in range(args.rounds):
            order = list(commands.items())
            for name, command in order if round_number % 2 == 0 else reversed(order):
                runs[name].append(measure(command, env))
    baseline = median_run(runs["python -c pass (baseline)"])
    floor = median_run(runs["httpx alone, one request (floor)"])
    print(f"Headless start, {args.rounds} rounds, medians (target <= {TARGET_S} s wall):")
    if _editable_install():
        print("  (buildwatch is an editable install here: `pip install .` starts faster)")
    for name, measured in runs.items():
        run = median_run(measured)
        print(
            f"  {name:<36} {run.seconds:5.3f} s wall  {run.cpu_seconds:5.3f} s CPU  "
            f"{run.seconds / baseline.seconds:5.1f}x the interpreter's wall  "
            f"{run.seconds / floor.seconds:4.2f}x the floor's  peak RSS {run.peak_rss_mb:4.0f} MB"
        )
    return 0


def _editable_install() -> bool:
    """buildwatch was installed with `pip install -e` (PEP 610's record of the install says so)."""
    record = importlib.metadata.distribution("buildwatch").read_text("direct_url.json")
    return bool(record) and json.loads(record).get("dir_info", {}).get("editable", False)


if __name__ == "__main__":
    sys.exit(main())
