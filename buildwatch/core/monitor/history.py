"""The monitor's use of the local history: load it into the store on start, say where the build
listing resumes, and record what the feeds receive.

Reading happens once, at start, in threads (the newest builds first, then the rest); writing
goes through `HistoryWriter`'s own thread, so the screen never waits for the disk. The loading
(`load_stored`) reads any `BuildHistory`: the team store's viewers load through it too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.config import UiPreferences
from buildwatch.core.develocity.models import Build
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.history.interface import BuildHistory
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.resume import ResumePoint
from buildwatch.core.history.store import RetentionPolicy, StoredBuild
from buildwatch.core.history.writer import HistoryWriter
from buildwatch.core.monitor.heap import bulk_load
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.triage.model import TriageRecord

FIRST_SCREENFUL = 200
"""Builds loaded before the screen first draws; the rest follow from a thread."""
LOAD_CHUNK = 5_000
"""Stored builds put in the store between two turns of the event loop (about 25 ms)."""
RETENTION_INTERVAL_S = 3_600.0
"""How often retention runs while the monitor is open."""


class MonitorHistory:
    """An open history: its reader for the start, its writer for the session.

    `path` is the local history's file (None over another store); `notice` is what was done to
    the file to open it (None if nothing), for the user once.
    """

    def __init__(self, path: Path, ui: UiPreferences) -> None:
        """Open the history at `path`; raises `HistoryError` if it cannot be used."""
        opened = open_history(path)
        self._start(opened.store, HistoryWriter(path), ui)
        self.path: Path | None = path
        self.notice = opened.notice
        self.writer.apply_retention(self._retention)

    @classmethod
    def over(cls, reader: BuildHistory, writer: HistoryWriter, ui: UiPreferences) -> MonitorHistory:
        """A history over any store (the collector's team store): `reader` answers the start
        and is closed after it, `writer` records the session. No retention runs from here: the
        store's owner decides what it keeps."""
        history = cls.__new__(cls)
        history._start(reader, writer, ui)
        history.path = None
        history.notice = None
        return history

    def _start(self, reader: BuildHistory, writer: HistoryWriter, ui: UiPreferences) -> None:
        self._reader: BuildHistory | None = reader
        self._window_ms = ui.history_catch_up_hours * 3_600_000
        self._retention = RetentionPolicy(ui.history_max_builds, ui.history_max_age_days)
        self._unsummarised: list[Build] = []
        self._untriaged: list[tuple[Build, BuildSummary]] = []
        self._triaged_invocations: set[str] = set()
        self.writer = writer

    async def load_pending(self, store: MonitorStore) -> ResumePoint:
        """Put in `store` only the builds of the catch-up window whose summary or failures are
        still to be read (a service that runs for months holds no more); returns where the
        build listing resumes. Raises `HistoryError` if the store cannot be read."""
        reader = self._reader
        if reader is None:
            raise RuntimeError("the history was already loaded")
        try:
            since_ms = int(time.time() * 1000) - self._window_ms
            pending = pairs(await asyncio.to_thread(reader.unfinished_builds, since_ms))
            pending.reverse()  # newest first, as `load` hands them over
            store.load_history(pending, ())
            self._unsummarised = [build for build, summary in pending if summary is None]
            self._untriaged = [
                (build, summary) for build, summary in pending if summary is not None
            ]
            self._triaged_invocations = await asyncio.to_thread(
                reader.triage_run_ids, "buildbuddy"
            )
            return await asyncio.to_thread(reader.resume_point, self._window_ms)
        finally:
            self._reader = None
            reader.close()

    async def load(self, store: MonitorStore) -> ResumePoint:
        """Put the stored builds and invocations in `store`, newest first; returns where the
        build listing resumes. Raises `HistoryError` if the file cannot be read.

        Reading and decoding run in a thread, so the screen answers keys meanwhile; only
        putting rows in the store runs on the event loop, a chunk per turn."""
        reader = self._reader
        if reader is None:
            raise RuntimeError("the history was already loaded")
        try:
            loaded = await load_stored(reader, store)
            self._unsummarised = [build for build, summary in loaded if summary is None]
            await self._load_triaged(reader, loaded)
            return await asyncio.to_thread(reader.resume_point, self._window_ms)
        finally:
            self._reader = None
            reader.close()

    async def _load_triaged(
        self, reader: BuildHistory, loaded: list[tuple[Build, BuildSummary | None]]
    ) -> None:
        """Note which summarised builds and which invocations have their failures recorded."""
        builds = await asyncio.to_thread(reader.triage_run_ids, "develocity")
        self._untriaged = [
            (build, summary) for build, summary in loaded
            if summary is not None and build.build_id not in builds
        ]
        self._triaged_invocations = await asyncio.to_thread(reader.triage_run_ids, "buildbuddy")

    def take_untriaged(self) -> list[tuple[Build, BuildSummary]]:
        """The loaded builds that have a summary but no failures recorded (an older
        buildwatch's, or a read cut short), newest first (once: later calls get none)."""
        untriaged, self._untriaged = self._untriaged, []
        return untriaged

    def needs_targets(self, invocation_id: str) -> bool:
        """Whether the invocation's failures are still to be recorded (its targets read)."""
        return invocation_id not in self._triaged_invocations

    def record_triage(self, record: TriageRecord) -> None:
        """Store a run with its failures."""
        run = record[0]
        if run.source == "buildbuddy":
            self._triaged_invocations.add(run.run_id)
        self.writer.record_triage((record,))

    def take_unsummarised(self) -> list[Build]:
        """The loaded builds that have no summary yet, newest first (once: later calls get
        none)."""
        builds, self._unsummarised = self._unsummarised, []
        return builds

    def record_builds(self, builds: Sequence[Build]) -> None:
        """Store builds as the listing delivered them (the stream position moves with them)."""
        self.writer.record_builds(builds)

    def record_summary(self, summary: BuildSummary) -> None:
        """Store a build's summary once it is read."""
        self.writer.record_summaries((summary,))

    def record_invocations(self, invocations: Iterable[Invocation]) -> None:
        """Store invocations that are new or changed."""
        fresh = list(invocations)
        if fresh:
            self.writer.record_invocations(fresh)

    def apply_retention(self) -> None:
        """Delete what the retention policy no longer keeps, in the writer's thread."""
        self.writer.apply_retention(self._retention)

    def close(self) -> list[str]:
        """Write what is queued and stop; one-line problems for the user, if any."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        problems = list(self.writer.errors)
        if not self.writer.close():
            problems.append("the history could not write everything before closing")
        if self.writer.dropped:
            problems.append(
                f"the history fell behind and skipped {self.writer.dropped:,} batches; "
                "the next start catches up on them"
            )
        return problems


async def load_stored(
    reader: BuildHistory, store: MonitorStore, limit: int | None = None
) -> list[tuple[Build, BuildSummary | None]]:
    """Put the newest `limit` stored builds and invocations (all of them if None) in `store`,
    newest first; returns the builds loaded. Raises `HistoryError` if the store cannot be read.

    The first screenful is read and shown before the rest is read: reading and decoding run in
    a thread, so the screen answers keys meanwhile; only putting rows in the store runs on the
    event loop, a chunk per turn."""
    first, invocations = await asyncio.to_thread(_first_screenful, reader, limit)
    store.load_history(first, invocations)
    loaded = first
    if len(first) == FIRST_SCREENFUL and limit != FIRST_SCREENFUL:
        with bulk_load():
            loaded = await asyncio.to_thread(lambda: pairs(reader.load_recent(limit)))
        for start in range(0, len(loaded), LOAD_CHUNK):
            store.load_history(loaded[start:start + LOAD_CHUNK], ())
            await asyncio.sleep(0)
    if limit is not None and len(invocations) == FIRST_SCREENFUL:
        store.load_history((), await asyncio.to_thread(reader.load_invocations, limit))
    return loaded


def _first_screenful(
    reader: BuildHistory, limit: int | None
) -> tuple[list[tuple[Build, BuildSummary | None]], list[Invocation]]:
    """The newest `FIRST_SCREENFUL` builds and invocations (`limit` if fewer; every
    invocation if there is no limit: a local history holds few), decoded."""
    first = FIRST_SCREENFUL if limit is None else min(limit, FIRST_SCREENFUL)
    return (pairs(reader.load_recent(first)),
            reader.load_invocations(None if limit is None else first))


def pairs(stored: Iterable[StoredBuild]) -> list[tuple[Build, BuildSummary | None]]:
    """Stored builds as (listing message, summary) pairs, a summary to be read again as None."""
    return [(item.build, _summary(item)) for item in stored]


def _summary(item: StoredBuild) -> BuildSummary | None:
    """The stored summary, unless it is to be read again: an earlier buildwatch took every
    build of a v1 listing (which names no tool) for a Gradle build and asked only for Gradle's
    events, so a Maven build's summary holds nothing. A Gradle build always has a start."""
    summary = item.summary
    guessed = (
        summary is not None
        and item.build.tool_type is None
        and summary.tool_type == "gradle"
        and summary.started_ms is None
    )
    return None if guessed else summary
