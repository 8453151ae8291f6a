"""Writing a store of builds from a thread of its own, so the event loop never waits for it.

The `record_*` calls only put a batch on a bounded queue. The thread takes everything queued,
merges it into one transaction and commits, so a burst of arrivals costs one commit, not one
per message. If the store falls so far behind that the queue fills, batches are dropped rather
than block the screen, and from then on no stream position is stored: the next start resumes
from before the first dropped batch, and the builds already stored are not stored twice.

The store is any `BuildHistory`: the local SQLite history (given its path), or whatever an
opener returns (the team store). A failed write is lost to the history by default, its stream
position with it; a writer given a `retry` backoff instead keeps the batch, reopens the store
and writes it again until it is written (the collector's way: the queue is then its bounded
buffer while the store is unreachable).
"""

from __future__ import annotations

import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildwatch.core.backoff import Backoff
from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.develocity.models import Build
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.errors import BuildwatchError
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.store import BUILDS_STREAM, HistoryBatch, HistoryStore, RetentionPolicy
from buildwatch.core.triage.model import TriageRecord

if TYPE_CHECKING:
    from buildwatch.core.history.interface import BuildHistory

HistoryOpener = Callable[[], "BuildHistory"]
"""Opens the store the writer thread writes to; raises `BuildwatchError` if it cannot."""

DEFAULT_MAX_PENDING = 10_000
"""Batches queued before new ones are dropped (about a minute of a very busy listing)."""
_MAX_MERGED_ROWS = 20_000
"""Rows merged into one transaction, so a long backlog is committed in steps."""

_Task = HistoryBatch | RetentionPolicy | threading.Event | None
_STORE_ERRORS = (sqlite3.Error, BuildwatchError)
"""What a store raises when it cannot read or write (the team store's are `HistoryError`s)."""


class HistoryWriter:
    """Stores what the feeds receive; call `close()` (it flushes) before the process ends.

    `target` is the SQLite history's path, or an opener of another store, named `name` in
    messages. `errors` collects one-line messages for the user: failed writes, a file moved
    aside. With `retry`, a write that fails is tried again after each of its delays, the store
    reopened each time, and `on_problem` is told each failure (in the writer thread) and None
    once a write succeeds again; `on_written` is told each batch written.
    """

    def __init__(
        self,
        target: Path | HistoryOpener,
        *,
        name: str | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
        retry: Callable[[], Backoff] | None = None,
        on_problem: Callable[[str | None], None] | None = None,
        on_written: Callable[[HistoryBatch], None] | None = None,
    ) -> None:
        self.name = name or str(target)
        self._opener = self._file_opener(target) if isinstance(target, Path) else target
        self.dropped = 0
        """Batches dropped because the queue was full."""
        self.errors: list[str] = []
        self.retained = 0
        """Builds deleted by retention so far."""
        self.written_at: float | None = None
        """When the last batch was written (epoch seconds); None before the first."""
        self._retry = retry
        self._on_problem = on_problem
        self._on_written = on_written
        self._failing = False
        self._stopping = threading.Event()
        self._store: BuildHistory | None = None
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
                self._stopping.set()
                return False
            self._thread.join(timeout_s)
        # A writer still retrying gives up now: what it holds is lost, as on a kill, and its
        # stream position was never stored, so the next start lists those builds again.
        self._stopping.set()
        return not self._thread.is_alive()

    def _submit(self, batch: HistoryBatch, positions: dict[str, tuple[str, int]]) -> None:
        batch.positions = positions
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            self.dropped += 1
            self._positions_frozen = True

    def _file_opener(self, path: Path) -> HistoryOpener:
        """Open the SQLite history at `path`, noting in `errors` what was done to the file."""

        def open_file() -> HistoryStore:
            opened = open_history(path)
            if opened.notice:
                self.errors.append(opened.notice)
            return opened.store

        return open_file

    def _run(self) -> None:
        try:
            self._store = self._opener()
        except BuildwatchError as error:
            if self._retry is None:
                self.errors.append(str(error))
                self._positions_frozen = True
                self._discard_forever()
                return
            self._report(str(error))  # the first write opens it again
        try:
            while self._serve():
                pass
        finally:
            self._disconnect()

    def _serve(self) -> bool:
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
                self._write(batch)
                batch = HistoryBatch()
                self._retain(task)
            else:
                running = False
                break
            if len(batch.builds) + len(batch.summaries) >= _MAX_MERGED_ROWS:
                break
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                break
        self._write(batch)
        for event in waiting:
            event.set()
        return running

    def _write(self, batch: HistoryBatch) -> None:
        """Write `batch`; with `retry`, again after each failure until written or closing."""
        if self._positions_frozen:
            batch.positions = {}
        if not batch:
            return
        backoff = self._retry() if self._retry is not None else None
        while True:
            try:
                self._connected().write(batch)
            except _STORE_ERRORS as error:
                problem = self._problem("write", error)
                if backoff is None or self._stopping.is_set():
                    # The batch is lost to the history; resume from before it on the next start.
                    self._positions_frozen = True
                    self.errors.append(problem)
                    return
                self._disconnect()
                self._report(problem)
                # Cut short by `close()`: one last try, then the batch is given up.
                self._stopping.wait(backoff.next_delay())
            else:
                self.written_at = time.time()
                self._report(None)
                if self._on_written is not None:
                    self._on_written(batch)
                return

    def _retain(self, policy: RetentionPolicy) -> None:
        try:
            self.retained += self._connected().apply_retention(policy)
        except _STORE_ERRORS as error:
            self.errors.append(self._problem("apply retention to", error))

    def _connected(self) -> BuildHistory:
        """The open store, opened again if a failure closed it."""
        if self._store is None:
            self._store = self._opener()
        return self._store

    def _disconnect(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(*_STORE_ERRORS):
                store.close()

    def _problem(self, doing: str, error: Exception) -> str:
        """One line: a store's own `BuildwatchError` says it all; SQLite's needs the file."""
        if isinstance(error, BuildwatchError):
            return str(error)
        return f"cannot {doing} the history {self.name}: {error}"

    def _report(self, problem: str | None) -> None:
        """Tell `on_problem` of a failure, and of the first success after failures."""
        if problem is None and not self._failing:
            return
        self._failing = problem is not None
        if self._on_problem is not None:
            self._on_problem(problem)

    def _discard_forever(self) -> None:
        """Without a file, keep answering flushes and the close so callers never hang."""
        while True:
            task = self._queue.get()
            if task is None:
                return
            if isinstance(task, threading.Event):
                task.set()
