"""How fast the Failures view opens, and follows new failures, on a big history, through the app.

Target (the triage issue): with 100,000 builds in the history of which 15% failed, the Failures
view opens in at most 300 ms and stays live as builds arrive. The app runs headless on a history
holding the builds (with their summaries) and their recorded runs and failures, offline, so
nothing but the history feeds it. Once the history's failure groups are loaded, each key's time
is measured to the first frame that shows its result:

- `F`: the Failures view with every group in its table (its first frame is the figure);
- `?`: the help screen, the baseline, a screen with no data behind it, in the same run.

Then, with the view open, failing runs are recorded in the store a few at a time, as the feeds
record them, each with a failure never seen before, and the time to the frame whose table holds
the new group is measured, against the view's refresh period (its figure's floor).

    python bench/failures_view.py [--builds 100000] [--failed 0.15] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from time import perf_counter
from typing import Any

from history_app import send_key
from history_load import record
from offline_app import SIZE, TIMEOUT_S, history_directory, loaded, offline_app, preferences
from triage_failures import fill, history_records
from tui_harness import FrameClock, median, report

from buildwatch.core.triage.model import Failure, Run
from buildwatch.tui.app import BuildwatchApp
from buildwatch.tui.screens.failures import REFRESH_S, FailuresScreen
from buildwatch.tui.screens.help import HelpScreen
from buildwatch.tui.screens.main import MainScreen

LIVE_RUNS = 20
"""Failing runs recorded while the view is open, one at a time."""


def shown_by(app: BuildwatchApp) -> Any:
    """What a frame shows: which screen, and how many rows a Failures view holds."""

    def probe() -> tuple[type, int]:
        screen = app.screen
        rows = screen.table.total_row_count if isinstance(screen, FailuresScreen) else -1
        return type(screen), rows

    return probe


async def key_to_frame(app: BuildwatchApp, clock: FrameClock, key: str, wanted: Any) -> float:
    """Seconds from sending `key` to the first frame whose probe value is `wanted`."""
    sent = perf_counter()
    send_key(app, key)
    return await clock.frame_showing(sent, wanted, TIMEOUT_S)


async def measure(history: Path, runs: int) -> None:
    """Start the app on `history`, then time the keys and the live updates."""
    app = offline_app(history, preferences())
    clock = FrameClock(app, shown_by(app))
    started = perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        failures = app.store.failures
        # Measured once the start is over: the groups loaded, every build in the table.
        seconds = await loaded(
            pilot, lambda: not (failures.loading or not len(failures.index)
                                or app.store.has_changes),
            "the history's failure groups", started)
        groups = len(failures.index)
        print(f"history's failure groups loaded {seconds:.2f} s after the "
              f"start: {failures.index.run_count:,} runs, {groups:,} groups")

        help_s, view_s = [], []
        for _ in range(runs):
            help_s.append(await key_to_frame(
                app, clock, "question_mark", lambda shown: shown[0] is HelpScreen))
            await key_to_frame(app, clock, "escape", lambda shown: shown[0] is MainScreen)
            view_s.append(await key_to_frame(
                app, clock, "F", lambda shown: shown == (FailuresScreen, len(failures.index))))
            await key_to_frame(app, clock, "escape", lambda shown: shown[0] is MainScreen)
        report("Failures view opens, key to frame (ms)", median(view_s) * 1e3,
               median(help_s) * 1e3, "ms", "<= 300 ms")
        print("  each run (ms): view " + ", ".join(f"{s * 1e3:.0f}" for s in view_s)
              + "; help " + ", ".join(f"{s * 1e3:.0f}" for s in help_s))

        await key_to_frame(app, clock, "F", lambda shown: shown[0] is FailuresScreen)
        live_s = []
        last_ms = failures.index.groups()[0].last_seen_ms
        for number in range(LIVE_RUNS):
            run = Run("develocity", f"live-{number}", last_ms + (number + 1) * 1_000, False,
                      "service-0", "main", f"{number:040x}", "user0")
            recorded = perf_counter()
            failures.record([(run, (Failure("test", f"com.acme.Live{number}Test.fails()"),))])
            expected = len(failures.index)
            live_s.append(await clock.frame_showing(
                recorded, lambda shown, rows=expected: shown == (FailuresScreen, rows),
                TIMEOUT_S))
        report("new failure recorded to frame (ms)", median(live_s) * 1e3, REFRESH_S * 1e3,
               "ms", f"<= {REFRESH_S * 1e3:.0f} ms refresh + a frame")
        print(f"  slowest of {LIVE_RUNS}: {max(live_s) * 1e3:.1f} ms")


def main() -> None:
    """Fill a history, then run the measurements."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--failed", type=float, default=0.15, help="share of builds that failed")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with history_directory() as path:
        record(path, 0, args.builds)
        records = history_records(args.builds, args.failed)
        fill(path, records)
        failed = sum(1 for run, _ in records if not run.succeeded)
        print(f"history: {args.builds:,} builds with summaries, {failed:,} failed")
        asyncio.run(measure(path, args.runs))


if __name__ == "__main__":
    main()
