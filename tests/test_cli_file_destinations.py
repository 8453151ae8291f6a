"""`bb file get -o PATH`: a regular file is replaced once the download is whole; a FIFO, a
character device or `-` gets the bytes as they come and stays what it is; anything else is
refused in one line. No test writes to a real device: /dev/null is only `stat`ed, and the
character device written to is a pseudo-terminal the test opens."""

from __future__ import annotations

import hashlib
import os
import select
import socket
import stat
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli_bb import bb, uploaded_file

from buildwatch.core.buildbuddy.files import write_mode
from buildwatch.core.errors import ConfigError
from buildwatch.sim import SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=1)) as simulator:
        yield simulator


def digest_and_size(uri: str) -> tuple[str, int]:
    digest, size = uri.rsplit("/", 2)[-2:]
    return digest, int(size)


def test_a_character_device_or_a_fifo_is_written_through_and_a_file_replaced(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    regular = tmp_path / "file"
    regular.write_bytes(b"")

    assert write_mode(os.stat("/dev/null").st_mode, Path("/dev/null")) == "stream"
    assert write_mode(os.stat(fifo).st_mode, fifo) == "stream"
    assert write_mode(os.stat(regular).st_mode, regular) == "replace"


def test_a_directory_a_socket_or_a_block_device_is_refused() -> None:
    for mode, kind in [(stat.S_IFDIR, "a directory"), (stat.S_IFSOCK, "a socket"),
                       (stat.S_IFBLK, "a block device")]:
        with pytest.raises(ConfigError, match=f"is {kind}: give the name of a file"):
            write_mode(mode | 0o644, Path("/somewhere"))


def test_a_download_into_a_fifo_streams_to_its_reader_and_leaves_the_fifo(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    uri = uploaded_file(sim, "test.log")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received = bytearray()

    def read() -> None:
        with open(fifo, "rb") as reader:
            received.extend(reader.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    done = bb(sim, "file", "get", uri, "-o", str(fifo))
    reader.join(10)

    assert done.returncode == 0, done.stderr
    assert (hashlib.sha256(received).hexdigest(), len(received)) == digest_and_size(uri)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fifo"]


def test_a_download_to_a_terminal_device_writes_to_it(sim: SimulatorThread) -> None:
    uri = uploaded_file(sim, "test.log")
    size = digest_and_size(uri)[1]
    master, child = os.openpty()
    tty.setraw(child)  # the bytes as written, no CR added to each LF
    device = os.ttyname(child)
    received = bytearray()

    def read() -> None:
        deadline = time.monotonic() + 30
        while len(received) < size and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                received.extend(os.read(master, 65536))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        done = bb(sim, "file", "get", uri, "-o", device)
        reader.join(30)
        still_a_device = stat.S_ISCHR(os.stat(device).st_mode)
    finally:
        os.close(child)
        os.close(master)

    assert done.returncode == 0, done.stderr
    assert (hashlib.sha256(received).hexdigest(), len(received)) == digest_and_size(uri)
    assert still_a_device


def test_a_download_to_dash_goes_to_stdout(sim: SimulatorThread) -> None:
    uri = uploaded_file(sim, "test.log")

    done = bb(sim, "file", "get", uri, "-o", "-")

    assert done.returncode == 0
    assert (hashlib.sha256(done.stdout).hexdigest(), len(done.stdout)) == digest_and_size(uri)


def test_a_download_onto_a_directory_or_a_socket_is_refused_in_one_line(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    uri = uploaded_file(sim, "test.log")
    listening = socket.socket(socket.AF_UNIX)
    path = tmp_path / "sock"
    listening.bind(str(path))
    try:
        for target, kind in [(tmp_path, "a directory"), (path, "a socket")]:
            done = bb(sim, "file", "get", uri, "-o", str(target))

            assert done.returncode == 2
            assert done.stderr.decode().splitlines() == [
                f"buildwatch: {target} is {kind}: give the name of a file to write"
            ]
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert sorted(entry.name for entry in tmp_path.iterdir()) == ["sock"]
    finally:
        listening.close()
