"""The monitor on what real servers send: Maven builds listed over v1 (no `toolType`), Gradle
builds whose buildSrc sends its ProjectStructure first, and every naming of the Git values.
The app runs against the simulator, driven by Textual's pilot."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import httpx
import pytest
from drilldown_app import screen_text
from sim_sse import AUTH, parse_sse
from textual.pilot import Pilot
from textual.widgets import TabbedContent
from tui_harness import RecordingApp, all_enriched, builds_table, sim_config, wait_for

from buildwatch.cli.tui import simulator_settings
from buildwatch.sim import SimulatorThread
from buildwatch.sim.develocity_data import plan_build
from buildwatch.sim.develocity_git import BAZEL_NAMINGS, NAMINGS, git_naming
from buildwatch.sim.develocity_model import BuildSummary as Plan
from buildwatch.tui.screens.build import BuildScreen

pytestmark = pytest.mark.timeout(90)
SEED = 11
BUILDS = 120
SIZE = (260, 40)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config(seed=SEED, builds=BUILDS)) as running:
        yield running


def app_on(sim: SimulatorThread, api_version: Literal[1, 2] = 2) -> RecordingApp:
    settings = simulator_settings(sim.develocity_url, "sim-token", "sim-api-key")
    assert settings.develocity is not None
    develocity = dataclasses.replace(settings.develocity, api_version=api_version)
    return RecordingApp(dataclasses.replace(settings, develocity=develocity))


def plans(sim: SimulatorThread) -> list[Plan]:
    """What the simulator made each published build from, in publication order."""
    listed: list[dict[str, Any]] = httpx.get(f"{sim.develocity_url}/_sim/develocity/builds").json()
    return [plan_build(sim.ctx.world, i, build["timestamp"]) for i, build in enumerate(listed)]


def first_maven(sim: SimulatorThread) -> Plan:
    return next(plan for plan in plans(sim) if plan.tool_type == "maven")


async def row_text(pilot: Pilot[Any], build_id: str) -> str:
    """The line the build's row shows in the builds table."""
    assert isinstance(pilot.app, RecordingApp)
    builds_table(pilot.app).set_filter(build_id)
    await pilot.pause()
    lines = screen_text(pilot.app).splitlines()
    return next(line for line in lines if build_id in line and "filter:" not in line)


async def open_build(pilot: Pilot[Any], build_id: str) -> BuildScreen:
    assert isinstance(pilot.app, RecordingApp)
    table = builds_table(pilot.app)
    assert table.select_row(build_id)
    table.focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen)
                   and pilot.app.screen.loaded)
    screen = pilot.app.screen
    assert isinstance(screen, BuildScreen)
    return screen


def header(screen: BuildScreen) -> str:
    return str(screen.query_one("#build-header").render())


async def test_a_maven_build_listed_over_v1_shows_maven_in_its_row(sim: SimulatorThread) -> None:
    plan = first_maven(sim)
    app = app_on(sim, api_version=1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: (entry := app.store.builds.get(plan.build_id)) is not None
                       and entry.summary is not None)
        line = await row_text(pilot, plan.build_id)
    assert f"Maven {plan.tool_version}" in line
    assert ("FAILED" if plan.failed else "succeeded") in line
    assert plan.user in line and plan.project in line and plan.host in line


async def test_a_maven_build_listed_over_v1_opens_as_maven_with_its_outcome_and_who_built_it(
    sim: SimulatorThread,
) -> None:
    plan = first_maven(sim)
    app = app_on(sim, api_version=1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: plan.build_id in app.store.builds)
        screen = await open_build(pilot, plan.build_id)
        shown = header(screen)
        work_tab = str(screen.query_one("#tabs", TabbedContent).get_tab("work").label)
    assert f"maven {plan.tool_version}" in shown and "gradle" not in shown
    assert ("FAILED" if plan.failed else "SUCCESS") in shown
    assert plan.user in shown and plan.host in shown and plan.project in shown
    assert work_tab == "2 Goals"


def buildsrc_first(sim: SimulatorThread) -> Plan:
    """A Gradle build whose first ProjectStructure is buildSrc's, not the root build's."""
    with httpx.Client(base_url=sim.develocity_url, headers=AUTH, timeout=30) as http:
        for plan in plans(sim):
            if plan.tool_type != "gradle" or plan.target_events:
                continue
            response = http.get(f"/build-export/v2/build/{plan.build_id}/events",
                                params={"eventTypes": "ProjectStructure"})
            first = json.loads(parse_sse(response.text)[1].data)["data"]
            if first["rootProjectName"] == "buildSrc":
                return plan
    raise AssertionError("no build sends buildSrc's ProjectStructure first")


@contextlib.asynccontextmanager
async def summarised(sim: SimulatorThread) -> AsyncIterator[Pilot[Any]]:
    """The app on the simulator (v2), once every build has its summary."""
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        yield pilot


async def test_a_build_whose_buildsrc_comes_first_shows_its_root_project(
    sim: SimulatorThread,
) -> None:
    plan = buildsrc_first(sim)
    async with summarised(sim) as pilot:
        line = await row_text(pilot, plan.build_id)
        shown = header(await open_build(pilot, plan.build_id))
    assert plan.project in line and "buildSrc" not in line
    assert plan.project in shown and "buildSrc" not in shown


def one_build_per_naming(sim: SimulatorThread) -> list[Plan]:
    """For every Git naming, a build that names its Git data that way."""
    chosen: dict[object, Plan] = {}
    for index, plan in enumerate(plans(sim)):
        namings = BAZEL_NAMINGS if plan.tool_type == "bazel" else NAMINGS
        chosen.setdefault(git_naming(SEED, index, namings), plan)
    assert set(chosen) == set(NAMINGS) | set(BAZEL_NAMINGS)
    return list(chosen.values())


async def test_the_branch_column_shows_the_branch_whatever_its_custom_value_is_named(
    sim: SimulatorThread,
) -> None:
    chosen = one_build_per_naming(sim)
    async with summarised(sim) as pilot:
        lines = [await row_text(pilot, plan.build_id) for plan in chosen]
    assert all(f" {plan.commit.branch} " in line for plan, line in zip(chosen, lines, strict=True))


async def test_the_commit_the_monitor_watches_is_read_whatever_its_custom_value_is_named(
    sim: SimulatorThread,
) -> None:
    chosen = one_build_per_naming(sim)
    async with summarised(sim) as pilot:
        assert isinstance(pilot.app, RecordingApp)
        summaries = [pilot.app.store.builds[plan.build_id].summary for plan in chosen]
    assert [summary.git_commit if summary else None for summary in summaries] == [
        plan.commit.sha for plan in chosen
    ]
