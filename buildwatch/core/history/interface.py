"""What every store of builds offers: the one interface of the local SQLite history
(`HistoryStore`) and of the team store on PostgreSQL (`buildwatch.core.teamstore.store`).

The calls are synchronous and blocking: the event loop reaches them through `asyncio.to_thread`
and the writer thread calls `write` directly, so neither kind of store ever holds up the screen.
A store's own failures surface as `HistoryError` (one line, no secret in it).
"""

from __future__ import annotations

from typing import Protocol

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.history.resume import ResumePoint
from buildwatch.core.history.store import HistoryBatch, RetentionPolicy, StoredBuild
from buildwatch.core.triage.model import RunSource, TriageRecord


class BuildHistory(Protocol):
    """Builds, invocations, triage runs and stream positions, written a batch at a time."""

    def close(self) -> None:
        """Release the connection."""

    def write(self, batch: HistoryBatch) -> None:
        """Store `batch` in one transaction: builds once each, summaries and invocations
        replacing older ones, positions moving forward only."""

    def load_recent(self, limit: int | None = None) -> list[StoredBuild]:
        """The newest `limit` builds (all of them if None), newest first."""

    def load_invocations(self, limit: int | None = None) -> list[Invocation]:
        """The latest state of each stored invocation, most recently updated first."""

    def triage_runs(self, since_ms: int | None = None) -> list[TriageRecord]:
        """Every run whose failures were recorded, with them, oldest first."""

    def triage_run_ids(self, source: RunSource) -> set[str]:
        """The ids of `source`'s runs whose failures are recorded."""

    def unfinished_builds(self, since_ms: int) -> list[StoredBuild]:
        """Builds published at `since_ms` or later whose summary is not stored or whose
        failures are not recorded (a writer that dropped a batch may have kept a later one),
        oldest first."""

    def build_count(self) -> int:
        """How many builds the store holds."""

    def position(self, stream: str) -> tuple[str, int] | None:
        """`stream`'s last event id and its epoch ms, if one was stored."""

    def resume_point(self, window_ms: int, now_ms: int | None = None) -> ResumePoint:
        """Where the build listing starts (see `choose_resume_point`)."""

    def apply_retention(self, policy: RetentionPolicy, now_ms: int | None = None) -> int:
        """Delete builds beyond the policy; returns how many were deleted."""
