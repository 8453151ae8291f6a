"""The Failures view in a real terminal: `buildwatch failures` reads the simulator's triage world
into the history, then the monitor opens on that history and `F` shows its groups, read back
with tmux capture-pane."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from terminal import TmuxSession
from test_tui_e2e_tmux import _wait_until_gone
from triage_world import triage_config

from buildwatch.sim import SimulatorThread
from buildwatch.sim import triage as world

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
BUILDWATCH = str(Path(sys.executable).with_name("buildwatch"))


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(triage_config()) as running:
        yield running


def test_f_shows_a_new_and_a_flaky_group_of_the_world_read_by_buildwatch_failures(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    servers = {
        "BUILDWATCH_STATE_DIR": str(tmp_path),
        "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url,
        "BUILDWATCH_BUILDBUDDY_URL": sim.develocity_url,
    }
    read = subprocess.run(
        [BUILDWATCH, "failures", "--since", "0"], capture_output=True, text=True, timeout=90,
        env={**os.environ, **servers, "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token",
             "BUILDWATCH_BUILDBUDDY_API_KEY": "sim-api-key"},
    )
    assert (read.returncode, read.stderr) == (0, "")
    terminal = {"TERM": "xterm-256color", "PATH": os.environ.get("PATH", ""), **servers}

    with TmuxSession([BUILDWATCH, "--offline"], env=terminal) as session:
        session.wait_for("Develocity builds", timeout=30)
        session.send("F")
        session.wait_for("Failure groups:", timeout=30)

        # Names are cut to the column's width: a filter leaves the one group it names.
        assert _filtered(session, world.NEW_TEST[1]).startswith("NEW ")
        assert _filtered(session, world.FLAKY_TARGET).startswith("FLAKY ")
        session.send("Escape")
        session.wait_for("Develocity builds")


def _filtered(session: TmuxSession, text: str) -> str:
    """Filter the view by `text`, then clear the filter; the one row it left, from its status
    on."""
    session.send("/")
    session.wait_for("filter (Enter: keep")
    session.send("-l", text)
    session.send("Enter")
    screen = session.wait_for(f"filter: {text}")
    assert "Failure groups: 1 of " in screen
    session.send("Escape")
    _wait_until_gone(session, "filter: ")
    lines = screen.splitlines()
    header = next(i for i, line in enumerate(lines) if line.strip().startswith("Status"))
    return lines[header + 1].strip()
