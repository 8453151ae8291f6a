"""The collector's log: one line per event worth knowing, on stderr, for the systemd journal or a
container's log.

Each line starts with the time in UTC and `buildwatch collect:`; every line passes the one
sanitiser (server words reach it: a build id, an error) and the log redaction (no secret, even
one a server echoed). Lines come from the event loop and from the writer thread, so writing one
is serialised.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TextIO

from buildwatch.core.history.store import HistoryBatch
from buildwatch.core.log_redaction import redact
from buildwatch.core.sanitize import sanitize_line


class CollectorLog:
    """Writes event lines to `stream` (standard error by default)."""

    def __init__(
        self, stream: TextIO | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._stream = stream
        self._clock = clock
        self._lock = threading.Lock()

    def event(self, message: str) -> None:
        """Write one line saying `message`."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock()))
        line = f"{stamp} buildwatch collect: {sanitize_line(redact(message))}"
        stream = self._stream or sys.stderr
        # With no stderr left to tell, the health port still answers.
        with self._lock, contextlib.suppress(OSError, ValueError):
            print(line, file=stream, flush=True)


@dataclass
class WriteCounts:
    """What the store took since the last report."""

    builds: int = 0
    summaries: int = 0
    failures: int = 0
    """Runs whose failures were recorded (triage records), builds' and invocations'."""
    invocations: int = 0

    def __bool__(self) -> bool:
        return any(getattr(self, field.name) for field in fields(self))

    def text(self) -> str:
        """`1,200 builds, 1,180 summaries, 1,180 failure records, 12 invocations`."""
        return (
            f"{self.builds:,} builds, {self.summaries:,} summaries, "
            f"{self.failures:,} failure records, {self.invocations:,} invocations"
        )


class WriteTally:
    """Counts what the writer thread commits; the event loop takes the counts now and then."""

    def __init__(self) -> None:
        self._counts = WriteCounts()
        self._lock = threading.Lock()

    def add(self, batch: HistoryBatch) -> None:
        """Count a batch the store has committed (called from the writer thread)."""
        with self._lock:
            counts = self._counts
            counts.builds += len(batch.builds)
            counts.summaries += len(batch.summaries)
            counts.failures += len(batch.triage)
            counts.invocations += len(batch.invocations)

    def take(self) -> WriteCounts:
        """The counts since the last call."""
        with self._lock:
            counts, self._counts = self._counts, WriteCounts()
        return counts
