"""Memory and CPU of the app holding many summarised builds, loaded from the local history.

Target (the speed issue, part 3): 100,000 builds in the table with RSS <= 400 MB once they are
summarised. The builds are those the simulator's world lists (`plan_build`), their summaries and
failures reduced from the events it would serve for them, written to a history once
(`--history PATH` keeps the file and reuses it next time: making 100,000 takes minutes). The app
starts headless and offline on it (`offline_app.py`) and is measured, in a process of its own,
once every build is a row and the failure groups are grouped: resident memory, and the CPU
seconds the start took. Baseline in the same run: the same app on the same builds with their
summaries and failures left out (what the table alone costs).

    python bench/summarised_memory.py [--builds 100000] [--history PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from offline_app import SIZE, history_directory, loaded, offline_app, preferences
from tui_harness import report, rss_mb

from buildwatch.core.develocity.detail import BuildDetail
from buildwatch.core.develocity.failure_details import (
    FailedItem,
    FailureDetails,
    failure_detail_event_types,
)
from buildwatch.core.develocity.models import Build, BuildEvent
from buildwatch.core.develocity.summary import summarize, summary_event_types
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.store import HistoryBatch
from buildwatch.core.triage.records import build_record
from buildwatch.sim.develocity_data import numbered_events, plan_build
from buildwatch.sim.develocity_model import BuildSummary as PlannedBuild
from buildwatch.sim.world import World
from buildwatch.tui.widgets.live_table import LiveTable

CHUNK = 2_000


def events(plan: PlannedBuild, world: World, types: tuple[str, ...]) -> list[BuildEvent]:
    """The build's events of `types`, as the client reads them."""
    found = []
    for number, (timestamp, kind, major, minor, data) in numbered_events(plan, world, types):
        body = {"timestamp": timestamp, "type": {"majorVersion": major, "minorVersion": minor,
                                                 "eventType": kind},
                "data": json.loads(data) if isinstance(data, str) else data}
        found.append(BuildEvent(source=json.dumps(body).encode(), message_id=str(number)))
    return found


def failure_details(plan: PlannedBuild, world: World, tool: str) -> FailureDetails:
    """What failed in the build, as `read_failure_details` reduces it."""
    detail = BuildDetail()
    detail.add(events(plan, world, failure_detail_event_types(tool)))
    return FailureDetails(
        tuple(FailedItem(item.kind, item.path, item.failure_id) for item in detail.failed_work()),
        tuple(FailedItem("test", f"{test.class_name}.{test.name}", test.failure_id, test.owner)
              for test in detail.tests.values() if test.outcome == "failed"),
    )


def fill(path: Path, builds: int) -> None:
    """Write `builds` summarised builds, published a second apart up to an hour ago."""
    world = World(seed=1)
    store = open_history(path).store
    start_ms = int(time.time() * 1000) - builds * 1_000 - 3_600_000
    batch = HistoryBatch()
    for index in range(builds):
        plan = plan_build(world, index, start_ms + index * 1_000)
        build = Build(source=json.dumps(plan.listing_data(2)).encode(), message_id=plan.build_id)
        summary = summarize(build, events(plan, world, summary_event_types(plan.tool_type)))
        details = None
        if summary.outcome == "failed" and failure_detail_event_types(plan.tool_type):
            details = failure_details(plan, world, plan.tool_type)
        batch.builds.append(build)
        batch.summaries.append(summary)
        batch.triage.append(build_record(summary, details))
        if len(batch.builds) == CHUNK:
            store.write(batch)
            batch = HistoryBatch()
    store.write(batch)
    store.close()


def without_summaries(source: Path, target: Path) -> None:
    """A copy of the history at `source` with no summaries and no failures recorded."""
    shutil.copy(source, target)
    with sqlite3.connect(target) as db:
        db.execute("UPDATE builds SET summary = NULL")
        db.execute("DELETE FROM triage_failures")
        db.execute("DELETE FROM triage_runs")


async def measure(history: Path, builds: int) -> dict[str, float]:
    """Start the app on `history`; its RSS and CPU seconds once `builds` rows are in."""
    app = offline_app(history, preferences())
    started, cpu = time.perf_counter(), time.process_time()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#builds", LiveTable)
        groups = app.store.failures
        seconds = await loaded(
            pilot, lambda: table.total_row_count >= builds and not app.store.has_changes
            and not groups.loading, "the history", started)
        figures = {"seconds": seconds, "cpu": time.process_time() - cpu, "rss": rss_mb()}
        await pilot.press("q")
    return figures


def measured(history: Path, builds: int) -> dict[str, float]:
    """`measure` in a process of its own: memory once used is not given back."""
    output = subprocess.run(
        [sys.executable, __file__, "--measure", str(history), "--builds", str(builds)],
        check=True, capture_output=True, text=True,
    ).stdout
    return dict(json.loads(output.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--history", type=Path, help="the history to make once and reuse")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        with history_directory():
            print(json.dumps(asyncio.run(measure(args.measure, args.builds))))
        return
    with tempfile.TemporaryDirectory() as directory:
        history = args.history or Path(directory, "history.sqlite")
        if not history.exists():
            started = time.perf_counter()
            fill(history, args.builds)
            print(f"{args.builds:,} summarised builds written in {time.perf_counter() - started:.0f} s")
        bare = Path(directory, "bare.sqlite")
        without_summaries(history, bare)
        base = measured(bare, args.builds)
        big = measured(history, args.builds)
    print(f"{args.builds:,} builds, offline, {SIZE[0]}x{SIZE[1]}; baseline: the same without "
          "summaries")
    report("RSS once loaded (MiB)", big["rss"], base["rss"], "MiB", "<= 400 MiB")
    report("CPU of the start (s)", big["cpu"], base["cpu"], "s")
    report("wall time of the start (s)", big["seconds"], base["seconds"], "s")


if __name__ == "__main__":
    main()
