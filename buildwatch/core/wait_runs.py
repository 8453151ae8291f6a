"""What `buildwatch wait` follows: the builds and invocations it has seen, how each stands, and
what they add up to.

A run is a Develocity build or a BuildBuddy invocation. It appears once, and finishes once with
an outcome; the tracker turns every observation into those two changes, whatever order or how
often the servers repeat themselves. The worst outcome decides how the command ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Tool = Literal["develocity", "buildbuddy"]
RunOutcome = Literal["succeeded", "failed", "cancelled", "disconnected", "unknown"]
"""How a run ended: `cancelled` is an interrupted Bazel run (Ctrl-C, a superseded CI job);
`disconnected` an invocation whose build events stopped before its end; `unknown` a build with
no finish event, or a result this client cannot read."""

WORST_FIRST: tuple[RunOutcome, ...] = ("failed", "disconnected", "unknown", "cancelled", "succeeded")
"""Outcomes from the worst: a failure proves the commit broken; a lost or unreadable result
proves nothing either way; a cancelled run was stopped on purpose; only a success is good news."""

ChangeKind = Literal["appeared", "finished"]


@dataclass(frozen=True)
class Run:
    """A build or invocation as last seen: `outcome` is None while it is still running."""

    tool: Tool
    run_id: str
    commit: str | None
    outcome: RunOutcome | None
    url: str


@dataclass(frozen=True)
class Change:
    """A run appeared, or finished (its `outcome` then set)."""

    kind: ChangeKind
    run: Run


class RunTracker:
    """Every run seen, each announced to `on_change` when it appears and when it finishes."""

    def __init__(self, on_change: Callable[[Change], None]) -> None:
        self._on_change = on_change
        self._runs: dict[tuple[Tool, str], Run] = {}

    def observe(self, run: Run) -> None:
        """Take in how `run` stands now. A run seen finished stays finished: a server that
        later says otherwise (a stale replica) does not make it run again."""
        key = (run.tool, run.run_id)
        known = self._runs.get(key)
        if known is None:
            self._runs[key] = run
            self._on_change(Change("appeared", Run(run.tool, run.run_id, run.commit, None, run.url)))
        elif known.outcome is not None:
            return
        self._runs[key] = run
        if run.outcome is not None:
            self._on_change(Change("finished", run))

    @property
    def runs(self) -> list[Run]:
        """Every run seen, in the order they appeared."""
        return list(self._runs.values())

    def all_finished(self) -> bool:
        """Whether at least one run appeared and every one has finished."""
        return bool(self._runs) and all(run.outcome is not None for run in self._runs.values())

    def worst_outcome(self) -> RunOutcome | None:
        """The worst outcome among the finished runs (None before any finished)."""
        outcomes = {run.outcome for run in self._runs.values()}
        return next((outcome for outcome in WORST_FIRST if outcome in outcomes), None)
