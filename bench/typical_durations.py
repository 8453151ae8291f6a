"""What keeping typical durations costs per run: 100,000 finished builds added to the index one
at a time, as the history's load and the feeds add them.

Baseline in the same run: the same builds through the failure groups' index (`TriageIndex.add`
of a run that passed, which the monitor also does for every finished build). Figures are CPU
seconds per run, the least of `--repeats` passes; the ratio is what the typical durations cost
beside the failure groups. It also compares adding one more run to an index of 20,000 runs and
of 99,000: past `KEPT_PER_WORK` runs a work (both, with 60 works) keeps no more, so the cost
per run does not grow with the history.

    python bench/typical_durations.py [--runs 100000] [--works 60] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from time import process_time

from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.triage.groups import TriageIndex
from buildwatch.core.triage.model import Run
from buildwatch.core.triage.typical_durations import TypicalDurations

START_MS = 1_790_000_000_000


def summaries(count: int, works: int, seed: int = 1) -> list[BuildSummary]:
    """`count` successful builds a second apart over `works` projects, each taking about its
    project's usual time."""
    rng = random.Random(seed)
    usual = [rng.uniform(30, 900) for _ in range(works)]
    built = []
    for number in range(count):
        project = number % works
        took = int(usual[project] * rng.lognormvariate(0, 0.25) * 1000)
        published = START_MS + number * 1000
        built.append(BuildSummary(f"{number:013d}", "gradle", "8.14.3", published, "success",
                                  project=f"service-{project}", requested=("build",),
                                  started_ms=published - took - 1500,
                                  finished_ms=published - 1500))
    return built


def per_run(add: Callable[[BuildSummary], object], batch: list[BuildSummary]) -> float:
    """CPU seconds per run to add `batch` one run at a time."""
    started = process_time()
    for summary in batch:
        add(summary)
    return (process_time() - started) / len(batch)


def indexed(runs: list[BuildSummary]) -> TypicalDurations:
    """A new index of `runs`."""
    index = TypicalDurations()
    for summary in runs:
        index.add_build(summary)
    return index


def triage_adder() -> Callable[[BuildSummary], object]:
    index = TriageIndex()

    def add(summary: BuildSummary) -> None:
        run = Run("develocity", summary.build_id, summary.published_ms or 0, True,
                  summary.project, "main", f"{summary.build_id:0>40}", "ci")
        index.add(run, ())

    return add


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--works", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = summaries(args.runs, args.works)

    timing, baseline = [], []
    for _ in range(args.repeats):
        timing.append(per_run(TypicalDurations().add_build, runs))
        baseline.append(per_run(triage_adder(), runs))
    ours, theirs = min(timing), min(baseline)
    print(f"{args.runs:,} builds over {args.works} works: typical durations "
          f"{ours * 1e6:.2f} µs per run, failure groups (baseline) {theirs * 1e6:.2f} µs "
          f"({ours / theirs:.2f}x the baseline)")

    last = runs[-1_000:]
    small_s = min(per_run(indexed(runs[-21_000:-1_000]).add_build, last)
                  for _ in range(args.repeats))
    big_s = min(per_run(indexed(runs[:-1_000]).add_build, last) for _ in range(args.repeats))
    print(f"one more run: {small_s * 1e6:.2f} µs with 20,000 runs indexed, {big_s * 1e6:.2f} µs "
          f"with {args.runs - 1_000:,} ({big_s / small_s:.2f}x)")


if __name__ == "__main__":
    main()
