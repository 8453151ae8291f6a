"""How fast failure groups come out of a big history: the index behind the Failures view, and
`buildwatch failures --offline --json`.

Targets, with 100,000 builds stored of which 15% failed: grouping fast enough for the Failures
view to open in at most 300 ms once the history is read, and the command done in at most 2 s.
Baselines in the same run: reading the same runs and failures out of the history without
grouping them (`HistoryStore.triage_runs`), and starting the command's process (`--version`).
It also compares adding a run to an index of 100,000 runs and to one of 1,000: no step of
`TriageIndex.add` walks the history, so what differs is the collector walking a bigger heap
(hence the same figures with collection paused) and bigger dictionaries missing the processor's
caches.

Figures are CPU seconds (the process's own, and its child's for the command), which a machine
busy with other work inflates far less than wall-clock time; the command's wall-clock time is
printed beside its CPU time.

    python bench/triage_failures.py [--builds 100000] [--failed 0.15]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from time import perf_counter, process_time

from buildwatch.core.history.location import history_path
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.store import HistoryBatch
from buildwatch.core.monitor.heap import bulk_load
from buildwatch.core.triage.groups import TriageIndex
from buildwatch.core.triage.model import Failure, Run, TriageRecord

URL = "http://127.0.0.1:9"
"""The Develocity server the history belongs to; never connected to."""
START_MS = 1_790_000_000_000
PROJECTS = 40
WORKS = ("build", "build", "test", "assemble")
"""What build `number` was asked to do: `WORKS[number % 4]`, so that of the two builds of a
commit, one pair in four asked the same."""
CHUNK = 5_000
ADDED = 1_000
"""Runs added one by one in each of `BATCHES` batches, to measure what one more costs."""
BATCHES = 3


def signatures(rng: random.Random) -> list[list[Failure]]:
    """Per project, the failures its builds have: tests, a task and a build failure each."""
    pool = []
    for project in range(PROJECTS):
        tests = [
            Failure("test", f"com.acme.service{project}.Module{n % 7}Test.case{n}()",
                    "org.opentest4j.AssertionFailedError: expected: <#> but was: <#>",
                    passed_on_retry=rng.random() < 0.05)
            for n in range(40)
        ]
        tasks = [Failure("task", f":module{n}:test", "There were failing tests") for n in range(6)]
        build = [Failure("build", "org.gradle.api.GradleException: Compilation failed",
                         "Compilation failed; see the compiler error output for details.")]
        pool.append(tests + tasks + build)
    return pool


def history_records(builds: int, failed_share: float, seed: int = 1) -> list[TriageRecord]:
    """`builds` builds a second apart over `PROJECTS` projects, a share of them failed with one
    to four failures of their project; about one commit in three is built twice, for the same
    work or another (`WORKS`)."""
    rng = random.Random(seed)
    pool = signatures(rng)
    records: list[TriageRecord] = []
    for number in range(builds):
        project = number % PROJECTS
        failed = rng.random() < failed_share
        commit = f"{(number // 3 if number % 3 else number):040x}"
        run = Run("develocity", f"{number:013d}", START_MS + number * 1_000, not failed,
                  f"service-{project}", rng.choice(("main", "main", "release/2.1", "feature/x")),
                  commit, f"user{number % 50}", WORKS[number % len(WORKS)])
        failures = tuple(rng.sample(pool[project], rng.randint(1, 4))) if failed else ()
        records.append((run, failures))
    return records


def fill(path: Path, records: list[TriageRecord]) -> float:
    """Store `records` in the history at `path`; seconds taken."""
    started = process_time()
    store = open_history(path).store
    for start in range(0, len(records), CHUNK):
        store.write(HistoryBatch(triage=records[start:start + CHUNK]))
    store.close()
    return process_time() - started


def read_runs(path: Path) -> tuple[list[TriageRecord], float]:
    """The history's runs and failures, as the command reads them (collection paused), and the
    seconds taken."""
    started = process_time()
    store = open_history(path).store
    with bulk_load():
        records = store.triage_runs()
    store.close()
    return records, process_time() - started


def grouped(records: list[TriageRecord]) -> tuple[TriageIndex, float, float]:
    """An index of `records`; (index, seconds adding, seconds for the first `groups()`)."""
    started = process_time()
    index = TriageIndex()
    with bulk_load():
        for run, failures in records:
            index.add(run, failures)
    added = process_time()
    index.groups()
    return index, added - started, process_time() - added


def per_added_run(index: TriageIndex, batches: list[list[TriageRecord]]) -> tuple[float, float]:
    """Seconds per run to add each batch of `batches` to `index` one run at a time, and to read
    its groups once after a batch, as a live view does; the least of the batches, the figure
    least disturbed by the rest of the machine."""
    adding, reading = [], []
    for batch in batches:
        started = process_time()
        for run, failures in batch:
            index.add(run, failures)
        added = process_time()
        index.groups()
        adding.append((added - started) / len(batch))
        reading.append(process_time() - added)
    return min(adding), min(reading)


def command(state: Path, *args: str) -> tuple[float, float]:
    """Seconds `buildwatch ARGS` takes as a process against the history in `state`: (wall
    clock, CPU)."""
    environment = {**os.environ, "BUILDWATCH_STATE_DIR": str(state),
                   "BUILDWATCH_DEVELOCITY_URL": URL}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = perf_counter()
    done = subprocess.run([sys.executable, "-m", "buildwatch", *args], env=environment,
                          capture_output=True, check=False)
    elapsed = perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"buildwatch {' '.join(args)} failed: {done.stderr.decode()}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, cpu


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--failed", type=float, default=0.15, help="share of builds that failed")
    args = parser.parse_args()
    records = history_records(args.builds + 4 * BATCHES * ADDED, args.failed)
    stored = records[:args.builds]
    extra = [
        records[start:start + ADDED]
        for start in range(args.builds, len(records), ADDED)
    ]
    failed = sum(1 for run, _ in stored if not run.succeeded)
    with tempfile.TemporaryDirectory() as directory:
        state = Path(directory)
        os.environ["BUILDWATCH_STATE_DIR"] = directory
        path = history_path(URL)
        fill_s = fill(path, stored)
        print(f"filled {args.builds:,} builds ({failed:,} failed) in {fill_s:.2f} s")

        loaded, read_s = read_runs(path)
        index, add_s, groups_s = grouped(loaded)
        print(f"read runs and failures (baseline): {read_s * 1000:.0f} ms")
        print(f"index {len(index):,} groups: adding {add_s * 1000:.0f} ms "
              f"({add_s / read_s:.2f}x the read), first groups() {groups_s * 1000:.1f} ms")
        print(f"Failures view opens on the built index in {groups_s * 1000:.1f} ms "
              f"(target 300 ms): {'ok' if groups_s <= 0.3 else 'OVER'}")

        small = TriageIndex()
        for run, failures in stored[-1_000:]:
            small.add(run, failures)
        small_add, small_read = per_added_run(small, extra[:BATCHES])
        big_add, big_read = per_added_run(index, extra[BATCHES:2 * BATCHES])
        print(f"adding one more run: {small_add * 1e6:.1f} µs with 1,000 runs indexed, "
              f"{big_add * 1e6:.1f} µs with {args.builds:,} ({big_add / small_add:.2f}x); "
              f"groups() after {ADDED:,} more: {small_read * 1000:.1f} ms and "
              f"{big_read * 1000:.1f} ms ({len(small):,} and {len(index):,} groups)")
        # What the index itself costs, without the collector walking the bigger heap.
        with bulk_load():
            small_add, _ = per_added_run(small, extra[2 * BATCHES:3 * BATCHES])
            big_add, _ = per_added_run(index, extra[3 * BATCHES:])
        print(f"the same, collection paused: {small_add * 1e6:.1f} µs and {big_add * 1e6:.1f} µs "
              f"({big_add / small_add:.2f}x)")

        _, start_s = command(state, "--version")
        wall_s, run_s = command(state, "failures", "--offline", "--json", "--since", "0")
        print(f"buildwatch failures --offline --json: {run_s:.2f} s CPU, {wall_s:.2f} s wall "
              f"(target 2 s): {'ok' if run_s <= 2 else 'OVER'}; {run_s / start_s:.1f}x a bare "
              f"start ({start_s:.2f} s), {run_s / read_s:.1f}x the read")


if __name__ == "__main__":
    main()
