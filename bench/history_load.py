"""How fast the local history gives a usable screen, loads whole, and takes a night's catch-up.

Targets: with 100,000 builds stored, open the file and load the newest screenful in at most 2 s;
record 20,000 caught-up builds (and their summaries) without the caller waiting; replay a night
of 20,000 builds from the simulator, recording them, in at most 10 s. Baselines in the same run:
the bare SQL reads of the same rows (no decoding), one bare `executemany` of the same rows into a
table without indexes in one transaction, and one plain GET of the simulator's listing.

    python bench/history_load.py [--builds 100000] [--screen 200] [--catch-up 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
from pathlib import Path
from time import perf_counter

import httpx

from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.models import Build, FailureInfo
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.history.catch_up import resumed_listing
from buildwatch.core.history.codec import summary_to_json
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.writer import HistoryWriter
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimConfig, SimulatorThread

START_MS = 1_790_000_000_000
BATCH = 100
"""Builds per listing batch, about what a catch-up stream delivers per read."""


def build(number: int, start_ms: int = START_MS) -> tuple[Build, BuildSummary]:
    """A build published `number` seconds after `start_ms`, and a failed build's summary of
    realistic size."""
    build_id = f"{number:013d}"
    published = start_ms + number * 1_000
    source = json.dumps({"buildId": build_id, "timestamp": published, "toolType": "gradle",
                         "toolVersion": "8.14.3", "agentVersion": "4.0.2"}).encode()
    summary = BuildSummary(
        build_id=build_id, tool_type="gradle", tool_version="8.14.3", published_ms=published,
        outcome="failed" if number % 7 == 0 else "success", project=f"service-{number % 40}",
        requested=("clean", "build", f":module{number % 30}:test"), user=f"user{number % 50}",
        host=f"ci-agent-{number % 20}", tags=("CI", "linux"),
        custom_values=(("Git commit id", f"{number:040x}"), ("Git branch", "main")),
        links=(("CI job", f"https://ci.example.com/job/{number}"),),
        git_commit=f"{number:040x}", git_branch="main", started_ms=published - 90_000,
        finished_ms=published - 1_000, exit_code=1 if number % 7 == 0 else 0,
        failures=(FailureInfo(1, "org.gradle.api.GradleException", "Compilation failed"),)
        if number % 7 == 0 else (),
    )
    return Build(source=source, message_id=build_id), summary


def record(path: Path, first: int, count: int, start_ms: int = START_MS) -> tuple[float, float]:
    """Record `count` builds (see `build`) in listing-sized batches; (seconds in record calls,
    total)."""
    writer = HistoryWriter(path, max_pending=count)
    started = perf_counter()
    calling = 0.0
    for offset in range(first, first + count, BATCH):
        pairs = [build(n, start_ms) for n in range(offset, min(offset + BATCH, first + count))]
        before = perf_counter()
        writer.record_builds([b for b, _ in pairs])
        writer.record_summaries([s for _, s in pairs])
        calling += perf_counter() - before
    writer.close(timeout_s=None)
    if writer.errors or writer.dropped:
        sys.exit(f"writer failed: {writer.errors}, dropped {writer.dropped}")
    return calling, perf_counter() - started


def bare_insert(path: Path, first: int, count: int) -> float:
    """The floor for writing: the same rows, one executemany, one transaction, no index."""
    rows = [(b.build_id, b.timestamp, b.source, summary_to_json(s))
            for b, s in (build(n) for n in range(first, first + count))]
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (id TEXT, ms INTEGER, source BLOB, summary BLOB)")
    started = perf_counter()
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    connection.execute("COMMIT")
    elapsed = perf_counter() - started
    connection.close()
    return elapsed


def timed_reads(path: Path, screen: int) -> dict[str, float]:
    """Open-and-load-a-screen, full load, and bare SQL reads of the same rows (no check, no
    migration, no decoding)."""
    figures: dict[str, float] = {}
    started = perf_counter()
    opened = open_history(path)
    figures["open"] = perf_counter() - started
    shown = opened.store.load_recent(screen)
    figures["screen"] = perf_counter() - started
    started = perf_counter()
    everything = opened.store.load_recent()
    figures["full"] = perf_counter() - started
    assert len(shown) == screen and all(s.summary for s in everything)
    opened.store.close()
    query = "SELECT build_id, source, summary FROM builds ORDER BY published_ms DESC, seq DESC"
    started = perf_counter()
    connection = sqlite3.connect(path)
    connection.execute(f"{query} LIMIT ?", (screen,)).fetchall()
    figures["screen_bare"] = perf_counter() - started
    started = perf_counter()
    connection.execute(query).fetchall()
    figures["full_bare"] = perf_counter() - started
    connection.close()
    return figures


async def replay(url: str, path: Path) -> tuple[float, float, int]:
    """Resume an empty history against `url`: (s to the first batch, s to the end of the
    replay with everything stored, builds replayed)."""
    opened = open_history(path)
    point = opened.store.resume_point(24 * 3_600_000)
    opened.store.close()
    writer = HistoryWriter(path)
    started = perf_counter()
    first = 0.0
    replayed = 0
    async with DevelocityClient(DevelocityConnection(url, token=Secret("sim-token"))) as client:
        listing = resumed_listing(client, point)
        async for batch in listing:
            first = first or perf_counter() - started
            writer.record_builds(batch.builds)
            replayed = batch.replayed
            if not batch.catching_up:
                break
        await listing.aclose()
    writer.close(timeout_s=None)
    return first, perf_counter() - started, replayed


def catch_up_from_sim(count: int, directory: Path) -> None:
    """Replay `count` builds published overnight on the simulator, and a plain GET of them."""
    with SimulatorThread(SimConfig(seed=3, builds=count)) as sim:
        started = perf_counter()
        httpx.get(f"{sim.develocity_url}/build-export/v2/builds/since/0",
                  headers={"Authorization": "Bearer sim-token"}, timeout=60).raise_for_status()
        plain_s = perf_counter() - started
        history = directory / "sim.sqlite3"
        first_s, total_s, replayed = asyncio.run(replay(sim.develocity_url, history))
    print(f"replay of {replayed:,} builds from the simulator: first batch {first_s * 1000:.0f} ms, "
          f"all stored {total_s:.2f} s (plain GET {plain_s:.2f} s, ratio {total_s / plain_s:.1f}x; "
          "target <= 10 s)")


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--screen", type=int, default=200)
    parser.add_argument("--catch-up", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "history.sqlite3"
        _, fill_s = record(path, 0, args.builds)
        size_mb = path.stat().st_size / 1e6
        print(f"filled {args.builds:,} builds in {fill_s:.2f} s ({size_mb:.0f} MB)")
        reads = timed_reads(path, args.screen)
        print(f"open + newest {args.screen}: {reads['screen'] * 1000:.1f} ms, of which opening "
              f"(with its integrity check) {reads['open'] * 1000:.1f} ms "
              f"(bare connect and SELECT {reads['screen_bare'] * 1000:.1f} ms, "
              f"ratio {reads['screen'] / reads['screen_bare']:.1f}x; target <= 2000 ms)")
        print(f"full {args.builds:,}: {reads['full']:.2f} s (bare SQL {reads['full_bare']:.2f} s, "
              f"ratio {reads['full'] / reads['full_bare']:.1f}x)")
        calling_s, catch_up_s = record(path, args.builds, args.catch_up)
        bare_s = bare_insert(Path(directory) / "bare.sqlite3", args.builds, args.catch_up)
        print(f"catch-up of {args.catch_up:,} builds stored in {catch_up_s:.2f} s, "
              f"caller busy {calling_s * 1000:.0f} ms (bare executemany {bare_s:.2f} s, "
              f"ratio {catch_up_s / bare_s:.1f}x incl. making the builds)")
        catch_up_from_sim(args.catch_up, Path(directory))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
