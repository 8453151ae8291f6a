"""The simulated BuildBuddy content: deterministic, linked to the shared world, and per server."""

from __future__ import annotations

import pytest

from buildwatch.sim.buildbuddy_data import BuildBuddyData
from buildwatch.sim.buildbuddy_files import parse_resource_name, request_uri
from buildwatch.sim.buildbuddy_invocations import (
    HUNG_FOR_US,
    MINUTE,
    hung_invocation,
    plan_invocations,
)
from buildwatch.sim.buildbuddy_targets import MONOREPO
from buildwatch.sim.world import World

START = 1_800_000_000 * 1_000_000


def test_the_same_seed_plans_the_same_invocations() -> None:
    first = plan_invocations(World(5), START)
    again = plan_invocations(World(5), START)
    other = plan_invocations(World(6), START)
    assert first == again
    assert {p.invocation_id for p in first} != {p.invocation_id for p in other}


def test_invocations_are_for_the_commits_develocity_builds_too() -> None:
    world = World(5)
    plans = plan_invocations(world, START)
    assert {p.commit for p in plans} == set(world.commits)


def test_a_few_invocations_are_running_and_end_minutes_after_the_start() -> None:
    hung = hung_invocation(World(5), START).invocation_id
    running = [p for p in plan_invocations(World(5), START)
               if p.elapsed(START) is not None and p.invocation_id != hung]
    assert 2 <= len(running) <= 8
    for plan in running:
        assert 2 * MINUTE < plan.created + plan.duration - START < 12 * MINUTE


def test_one_ci_test_run_has_been_going_for_long_and_goes_on_for_hours() -> None:
    hung = hung_invocation(World(5), START)
    assert (hung.role, hung.command, hung.pattern) == ("CI", "test", "//...")
    assert START - hung.created == HUNG_FOR_US
    assert hung.created + hung.duration - START > 2 * 60 * MINUTE
    assert hung in plan_invocations(World(5), START)


def test_most_invocations_finished_in_the_past_hours() -> None:
    plans = plan_invocations(World(5), START)
    finished = [p for p in plans if p.elapsed(START) is None]
    assert len(finished) > 0.9 * len(plans)
    assert all(START - p.created < 24 * 60 * MINUTE for p in finished)


@pytest.mark.parametrize(
    ("kind", "language"),
    [
        ("go_test", "go"),
        ("kt_jvm_library", "kt"),
        ("jest_test", "jest"),
        ("genrule", ""),
        ("esbuild", ""),
    ],
)
def test_the_language_is_the_rule_kind_up_to_its_first_underscore(kind: str, language: str) -> None:
    rule = next(r for r in MONOREPO if r.kind == kind)
    assert rule.language == language


def test_two_simulators_do_not_share_deletions() -> None:
    world = World(5)
    first, second = BuildBuddyData(world, START), BuildBuddyData(world, START)
    plan = next(p for p in first.plans() if p.role == "CI" and p.exit_code == "SUCCESS")
    action = next(
        a for a in first.actions({"invocation_id": plan.invocation_id}, START) if "file" in a
    )
    resource = parse_resource_name(request_uri(action["file"][0]["uri"]))
    assert resource is not None
    first.cache.delete(resource.digest)
    assert first.blob(resource.digest) is None
    assert second.blob(resource.digest) is not None
