"""How many builds a second `buildwatch collect` stores with their summaries into PostgreSQL,
against the same feed into the local SQLite history in the same run.

The simulator runs as a separate process (so it never competes with the collector for the GIL)
with a backfill of `--builds` builds. Each round runs, in this process:

- baseline: the monitor's Develocity feed with its summary pass, recording into a new SQLite
  history (as `buildwatch` does on one machine);
- collector: `buildwatch collect`'s core (the same feed, its writer retrying, leader lock,
  heartbeats) into the team store, its schema created anew in the database given.

Each is timed from its start until every build is stored with its summary, read by a connection
of the bench's own every 50 ms; "sustained" is the rate between the 10th and 90th percentile of
builds stored, without the start and the last stragglers. The target is 200 builds/s sustained
into PostgreSQL.

Where the simulator cannot serve summaries that fast (it is one Python process), both rates are
its rate, and say only that neither store holds the feed back. So the bench also times the write
path alone, in the same run: `--builds` builds recorded as the feed records them (listing batches
of 200, then each build's summary and triage record one call at a time) through the writer into
each store, until flushed.

    python bench/collector_throughput.py --store postgresql://USER:PASSWORD@HOST/EMPTY_DATABASE \
        [--builds 3000] [--rounds 1] [--concurrency 6]

The database must be empty (the bench creates and drops buildwatch's tables in it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from buildwatch.core.collector.service import Collector, CollectorSettings
from buildwatch.core.config import Profile
from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
from buildwatch.core.develocity.models import Build, FailureInfo
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.monitor.session import MonitorSession, MonitorSettings
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.secrets import Secret
from buildwatch.core.teamstore.admin import init_store
from buildwatch.core.teamstore.location import StoreLocation, store_location

TOKEN = "bench-token"


@dataclass(frozen=True)
class Timing:
    """How long storing every build with its summary took."""

    total_s: float
    sustained_per_s: float

    def text(self, builds: int) -> str:
        return (
            f"{builds / self.total_s:7.0f} builds/s overall ({self.total_s:.1f} s), "
            f"{self.sustained_per_s:7.0f} builds/s sustained"
        )


async def timed(run: Callable[[], asyncio.Task[None]], summarised: Callable[[], int],
                builds: int) -> Timing:
    """Start `run`, and time it until `summarised()` reaches `builds`; then cancel it."""
    started = time.perf_counter()
    task = run()
    low, high = int(builds * 0.1), int(builds * 0.9)
    at_low = at_high = None
    try:
        while True:
            done = await asyncio.to_thread(summarised)
            now = time.perf_counter()
            if at_low is None and done >= low:
                at_low, low = now, done
            if at_high is None and done >= high:
                at_high, high = now, done
            if done >= builds:
                break
            if task.done():
                task.result()
                raise RuntimeError("the run ended before storing every build")
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert at_low is not None and at_high is not None
    return Timing(time.perf_counter() - started, (high - low) / max(at_high - at_low, 1e-9))


async def into_sqlite(url: str, builds: int, concurrency: int) -> Timing:
    """The baseline: the monitor's feed into a new SQLite history."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "history.sqlite3"
        settings = MonitorSettings(
            Profile(name="bench"), develocity=_develocity(url), concurrency=concurrency,
            history=path,
        )
        session = MonitorSession(settings, MonitorStore())
        await session.open_history()
        reader = sqlite3.connect(path, check_same_thread=False)

        def summarised() -> int:
            return int(reader.execute(
                "SELECT count(*) FROM builds WHERE summary IS NOT NULL").fetchone()[0])

        try:
            return await timed(lambda: asyncio.create_task(session.run_develocity()),
                               summarised, builds)
        finally:
            reader.close()
            await asyncio.to_thread(session.close_history)
            await session.aclose()


async def into_postgres(url: str, location: StoreLocation, builds: int,
                        concurrency: int) -> Timing:
    """The collector into a team store made anew in `location`'s database."""
    import psycopg

    _drop_tables(location)
    init_store(location)
    settings = CollectorSettings(
        location,
        MonitorSettings(
            Profile(name="bench"), develocity=_develocity(url),
            buildbuddy=BuildBuddyConnection(base_url=url, api_key=None),
            concurrency=concurrency,
        ),
        name="bench",
    )
    collector = Collector(settings)  # its log lines go to stderr, between the figures
    reader = psycopg.connect(location.url.reveal(), autocommit=True)

    def summarised() -> int:
        row = reader.execute("SELECT count(*) FROM builds WHERE summary IS NOT NULL").fetchone()
        return int(row[0]) if row else 0

    try:
        return await timed(lambda: asyncio.create_task(collector.run()), summarised, builds)
    finally:
        reader.close()


def write_path(store: Path | StoreLocation, builds: int) -> float:
    """Seconds to record `builds` builds with summaries and triage records through a
    `HistoryWriter` into `store` (a SQLite path, or a team store made anew), until flushed."""
    from buildwatch.core.history.writer import HistoryWriter
    from buildwatch.core.teamstore.store import TeamStore
    from buildwatch.core.triage.records import build_record

    if isinstance(store, Path):
        writer = HistoryWriter(store)
    else:
        location = store
        _drop_tables(location)
        init_store(location)
        writer = HistoryWriter(lambda: TeamStore.connect(location), name=location.shown)
    listed = [_build(number) for number in range(builds)]
    started = time.perf_counter()
    for start in range(0, builds, 200):
        writer.record_builds(listed[start:start + 200])
    for build in listed:
        summary = _summary(build)
        writer.record_summaries((summary,))
        writer.record_triage((build_record(summary, None),))
    writer.flush()
    elapsed = time.perf_counter() - started
    writer.close()
    assert not writer.errors and not writer.dropped, writer.errors
    return elapsed


def _build(number: int) -> Build:
    build_id = f"bench{number:09d}"
    source = json.dumps({"buildId": build_id, "timestamp": 1_764_633_600_000 + number,
                         "toolType": "gradle", "toolVersion": "8.5"}).encode()
    return Build(source=source, message_id=build_id)


def _summary(build: Build) -> BuildSummary:
    return BuildSummary(
        build_id=build.build_id, tool_type="gradle", tool_version="8.5",
        published_ms=build.timestamp, outcome="failed", project="app", requested=("build",),
        user="ana", host="ci-7", tags=("CI",), git_commit="4f2a9c1", started_ms=1,
        finished_ms=5, exit_code=1, failures=(FailureInfo(3, "org.gradle.Failure", "boom"),),
    )


def _drop_tables(location: StoreLocation) -> None:
    """Empty the bench's database of buildwatch's tables (from an earlier round)."""
    import psycopg

    with psycopg.connect(location.url.reveal(), autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


def _develocity(url: str) -> DevelocityConnection:
    return DevelocityConnection(base_url=url, token=Secret(TOKEN))


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="an empty PostgreSQL database's URL")
    parser.add_argument("--builds", type=int, default=3_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=6)
    args = parser.parse_args()
    location = store_location(args.store)

    sim = subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "sim", "--builds", str(args.builds), "--seed", "1",
         "--token", TOKEN],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert sim.stdout is not None
        match = re.search(r"Develocity:\s+(\S+)", sim.stdout.readline())
        assert match, "buildwatch sim printed no Develocity URL"
        url = match.group(1)
        for round_number in range(1, args.rounds + 1):
            baseline = asyncio.run(into_sqlite(url, args.builds, args.concurrency))
            collector = asyncio.run(
                into_postgres(url, location, args.builds, args.concurrency))
            print(f"round {round_number}: {args.builds:,} builds with summaries, "
                  f"concurrency {args.concurrency}")
            print(f"  baseline, SQLite history:   {baseline.text(args.builds)}")
            print(f"  collector, PostgreSQL:      {collector.text(args.builds)}")
            print(f"  collector/baseline sustained: "
                  f"{collector.sustained_per_s / baseline.sustained_per_s:.2f}x "
                  f"(target: 200 builds/s sustained into PostgreSQL)")
            with tempfile.TemporaryDirectory() as directory:
                sqlite_s = write_path(Path(directory) / "history.sqlite3", args.builds)
            postgres_s = write_path(location, args.builds)
            print("  the write path alone (builds, summaries and triage records):")
            print(f"    SQLite history:   {args.builds / sqlite_s:8.0f} builds/s")
            print(f"    PostgreSQL:       {args.builds / postgres_s:8.0f} builds/s "
                  f"({sqlite_s / postgres_s:.2f}x SQLite)")
    finally:
        sim.terminate()
        sim.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
