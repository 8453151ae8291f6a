"""`buildwatch --watch-branch` in a real 80x24 terminal, BuildBuddy alone (no Develocity): a
commit made while it runs shows with its invocation, and a branch that cannot be read is said
on the BuildBuddy status line, read back with tmux capture-pane."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from terminal import TmuxSession, app_environment
from test_gitwatch import commit, new_repo
from tui_harness import sim_config

from buildwatch.sim import SimulatorThread

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
BUILDWATCH = str(Path(sys.executable).with_name("buildwatch"))
WIDTH, HEIGHT = 80, 24


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config()) as running:
        yield running


@pytest.fixture
def environment(tmp_path: Path, sim: SimulatorThread) -> dict[str, str]:
    """BuildBuddy on the simulator, polled twice a second; no Develocity; `~` is `tmp_path`."""
    return app_environment(
        tmp_path, "[profiles.default.ui]\npoll_interval_seconds = 0.5\n", (WIDTH, HEIGHT),
        BUILDWATCH_BUILDBUDDY_URL=sim.buildbuddy_url,
        BUILDWATCH_BUILDBUDDY_API_KEY="sim-api-key",
    )


def wait_until(condition: Callable[[], bool], what: Callable[[], str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition never became true; last screen:\n{what()}")
        time.sleep(0.2)


def buildbuddy_line(screen: str) -> str:
    return next((line for line in screen.splitlines() if "BuildBuddy " in line), "")


def test_a_commit_made_while_the_monitor_runs_shows_with_its_invocation(
    sim: SimulatorThread, environment: dict[str, str], tmp_path: Path,
) -> None:
    repo = new_repo(tmp_path / "monorepo")
    first = commit(repo)
    sim.hold_invocation(first)
    command = [BUILDWATCH, "--watch-branch", "~/monorepo@main"]
    with TmuxSession(command, env=environment, width=WIDTH, height=HEIGHT) as session:
        wait_until(lambda: first[:7] in session.screen(), session.screen)
        pushed = commit(repo)
        sim.hold_invocation(pushed)
        wait_until(lambda: pushed[:7] in session.screen(), session.screen)
        assert "BuildBuddy live · 2 invocations" in buildbuddy_line(session.screen())


def test_a_branch_that_is_not_a_repository_is_on_the_buildbuddy_line_at_80_columns(
    environment: dict[str, str], tmp_path: Path,
) -> None:
    (tmp_path / "notes").mkdir()
    command = [BUILDWATCH, "--watch-branch", "~/notes@main"]
    with TmuxSession(command, env=environment, width=WIDTH, height=HEIGHT) as session:
        problem = "BuildBuddy live · git ~/notes@main: not a git repository"
        wait_until(lambda: problem in buildbuddy_line(session.screen()), session.screen)
