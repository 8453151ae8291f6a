"""Opening the history file, and what happens when it cannot be read.

A file SQLite calls corrupt (or not a database at all), or one from a newer buildwatch, is moved
aside with its WAL and shared-memory files (the newest `KEPT_ASIDE` are kept) and a fresh one is
started: the history is a cache
of what the servers hold, and a bad file must never stop buildwatch from starting, let alone
make it fail on every start. Any other failure (a locked file, a directory that cannot be
written) is a `HistoryError`: the file may be fine, so it is left where it is.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from buildwatch.core.history.schema import NewerSchemaError, migrate
from buildwatch.core.history.store import BUSY_TIMEOUT_S, HistoryError, HistoryStore, connect

_UNREADABLE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_COMPANIONS = ("", "-wal", "-shm", "-journal")
KEPT_ASIDE = 3
"""Files moved aside that are kept, newest first: a disk that damages every new file would
otherwise add one at every start."""
_ASIDE = re.compile(r"(?:corrupt|incompatible)-(?P<stamp>\d{8}-\d{6})")


@dataclass(frozen=True)
class OpenedHistory:
    """The store, and what was done to the file to open it (None if nothing)."""

    store: HistoryStore
    notice: str | None


def open_history(path: Path) -> OpenedHistory:
    """Open the history at `path`, creating or migrating it; replace it if it is unusable."""
    try:
        return OpenedHistory(_open(path), None)
    except _Unusable as error:
        moved = _move_aside(path, error.kind)
        _remove_old_aside(path)
        notice = (
            f"the history {path} could not be used ({error}); "
            f"moved it to {moved.name} and started a new one"
        )
    try:
        return OpenedHistory(_open(path), notice)
    except _Unusable as error:
        raise HistoryError(f"cannot start a new history at {path}: {error}") from None


class _Unusable(Exception):
    """The file is corrupt (`kind` "corrupt") or from a newer buildwatch ("incompatible")."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
_BUSY_RETRY_S = 0.05


def _open(path: Path) -> HistoryStore:
    """`_open_once`, again while another process holds the file in a way SQLite will not wait
    for (switching a new file to WAL, recovering a WAL), for up to `BUSY_TIMEOUT_S`: two
    buildwatch processes started together must both open their history."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            return _open_once(path)
        except _Busy as busy:
            if time.monotonic() > deadline:
                raise HistoryError(f"cannot open the history {path}: {busy}") from None
        time.sleep(_BUSY_RETRY_S)


class _Busy(Exception):
    """Another connection holds the file; opening may be tried again."""


def _open_once(path: Path) -> HistoryStore:
    """Connect, check the file (a fraction of a second for 100,000 builds) and migrate it."""
    try:
        connection = connect(path)
    except OSError as error:
        raise HistoryError(f"cannot create the history directory {path.parent}: {error}") from None
    except sqlite3.DatabaseError as error:
        raise _classified(path, error) from None
    try:
        problem = connection.execute("PRAGMA quick_check(1)").fetchone()[0]
        if problem != "ok":
            raise _Unusable("corrupt", f"it is damaged: {' '.join(str(problem).split())[:160]}")
        migrate(connection)
    except NewerSchemaError as error:
        connection.close()
        raise _Unusable("incompatible", str(error)) from None
    except sqlite3.DatabaseError as error:
        connection.close()
        raise _classified(path, error) from None
    except BaseException:
        connection.close()
        raise
    return HistoryStore(connection, path)


def _classified(path: Path, error: sqlite3.DatabaseError) -> Exception:
    """`_Unusable` if SQLite says the file is damaged, `_Busy` if another connection holds it;
    otherwise (unwritable: the file may be fine) a `HistoryError` that leaves it where it is."""
    code = getattr(error, "sqlite_errorcode", None)
    if code in _UNREADABLE_CODES:
        return _Unusable("corrupt", "it is not a readable database")
    if code is not None and code & 0xFF in _BUSY_CODES:
        return _Busy(str(error))
    return HistoryError(f"cannot open the history {path}: {error}")


def _move_aside(path: Path, why: str) -> Path:
    """Rename the file and its companions to `<name>.<why>-<time>`; returns the new name."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.{why}-{stamp}")
    for suffix in _COMPANIONS:
        source = path.with_name(path.name + suffix)
        if source.exists():
            try:
                source.replace(target.with_name(target.name + suffix))
            except OSError as error:
                raise HistoryError(
                    f"cannot move the unusable history {source} aside: {error}"
                ) from None
    return target


def _remove_old_aside(path: Path) -> None:
    """Delete all but the newest `KEPT_ASIDE` files moved aside from `path` (companions too)."""
    prefix = f"{path.name}."
    aside = sorted(
        (match["stamp"], candidate)
        for candidate in path.parent.iterdir()
        if candidate.name.startswith(prefix)
        and (match := _ASIDE.fullmatch(candidate.name.removeprefix(prefix)))
    )
    for _, old in aside[:-KEPT_ASIDE]:
        for suffix in _COMPANIONS:
            with contextlib.suppress(OSError):
                old.with_name(old.name + suffix).unlink(missing_ok=True)
