"""Keeping a collector's memory flat over months: the monitor's in-memory store, bounded.

The feeds keep every build and invocation they see in a `MonitorStore`, whose changes a screen
drains; a collector has no screen and runs for months. So the collector:

- groups no failures in memory (`UngroupedFailures`): it records them in the team store, where
  the viewers group them;
- now and then (`trim`) drains the changes nobody reads, and forgets the oldest builds that are
  done (summarised, or given up on) beyond `keep` and the oldest invocations beyond `keep`. A
  build still waiting for its summary is kept: the summary is recorded only for a build the
  store holds. An invocation forgotten and seen again is written again, which the store takes
  as the same state.

What stays unbounded is small: the ids of the invocations whose failures were recorded (one per
finished invocation of a watched commit), and the typical durations (200 runs per kind of work).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from buildwatch.core.monitor.failures import FailureGroups
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.triage.model import TriageRecord

KEEP = 10_000
"""Builds, and invocations, a collector holds in memory after a trim."""


class UngroupedFailures(FailureGroups):
    """Failure groups that group nothing: the team store holds the failures."""

    def record(self, records: Iterable[TriageRecord]) -> None:
        """Take runs and their failures, and keep none of them."""


def bounded_store() -> MonitorStore:
    """A monitor store for a collector (call `trim` on it now and then)."""
    store = MonitorStore()
    store.failures = UngroupedFailures()
    return store


def trim(store: MonitorStore, keep: int = KEEP) -> int:
    """Drop what no one reads and the oldest done builds and invocations beyond `keep`;
    returns how many builds were dropped."""
    store.drain()
    now = store.clock()
    for source in (store.develocity, store.buildbuddy):
        source.rate(now)  # drops the arrivals older than its window
    builds = store.builds
    excess = len(builds) - keep
    done = [
        key for key, entry in builds.items()
        if entry.summary is not None or (entry.problem is not None and not entry.retrying)
    ]
    dropped = done[:max(0, excess)]
    for key in dropped:
        del builds[key]
    invocations = store.invocations
    for key in list(islice(invocations, max(0, len(invocations) - keep))):
        del invocations[key]
    store.develocity.count, store.buildbuddy.count = len(builds), len(invocations)
    return len(dropped)
