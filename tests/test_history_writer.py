"""The history writer: it stores from its own thread, and the caller never waits for the disk."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_history_store import NOW_MS, make_build, make_invocation, make_summary

from buildwatch.core.backoff import Backoff
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.store import HistoryError, HistoryStore, RetentionPolicy
from buildwatch.core.history.writer import HistoryWriter

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite3"


@pytest.fixture
def reader(path: Path) -> Iterator[HistoryStore]:
    opened = open_history(path)
    yield opened.store
    opened.store.close()


def test_what_was_recorded_is_stored_once_flushed(path: Path, reader: HistoryStore) -> None:
    builds = [make_build(n, NOW_MS + n) for n in range(10)]
    writer = HistoryWriter(path)
    writer.record_builds(builds[:6])
    writer.record_builds(builds[6:])
    writer.record_summaries([make_summary(builds[3])])
    writer.record_invocations([make_invocation("i1", NOW_MS, "COMPLETE_INVOCATION_STATUS")])

    assert writer.flush(timeout_s=10)

    stored = reader.load_recent()
    assert [s.build.build_id for s in stored] == [b.build_id for b in reversed(builds)]
    assert [s.build.build_id for s in stored if s.summary] == [builds[3].build_id]
    assert reader.last_build_id() == builds[-1].build_id
    assert [i.invocation_id for i in reader.load_invocations()] == ["i1"]
    writer.close()
    assert writer.errors == []


def test_recording_while_the_file_is_locked_drops_rather_than_waits(
    path: Path, reader: HistoryStore
) -> None:
    first, second, third = ([make_build(n, NOW_MS + n)] for n in range(3))
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    writer = HistoryWriter(path, max_pending=1)
    writer.record_builds(first)
    while writer.backlog:  # until the thread holds `first` and waits for the lock
        time.sleep(0.01)

    writer.record_builds(second)
    writer.record_builds(third)
    lock.execute("COMMIT")
    lock.close()
    writer.close()

    assert writer.dropped == 1
    assert writer.errors == []
    stored = {s.build.build_id for s in reader.load_recent()}
    assert stored == {first[0].build_id, second[0].build_id}
    # The next start resumes after `first`: `second` comes again (stored once), `third` anew.
    assert reader.last_build_id() == first[0].build_id


def test_retention_runs_in_the_writer_thread(path: Path, reader: HistoryStore) -> None:
    writer = HistoryWriter(path)
    writer.record_builds([make_build(n, NOW_MS - n) for n in range(50)])

    writer.apply_retention(RetentionPolicy(max_builds=20))
    writer.close()

    assert (writer.retained, reader.build_count()) == (30, 20)


def test_a_writer_without_a_usable_file_reports_it_and_never_hangs(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    writer = HistoryWriter(blocker / "history.sqlite3")

    writer.record_builds([make_build(1, NOW_MS)])

    assert writer.flush(timeout_s=10)
    writer.close()
    assert len(writer.errors) == 1 and "cannot" in writer.errors[0]


class FlakyOpener:
    """Opens the history at `path`, but fails the first `failures` times, as a store that is
    unreachable for a while."""

    def __init__(self, path: Path, failures: int) -> None:
        self.path = path
        self.failures = failures
        self.attempts = 0

    def __call__(self) -> HistoryStore:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise HistoryError(f"cannot reach the store (attempt {self.attempts})")
        return open_history(self.path).store


def quick_retries() -> Backoff:
    return Backoff(base_s=0.001, cap_s=0.005)


def test_a_retrying_writer_keeps_the_batch_until_the_store_takes_it(
    path: Path, reader: HistoryStore
) -> None:
    opener = FlakyOpener(path, failures=3)
    problems: list[str | None] = []
    writer = HistoryWriter(opener, retry=quick_retries, on_problem=problems.append)
    builds = [make_build(n, NOW_MS + n) for n in range(5)]

    writer.record_builds(builds)

    assert writer.flush(timeout_s=10)
    writer.close()
    assert opener.attempts == 4
    assert problems[:3] == [f"cannot reach the store (attempt {n})" for n in (1, 2, 3)]
    assert problems[3:] == [None]
    assert {s.build.build_id for s in reader.load_recent()} == {b.build_id for b in builds}
    assert reader.last_build_id() == builds[-1].build_id
    assert writer.errors == [] and writer.written_at is not None


def test_a_retrying_writer_closed_while_the_store_is_away_gives_up_rather_than_hangs(
    path: Path, reader: HistoryStore
) -> None:
    opener = FlakyOpener(path, failures=1_000_000)
    writer = HistoryWriter(opener, retry=quick_retries)
    writer.record_builds([make_build(1, NOW_MS)])
    while opener.attempts < 3:  # it is retrying
        time.sleep(0.01)

    assert writer.close(timeout_s=0.2) is False
    assert writer.close(timeout_s=10) is True

    assert len(writer.errors) == 1 and "cannot reach the store" in writer.errors[0]
    assert reader.last_build_id() is None
