"""The history file's own behaviour: how an older file is migrated and what a stored value that no
longer reads becomes; and the builders of builds, summaries and invocations the store tests share
(what every store does is in test_build_history)."""

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
from buildwatch.core.history.resume import catch_up_text
from buildwatch.core.history.schema import MIGRATIONS, migrate, schema_version
from buildwatch.core.history.store import HistoryBatch, HistoryStore

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


def test_catch_up_progress_reads_as_a_count_of_builds() -> None:
    assert catch_up_text(1234) == "catching up: 1,234 builds"


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
