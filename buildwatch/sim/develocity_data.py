"""Which builds the simulated Develocity server has, and the events each one is made of.

A build is a pure function of the seed and its position in publication order (plus its
publication time and whether the `unknown` fault touched it), so the same seed always lists
the same builds with the same ids and the same events.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterator
from math import exp, log

from buildwatch.sim.develocity_bazel import bazel_events
from buildwatch.sim.develocity_gradle import gradle_events
from buildwatch.sim.develocity_maven import maven_events
from buildwatch.sim.develocity_model import BuildSummary, Event, RawJson, Skipped, ToolType
from buildwatch.sim.develocity_npm import npm_events
from buildwatch.sim.world import World

_TOOLS: tuple[ToolType, ...] = ("gradle", "maven", "bazel", "npm")
_TOOL_WEIGHTS = (60, 15, 12, 13)
_VERSIONS: dict[ToolType, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gradle": (("8.10.2", "8.11.1", "8.12.1", "8.14.3"), ("3.19.2", "4.0.2")),
    "maven": (("3.9.6", "3.9.9"), ("1.23.1", "2.0")),
    "bazel": (("7.4.1", "8.0.0"), ("1.2.1",)),
    "npm": (("10.9.2", "11.0.0"), ("0.9.2", "1.0.1")),
}
FAILURE_RATE = 0.15
SLOW_BUILD_SHARE = 0.04
"""Builds that take several times their project's usual time (a cold cache, a busy agent)."""
BIG_BUILD_EVERY = 50
"""One build in this many is a Gradle build with over 100,000 events."""
_BIG_BUILD_OFFSET = 7
_BIG_BUILD_SIZES = (210_000, 130_000, 160_000, 250_000)
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_SNAPSHOT_EVERY, _SNAPSHOT_AFTER = 25, 10
"""An exotic build's `ResourceUsageSnapshot` follows its event number 10, 35, 60… (from 0)."""
_VERBOSE_TYPES = frozenset({"OutputStyledTextEvent", "ResourceUsageSnapshot"})
"""What a big Gradle build's verbose output is, with an exotic build's snapshots among it."""

EventSource = Callable[[BuildSummary, World, random.Random], Iterator[Event | Skipped]]
_GENERATORS: dict[ToolType, EventSource] = {
    "gradle": gradle_events,
    "maven": maven_events,
    "bazel": bazel_events,
    "npm": npm_events,
}


def build_id(seed: int, index: int) -> str:
    """The 13-character id of the `index`-th build published with this seed."""
    rng = random.Random(f"develocity-id:{seed}:{index}")
    return "".join(rng.choice(_BASE36) for _ in range(13))


def plan_build(world: World, index: int, timestamp: int, *, exotic: bool = False,
               events: int = 0) -> BuildSummary:
    """The `index`-th build of `world`'s seed, published at `timestamp`.

    `events` makes it a Gradle build of exactly that many events, whatever its position.
    """
    rng = random.Random(f"develocity:{world.seed}:{index}")
    big = events > 0 or index % BIG_BUILD_EVERY == _BIG_BUILD_OFFSET
    tool: ToolType = "gradle" if big else rng.choices(_TOOLS, weights=_TOOL_WEIGHTS)[0]
    tool_versions, agent_versions = _VERSIONS[tool]
    commit = world.commit_for(rng)
    user = rng.choice(world.users)
    if user != "ci" and rng.random() < 0.7:
        user = commit.author
    projects = {
        "gradle": world.gradle_projects,
        "maven": world.maven_projects,
        "npm": world.npm_projects,
        "bazel": ("monorepo",),
    }[tool]
    big_minutes = rng.randint(40, 90) if big else 0
    # How far off its project's usual time the build is, drawn where a duration always was, so
    # that what is drawn after it stays as it was.
    spread = 0.0 if big else rng.normalvariate(0.0, 1.0)
    tool_version, agent_version = rng.choice(tool_versions), rng.choice(agent_versions)
    project = rng.choice(projects)
    return BuildSummary(
        build_id=build_id(world.seed, index),
        index=index,
        timestamp=timestamp,
        tool_type=tool,
        tool_version=tool_version,
        agent_version=agent_version,
        project=project,
        user=user,
        host=world.host_for(user, rng),
        commit=commit,
        failed=rng.random() < FAILURE_RATE,
        duration_ms=big_minutes * 60_000 if big else _duration_ms(world, project, index, spread),
        target_events=events or _big_build_size(index) if big else 0,
        exotic=exotic,
    )


def _duration_ms(world: World, project: str, index: int, spread: float) -> int:
    """How long a build of `project` takes: about its project's usual time (from 30 seconds to
    12 minutes, fixed by the seed), `spread` standard deviations off it, and now and then
    (`SLOW_BUILD_SHARE`, a cold cache) several times as long."""
    usual = random.Random(f"develocity-usual:{world.seed}:{project}").uniform(log(30), log(720))
    slow = random.Random(f"develocity-slow:{world.seed}:{index}")
    factor = slow.uniform(2.5, 4.0) if slow.random() < SLOW_BUILD_SHARE else 1.0
    return min(max(int(exp(usual + 0.2 * spread) * 1000 * factor), 8_000), 40 * 60_000)


def _big_build_size(index: int) -> int:
    return _BIG_BUILD_SIZES[(index // BIG_BUILD_EVERY) % len(_BIG_BUILD_SIZES)]


def build_events(summary: BuildSummary, world: World) -> Iterator[Event]:
    """Every event of the build, in order; the `n`-th one has SSE id `n` (from 1)."""
    for _, event in numbered_events(summary, world):
        yield event


def numbered_events(
    summary: BuildSummary, world: World, event_types: Collection[str] | None = None
) -> Iterator[tuple[int, Event]]:
    """The build's events of `event_types` (all without it) with their SSE ids, in order.

    A filter without the types of a big build's verbose output skips making it (drawing what it
    draws), so a summary's few events of a 200,000-event build cost what a small build's do.
    """
    rng = random.Random(f"develocity-events:{world.seed}:{summary.index}")
    if summary.tool_type == "gradle":
        verbose = event_types is None or not _VERBOSE_TYPES.isdisjoint(event_types)
        events = gradle_events(summary, world, rng, verbose_output_made=verbose)
    else:
        events = _GENERATORS[summary.tool_type](summary, world, rng)
    number = 0
    for event in _with_unknown_parts(events) if summary.exotic else events:
        if isinstance(event, Skipped):
            number += event.size
            continue
        number += 1
        if event_types is None or event.event_type in event_types:
            yield number, event


def _with_unknown_parts(events: Iterator[Event | Skipped]) -> Iterator[Event | Skipped]:
    """Add what a newer Develocity would send: event types and fields unknown to this client."""
    n = 0
    for event in events:
        if isinstance(event, Skipped):
            # The snapshots that would follow skipped events are skipped with them.
            snapshots = _snapshots_before(n + event.size) - _snapshots_before(n)
            yield Skipped(event.size + snapshots)
            n += event.size
            continue
        if n % 7 == 3 and not isinstance(event.data, RawJson):
            yield event._replace(
                data={
                    **event.data,
                    "buildInsightsTraceId": f"{n:016x}",
                    "resourceAttribution": {"cpuMillis": n * 3, "sampled": True},
                }
            )
        else:
            yield event
        if n % _SNAPSHOT_EVERY == _SNAPSHOT_AFTER:
            yield Event(
                event.timestamp,
                "ResourceUsageSnapshot",
                1,
                2,
                {
                    "cpuPercent": 40 + n % 50,
                    "heapBytes": 512_000_000 + n,
                    "gcPauseMillis": None,
                    "processes": [{"pid": 4242, "kind": "GRADLE_DAEMON"}],
                },
            )
        n += 1


def _snapshots_before(n: int) -> int:
    """How many of an exotic build's first `n` events a `ResourceUsageSnapshot` follows."""
    return (n + _SNAPSHOT_EVERY - 1 - _SNAPSHOT_AFTER) // _SNAPSHOT_EVERY
