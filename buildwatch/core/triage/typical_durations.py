"""How long each kind of work usually takes, so that a run can be called typical, slow or stuck.

Work is a Develocity build's project and requested tasks or goals, or a BuildBuddy invocation's
command and pattern. For each, the durations of its newest `KEPT_PER_WORK` successful runs are
kept sorted, and the typical duration is their median (p50) with its 90th percentile (p90),
claimed only once `MIN_SAMPLES` runs are known. A run is `slow` past `SLOW_RATIO` times the
p50; a running invocation is judged by how long it has run so far.

Only successful runs make a typical: a run that failed may have stopped at its first error, and
one cancelled or cut off stopped when someone or something else decided. Any run can be
compared with the typical, though: a failure that took four times as long is worth seeing.

Runs arrive in any order (the history newest first, the feeds as runs finish) and may arrive
twice; what is kept depends only on which runs were added, not on their order.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass
from math import ceil

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.buildbuddy.triage import invocation_result, is_running
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.durations import duration_text
from buildwatch.core.triage.model import RunSource
from buildwatch.core.triage.work import build_requested, invocation_requested

KEPT_PER_WORK = 200
"""Durations kept per work, the newest ones. Bounded so that adding a run costs a binary search
and a shift of at most this many entries however long the history, and so that the typical
follows the work as it changes (a slower test suite, a faster cache) instead of averaging in
last month."""
MIN_SAMPLES = 5
"""Successful runs of a work needed before its typical duration is claimed."""
SLOW_RATIO = 3.0
"""A run is slow past this many times its work's p50."""
NOTABLE_RATIO = 2.0
"""A finished run's deviation is worth showing from this many times the p50 (and past the p90):
less is the spread of any work, and a row marked for it would be noise."""

Work = tuple[RunSource, str | None, str | None]
"""(source, project, requested work) for a build; (source, None, command and pattern) for an
invocation, whatever its repository. The requested work is as `work.py` reads it."""


@dataclass(frozen=True)
class Deviation:
    """How a run's duration compares with its work's typical one."""

    ratio: float
    """Its duration over the p50."""
    slow: bool
    """Past `SLOW_RATIO` times the p50."""
    notable: bool
    """Worth showing: at least `NOTABLE_RATIO` times the p50, and longer than the p90."""


@dataclass(frozen=True)
class Typical:
    """A work's typical duration, from `samples` successful runs."""

    p50_ms: int
    p90_ms: int
    samples: int

    def deviation(self, duration_ms: int) -> Deviation:
        """How `duration_ms` (a finished run's duration, or a running one's time so far)
        compares with this typical duration."""
        ratio = duration_ms / max(1, self.p50_ms)
        return Deviation(ratio, ratio > SLOW_RATIO,
                         ratio >= NOTABLE_RATIO and duration_ms > self.p90_ms)

    def text(self) -> str:
        """`3m10s (p90 4m02s)`."""
        return f"{duration_text(self.p50_ms / 1000)} (p90 {duration_text(self.p90_ms / 1000)})"


def build_work(summary: BuildSummary) -> Work | None:
    """The work a build did: its project and requested tasks or goals (None without a project)."""
    if not summary.project:
        return None
    return ("develocity", summary.project, build_requested(summary))


def invocation_work(invocation: Invocation) -> Work | None:
    """The work an invocation did: its command and pattern (None without a command)."""
    requested = invocation_requested(invocation)
    return None if requested is None else ("buildbuddy", None, requested)


def invocation_duration_ms(invocation: Invocation, now_ms: int) -> int | None:
    """How long the invocation took, or, while it runs, how long it has run at `now_ms`."""
    if is_running(invocation):
        created = invocation.created_at
        return None if created is None else max(0, now_ms - int(created.timestamp() * 1000))
    duration = invocation.duration
    return None if duration is None else int(duration.total_seconds() * 1000)


class _Durations:
    """One work's kept durations: sorted by value for the percentiles, and by run time for
    dropping the oldest."""

    __slots__ = ("by_time", "kept", "sorted", "typical")

    def __init__(self) -> None:
        self.sorted: list[int] = []
        self.by_time: list[tuple[int, str]] = []
        self.kept: dict[str, tuple[int, int]] = {}
        """Run id -> (its time, its duration)."""
        self.typical: Typical | None = None
        """Worked out when first asked after a change."""

    def add(self, run_id: str, at_ms: int, duration_ms: int) -> bool:
        """Keep a run's duration unless it is older than every one kept of a full work;
        returns whether anything changed."""
        known = self.kept.get(run_id)
        if known == (at_ms, duration_ms):
            return False
        if known is not None:
            self._drop(run_id, known)
        if len(self.kept) >= KEPT_PER_WORK:
            oldest = self.by_time[0]
            if (at_ms, run_id) < oldest:
                return known is not None
            self._drop(oldest[1], self.kept[oldest[1]])
        insort(self.by_time, (at_ms, run_id))
        insort(self.sorted, duration_ms)
        self.kept[run_id] = (at_ms, duration_ms)
        self.typical = None
        return True

    def _drop(self, run_id: str, known: tuple[int, int]) -> None:
        at_ms, duration_ms = known
        del self.by_time[bisect_left(self.by_time, (at_ms, run_id))]
        del self.sorted[bisect_left(self.sorted, duration_ms)]
        del self.kept[run_id]
        self.typical = None

    def percentiles(self) -> Typical:
        """The p50 and p90 by nearest rank: values that some run really took."""
        typical = self.typical
        if typical is None:
            values = self.sorted
            count = len(values)
            typical = self.typical = Typical(values[ceil(count * 0.5) - 1],
                                             values[ceil(count * 0.9) - 1], count)
        return typical


class TypicalDurations:
    """The typical duration of every work seen, updated run by run."""

    def __init__(self) -> None:
        self._works: dict[Work, _Durations] = {}
        self.version = 0
        """Moves on each change."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TypicalDurations):
            return NotImplemented
        mine = {work: durations.kept for work, durations in self._works.items()}
        theirs = {work: durations.kept for work, durations in other._works.items()}
        return mine == theirs

    __hash__ = None  # type: ignore[assignment]

    def add(self, work: Work, run_id: str, at_ms: int, duration_ms: int) -> bool:
        """Count a successful run of `work` that started or was published at `at_ms` and took
        `duration_ms`; the same run again replaces what it said. Returns whether the kept
        durations changed."""
        durations = self._works.get(work)
        if durations is None:
            durations = self._works[work] = _Durations()
        changed = durations.add(run_id, at_ms, duration_ms)
        self.version += changed
        return changed

    def add_build(self, summary: BuildSummary) -> bool:
        """Count a build if it succeeded and its project and duration are known."""
        work = build_work(summary)
        duration = summary.duration_ms
        if work is None or duration is None or summary.outcome != "success":
            return False
        at_ms = summary.published_ms or summary.started_ms or 0
        return self.add(work, summary.build_id, at_ms, duration)

    def add_invocation(self, invocation: Invocation) -> bool:
        """Count an invocation if it finished successfully with a known duration."""
        work = invocation_work(invocation)
        duration = invocation.duration
        created = invocation.created_at
        if work is None or duration is None or invocation_result(invocation) != "succeeded":
            return False
        at_ms = int(created.timestamp() * 1000) if created is not None else 0
        return self.add(work, invocation.invocation_id, at_ms,
                        int(duration.total_seconds() * 1000))

    def typical(self, work: Work | None) -> Typical | None:
        """The typical duration of `work`, once `MIN_SAMPLES` successful runs are known."""
        durations = self._works.get(work) if work is not None else None
        if durations is None or len(durations.kept) < MIN_SAMPLES:
            return None
        return durations.percentiles()

    def of_build(self, summary: BuildSummary | None) -> Typical | None:
        """The typical duration of the work `summary`'s build did."""
        return self.typical(build_work(summary)) if summary is not None else None

    def of_invocation(self, invocation: Invocation) -> Typical | None:
        """The typical duration of the work `invocation` does."""
        return self.typical(invocation_work(invocation))
