"""The team store's viewers, measured through the app: a build's way from the server to the rows
of many viewers, and the first screen on a store of a million builds.

Targets (the team store issue): (a) from a build's publication on the server to its row on a
viewer's screen, p95 at most 1 s with 10 viewers; (b) a viewer of a store of 1,000,000 builds
shows its first screen in at most 1 s, and answers keys as fast as on the local history.

(a) The simulator (in this process) publishes one build every `--interval` seconds;
`buildwatch collect` writes it into the store; `--viewers` apps viewing the store, each headless
in a process of its own, note the first frame with that build among the table's top rows. Latency:
that frame's wall time minus the publication's. Baseline in the same run: as many apps following
the simulator themselves (a listing stream and summary reads each, as without a store), the
same publications timed the same way, before the viewers start: on a machine of few cores, what
the apps' own drawing costs shows in both.
(b) The app on a store of `--builds` builds with their summaries (written by SQL in the
database), timed from its construction (`history_app.start_app`): a frame with builds and a key
answered ("usable"), the newest build on top, the table holding `history_max_builds` (what a
viewer keeps, 100,000 by default), keys meanwhile. Baseline in the same run: the same start on
a local history of that many builds, the most a local history keeps.

    python bench/store_viewers.py [--viewers 10] [--publications 30] [--builds 1000000] [--part a|b]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from time import perf_counter
from typing import IO

from history_app import SIZE, keys_text, on_top_text, ratios, settings_for, spread
from history_app import start_app as timed_start
from history_load import build, record
from textual.css.query import NoMatches
from tui_harness import FrameClock, percentile
from tui_monitor import Simulator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from postgres_server import postgres_binaries, running_server

from buildwatch.cli.tui import simulator_settings
from buildwatch.core.config import Profile, UiPreferences
from buildwatch.core.history.codec import summary_to_json
from buildwatch.core.monitor.session import MonitorSettings
from buildwatch.core.teamstore.admin import init_store
from buildwatch.core.teamstore.location import store_location
from buildwatch.core.teamstore.store import TeamStore
from buildwatch.sim import SimConfig, SimulatorThread
from buildwatch.tui.app import BuildwatchApp
from buildwatch.tui.widgets.live_table import LiveTable

BACKFILL = 20
"""Builds the simulator holds before the first publication."""
KEPT = UiPreferences().history_max_builds
QUIET = UiPreferences(notify=())
FILL_CHUNK = 100_000
"""Builds written per statement when filling the big store."""


def viewer_settings(url: str) -> MonitorSettings:
    """The app viewing the team store at `url`."""
    return MonitorSettings(Profile(name="bench", ui=QUIET), store=store_location(url))


# (a) publication to row


TOP_ROWS = 20
"""Rows a frame is looked at from the top: builds published close together may reach a busy
viewer's screen in one frame, the newest of them on top."""
SHOWN_WITHIN_S = 10.0
"""How long after the last publication every viewer may take to show every build."""
SETTLE_S = 5.0
"""How long the apps are left once they show builds before the first publication: the ones on
the server summarise their backfill meanwhile, the viewers read the store's."""


def top_rows(app: BuildwatchApp) -> Callable[[], tuple[str, ...]]:
    """A frame probe: the keys of the builds table's top rows (none before the table exists)."""

    def probe() -> tuple[str, ...]:
        try:
            table = app.screen.query_one("#builds", LiveTable)
        except (NoMatches, IndexError):  # the main screen is not up yet
            return ()
        return tuple(table.row_key_at(row) for row in range(min(TOP_ROWS, table.row_count)))

    return probe


async def note_tops(settings: MonitorSettings) -> None:
    """Run the app headless until standard input closes; print `ready` once it shows builds,
    then `ID WALL_TIME` for each build that a frame shows near the top for the first time."""
    app = BuildwatchApp(settings)
    clock = FrameClock(app, top_rows(app))
    wall = time.time() - perf_counter()
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    threading.Thread(target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(done.set)),
                     daemon=True).start()
    seen: set[str] = set()
    async with app.run_test(size=SIZE):
        await clock.frame_showing(0.0, bool)
        print("ready", flush=True)
        checked = 0
        while not done.is_set():
            for frame, keys in list(zip(clock.frames, clock.shown, strict=True))[checked:]:
                for key in keys:  # type: ignore[attr-defined]
                    if key not in seen:
                        seen.add(key)
                        print(f"{key} {frame + wall:.6f}", flush=True)
            checked = len(clock.frames)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.05)


@contextlib.contextmanager
def watching(kind: str, url: str, count: int) -> Iterator[list[dict[str, float]]]:
    """`count` apps, each in a process running `note_tops` on `kind` ("store" or "server") at
    `url`, once every one of them shows builds: for each, build id -> when it was first shown,
    filled as they show builds. Closed at the end."""
    processes = [
        subprocess.Popen([sys.executable, __file__, "--watch", kind, url],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    shown: list[dict[str, float]] = [{} for _ in processes]
    try:
        for process, times in zip(processes, shown, strict=True):
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise SystemExit("a viewer did not start")
            threading.Thread(target=_read_times, args=(process.stdout, times), daemon=True).start()
        time.sleep(SETTLE_S)
        yield shown
    finally:
        for process in processes:
            assert process.stdin is not None
            process.stdin.close()
        for process in processes:
            process.wait(30)


def _read_times(lines: IO[str], times: dict[str, float]) -> None:
    for line in lines:
        key, moment = line.split()
        times[key] = float(moment)


def latencies(sim: SimulatorThread, shown: list[dict[str, float]],
              publications: int, interval_s: float) -> tuple[list[float], int]:
    """Publish builds one at a time; seconds from each publication to its first frame in each
    viewer, and how many (viewer, build) pairs had not shown `SHOWN_WITHIN_S` after the last."""
    published: dict[str, float] = {}
    for _ in range(publications):
        moment = time.time()
        for build_id in sim.publish_builds(1):
            if len(build_id) == 13:
                published[build_id] = moment
        time.sleep(interval_s)
    deadline = time.monotonic() + SHOWN_WITHIN_S
    while time.monotonic() < deadline and not all(
        published.keys() <= times.keys() for times in shown
    ):
        time.sleep(0.1)
    seconds = [times[key] - moment for times in shown
               for key, moment in published.items() if key in times]
    return seconds, len(published) * len(shown) - len(seconds)


def collecting(sim: SimulatorThread, url: str, log: Path) -> subprocess.Popen[bytes]:
    """`buildwatch collect` of the simulator into the store at `url`, logging to `log`."""
    environment = {
        **os.environ,
        "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url,
        "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token",
        "BUILDWATCH_BUILDBUDDY_URL": sim.buildbuddy_url,
        "BUILDWATCH_BUILDBUDDY_API_KEY": "sim-api-key",
    }
    with log.open("w") as stream:
        return subprocess.Popen([sys.executable, "-m", "buildwatch", "collect", "--store", url],
                                env=environment, stdout=stream, stderr=stream)


def until_stored(url: str, count: int) -> None:
    store = TeamStore.connect(store_location(url), read_only=True)
    try:
        deadline = time.monotonic() + 120
        while store.build_count() < count:
            if time.monotonic() > deadline:
                raise SystemExit("the collector never stored the backfill")
            time.sleep(0.2)
    finally:
        store.close()


def publication_to_row(args: argparse.Namespace, url: str, directory: Path) -> None:
    """(a): the same publications seen through one app on the server, then through the viewers."""
    with SimulatorThread(SimConfig(seed=2, builds=BACKFILL, not_ready_s=0.0)) as sim:
        collector = collecting(sim, url, directory / "collect.log")
        try:
            until_stored(url, BACKFILL)
            with watching("server", sim.develocity_url, args.viewers) as direct:
                base, base_missing = latencies(sim, direct, args.publications, args.interval)
            with watching("store", url, args.viewers) as viewers:
                seconds, missing = latencies(sim, viewers, args.publications, args.interval)
        finally:
            collector.terminate()
            collector.wait(30)
    print(f"(a) publication to row, {args.publications} builds {args.interval} s apart")
    for name, values, lost in ((f"{args.viewers} apps on the server", base, base_missing),
                               (f"{args.viewers} viewers on the store", seconds, missing)):
        print(f"    {name:<26} p50 {percentile(values, 0.5) * 1000:6.0f} ms"
              f"   p95 {percentile(values, 0.95) * 1000:6.0f} ms   never shown {lost}")
    print(f"    p95 ratio to the apps on the server x{percentile(seconds, 0.95) / percentile(base, 0.95):.1f}"
          "   target p95 <= 1000 ms")


# (b) first screen on a big store


def fill(url: str, count: int, start_ms: int) -> float:
    """Write `count` builds with summaries into the store at `url` by SQL; seconds taken."""
    import psycopg

    _, summary = build(1, start_ms)
    template = summary_to_json(summary).decode().replace(summary.build_id, "@ID@")
    started = perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        for first in range(1, count + 1, FILL_CHUNK):
            connection.execute(
                "INSERT INTO builds (build_id, published_ms, source, summary)"
                " SELECT id, ms, convert_to(format('{\"buildId\":\"%%s\",\"timestamp\":%%s,"
                "\"toolType\":\"gradle\",\"toolVersion\":\"8.14.3\",\"agentVersion\":\"4.0.2\"}',"
                " id, ms), 'UTF8'), convert_to(replace(%s, '@ID@', id), 'UTF8')"
                " FROM (SELECT lpad(n::text, 13, '0') AS id, %s::bigint + n * 1000 AS ms"
                " FROM generate_series(%s::bigint, %s::bigint) AS n) AS numbered",
                (template, start_ms, first, min(first + FILL_CHUNK, count + 1) - 1),
            )
        connection.execute("VACUUM ANALYZE builds")
    return perf_counter() - started


def first_screen(args: argparse.Namespace, url: str, directory: Path) -> None:
    """(b): the app on the store at `url` filled with `--builds` builds, and on a local history
    of `KEPT`."""
    start_ms = int(time.time() * 1000) - (args.builds + 60) * 1_000
    filled = fill(url, args.builds, start_ms)
    kept = min(KEPT, args.builds)
    history = directory / "history.sqlite3"
    record(history, args.builds - kept + 1, kept, start_ms)
    newest = f"{args.builds:013d}"
    simulator = Simulator(0)
    try:
        starts = [
            asyncio.run(timed_start(settings, newest, kept))
            for _ in range(args.runs)
            for settings in (settings_for(simulator.url, history), viewer_settings(url))
        ]
    finally:
        simulator.stop()
    base, runs = starts[0::2], starts[1::2]
    print(f"(b) start on a store of {args.builds:,} builds (written in {filled:.0f} s), "
          f"{args.runs} runs, {SIZE[0]}x{SIZE[1]}")
    usable = [s.usable_s for s in runs]
    print(f"    usable (rows shown, key answered) {spread(usable, 's')}   target <= 1 s")
    print(f"      local history of {kept:,}      {spread([s.usable_s for s in base], 's')}"
          f"   ratio {ratios(usable, [s.usable_s for s in base])}")
    print(f"    newest build on top               {on_top_text(runs)}"
          f"   (local history {on_top_text(base)})")
    print(f"    {kept:,} rows in the table        {spread([s.table_s for s in runs], 's')}"
          f"   (local history {spread([s.table_s for s in base], 's')})")
    print(f"    keys while loading                {keys_text(runs)}")
    print(f"      local history                   {keys_text(base)}")


def main() -> int:
    """Run the benchmark and print its figures (or, with --watch, be one of its viewers)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--viewers", type=int, default=10)
    parser.add_argument("--publications", type=int, default=30)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--builds", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--part", choices=("a", "b"), help="measure (a) or (b) alone")
    parser.add_argument("--watch", nargs=2, metavar=("KIND", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.watch is not None:
        kind, url = args.watch
        settings = (viewer_settings(url) if kind == "store"
                    else simulator_settings(url, "sim-token", "sim-api-key"))
        asyncio.run(note_tops(settings))
        return 0
    binaries = postgres_binaries()
    if binaries is None:
        raise SystemExit("PostgreSQL is not installed (initdb not on PATH nor in /usr/lib/postgresql)")
    with running_server(binaries) as server, tempfile.TemporaryDirectory() as name:
        if args.part != "b":
            publication_to_row(args, new_store(server.url(), "viewers"), Path(name))
        if args.part != "a":
            first_screen(args, new_store(server.url(), "big"), Path(name))
    return 0


def new_store(server_url: str, name: str) -> str:
    """The URL of a new database `name` on the server, holding the team store's schema."""
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    init_store(store_location(url))
    return url


if __name__ == "__main__":
    raise SystemExit(main())
