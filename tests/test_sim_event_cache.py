"""The simulator's cache of encoded events: within its memory budget, least recently used out."""

from __future__ import annotations

from buildwatch.sim.develocity_bodies import EventBodies
from buildwatch.sim.develocity_data import plan_build
from buildwatch.sim.world import World

PUBLISHED_MS = 1_767_225_600_000
SUMMARY_TYPES = frozenset({"BuildStarted", "BuildFinished"})


async def test_the_cache_holds_at_most_its_budget_and_forgets_the_least_recently_used() -> None:
    world = World(1)
    builds = [plan_build(world, index, PUBLISHED_MS + index) for index in range(1, 40)]
    one = await EventBodies(world).get(builds[0], SUMMARY_TYPES)
    budget = 4 * one.size
    bodies = EventBodies(world, budget_bytes=budget)
    first = await bodies.get(builds[0], SUMMARY_TYPES)
    held = []
    for build in builds[1:]:
        encoded = await bodies.get(build, SUMMARY_TYPES)
        await bodies.gzipped(encoded, b"id: 0\nevent: Build\ndata: {}\n\n")
        held.append(bodies.held_bytes)
    last = await bodies.get(builds[-1], SUMMARY_TYPES)

    assert 0 < max(held) <= budget
    assert last is encoded
    assert await bodies.get(builds[0], SUMMARY_TYPES) is not first
