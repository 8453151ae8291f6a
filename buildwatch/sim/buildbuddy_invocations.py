"""What happened in each simulated Bazel invocation: its targets, test attempts and outcome.

A plan is fixed when the simulator starts, from the seed and the shared `World`: every commit
of the monorepo gets one to three invocations (a CI workflow runner, the CI Bazel run it starts,
a developer's local build). Offsets inside a plan are microseconds from the invocation's start,
so what the server would show at any moment (in progress, finished, disconnected) follows from
the clock alone. Statuses are the ones the real server derives from Bazel's events.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from typing import Literal

from buildwatch.sim.buildbuddy_targets import (
    MONOREPO,
    SECOND,
    Attempt,
    Rule,
    TargetPlan,
    event_order,
    schedule_targets,
    scripted_targets,
    stop_at_failure,
    stretched,
    unfinished,
)
from buildwatch.sim.world import Commit, World

MINUTE = 60 * SECOND

BENCHMARK_INVOCATION_ID = "5eed0b5e-0000-4000-8000-00000000b1a5"
"""A finished soak-test invocation for benchmarks: a 100 MB build log in 400 chunks, and a
test whose 200 MB test.log GetFile streams."""
EVERY_STATUS_INVOCATION_ID = "5eed0b5e-0000-4000-8000-0000000a11a1"
"""An invocation with a target of every `Status` value, as old or future servers may send."""
HUNG_FOR_US = 40 * MINUTE
"""How long the hung CI invocation of the newest commit has run when the simulator starts."""

Era = Literal["current", "2023", "2021"]
"""Which server version answers for an invocation. A 2023 server (mid 2023 to late 2024) sends
no `invocationStatus` and no failed build actions; a 2021 one (before mid 2022) sends no
`bazelExitCode` either, no `targetLabel`, `shard`, `run` or `attempt` on actions, and target ids
encoded as action ids are."""

OLD_SERVER_INVOCATION_IDS: dict[str, tuple[Era, str]] = {
    "5eed0b5e-0000-4000-8000-000000002021": ("2021", "ok"),
    "5eed0b5e-0000-4000-8000-000000f02021": ("2021", "build"),
    "5eed0b5e-0000-4000-8000-000000a02021": ("2021", "running"),
    "5eed0b5e-0000-4000-8000-000000f02023": ("2023", "build"),
    "5eed0b5e-0000-4000-8000-000000c02023": ("2023", "interrupted"),
}
"""A developer's invocations of the oldest commit as servers of those years record them (see
`Era`), and how each goes: a success, broken builds, one still running, one interrupted."""

_SOAK_TEST = Rule("//tools/bench:memory_soak_test", "java_test", ("large", "manual"))
_PATTERNS = (
    "//...", "//...", "//...", "//payments/... //proto/...", "//search/...", "//web/...",
    "//auth/... //mobile/...", "//billing/... //native/...",
)
@dataclass(frozen=True)
class InvocationPlan:
    """An invocation as the server will have recorded it once all its events arrived."""

    invocation_id: str
    commit: Commit
    role: str
    user: str
    host: str
    command: str
    pattern: str
    created: int
    """Epoch microseconds of the first event."""
    duration: int
    exit_code: str
    """Bazel's exit code name; "" when the stream broke before the Finished event."""
    targets: tuple[TargetPlan, ...]
    analysed: int
    """Offset at which the targets are configured (GetTarget finds nothing before)."""
    action_count: int
    instance: str
    """Remote instance name in the bytestream URIs ("" for none)."""
    uploads: bool = True
    """Whether outputs were uploaded; if not, files are `file://` paths on the host."""
    old_bazel: bool = False
    """Bazel sends only `*_millis` test timings, which the server misreads as microseconds."""
    children: tuple[str, ...] = ()
    era: Era = "current"
    """Which server version answers for it."""

    @property
    def disconnected(self) -> bool:
        """The build event stream broke before Bazel said it had finished."""
        return not self.exit_code

    @property
    def success(self) -> bool:
        """What the server stores as `success` at the end."""
        return self.exit_code == "SUCCESS"

    def elapsed(self, now_us: int) -> int | None:
        """Microseconds since the start, or None once the invocation has ended."""
        elapsed = now_us - self.created
        return elapsed if elapsed < self.duration else None


def plan_invocations(world: World, start_us: int) -> list[InvocationPlan]:
    """Every invocation of the simulated monorepo, relative to the simulator's start."""
    rng = random.Random(f"buildbuddy:{world.seed}")
    plans: list[InvocationPlan] = []
    commits = world.commits
    for index, commit in enumerate(commits):
        pushed = start_us - (len(commits) - index) * 17 * MINUTE + rng.randrange(5 * MINUTE)
        live = index >= len(commits) - 3
        plans.extend(_plans_for_commit(world, commit, pushed, rng, live, start_us))
    disconnected = rng.choice([p for p in plans[-40:-10] if p.role == "CI"])
    plans[plans.index(disconnected)] = _disconnect(disconnected, rng)
    plans.append(_every_status(world, start_us))
    plans.append(_benchmark(world, start_us))
    plans.extend(_old_servers(world, start_us))
    plans.append(hung_invocation(world, start_us))
    return plans


def publish_invocation(world: World, now_us: int, rng: random.Random) -> InvocationPlan:
    """A CI invocation of a recent commit that starts now and ends a few minutes later."""
    return _bazel_plan(
        world, world.commit_for(rng), rng, role="CI", user="ci", host=rng.choice(world.ci_hosts),
        created=now_us, live=True, start_us=now_us,
    )


def scripted_invocation(
    world: World, commit: Commit, created: int, outcomes: dict[str, str], rng: random.Random
) -> InvocationPlan:
    """A finished CI `bazel test //...` of `commit` started at `created` (epoch microseconds),
    its tests ending as `outcomes` says (see `scripted_targets`)."""
    analysed = rng.randrange(4 * SECOND, 25 * SECOND)
    targets = scripted_targets(MONOREPO, outcomes, analysed, rng)
    duration = max((t.done or 0) for t in targets) + rng.randrange(2 * SECOND, 6 * SECOND)
    return InvocationPlan(
        invocation_id=_uuid(rng), commit=commit, role="CI", user="ci",
        host=rng.choice(world.ci_hosts), command="test", pattern="//...", created=created,
        duration=duration, exit_code=_exit_code(targets, "tests"),
        targets=tuple(sorted(targets, key=event_order)), analysed=analysed,
        action_count=rng.randrange(40, 60) * len(targets), instance="ci",
    )


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _plans_for_commit(
    world: World, commit: Commit, pushed: int, rng: random.Random, live: bool, start_us: int
) -> list[InvocationPlan]:
    shape = rng.choices(("runner+ci", "runner+ci+dev", "ci", "dev"), (40, 25, 20, 15))[0]
    if live and shape == "dev":
        shape = "runner+ci"
    plans: list[InvocationPlan] = []
    if "dev" in shape:
        user = commit.author
        plans.append(_bazel_plan(
            world, commit, rng, role="", user=user, host=world.host_for(user, rng),
            created=pushed - rng.randrange(2 * MINUTE, 40 * MINUTE), live=False, start_us=start_us,
        ))
    if "ci" in shape:
        created = pushed + rng.randrange(20 * SECOND, 2 * MINUTE)
        if live:
            created = start_us - rng.randrange(2 * MINUTE, 5 * MINUTE)
        child = _bazel_plan(
            world, commit, rng, role="CI", user="ci", host=rng.choice(world.ci_hosts),
            created=created, live=live, start_us=start_us,
        )
        if "runner" in shape:
            plans.append(_runner_plan(child, rng))
        plans.append(child)
    return plans


def _bazel_plan(
    world: World, commit: Commit, rng: random.Random, *, role: str, user: str, host: str,
    created: int, live: bool, start_us: int, fate: str = "",
) -> InvocationPlan:
    """A Bazel invocation; its `fate` (`ok`, `tests`, `build`, `interrupted`) drawn unless given."""
    command = "test" if role == "CI" or rng.random() < 0.6 else "build"
    pattern = "//..." if role == "CI" else rng.choice(_PATTERNS)
    rules = [r for r in MONOREPO if any(_matches(r, p) for p in pattern.split())]
    # CI runs with --keep_going; most developers do not, and they break the build more often.
    weights = (70, 17, 8, 5) if role == "CI" else (55, 15, 20, 10)
    # Drawn even when given, so that the same seed draws the same values after it.
    drawn = rng.choices(("ok", "tests", "build", "interrupted"), weights)[0]
    fate = fate or drawn
    keep_going = role == "CI" or rng.random() < 0.25
    analysed = rng.randrange(4 * SECOND, 25 * SECOND)
    targets = schedule_targets(rules, command, fate, analysed, rng, attempts=3 if role == "CI" else 1)
    if (fate == "build" and not keep_going) or fate == "interrupted":
        targets = stop_at_failure(targets, fate)
    duration = max((t.done or 0) for t in targets) + rng.randrange(2 * SECOND, 6 * SECOND)
    if live:
        # Stretch a live run so that it ends a few minutes after the simulator starts.
        ends = start_us + rng.randrange(3 * MINUTE, 9 * MINUTE)
        factor = (ends - created - analysed) / (duration - analysed)
        targets = [stretched(t, analysed, factor) for t in targets]
        duration = ends - created
    return InvocationPlan(
        invocation_id=_uuid(rng), commit=commit, role=role, user=user, host=host,
        command=command, pattern=pattern, created=created, duration=duration,
        exit_code=_exit_code(targets, fate), targets=tuple(sorted(targets, key=event_order)),
        analysed=analysed, action_count=rng.randrange(40, 60) * len(targets),
        instance="ci" if role == "CI" else "", uploads=role == "CI" or rng.random() < 0.75,
        old_bazel=host == "dmitri-mbp",
    )


def _matches(rule: Rule, pattern: str) -> bool:
    return pattern == "//..." or rule.label.startswith(pattern.removesuffix("...").rstrip("/"))


def _exit_code(targets: list[TargetPlan], fate: str) -> str:
    statuses = {t.status for t in targets}
    if fate == "interrupted":
        return "INTERRUPTED"
    if "FAILED_TO_BUILD" in statuses:
        return "BUILD_FAILURE"
    if statuses & {"FAILED", "TIMED_OUT", "INCOMPLETE", "TOOL_FAILED"}:
        return "TESTS_FAILED"
    return "SUCCESS"


def _runner_plan(child: InvocationPlan, rng: random.Random) -> InvocationPlan:
    """The workflow runner that checked out the commit and ran the CI Bazel command."""
    lead = rng.randrange(8 * SECOND, 30 * SECOND)
    return InvocationPlan(
        invocation_id=_uuid(rng), commit=child.commit, role="CI_RUNNER", user="ci",
        host=child.host, command="ci_runner", pattern="Test all targets",
        created=child.created - lead, duration=child.duration + lead + 3 * SECOND,
        exit_code=child.exit_code,
        targets=(), analysed=0, action_count=0, instance="ci",
        children=(child.invocation_id,),
    )


def _disconnect(plan: InvocationPlan, rng: random.Random) -> InvocationPlan:
    """The same run, with its event stream broken part-way: no Finished event, no exit code."""
    cut = int(plan.duration * rng.uniform(0.4, 0.7))
    targets = tuple(
        t if t.done is not None and t.done <= cut else unfinished(t, cut) for t in plan.targets
    )
    return replace(plan, duration=cut, exit_code="", targets=targets)


def _every_status(world: World, start_us: int) -> InvocationPlan:
    rng = random.Random(f"every-status:{world.seed}")
    statuses = (
        "", "BUILDING", "BUILT", "FAILED_TO_BUILD", "TESTING", "PASSED", "FAILED", "TIMED_OUT",
        "CANCELLED", "TOOL_FAILED", "INCOMPLETE", "FLAKY", "UNKNOWN", "SKIPPED",
    )
    tests = [r for r in MONOREPO if r.is_test]
    targets = []
    for n, (rule, status) in enumerate(zip(tests, statuses, strict=False)):
        done = None if status == "BUILDING" else (n + 2) * 3 * SECOND
        summarised = status not in ("BUILDING", "BUILT")
        timing = ((n + 1) * 3 * SECOND, 2 * SECOND) if summarised else None
        targets.append(TargetPlan(rule, done, done, status, timing=timing))
    commit = world.commits[-6]
    return InvocationPlan(
        invocation_id=EVERY_STATUS_INVOCATION_ID, commit=commit, role="", user=commit.author,
        host=world.host_for(commit.author, rng), command="test", pattern="//...",
        created=start_us - 95 * MINUTE, duration=50 * SECOND, exit_code="TESTS_FAILED",
        targets=tuple(targets), analysed=SECOND, action_count=412, instance="",
    )


def _benchmark(world: World, start_us: int) -> InvocationPlan:
    attempt = Attempt(0, 1, 1, "PASSED", 20 * SECOND, 52 * MINUTE)
    soak = TargetPlan(_SOAK_TEST, 53 * MINUTE, 19 * SECOND, "PASSED", (attempt,),
                      timing=(attempt.start, attempt.duration))
    return InvocationPlan(
        invocation_id=BENCHMARK_INVOCATION_ID, commit=world.commits[0], role="CI", user="ci",
        host=world.ci_hosts[0], command="test", pattern=_SOAK_TEST.label,
        created=start_us - 20 * 60 * MINUTE, duration=54 * MINUTE, exit_code="SUCCESS",
        targets=(soak,), analysed=15 * SECOND, action_count=96, instance="ci",
    )


def hung_invocation(world: World, start_us: int) -> InvocationPlan:
    """A CI `bazel test //...` of the newest commit that has run for `HUNG_FOR_US` when the
    simulator starts, several times as long as such a run takes, and goes on for hours more: a
    slow run for the monitor to point out."""
    rng = random.Random(f"hung:{world.seed}")
    # Stretched as live runs are, to end a few hours after the start rather than minutes.
    return _bazel_plan(
        world, world.commits[-1], rng, role="CI", user="ci", host=rng.choice(world.ci_hosts),
        created=start_us - HUNG_FOR_US, live=True, start_us=start_us + 3 * 60 * MINUTE,
        fate="ok",
    )


def _old_servers(world: World, start_us: int) -> list[InvocationPlan]:
    """The `OLD_SERVER_INVOCATION_IDS` runs: a developer's, of the oldest commit."""
    rng = random.Random(f"old-servers:{world.seed}")
    commit = world.commits[0]
    plans = []
    for invocation_id, (era, fate) in OLD_SERVER_INVOCATION_IDS.items():
        live = fate == "running"
        created = start_us - (2 * MINUTE if live else rng.randrange(6 * 60 * MINUTE, 9 * 60 * MINUTE))
        plan = _bazel_plan(
            world, commit, rng, role="", user=commit.author, host=world.host_for(commit.author, rng),
            created=created, live=live, start_us=start_us, fate="ok" if live else fate,
        )
        plans.append(replace(plan, invocation_id=invocation_id, era=era))
    return plans
