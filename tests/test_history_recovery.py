"""A history file that cannot be used never stops buildwatch: it is moved aside, with a message
that says so, and a new one is started."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from test_history_store import NOW_MS, make_build

from buildwatch.core.history.location import STATE_DIR_ENV, history_path
from buildwatch.core.history.opening import KEPT_ASIDE, open_history
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


def test_only_the_newest_files_moved_aside_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    older = [f"history.sqlite3.corrupt-2026010{day}-120000" for day in range(1, 6)]
    for name in older:
        (tmp_path / name).write_bytes(b"old")
        (tmp_path / f"{name}-wal").write_bytes(b"old")
    path.write_bytes(b"garbage" * 1000)

    opened = open_history(path)
    opened.store.close()

    kept = sorted(moved.name for moved in tmp_path.glob("history.sqlite3.corrupt-*[0-9]"))
    assert len(kept) == KEPT_ASIDE == 3
    assert kept[:2] == older[-2:]  # the two newest of the older ones, then the one just moved
    assert sorted(wal.name for wal in tmp_path.glob("*-wal")) == [f"{older[-2]}-wal",
                                                                  f"{older[-1]}-wal"]


def test_a_new_history_is_readable_by_its_user_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))
    path = history_path("https://ge.example.com")
    previous = os.umask(0o022)  # the usual umask, under which SQLite makes 0644 files
    try:
        opened = open_history(path)
        opened.store.write(HistoryBatch(builds=[make_build(1, NOW_MS)]))
        modes = {
            name: stat.S_IMODE(os.stat(path.with_name(path.name + name)).st_mode)
            for name in ("", "-wal", "-shm")
        }
        opened.store.close()
    finally:
        os.umask(previous)

    assert modes == {"": 0o600, "-wal": 0o600, "-shm": 0o600}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700


def test_a_history_an_older_version_left_readable_to_all_is_made_private(tmp_path: Path) -> None:
    directory = tmp_path / "history"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    path = directory / "ge.example.com-0123456789.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o644)

    open_history(path).store.close()

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
