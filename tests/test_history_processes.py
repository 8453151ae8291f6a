"""The history file across processes: killed mid-write, and written by two buildwatch at once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_history_store import make_build

from buildwatch.core.history.opening import open_history

pytestmark = pytest.mark.timeout(60)

BATCH = 50
KILL_AFTER_S = (0.05, 0.3, 0.6)
"""Each round restarts the writer where the history ends and kills it this long after."""
WRITER_SCRIPT = """
import sys
from pathlib import Path
from test_history_store import NOW_MS, make_build, make_summary
from buildwatch.core.history.writer import HistoryWriter

path, first, last, size = Path(sys.argv[1]), *map(int, sys.argv[2:])
writer = HistoryWriter(path)
number = first
while last < 0 or number < last:
    builds = [make_build(n, NOW_MS + n) for n in range(number, number + size)]
    writer.record_builds(builds)
    writer.record_summaries(make_summary(build) for build in builds)
    writer.flush()
    if number == first:
        print("written", flush=True)
    number += size
writer.close()
for error in writer.errors:
    print(error, file=sys.stderr)
sys.exit(1 if writer.errors else 0)
"""


def start_writer(path: Path, first: int, last: int) -> subprocess.Popen[str]:
    """A process that writes builds `first`..`last` (forever if `last` < 0) in batches."""
    tests = str(Path(__file__).parent)
    search_path = os.pathsep.join(filter(None, (tests, os.environ.get("PYTHONPATH"))))
    environment = {**os.environ, "PYTHONPATH": search_path}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, str(path), str(first), str(last), str(BATCH)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
    )


def integrity(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def test_a_writer_killed_mid_write_leaves_whole_batches_and_a_matching_position(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite3"
    count = 0
    for delay in KILL_AFTER_S:
        writer = start_writer(path, count, -1)
        assert writer.stdout is not None and writer.stdout.readline() == "written\n"
        time.sleep(delay)  # the moment of the kill is what varies: not a wait for an event

        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()

        assert integrity(path) == "ok"
        opened = open_history(path)
        stored = [s.build.build_id for s in opened.store.load_recent()]
        assert opened.notice is None
        assert len(stored) > count and len(stored) % BATCH == 0
        assert stored == [make_build(n, 0).build_id for n in reversed(range(len(stored)))]
        assert opened.store.last_build_id() == stored[0]
        opened.store.close()
        count = len(stored)


def test_two_writers_on_one_history_store_every_build_once(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    writers = [start_writer(path, 0, 3_000), start_writer(path, 1_500, 4_500)]

    results = [(writer.wait(timeout=50), writer.communicate()[1]) for writer in writers]

    assert results == [(0, ""), (0, "")]
    assert integrity(path) == "ok"
    opened = open_history(path)
    stored = opened.store.load_recent()
    assert [s.build.build_id for s in stored] == [
        make_build(n, 0).build_id for n in reversed(range(4_500))
    ]
    assert all(s.summary is not None for s in stored)
    assert opened.store.last_build_id() == make_build(4_499, 0).build_id
    opened.store.close()
