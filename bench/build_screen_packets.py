"""The build screen on a big build whose server writes one SSE message per packet, against
`buildwatch events --json` reading the same stream, in the same run.

Streaming servers commonly flush every message, so a build arrives in thousands of reads of one
event each; the screen must load it as fast as when it arrives a megabyte at a time. For each
way of writing (the simulator's default writes of up to 1 MiB, and one message per write under
its `packets` fault), this measures:

- `buildwatch events ID --json`, the baseline: a subprocess, from its start to its exit, its
  output read by this process as a pipe would be;
- the build screen through Textual's pilot (headless, in this process): its first events on
  screen, and the frame showing every event loaded, from the moment it is opened;
- with `--tmux`, the whole app as a user meets it: `buildwatch` in a tmux pane, Enter on the
  build, then the pane polled until it shows the events count and until it shows it loaded.

The big build prints non-ASCII text too, sent as UTF-8 as real servers send it. Targets: first
events on screen <= 0.5 s; fully loaded <= 2x the CLI's time.

    python bench/build_screen_packets.py [--events 100000] [--tmux]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from build_screen_events import TOKEN, BenchApp, ScreenStates, builds, prepare, simulator

from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.widgets.event_list import EventList

SIZE = (120, 36)
WRITES = {"1 MiB writes": "", "one message per write": "packets"}
"""The simulator's `--faults` spec for each way of writing the stream."""


@dataclass
class Figures:
    cli_s: float
    cli_lines: int
    first_s: float
    loaded_s: float
    events: int
    tmux_first_s: float | None = None
    tmux_loaded_s: float | None = None


def set_faults(url: str, spec: str) -> None:
    """Switch the simulator's fault injection (the stream's writes) for the next requests."""
    request = urllib.request.Request(f"{url}/_sim/faults", data=spec.encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def environment(url: str, state: Path) -> dict[str, str]:
    """The environment that points buildwatch at the simulator, with a throwaway state and config."""
    return {**os.environ, "BUILDWATCH_DEVELOCITY_URL": url, "BUILDWATCH_DEVELOCITY_TOKEN": TOKEN,
            "BUILDWATCH_STATE_DIR": str(state / "state"),
            "BUILDWATCH_CONFIG": str(state / "config.toml")}


def time_cli(url: str, build_id: str, env: dict[str, str]) -> tuple[float, int]:
    """Seconds `buildwatch events ID --json` takes, start to exit, and the lines it printed."""
    began = perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "buildwatch", "events", build_id, "--json"],
                               stdout=subprocess.PIPE, env=env)
    out = process.stdout
    assert out is not None
    lines = 0
    while chunk := out.read(1 << 20):
        lines += chunk.count(b"\n")
    if process.wait() != 0:
        raise SystemExit("buildwatch events failed")
    return perf_counter() - began, lines


class OpeningApp(BenchApp):
    """The bench app, noting when it opens the build screen (Textual runs this handler, then
    `BenchApp.on_mount`, which opens it)."""

    opened = 0.0

    def on_mount(self) -> None:
        self.opened = perf_counter()


async def time_screen(url: str, build_id: str) -> tuple[float, float, int]:
    """Seconds from opening the build screen to its first events on screen and to all of them."""
    app = OpeningApp(url, build_id)
    async with app.run_test(size=SIZE):
        while not isinstance(app.screen, BuildScreen):
            await asyncio.sleep(0.001)
        start = app.opened
        screen = app.screen
        event_list = screen.query_one("#event-list", EventList)
        frames = ScreenStates(app, lambda: (screen.active_tab, event_list.row_count, None))
        first = await frames.first(start, lambda state: state[1] > 0)
        while not screen.loaded:
            await asyncio.sleep(0.01)
        total = len(screen.detail.events)
        loaded = await frames.first(start, lambda state: state[1] == total)
    return first, loaded, total


def time_tmux(build_id: str, total: int, env: dict[str, str]) -> tuple[float, float]:
    """The whole app in tmux: seconds from Enter on the build to its first events counted on
    screen, and to all of them loaded, as the pane shows them (polled every 20 ms)."""
    # A tmux server of its own: a running one would start the app with its own environment.
    tmux = ["tmux", "-L", f"bench-{os.getpid()}"]
    variables = [f"{key}={value}" for key, value in env.items() if key.startswith("BUILDWATCH_")]
    subprocess.run([*tmux, "new-session", "-d", "-x", str(SIZE[0]), "-y", str(SIZE[1]),
                    "env", *variables, sys.executable, "-m", "buildwatch", "--since", "0"],
                   check=True)
    try:
        pane(tmux, lambda text: build_id in text, 60)
        # The newest build is on top, the cursor on it.
        subprocess.run([*tmux, "send-keys", "Enter"], check=True)
        began = perf_counter()
        first = pane(tmux, lambda text: " events" in text and f"build {build_id}" in text, 60)
        loaded = pane(tmux, lambda text: f"{total:,} events" in text and "loading" not in text,
                      300)
        return first - began, loaded - began
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def pane(tmux: list[str], shows: Callable[[str], bool], timeout: float) -> float:
    """When the tmux pane first showed text `shows` accepts."""
    deadline = perf_counter() + timeout
    while perf_counter() < deadline:
        text = subprocess.run([*tmux, "capture-pane", "-p"], check=True,
                              capture_output=True, text=True).stdout
        if shows(text):
            return perf_counter()
        time.sleep(0.02)
    raise SystemExit(f"the pane never showed what was expected; it showed:\n{text}")


def main() -> int:
    """Run the benchmark against a simulator in a child process and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events of the big build")
    parser.add_argument("--tmux", action="store_true", help="also time the whole app in tmux")
    args = parser.parse_args()
    if args.tmux and shutil.which("tmux") is None:
        raise SystemExit("--tmux needs tmux")
    process, url = simulator(args.events)
    figures: dict[str, Figures] = {}
    try:
        huge = builds(url)[-1]["buildId"]
        prepare(url, huge)
        with tempfile.TemporaryDirectory() as state:
            (Path(state) / "config.toml").write_text("")
            env = environment(url, Path(state))
            for label, spec in WRITES.items():
                set_faults(url, spec)
                cli_s, lines = time_cli(url, huge, env)
                first, loaded, total = asyncio.run(time_screen(url, huge))
                figures[label] = Figures(cli_s, lines, first, loaded, total)
                if args.tmux:
                    figures[label].tmux_first_s, figures[label].tmux_loaded_s = time_tmux(
                        huge, total, env)
    finally:
        process.terminate()
        process.wait()
    print(f"Build screen against `buildwatch events --json` on a {args.events:,}-event build "
          "(same run; targets: first events <= 0.5 s, loaded <= 2x the CLI)")
    for label, f in figures.items():
        print(f"{label}:")
        print(f"  buildwatch events --json          {f.cli_s:7.2f} s  ({f.cli_lines:,} lines)")
        print(f"  screen (pilot): first events      {f.first_s:7.2f} s")
        print(f"  screen (pilot): all {f.events:,} loaded {f.loaded_s:7.2f} s  "
              f"= {f.loaded_s / f.cli_s:.2f}x the CLI")
        if f.tmux_first_s is not None and f.tmux_loaded_s is not None:
            print(f"  app in tmux: first events         {f.tmux_first_s:7.2f} s")
            print(f"  app in tmux: all loaded           {f.tmux_loaded_s:7.2f} s  "
                  f"= {f.tmux_loaded_s / f.cli_s:.2f}x the CLI")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
