"""Drive buildwatch in a real terminal: tmux for what a person sees, a pty for the raw bytes."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import shutil
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from buildwatch.tui.widgets.breadcrumb import SEPARATOR


def app_environment(
    home: Path, config: str, size: tuple[int, int], **variables: str
) -> dict[str, str]:
    """The environment of buildwatch run in a terminal: `home` as its home, holding its
    configuration file (`config` is the file's text) and state directory, no keyring, started at
    `size` (columns, rows) whatever the pane measured, and `variables` (its servers)."""
    (home / "config.toml").write_text(config, encoding="utf-8")
    return {
        "TERM": "xterm-256color",
        "COLUMNS": str(size[0]),
        "LINES": str(size[1]),
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "BUILDWATCH_CONFIG": str(home / "config.toml"),
        "BUILDWATCH_STATE_DIR": str(home / "state"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        **variables,
    }


@dataclass
class TmuxSession:
    """A detached tmux session running one command at a fixed size."""

    command: Sequence[str]
    width: int = 120
    height: int = 36
    env: dict[str, str] = field(default_factory=dict)
    name: str = field(default_factory=lambda: f"bw-{uuid.uuid4().hex[:8]}")

    def __enter__(self) -> TmuxSession:
        if shutil.which("tmux") is None:
            raise RuntimeError("tmux is not installed (.ci/run installs it)")
        environment = [f"{key}={value}" for key, value in self.env.items()]
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", str(self.width),
             "-y", str(self.height), "env", *environment, *self.command],
            check=True,
        )
        return self

    def __exit__(self, *_: object) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)

    def send(self, *keys: str) -> None:
        """Type keys as tmux names them (`Enter`, `Escape`, `q`, `C-c`)."""
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        """The visible pane as plain text."""
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            check=True, capture_output=True, text=True,
        ).stdout

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """Wait until `text` is on screen and return the screen; fail with the last screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; last screen:\n{screen}")

    def alive(self) -> bool:
        """Whether the session (and so the command) is still running."""
        return subprocess.run(
            ["tmux", "has-session", "-t", self.name], capture_output=True
        ).returncode == 0


def run_in_pty(
    command: Sequence[str], keys: Sequence[tuple[float, bytes]], env: dict[str, str],
    timeout: float = 30.0, size: tuple[int, int] = (36, 120),
) -> bytes:
    """Run `command` on a pseudo-terminal, type `keys` (delay, bytes) and return every byte it wrote."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(command[0], list(command), {**os.environ, **env})
    _set_size(fd, size)
    output = bytearray()
    pending = list(keys)
    started = time.monotonic()
    next_at = started + (pending[0][0] if pending else 0)
    try:
        while time.monotonic() - started < timeout:
            if pending and time.monotonic() >= next_at:
                os.write(fd, pending.pop(0)[1])
                next_at = time.monotonic() + (pending[0][0] if pending else 0)
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    return bytes(output)


_SEQUENCE = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.")


def _found(wanted: bytes | re.Pattern[bytes], output: bytearray) -> bool:
    return wanted in output if isinstance(wanted, bytes) else wanted.search(output) is not None


def readable(output: bytes | bytearray) -> str:
    """What a terminal's output says, for a failure message: escape sequences and runs of
    spaces dropped."""
    text = _SEQUENCE.sub(b"", bytes(output)).decode("utf-8", "replace")
    return re.sub(r" {3,}", "  ", text)


def crumb(text: str) -> bytes:
    """The end of a breadcrumb that names `text` after another crumb."""
    return (SEPARATOR + text).encode()


def focused_row(pattern: bytes) -> re.Pattern[bytes]:
    """The cursor row of the table that has the focus, holding `pattern`: the only row drawn
    bold. A key that moves the focus takes effect a moment after its screen is drawn, so the
    next key waits for this."""
    return re.compile(rb"\x1b\[1;[0-9;]*m[^\x1b]*(?:" + pattern + rb")")


def _set_size(fd: int, size: tuple[int, int]) -> None:
    """Give the terminal on `fd` `size` (rows, columns)."""
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))


class PtyProcess:
    """A command on a pseudo-terminal, read while it runs: wait for its output, type into it,
    signal it, and read its exit status. Use it as a context manager (it kills what is left)."""

    def __init__(self, command: Sequence[str], env: dict[str, str],
                 size: tuple[int, int] | None = None) -> None:
        """Start `command`; `size` (rows, columns) is the terminal's, set before it starts."""
        self.output = bytearray()
        self.pid, self._fd = pty.fork()
        if self.pid == 0:  # child
            if size is not None:
                _set_size(0, size)
            os.execvpe(command[0], list(command), {**os.environ, **env})
        self._status: int | None = None

    def __enter__(self) -> PtyProcess:
        return self

    def __exit__(self, *_: object) -> None:
        if self._status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        os.close(self._fd)

    def read_until(self, wanted: bytes | re.Pattern[bytes], timeout: float = 20.0) -> bytes:
        """Read until `wanted` (bytes, or a pattern of them) has appeared; return everything
        read so far."""
        deadline = time.monotonic() + timeout
        while not _found(wanted, self.output):
            if time.monotonic() > deadline or not self._read(deadline - time.monotonic()):
                raise AssertionError(f"{wanted!r} never came; the text written: "
                                     f"{readable(self.output)[-3000:]}")
        return bytes(self.output)

    def send(self, data: bytes) -> None:
        """Type `data` (b"\\x03" is Ctrl-C, which the terminal turns into SIGINT)."""
        os.write(self._fd, data)

    def answer(self, data: bytes, wanted: bytes | re.Pattern[bytes], timeout: float = 20.0) -> bytes:
        """Type `data`, then read until `wanted` (bytes, or a pattern of them) appears in what
        is written after it; return that part. (Text shown before the key does not count: a
        screen can show it again.)"""
        mark = len(self.output)
        self.send(data)
        deadline = time.monotonic() + timeout
        while not _found(wanted, self.output[mark:]):
            if time.monotonic() > deadline or not self._read(deadline - time.monotonic()):
                raise AssertionError(f"{wanted!r} never came after {data!r}; the text written "
                                     f"since: {readable(self.output[mark:])[-3000:]}")
        return bytes(self.output[mark:])

    def wait(self, timeout: float = 20.0) -> int:
        """Read the output to its end and return the exit code (-N for a signal N)."""
        deadline = time.monotonic() + timeout
        while self._read(max(0.0, deadline - time.monotonic())):
            pass
        while self._status is None and time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._status = os.waitstatus_to_exitcode(status)
            else:
                time.sleep(0.02)
        if self._status is None:
            raise AssertionError(f"still running after {timeout} s; the last bytes read: "
                                 f"{bytes(self.output[-3000:])!r}")
        return self._status

    def _read(self, timeout: float) -> bool:
        """Read what is there within `timeout`; False at the end of the output or the time."""
        ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
        if not ready:
            return False
        try:
            chunk = os.read(self._fd, 65536)
        except OSError:  # the child closed the terminal
            return False
        self.output += chunk
        return bool(chunk)
