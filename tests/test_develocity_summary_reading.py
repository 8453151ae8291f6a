"""Summaries of what real servers send: v1 listings that name no tool, Gradle builds with buildSrc
and included builds, and the many names builds give their Git data. Against the simulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from sim_sse import AUTH, parse_sse

from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.git_values import DEFAULT_GIT_VALUE_NAMES, GitValueNames
from buildwatch.core.develocity.models import Build, BuildEvent
from buildwatch.core.develocity.summary import BuildSummary, SummaryBuilder
from buildwatch.core.develocity.summary_reader import read_summary
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimConfig, Simulator
from buildwatch.sim.develocity_data import plan_build
from buildwatch.sim.develocity_git import BAZEL_NAMINGS, NAMINGS, GitNaming, git_naming
from buildwatch.sim.world import World

pytestmark = pytest.mark.timeout(60)
SEED = 11
BUILDS = 120


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(SimConfig(seed=SEED, builds=BUILDS, not_ready_s=0.0))
    await simulator.start()
    yield simulator
    await simulator.stop()


async def listed(sim: Simulator, api_version: int = 2) -> dict[str, Build]:
    """The builds the listing of `api_version` names, by id."""
    async with client_of(sim, api_version) as client:
        return {
            message.build_id: message
            async for message in client.builds(since=0)
            if isinstance(message, Build)
        }


def client_of(sim: Simulator, api_version: int = 2) -> DevelocityClient:
    connection = DevelocityConnection(
        sim.develocity_url, api_version=1 if api_version == 1 else 2, token=Secret("sim-token")
    )
    return DevelocityClient(connection)


async def summary_of(
    sim: Simulator, build: Build, api_version: int = 2,
    git_names: GitValueNames = DEFAULT_GIT_VALUE_NAMES,
) -> BuildSummary:
    builder = SummaryBuilder(build, git_names)
    async with client_of(sim, api_version) as client:
        await read_summary(client, builder)
    return builder.result()


def small_builds(tool: str) -> list[int]:
    """Positions of the seed's `tool` builds of a few hundred events."""
    world = World(SEED)
    plans = [plan_build(world, index, 0) for index in range(BUILDS)]
    return [i for i, plan in enumerate(plans) if plan.tool_type == tool and not plan.target_events]


def build_id(index: int) -> str:
    return plan_build(World(SEED), index, 0).build_id


def events_requests(sim: Simulator, build: str) -> list[str]:
    """The queries of the events streams served for `build` (not the 204s that end them)."""
    return [
        r.query
        for r in sim.ctx.requests
        if r.path.endswith(f"/build/{build}/events") and r.status == 200
    ]


async def test_a_maven_build_listed_over_v1_is_summarised_as_maven(sim: Simulator) -> None:
    index = small_builds("maven")[0]
    plan = plan_build(World(SEED), index, 0)
    build = (await listed(sim, 1))[plan.build_id]
    summary = await summary_of(sim, build, 1)
    assert (summary.tool_type, summary.tool_version) == ("maven", plan.tool_version)
    assert summary.outcome == ("failed" if plan.failed else "success")
    assert (summary.user, summary.project) == (plan.user, plan.project)
    assert summary.host is not None and summary.host.startswith(plan.host)


async def test_a_maven_build_listed_over_v1_is_asked_for_gradle_then_maven_events(
    sim: Simulator,
) -> None:
    maven = build_id(small_builds("maven")[0])
    await summary_of(sim, (await listed(sim, 1))[maven], 1)
    first, second = events_requests(sim, maven)
    assert "BuildFinished" in first and "MvnBuildFinished" not in first
    assert "MvnBuildFinished" in second


async def test_a_gradle_build_listed_over_v1_costs_one_request(sim: Simulator) -> None:
    gradle = build_id(small_builds("gradle")[0])
    summary = await summary_of(sim, (await listed(sim, 1))[gradle], 1)
    assert summary.tool_type == "gradle"
    assert len(events_requests(sim, gradle)) == 1


async def test_a_build_listed_over_v2_costs_one_request_whatever_its_tool(sim: Simulator) -> None:
    builds = await listed(sim)
    for tool in ("maven", "bazel", "npm"):
        chosen = build_id(small_builds(tool)[0])
        assert (await summary_of(sim, builds[chosen])).tool_type == tool
        assert len(events_requests(sim, chosen)) == 1


def test_a_v1_build_has_no_tool_until_an_event_names_it() -> None:
    build = Build(b'{"buildId":"b","gradleVersion":"3.6.1","pluginVersion":"2.3"}', "0")
    assert SummaryBuilder(build).result().tool_type is None


async def test_the_project_of_a_build_with_buildsrc_first_is_the_root_builds(
    sim: Simulator,
) -> None:
    builds = await listed(sim)
    async with httpx.AsyncClient(base_url=sim.develocity_url, headers=AUTH) as http:
        for index in small_builds("gradle"):
            response = await http.get(
                f"/build-export/v2/build/{build_id(index)}/events",
                params={"eventTypes": "ProjectStructure"},
            )
            structures = [json.loads(m.data)["data"] for m in parse_sse(response.text)[1:]]
            if structures[0]["rootProjectName"] == "buildSrc":
                break
        else:
            raise AssertionError("no build sends buildSrc's ProjectStructure first")
    summary = await summary_of(sim, builds[build_id(index)])
    assert summary.project == structures[-1]["rootProjectName"]
    assert summary.project == plan_build(World(SEED), index, 0).project


def naming_builds(namings: tuple[GitNaming, ...], tools: tuple[str, ...]) -> dict[GitNaming, int]:
    """For each naming, the first small build of `tools` that uses it."""
    chosen: dict[GitNaming, int] = {}
    for tool in tools:
        for index in small_builds(tool):
            chosen.setdefault(git_naming(SEED, index, namings), index)
    return chosen


@pytest.mark.parametrize(
    ("naming", "tools"),
    [(naming, ("gradle", "maven", "npm")) for naming in NAMINGS]
    + [(naming, ("bazel",)) for naming in BAZEL_NAMINGS],
    ids=[f"{n.commit}/{n.branch}" for n in NAMINGS + BAZEL_NAMINGS],
)
async def test_each_git_naming_gives_the_branch_and_commit(
    sim: Simulator, naming: GitNaming, tools: tuple[str, ...]
) -> None:
    namings = BAZEL_NAMINGS if tools == ("bazel",) else NAMINGS
    index = naming_builds(namings, tools)[naming]
    plan = plan_build(World(SEED), index, 0)
    summary = await summary_of(sim, (await listed(sim))[plan.build_id])
    assert (summary.git_branch, summary.git_commit) == (plan.commit.branch, plan.commit.sha)
    expected_repository = sim.ctx.world.repo_url if naming.repository else None
    assert summary.git_repository == expected_repository


async def test_a_profiles_own_names_find_what_the_built_in_ones_do_not(sim: Simulator) -> None:
    index = naming_builds(NAMINGS, ("gradle",))[NAMINGS[0]]
    plan = plan_build(World(SEED), index, 0)
    own = GitValueNames(commit=("Git commit id short",), branch=(), repository=())
    summary = await summary_of(sim, (await listed(sim))[plan.build_id], git_names=own)
    assert summary.git_commit == plan.commit.sha[:7]


def test_names_match_whatever_their_case() -> None:
    values = [("GIT COMMIT ID", "4f2a9c1"), ("git branch name", "main")]
    assert DEFAULT_GIT_VALUE_NAMES.find("commit", values) == "4f2a9c1"
    assert DEFAULT_GIT_VALUE_NAMES.find("branch", values) == "main"


def test_a_branch_recorded_as_a_ref_reads_as_its_name() -> None:
    assert DEFAULT_GIT_VALUE_NAMES.find("branch", [("GIT_BRANCH", "refs/heads/main")]) == "main"


def test_a_profiles_names_are_tried_after_the_built_in_ones() -> None:
    names = DEFAULT_GIT_VALUE_NAMES.with_extra({"commit": ("My SHA",)})
    assert names.find("commit", [("My SHA", "mine"), ("GITHUB_SHA", "github")]) == "github"
    assert names.find("commit", [("My SHA", "mine")]) == "mine"


def test_an_empty_value_is_passed_over_for_the_next_name() -> None:
    values = [("Git commit id", ""), ("GIT_COMMIT", "4f2a9c1")]
    assert DEFAULT_GIT_VALUE_NAMES.find("commit", values) == "4f2a9c1"


def structure(name: str, build_path: str | None) -> BuildEvent:
    """A ProjectStructure event of one project; 1.0 and 1.1 name no build path."""
    project = {"projectPath": ":"} | ({} if build_path is None else {"buildPath": build_path})
    data = {"rootProjectName": name, "projects": [project]}
    event = {"timestamp": 1, "type": {"eventType": "ProjectStructure"}, "data": data}
    return BuildEvent(json.dumps(event).encode(), "1")


def project_of(*events: BuildEvent) -> str | None:
    builder = SummaryBuilder(Build(b'{"buildId":"b","toolType":"gradle"}', "0"))
    for event in events:
        builder.add(event)
    return builder.result().project


def test_an_included_build_after_the_root_leaves_the_root_project() -> None:
    assert project_of(structure("app", ":"), structure("build-logic", ":build-logic")) == "app"


def test_without_build_paths_the_first_project_structure_names_the_project() -> None:
    assert project_of(structure("app", None), structure("buildSrc", None)) == "app"
