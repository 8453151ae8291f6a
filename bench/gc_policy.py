"""Whether freezing the heap pays: the app's garbage-collector policy against Python's defaults.

`buildwatch/core/monitor/heap.py` holds every `gc` call the app makes. This runs the app headless
(Textual's pilot, 160x48) backfilling `--builds` from the simulator (a child process), once with
that policy and once with Python's defaults (the module's `gc` swapped for one whose freeze,
collect and disable do nothing), each in a fresh process, alternating, in the same run. While the
rows load and for `--steady` seconds after, `down`/`up` are sent every 0.1 s and timed to the
frame showing the cursor moved. Figures per policy (medians over `--runs`):

- collections on the screen's thread (automatic ones and the policy's own `gc.collect`): their
  total time, 95th percentile, longest, and how many took over 50 ms;
- key to frame: median, 95th percentile, longest;
- seconds until every build is a row, and resident memory at the end.

    python bench/gc_policy.py [--builds 100000] [--runs 1] [--steady 10]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from time import perf_counter
from types import SimpleNamespace
from typing import Any

from history_app import SIZE, key_round_trip, shown_by
from tui_harness import FrameClock, percentile, rss_mb
from tui_monitor import Simulator

from buildwatch.cli.tui import simulator_settings
from buildwatch.core.monitor import heap
from buildwatch.tui.app import BuildwatchApp
from buildwatch.tui.widgets.live_table import LiveTable

POLICIES = ("frozen", "defaults")
KEY_EVERY_S = 0.1
TIMEOUT_S = 600.0
FIRST_ROW_TIMEOUT_S = 120.0


@dataclass
class Run:
    """What one run of one policy measured."""

    gc_total_ms: float
    gc_p95_ms: float
    gc_max_ms: float
    gc_over_50ms: int
    key_median_ms: float
    key_p95_ms: float
    key_max_ms: float
    loaded_s: float
    rss_mb: float


class Pauses:
    """The collections that run on the calling thread, timed through `gc.callbacks`."""

    def __init__(self) -> None:
        self.ms: list[float] = []
        self._thread = threading.get_ident()
        self._began = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict[str, Any]) -> None:
        if threading.get_ident() != self._thread:
            return
        if phase == "start":
            self._began = perf_counter()
        else:
            self.ms.append((perf_counter() - self._began) * 1000)


def python_defaults() -> None:
    """Turn the app's policy off: its module's `gc` calls then do nothing."""
    heap.gc = SimpleNamespace(  # type: ignore[assignment]
        freeze=lambda: None, unfreeze=lambda: None, collect=lambda: 0,
        disable=lambda: None, enable=lambda: None, isenabled=lambda: True)


async def backfill(url: str, builds: int, steady_s: float) -> Run:
    """Start the app on the simulator at `url`; keys while it loads `builds` rows and after."""
    app = BuildwatchApp(simulator_settings(url, "sim-token", "sim-api-key"))
    clock = FrameClock(app, shown_by(app))
    pauses = Pauses()
    keys_ms: list[float] = []
    started = perf_counter()
    async with app.run_test(size=SIZE):
        await clock.frame_showing(
            started, lambda shown: shown is not None and shown.top is not None,
            FIRST_ROW_TIMEOUT_S)
        table = app.screen.query_one("#builds", LiveTable)
        loaded_s = 0.0
        while not loaded_s or perf_counter() - started < loaded_s + steady_s:
            if perf_counter() - started > TIMEOUT_S:
                raise SystemExit(f"the table never reached {builds:,} rows")
            if not loaded_s and table.total_row_count >= builds:
                loaded_s = perf_counter() - started
            _, round_trip = await key_round_trip(app, clock, "up" if len(keys_ms) % 2 else "down")
            keys_ms.append(round_trip * 1000)
            await asyncio.sleep(KEY_EVERY_S)
        gc_ms = pauses.ms
        return Run(sum(gc_ms), percentile(gc_ms, 0.95), max(gc_ms),
                   sum(1 for ms in gc_ms if ms > 50), statistics.median(keys_ms),
                   percentile(keys_ms, 0.95), max(keys_ms), loaded_s, rss_mb())


def one_run(policy: str, url: str, builds: int, steady_s: float) -> None:
    """The child process: one run of `policy`, printed as JSON."""
    if policy == "defaults":
        python_defaults()
    print(json.dumps(asdict(asyncio.run(backfill(url, builds, steady_s)))))


def main() -> int:
    """Run both policies in turn, each in a child process, and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--steady", type=float, default=10.0)
    parser.add_argument("--child", nargs=2, metavar=("POLICY", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        one_run(args.child[0], args.child[1], args.builds, args.steady)
        return 0
    runs: dict[str, list[Run]] = {policy: [] for policy in POLICIES}
    for _ in range(args.runs):
        for policy in POLICIES:
            simulator = Simulator(args.builds)
            try:
                out = subprocess.run(
                    [sys.executable, __file__, "--builds", str(args.builds), "--steady",
                     str(args.steady), "--child", policy, simulator.url],
                    check=True, capture_output=True, text=True).stdout
            finally:
                simulator.stop()
            runs[policy].append(Run(**json.loads(out.splitlines()[-1])))
    print(f"GC policy on a backfill of {args.builds:,} builds, {SIZE[0]}x{SIZE[1]} headless, "
          f"{args.runs} run(s) each, medians; ratio = frozen / Python's defaults")
    fields = [("collections on the screen's thread, total (ms)", "gc_total_ms"),
              ("  95th percentile (ms)", "gc_p95_ms"), ("  longest (ms)", "gc_max_ms"),
              ("  over 50 ms (count)", "gc_over_50ms"), ("key to frame, median (ms)",
                                                          "key_median_ms"),
              ("  95th percentile (ms)", "key_p95_ms"), ("  longest (ms)", "key_max_ms"),
              ("all rows in the table (s)", "loaded_s"), ("resident memory at the end (MiB)",
                                                          "rss_mb")]
    print(f"{'':<48} {'frozen':>10} {'defaults':>10} {'ratio':>7}")
    for label, name in fields:
        frozen = statistics.median(getattr(run, name) for run in runs["frozen"])
        default = statistics.median(getattr(run, name) for run in runs["defaults"])
        ratio = f"x{frozen / default:.2f}" if default else "-"
        print(f"{label:<48} {frozen:10.1f} {default:10.1f} {ratio:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
