"""Cursor keys while `buildwatch --since 0` backfills and summarises a big server, in tmux.

Target (the speed issue): from the first row on screen until every build is loaded and
summarised, in every 5-second window, key-to-screen median <= 50 ms and 95th percentile
<= 150 ms, measured in a real terminal (Textual's pilot skips the terminal writes).

The simulator runs as a child process with `--builds N` published in the past, events served for
every build, so the app's summary pass reads them all. The app runs in a tmux server of its own
at 200x50, on a throwaway state directory. From the first row shown, `Down` and `Up` are sent in
turn, one every `--every` seconds (or as soon as the previous one was answered, if that took
longer); each key is timed from `send-keys` to the first `capture-pane` showing the cursor row
one line lower (Down) or higher (Up). The pane is polled as fast as tmux answers (a few ms each),
so the figures include that resolution. The same keys on a settled screen (everything loaded, or
the time limit reached) are the baseline printed last, in the same run.

Progress comes from outside the app: the rows loaded from the screen's title line, the builds
summarised from the history file the app writes (read only).

    python bench/keys_during_backfill.py [--builds 100000] [--every 0.2] [--limit 120]
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

from tui_harness import median, percentile
from tui_monitor import Simulator

SIZE = (200, 50)
WINDOW_S = 5.0
TABLE_TOP = 4
"""The first table row's line on screen (status lines, title, column headers above it)."""
KEY_TIMEOUT_S = 10.0
STEADY_S = 10.0
LOADED = re.compile(r"builds \(published\): ([\d,]+)")
BACKGROUND = re.compile(r"48;5;(\d+)m")


@dataclass
class Window:
    """The keys sent in one 5-second window, and the progress at its end."""

    start_s: float
    keys_ms: list[float] = field(default_factory=list)
    timeouts: int = 0
    loaded: int = 0
    summarised: int = 0


class Pane:
    """`buildwatch --since 0` in a tmux server of its own, at `SIZE`."""

    def __init__(self, env: dict[str, str]) -> None:
        # A server of its own: a running one would start the app with its own environment.
        self.tmux = ["tmux", "-L", f"keys-{os.getpid()}"]
        variables = [f"{key}={value}" for key, value in env.items()]
        subprocess.run([*self.tmux, "new-session", "-d", "-x", str(SIZE[0]), "-y", str(SIZE[1]),
                        "env", *variables, sys.executable, "-m", "buildwatch", "--since", "0"],
                       check=True)

    def lines(self) -> list[str]:
        """The pane's lines, with their colour sequences."""
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-e"], check=True,
                              capture_output=True, text=True).stdout.splitlines()

    def send(self, key: str) -> None:
        subprocess.run([*self.tmux, "send-keys", key], check=True)

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def cursor_line(lines: list[str], colour: str) -> int | None:
    """The screen line of the table's cursor row: the first row drawn on `colour`."""
    for index in range(TABLE_TOP, len(lines) - 1):
        match = BACKGROUND.search(lines[index])
        if match is not None and match.group(1) == colour:
            return index
    return None


def loaded_rows(lines: list[str]) -> int:
    """The builds the title line says the table holds."""
    for line in lines[:TABLE_TOP]:
        match = LOADED.search(line)
        if match is not None:
            return int(match.group(1).replace(",", ""))
    return 0


def summarised(state: Path) -> int:
    """Builds with a stored summary in the history the app writes (0 before it exists)."""
    files = list((state / "history").glob("*.sqlite3"))
    if not files:
        return 0
    try:
        with sqlite3.connect(f"file:{files[0]}?mode=ro", uri=True, timeout=5) as connection:
            row = connection.execute("SELECT count(summary) FROM builds").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0])


def first_row(pane: Pane, timeout: float) -> tuple[float, str]:
    """When the first table row showed, and the cursor's background colour (the cursor starts on
    the top row)."""
    deadline = perf_counter() + timeout
    while perf_counter() < deadline:
        lines = pane.lines()
        if len(lines) > TABLE_TOP and (match := BACKGROUND.search(lines[TABLE_TOP])) and \
                lines[TABLE_TOP].strip():
            plain = re.sub(r"\x1b\[[0-9;]*m", "", lines[TABLE_TOP])
            if re.search(r"[0-9a-z]{13}", plain):
                return perf_counter(), match.group(1)
        time.sleep(0.005)
    raise SystemExit("the table never showed a row")


def key_round_trip(pane: Pane, key: str, colour: str) -> tuple[float | None, list[str]]:
    """Milliseconds from sending `key` to the pane showing the cursor moved by it (None: not
    within `KEY_TIMEOUT_S`), and the last pane seen."""
    before = cursor_line(pane.lines(), colour)
    wanted = None if before is None else before + (1 if key == "Down" else -1)
    sent = perf_counter()
    pane.send(key)
    while True:
        lines = pane.lines()
        line = cursor_line(lines, colour)
        if line is not None and (line == wanted if wanted is not None else line != before):
            return (perf_counter() - sent) * 1000, lines
        if perf_counter() - sent > KEY_TIMEOUT_S:
            return None, lines


def measure(args: argparse.Namespace) -> tuple[list[Window], Window, float | None]:
    """Run the app and send keys; the windows, the steady-state window, and when everything was
    loaded and summarised (None: not within the limit)."""
    simulator = Simulator(args.builds)
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        (directory / "config.toml").write_text("")
        state = directory / "state"
        pane = Pane({"BUILDWATCH_DEVELOCITY_URL": simulator.url,
                     "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token",
                     "BUILDWATCH_STATE_DIR": str(state),
                     "BUILDWATCH_CONFIG": str(directory / "config.toml")})
        try:
            started, colour = first_row(pane, 120)
            windows = [Window(0.0)]
            steady = Window(0.0)
            done_s: float | None = None
            key = "Down"
            while True:
                now = perf_counter() - started
                if now >= windows[-1].start_s + WINDOW_S:
                    window = windows[-1]
                    window.summarised = summarised(state)
                    if done_s is None and window.loaded >= args.builds \
                            and window.summarised >= args.builds:
                        done_s = now
                    if done_s is not None or now >= args.limit:
                        break
                    windows.append(Window(window.start_s + WINDOW_S))
                window = windows[-1]
                elapsed, lines = key_round_trip(pane, key, colour)
                if elapsed is None:
                    window.timeouts += 1
                else:
                    window.keys_ms.append(elapsed)
                window.loaded = max(window.loaded, loaded_rows(lines))
                key = "Up" if key == "Down" else "Down"
                time.sleep(max(0.0, args.every - (elapsed or 0) / 1000))
            steady.start_s = perf_counter() - started
            while perf_counter() - started < steady.start_s + STEADY_S:
                elapsed, lines = key_round_trip(pane, key, colour)
                if elapsed is None:
                    steady.timeouts += 1
                else:
                    steady.keys_ms.append(elapsed)
                key = "Up" if key == "Down" else "Down"
                time.sleep(max(0.0, args.every - (elapsed or 0) / 1000))
            steady.loaded, steady.summarised = loaded_rows(lines), summarised(state)
        finally:
            pane.close()
            simulator.stop()
    return windows, steady, done_s


def row(label: str, window: Window, builds: int) -> str:
    """One window's figures as a table row."""
    keys = window.keys_ms
    figures = (f"{median(keys):8.0f} {percentile(keys, 0.95):8.0f} {max(keys):8.0f}"
               if keys else f"{'-':>8} {'-':>8} {'-':>8}")
    timeouts = f" ({window.timeouts} unanswered)" if window.timeouts else ""
    return (f"{label:<12} {figures} {len(keys):6d}{timeouts:<16} {window.loaded:>9,}/{builds:,}"
            f" {window.summarised:>9,}")


def main() -> int:
    """Run the benchmark and print the per-window table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--every", type=float, default=0.2, help="seconds between keys")
    parser.add_argument("--limit", type=float, default=120.0,
                        help="stop the backfill windows after this many seconds")
    args = parser.parse_args()
    windows, steady, done_s = measure(args)
    print(f"Keys during `buildwatch --since 0` on {args.builds:,} builds, tmux {SIZE[0]}x{SIZE[1]},"
          f" a key every {args.every:.2f} s (target per window: median <= 50 ms, p95 <= 150 ms)")
    print(f"{'window (s)':<12} {'median':>8} {'p95':>8} {'max':>8} {'keys':>6}{'':<16}"
          f" {'rows loaded':>16} {'summarised':>9}")
    for window in windows:
        print(row(f"{window.start_s:4.0f}-{window.start_s + WINDOW_S:<4.0f}", window, args.builds))
    print(row("steady", steady, args.builds))
    missed = [w for w in windows if w.keys_ms and (median(w.keys_ms) > 50
                                                   or percentile(w.keys_ms, 0.95) > 150)]
    base = median(steady.keys_ms) if steady.keys_ms else 0.0
    worst = max((median(w.keys_ms) for w in windows if w.keys_ms), default=0.0)
    print(f"windows missing the target: {len(missed)} of {len(windows)}; worst window median "
          f"{worst:.0f} ms = x{worst / base if base else float('inf'):.1f} the steady median")
    print("all loaded and summarised at " + (f"{done_s:.0f} s" if done_s is not None else
                                             f"none within {args.limit:.0f} s"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
