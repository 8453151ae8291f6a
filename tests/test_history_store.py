"""The history file: what a write stores, how it reads back, where the listing resumes, what
retention deletes, and how an older file is migrated."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.develocity.models import Build, FailureInfo
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.resume import ResumePoint, catch_up_text
from buildwatch.core.history.schema import MIGRATIONS, migrate, schema_version
from buildwatch.core.history.store import HistoryBatch, HistoryStore, RetentionPolicy

DAY_MS = 86_400_000
NOW_MS = 1_800_000_000_000


def make_build(number: int, published_ms: int) -> Build:
    """A listing's Build message for build `number` (ids sort like the numbers)."""
    build_id = f"b{number:012d}"
    source = json.dumps(
        {"buildId": build_id, "timestamp": published_ms, "toolType": "gradle",
         "toolVersion": "8.5", "agentVersion": "3.16"}
    ).encode()
    return Build(source=source, message_id=build_id)


def make_summary(build: Build) -> BuildSummary:
    """A failed build's summary with every kind of field filled."""
    return BuildSummary(
        build_id=build.build_id, tool_type="gradle", tool_version="8.5",
        published_ms=build.timestamp, outcome="failed", project="app",
        requested=("build",), user="ana", host="ci-7", tags=("CI",),
        custom_values=(("Git commit id", "4f2a9c1"), ("empty", None)),
        links=(("CI job", "https://ci.example.com/7"),), git_commit="4f2a9c1",
        started_ms=1, finished_ms=5, exit_code=1,
        failures=(FailureInfo(3, "org.gradle.Failure", "boom"),),
    )


def make_invocation(invocation_id: str, updated_ms: int, status: str) -> Invocation:
    return Invocation.from_json({
        "id": {"invocationId": invocation_id},
        "invocationStatus": status,
        "updatedAtUsec": str(updated_ms * 1000),
        "commitSha": "4f2a9c1",
    })


def builds_batch(builds: list[Build]) -> HistoryBatch:
    """Builds as the writer stores them: with the listing's position at the last one."""
    last = builds[-1]
    return HistoryBatch(builds=builds, positions={"builds": (last.build_id, last.timestamp or 0)})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    opened = open_history(tmp_path / "history.sqlite3")
    yield opened.store
    opened.store.close()


def test_builds_read_back_newest_first_with_their_exact_bytes(store: HistoryStore) -> None:
    builds = [make_build(n, NOW_MS + n) for n in range(5)]
    store.write(builds_batch(builds))

    loaded = store.load_recent(3)

    assert [(s.build.message_id, s.build.source) for s in loaded] == [
        (b.build_id, b.source) for b in reversed(builds[2:])
    ]


def test_a_summary_reads_back_equal_to_what_was_stored(store: HistoryStore) -> None:
    build = make_build(1, NOW_MS)
    store.write(builds_batch([build]))
    store.write(HistoryBatch(summaries=[make_summary(build)]))

    assert store.load_recent(1)[0].summary == make_summary(build)


def test_a_build_without_a_summary_reads_back_with_none(store: HistoryStore) -> None:
    store.write(builds_batch([make_build(1, NOW_MS)]))

    assert store.load_recent()[0].summary is None


def test_a_build_delivered_twice_is_stored_once(store: HistoryStore) -> None:
    builds = [make_build(n, NOW_MS + n) for n in range(3)]
    store.write(builds_batch(builds))
    store.write(builds_batch(builds[1:]))

    assert store.build_count() == 3


def test_the_builds_position_never_moves_back(store: HistoryStore) -> None:
    store.write(builds_batch([make_build(9, NOW_MS + 9)]))
    store.write(builds_batch([make_build(4, NOW_MS + 4)]))

    assert store.last_build_id() == make_build(9, 0).build_id


def test_resume_is_after_the_last_build_when_it_is_inside_the_window(store: HistoryStore) -> None:
    store.write(builds_batch([make_build(1, NOW_MS - 2 * 3_600_000)]))

    point = store.resume_point(DAY_MS, now_ms=NOW_MS)

    assert point == ResumePoint(since_build=make_build(1, 0).build_id, since=NOW_MS - DAY_MS)
    assert point.kind == "sinceBuild"


def test_resume_backfills_the_window_when_the_last_build_is_older(store: HistoryStore) -> None:
    store.write(builds_batch([make_build(1, NOW_MS - 2 * DAY_MS)]))

    assert store.resume_point(DAY_MS, now_ms=NOW_MS) == ResumePoint(None, NOW_MS - DAY_MS)


def test_an_empty_history_backfills_the_window(store: HistoryStore) -> None:
    assert store.resume_point(DAY_MS, now_ms=NOW_MS).kind == "since"


def test_catch_up_progress_reads_as_a_count_of_builds() -> None:
    assert catch_up_text(1234) == "catching up: 1,234 builds"


def test_an_invocation_keeps_its_latest_state(store: HistoryStore) -> None:
    finished = make_invocation("i1", NOW_MS, "COMPLETE_INVOCATION_STATUS")
    older = make_invocation("i1", NOW_MS - 1, "PARTIAL_INVOCATION_STATUS")
    store.write(HistoryBatch(invocations=[finished]))
    store.write(HistoryBatch(invocations=[older]))

    [invocation] = store.load_invocations()

    assert invocation.status_name == "COMPLETE_INVOCATION_STATUS"


def test_retention_keeps_the_newest_builds_up_to_the_maximum(store: HistoryStore) -> None:
    builds = [make_build(n, NOW_MS - n) for n in range(2_500)]
    store.write(builds_batch(builds))

    deleted = store.apply_retention(RetentionPolicy(max_builds=1_000), now_ms=NOW_MS)

    assert deleted == 1_500
    assert [s.build.build_id for s in store.load_recent()] == [b.build_id for b in builds[:1_000]]


def test_retention_deletes_builds_and_invocations_older_than_the_age(store: HistoryStore) -> None:
    store.write(builds_batch([make_build(1, NOW_MS - 8 * DAY_MS), make_build(2, NOW_MS - DAY_MS)]))
    store.write(HistoryBatch(invocations=[
        make_invocation("old", NOW_MS - 8 * DAY_MS, "COMPLETE_INVOCATION_STATUS"),
        make_invocation("new", NOW_MS - DAY_MS, "COMPLETE_INVOCATION_STATUS"),
    ]))

    store.apply_retention(RetentionPolicy(max_age_days=7), now_ms=NOW_MS)

    assert [s.build.build_id for s in store.load_recent()] == [make_build(2, 0).build_id]
    assert [i.invocation_id for i in store.load_invocations()] == ["new"]


def test_a_file_from_an_older_version_is_migrated_keeping_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    opened = open_history(path)
    opened.store.write(builds_batch([make_build(1, NOW_MS)]))
    opened.store.close()
    connection = sqlite3.connect(path, isolation_level=None)
    newer = (*MIGRATIONS, "ALTER TABLE builds ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0")

    ran = migrate(connection, newer)

    assert (ran, schema_version(connection)) == (1, len(newer))
    assert connection.execute("SELECT build_id, pinned FROM builds").fetchall() == [
        (make_build(1, 0).build_id, 0)
    ]
    connection.close()


def test_a_migrated_file_is_not_migrated_again(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    open_history(path).store.close()
    connection = sqlite3.connect(path, isolation_level=None)

    assert migrate(connection) == 0
    connection.close()



def test_a_stored_summary_that_no_longer_reads_is_taken_as_missing(store: HistoryStore) -> None:
    build = make_build(1, NOW_MS)
    store.write(builds_batch([build]))
    store.write(HistoryBatch(summaries=[make_summary(build)]))
    connection = sqlite3.connect(store.path, isolation_level=None)
    connection.execute("UPDATE builds SET summary = ?", (b'{"build_id": 7}',))
    connection.close()

    assert store.load_recent()[0].summary is None
