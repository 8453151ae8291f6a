"""A build's summary, from its summary events as the simulator serves them for each tool."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.models import Build, BuildEvent
from buildwatch.core.develocity.summary import (
    BuildSummary,
    SummaryBuilder,
    summarize,
    summary_event_types,
)
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimConfig, Simulator
from buildwatch.sim.develocity_data import plan_build
from buildwatch.sim.world import World

pytestmark = pytest.mark.timeout(60)
SEED = 9


@pytest.fixture(scope="module")
def summaries() -> list[tuple[Any, BuildSummary]]:
    """Each published build's plan (what the simulator made it from) and our summary of it."""
    return asyncio.run(summarize_every_build())


async def summarize_every_build() -> list[tuple[Any, BuildSummary]]:
    sim = Simulator(SimConfig(seed=SEED, builds=40))
    await sim.start()
    try:
        async with httpx.AsyncClient() as http:
            listed = (await http.get(f"{sim.develocity_url}/_sim/develocity/builds")).json()
        connection = DevelocityConnection(sim.develocity_url, token=Secret("sim-token"))
        results = []
        async with DevelocityClient(connection) as client:
            for index, listed_build in enumerate(listed):
                if listed_build["eventCount"]:
                    continue
                plan = plan_build(World(SEED), index, listed_build["timestamp"])
                messages = [
                    m
                    async for m in client.events(plan.build_id, summary_event_types(plan.tool_type))
                ]
                build = messages[0]
                assert isinstance(build, Build)
                results.append(
                    (plan, summarize(build, [m for m in messages if isinstance(m, BuildEvent)]))
                )
        return results
    finally:
        await sim.stop()


@pytest.mark.parametrize("tool", ["gradle", "maven", "bazel", "npm"])
def test_summaries_of_each_tool_say_how_the_build_ended(
    summaries: list[tuple[Any, BuildSummary]], tool: str
) -> None:
    of_tool = [(plan, summary) for plan, summary in summaries if plan.tool_type == tool]
    assert of_tool
    assert [summary.outcome for _, summary in of_tool] == [
        "failed" if plan.failed else "success" for plan, _ in of_tool
    ]


@pytest.mark.parametrize("tool", ["gradle", "maven", "bazel", "npm"])
def test_summaries_of_each_tool_name_user_and_git_commit(
    summaries: list[tuple[Any, BuildSummary]], tool: str
) -> None:
    for plan, summary in summaries:
        if plan.tool_type == tool:
            assert (summary.user, summary.git_commit) == (plan.user, plan.commit.sha)


@pytest.mark.parametrize("tool", ["gradle", "maven", "npm"])
def test_summaries_name_the_branch_and_tag_ci_builds(
    summaries: list[tuple[Any, BuildSummary]], tool: str
) -> None:
    for plan, summary in summaries:
        if plan.tool_type == tool:
            assert summary.git_branch == plan.commit.branch
            assert ("CI" in summary.tags) == plan.on_ci


def test_a_failed_build_names_its_failure_first(summaries: list[tuple[Any, BuildSummary]]) -> None:
    failed = [summary for plan, summary in summaries if plan.failed]
    assert failed and all(summary.failure is not None for summary in failed)


def test_the_duration_is_finish_minus_start(summaries: list[tuple[Any, BuildSummary]]) -> None:
    for _, summary in summaries:
        assert summary.started_ms is not None and summary.finished_ms is not None
        assert summary.duration_ms == summary.finished_ms - summary.started_ms


def test_every_tool_has_its_own_summary_event_types() -> None:
    assert "MvnBuildFinished" in summary_event_types("maven")
    assert "BuildFinished" not in summary_event_types("maven")
    assert "NpmBuildFinished" in summary_event_types("npm")
    assert {"BuildFinished", "MvnBuildFinished", "BzlBuildFinished"} <= set(
        summary_event_types("sbt")
    )


def test_an_event_delivered_twice_changes_nothing() -> None:
    build = Build(b'{"buildId":"b","toolType":"gradle"}', "0")
    tag = BuildEvent(b'{"timestamp":1,"type":{"eventType":"UserTag"},"data":{"tag":"CI"}}', "1")
    once, twice = SummaryBuilder(build), SummaryBuilder(build)
    once.add(tag)
    twice.add(tag)
    twice.add(tag)
    assert once.result() == twice.result()


def test_a_build_without_a_finish_event_has_an_unknown_outcome() -> None:
    build = Build(b'{"buildId":"b"}', "0")
    started = BuildEvent(b'{"timestamp":1,"type":{"eventType":"BuildStarted"},"data":{}}', "1")
    summary = summarize(build, [started])
    assert (summary.outcome, summary.duration_ms) == ("unknown", None)
