"""Writing the history from a thread of its own, so the event loop never waits for the disk.

The `record_*` calls only put a batch on a bounded queue. The thread takes everything queued,
merges it into one transaction and commits, so a burst of arrivals costs one commit, not one
per message. If the disk falls so far behind that the queue fills, batches are dropped rather
than block the screen, and from then on no stream position is stored: the next start resumes
from before the first dropped batch, and the builds already stored are not stored twice.
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.develocity.models import Build
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.errors import BuildwatchError
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.store import BUILDS_STREAM, HistoryBatch, HistoryStore, RetentionPolicy
from buildwatch.core.triage.model import TriageRecord

DEFAULT_MAX_PENDING = 10_000
"""Batches queued before new ones are dropped (about a minute of a very busy listing)."""
_MAX_MERGED_ROWS = 20_000
"""Rows merged into one transaction, so a long backlog is committed in steps."""

_Task = HistoryBatch | RetentionPolicy | threading.Event | None


class HistoryWriter:
    """Stores what the feeds receive; call `close()` (it flushes) before the process ends.

    `errors` collects one-line messages for the user: failed writes, a file moved aside.
    """

    def __init__(self, path: Path, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.path = path
        self.dropped = 0
        """Batches dropped because the queue was full."""
        self.errors: list[str] = []
        self.retained = 0
        """Builds deleted by retention so far."""
        self._queue: queue.Queue[_Task] = queue.Queue(max_pending)
        self._positions_frozen = False
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()

    @property
    def backlog(self) -> int:
        """Batches waiting for the writer thread."""
        return self._queue.qsize()

    def record_builds(self, builds: Sequence[Build], stream: str = BUILDS_STREAM) -> None:
        """Store builds as the listing delivered them; the stream's position moves to the last."""
        if not builds:
            return
        last = builds[-1]
        self._submit(
            HistoryBatch(builds=list(builds)),
            {stream: (last.message_id or last.build_id, last.timestamp or 0)},
        )

    def record_summaries(self, summaries: Iterable[BuildSummary]) -> None:
        """Store (or replace) the summaries of stored builds."""
        self._submit(HistoryBatch(summaries=list(summaries)), {})

    def record_invocations(self, invocations: Iterable[Invocation]) -> None:
        """Store each invocation's latest state (an older state never replaces a newer one)."""
        self._submit(HistoryBatch(invocations=list(invocations)), {})

    def record_triage(self, records: Iterable[TriageRecord]) -> None:
        """Store runs with their failures (replacing what was stored for the same runs)."""
        self._submit(HistoryBatch(triage=list(records)), {})

    def record_position(self, stream: str, event_id: str, position_ms: int) -> None:
        """Store a stream's last event id (a position never moves back)."""
        self._submit(HistoryBatch(), {stream: (event_id, position_ms)})

    def apply_retention(self, policy: RetentionPolicy) -> None:
        """Delete what the policy no longer keeps, in the writer thread, between writes."""
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(policy)

    def flush(self, timeout_s: float | None = None) -> bool:
        """Wait until everything recorded so far is written; False if `timeout_s` ran out."""
        done = threading.Event()
        if not self._thread.is_alive():
            return True
        try:
            self._queue.put(done, timeout=timeout_s)
        except queue.Full:
            return False
        return done.wait(timeout_s)

    def close(self, timeout_s: float | None = 10.0) -> bool:
        """Write what is queued, then stop the thread; False if `timeout_s` ran out first
        (what was still queued is then lost to the history, as on a kill)."""
        if self._thread.is_alive():
            try:
                self._queue.put(None, timeout=timeout_s)
            except queue.Full:
                return False
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _submit(self, batch: HistoryBatch, positions: dict[str, tuple[str, int]]) -> None:
        batch.positions = positions
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            self.dropped += 1
            self._positions_frozen = True

    def _run(self) -> None:
        try:
            opened = open_history(self.path)
        except BuildwatchError as error:
            self.errors.append(str(error))
            self._positions_frozen = True
            self._discard_forever()
            return
        if opened.notice:
            self.errors.append(opened.notice)
        store = opened.store
        try:
            while self._serve(store):
                pass
        finally:
            store.close()

    def _serve(self, store: HistoryStore) -> bool:
        """Handle what is queued now (waiting for something first); False once closed."""
        task = self._queue.get()
        batch = HistoryBatch()
        waiting: list[threading.Event] = []
        running = True
        while True:
            if isinstance(task, HistoryBatch):
                batch.merge(task)
            elif isinstance(task, threading.Event):
                waiting.append(task)
            elif isinstance(task, RetentionPolicy):
                self._write(store, batch)
                batch = HistoryBatch()
                self._retain(store, task)
            else:
                running = False
                break
            if len(batch.builds) + len(batch.summaries) >= _MAX_MERGED_ROWS:
                break
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                break
        self._write(store, batch)
        for event in waiting:
            event.set()
        return running

    def _write(self, store: HistoryStore, batch: HistoryBatch) -> None:
        if self._positions_frozen:
            batch.positions = {}
        if not batch:
            return
        try:
            store.write(batch)
        except sqlite3.Error as error:
            # The batch is lost to the history; resume from before it on the next start.
            self._positions_frozen = True
            self.errors.append(f"cannot write the history {self.path}: {error}")

    def _retain(self, store: HistoryStore, policy: RetentionPolicy) -> None:
        try:
            self.retained += store.apply_retention(policy)
        except sqlite3.Error as error:
            self.errors.append(f"cannot apply retention to the history {self.path}: {error}")

    def _discard_forever(self) -> None:
        """Without a file, keep answering flushes and the close so callers never hang."""
        while True:
            task = self._queue.get()
            if task is None:
                return
            if isinstance(task, threading.Event):
                task.set()
