"""The failure groups of every build and invocation the monitor knows, kept up to date as their
failures are recorded.

At start, the history's records (or the team store's) are read in a thread and grouped a slice
per turn of the event loop, so the screen answers keys meanwhile. The feeds' records go in as
they come, and win over the history's older word on the same run. `version` moves with every
change, so a screen showing the groups redraws only when something changed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from buildwatch.core.history.store import HistoryError, HistoryStore, connect
from buildwatch.core.triage.groups import Signature, TriageIndex
from buildwatch.core.triage.model import RunSource, TriageRecord

LOAD_SLICE = 250
"""The history's runs grouped between two turns of the event loop (a few milliseconds' worth)."""
ASSEMBLE_SLICE = 50
"""Groups assembled between two turns of the event loop (a few milliseconds' worth)."""


class FailureGroups:
    """A `TriageIndex` of the runs recorded so far, and how far loading the history got."""

    def __init__(self) -> None:
        self.index = TriageIndex()
        self.version = 0
        """Moves on each change to the index."""
        self.loading = False
        """Whether the history's records are being read or grouped."""
        self.to_load = 0
        """How many of the history's runs are grouped once loading is done."""
        self.loaded = 0
        """How many of those are grouped so far."""
        self.problem: str | None = None
        """Why the history's records could not be read, if they could not."""
        self._recorded_meanwhile: set[tuple[RunSource, str]] = set()

    def record(self, records: Iterable[TriageRecord]) -> None:
        """Take runs and their failures as the feeds read them, each replacing what was known of
        the same run."""
        for run, failures in records:
            self.index.add(run, failures)
            if self.loading:
                self._recorded_meanwhile.add((run.source, run.run_id))
        self.version += 1

    async def load(self, history: Path) -> None:
        """Group the runs the history at `history` recorded (see `load_from`)."""
        await self.load_from(partial(_read, history))

    async def load_from(self, read: Callable[[], list[TriageRecord]]) -> None:
        """Group the runs `read` returns (called in a thread), oldest first; a run the feeds
        recorded meanwhile keeps what they said. A store that cannot be read leaves the groups
        as they are and says why in `problem`."""
        self.loading = True
        try:
            try:
                records = await asyncio.to_thread(read)
            except (HistoryError, sqlite3.Error, OSError) as error:
                self.problem = str(error)
                return
            self.to_load, self.loaded = len(records), 0
            signatures: dict[Signature, None] = {}
            for start in range(0, len(records), LOAD_SLICE):
                for run, failures in records[start:start + LOAD_SLICE]:
                    if (run.source, run.run_id) not in self._recorded_meanwhile:
                        self.index.add(run, failures)
                        signatures.update(dict.fromkeys((f.kind, f.name) for f in failures))
                self.loaded = min(len(records), start + LOAD_SLICE)
                self.version += 1
                await asyncio.sleep(0)
            await self._assemble(list(signatures))
        finally:
            self.loading = False
            self._recorded_meanwhile.clear()
            self.version += 1


    async def _assemble(self, signatures: list[Signature]) -> None:
        """Have the index assemble each group now, a slice per turn of the loop: the first look
        at every group (opening the Failures view) then finds them ready, instead of holding
        the screen for as long as assembling them all takes."""
        for start in range(0, len(signatures), ASSEMBLE_SLICE):
            for kind, name in signatures[start:start + ASSEMBLE_SLICE]:
                self.index.group(kind, name)
            await asyncio.sleep(0)


def _read(path: Path) -> list[TriageRecord]:
    """Every run the history recorded, with its failures, on a connection of its own (the
    monitor's writer keeps writing meanwhile)."""
    store = HistoryStore(connect(path), path)
    try:
        return store.triage_runs()
    finally:
        store.close()
