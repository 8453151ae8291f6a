"""A history file that cannot be used never stops buildwatch: it is moved aside, with a message
that says so, and a new one is started."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_history_store import NOW_MS, make_build

from buildwatch.core.history.location import STATE_DIR_ENV, history_path
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.schema import SCHEMA_VERSION
from buildwatch.core.history.store import HistoryBatch, HistoryError


def test_a_file_of_garbage_is_moved_aside_and_a_new_history_started(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    garbage = bytes(range(256)) * 64
    path.write_bytes(garbage)

    opened = open_history(path)

    assert opened.store.build_count() == 0
    assert opened.notice is not None
    assert "not a readable database" in opened.notice and "started a new one" in opened.notice
    [moved] = tmp_path.glob("history.sqlite3.corrupt-*")
    assert moved.read_bytes() == garbage
    assert moved.name in opened.notice
    opened.store.close()


def test_a_file_with_damaged_pages_is_moved_aside_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    opened = open_history(path)
    opened.store.write(HistoryBatch(builds=[make_build(n, NOW_MS + n) for n in range(2_000)]))
    opened.store.close()
    with path.open("r+b") as file:
        file.seek(4096 * 3)
        file.write(b"\xff" * 4096 * 8)

    reopened = open_history(path)

    assert reopened.notice is not None and "it is damaged" in reopened.notice
    assert "\n" not in reopened.notice
    assert reopened.store.build_count() == 0
    reopened.store.close()


def test_a_file_from_a_newer_version_is_moved_aside_with_its_version_named(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    connection.close()

    opened = open_history(path)

    assert opened.notice is not None
    assert f"schema version {SCHEMA_VERSION + 5}" in opened.notice
    assert list(tmp_path.glob("history.sqlite3.incompatible-*"))
    assert opened.store.build_count() == 0
    opened.store.close()


def test_opening_a_replaced_file_again_needs_no_recovery(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"\x00" * 4096)
    open_history(path).store.close()

    again = open_history(path)

    assert again.notice is None
    again.store.close()


def test_a_history_that_cannot_be_created_is_a_one_line_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the directory should be")

    with pytest.raises(HistoryError) as caught:
        open_history(blocker / "history.sqlite3")

    assert "\n" not in str(caught.value)
    assert blocker.read_text() == "a file where the directory should be"


def test_history_files_live_under_the_state_dir_one_per_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path))

    first = history_path("https://ge.example.com")
    second = history_path("https://ge.example.com/other")

    assert first.parent == second.parent == tmp_path / "history"
    assert first != second and first.name.startswith("ge.example.com-")
