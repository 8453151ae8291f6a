"""The monitor watching a git branch, driven with Pilot against the simulator: a commit made
while it runs brings its BuildBuddy invocations in, and a branch that cannot be read is said
in the status line without stopping the pane."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from drilldown_app import screen_text
from test_gitwatch import commit, new_repo
from tui_harness import RecordingApp, invocations_table, sim_config, wait_for

from buildwatch.cli.tui import simulator_settings
from buildwatch.core.config import Profile, UiPreferences
from buildwatch.core.gitwatch import BranchSpec
from buildwatch.sim import SimulatorThread

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config()) as running:
        yield running


def app_watching(sim: SimulatorThread, *branches: BranchSpec) -> RecordingApp:
    """The app on `sim`, polling BuildBuddy (and reading the branches) twice a second."""
    settings = simulator_settings(sim.develocity_url, "sim-token", "sim-api-key")
    profile = Profile(name="demo", ui=UiPreferences(poll_interval_seconds=0.5))
    return RecordingApp(dataclasses.replace(settings, profile=profile, branches=branches))


def shown(app: RecordingApp, invocation_id: str) -> bool:
    table = invocations_table(app)
    return any(table.row_key_at(index) == invocation_id for index in range(table.row_count))


async def test_a_commit_made_while_the_app_runs_brings_its_invocation_into_the_pane(
    sim: SimulatorThread, tmp_path: Path,
) -> None:
    repo = new_repo(tmp_path / "repo")
    first = sim.hold_invocation(commit(repo))
    app = app_watching(sim, BranchSpec(str(repo), "main"))
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: shown(app, first))
        pushed = commit(repo)
        later = sim.hold_invocation(pushed)
        await wait_for(pilot, lambda: shown(app, later))
        assert pushed in app.store.watched_commits()


async def test_a_branch_that_is_not_a_repository_is_in_the_status_line_at_80x24_and_the_pane_polls_on(
    sim: SimulatorThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "notes").mkdir()
    app = app_watching(sim, BranchSpec("~/notes", "main"))
    async with app.run_test(size=(80, 24)) as pilot:
        problem = "git ~/notes@main: not a git repository"
        await wait_for(pilot, lambda: problem in screen_text(app))
        await wait_for(pilot, lambda: app.store.buildbuddy.state == "live")
        status = [line for line in screen_text(app).splitlines() if "BuildBuddy" in line]
        assert any(problem in line for line in status), status
        new_repo(tmp_path / "notes")
        held = sim.hold_invocation(commit(tmp_path / "notes"))
        await wait_for(pilot, lambda: shown(app, held))
        assert problem not in screen_text(app)
