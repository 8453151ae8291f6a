"""The triage world (`--world triage`): builds and invocations whose failures follow a script, so
that every kind of failure group shows up, the same way for a seed and a backfill size.

Build `i` runs in lane `i % LANES`, as that lane's run `i // LANES`:

| lane | project (tool) | what fails |
| --- | --- | --- |
| 0 | payments-service (Gradle) | `RECURRING_TEST` in runs 1, 4, 7, …: recurring |
| 1 | search-api (Gradle) | `NEW_TEST` in the last `NEW_RUNS` runs of the backfill and every run after: new |
| 2 | mobile-backend (Gradle) | CI runs in pairs on one commit, the second a rerun of the same requested tasks; the first of every other pair fails `FLAKY_TEST`, the second passes: flaky on the same commit |
| 3 | auth-gateway (Gradle) | `RETRIED_TEST` fails, then passes on retry, in every run; even runs fail `FAILING_TASK` |
| 4 | ledger-core (Maven) | surefire reruns `MAVEN_RETRIED_TEST`, which passes, in every run; even runs fail `MAVEN_FAILING_TEST` |
| 5 | monorepo (Bazel) | `BAZEL_FLAKY_TEST`'s target fails its first attempt and passes its second in every run; even runs fail `BAZEL_FAILING_TEST` |
| 6 | web-frontend (npm) | even runs fail with `npm_failure_message(run)`, whose numbers and temporary path change |

Every run but lane 2's has a commit of its own. Each commit of lanes 3 and 5 also has a CI
invocation on BuildBuddy, started shortly before its build: `FLAKY_TARGET` is FLAKY in every
one; in even runs lane 3's fails `GATEWAY_TARGET` and lane 5's `TOKENS_TARGET`; lane 3's runs
divisible by 3 time out `TIMEOUT_TARGET`.
"""

from __future__ import annotations

import random
from dataclasses import replace

from buildwatch.sim.buildbuddy_invocations import MINUTE, InvocationPlan, scripted_invocation
from buildwatch.sim.develocity_data import plan_build
from buildwatch.sim.develocity_maven import maven_test_class
from buildwatch.sim.develocity_model import BuildScript, BuildSummary, ToolType
from buildwatch.sim.world import Commit, World

LANES = 7
NEW_RUNS = 3
"""Lane 1's runs at the end of the backfill that fail `NEW_TEST`."""

RECURRING_TEST = ("com.acme.paymentsservice.core.LedgerServiceTest", "rejectsNegativeAmount")
NEW_TEST = ("com.acme.searchapi.core.QueryParserTest", "parsesIso8601Timestamps")
FLAKY_TEST = ("com.acme.mobilebackend.core.SessionStoreTest", "handlesConcurrentUpdates")
RETRIED_TEST = ("com.acme.authgateway.core.TokenServiceTest", "refusesExpiredToken")
FAILING_TASK = "checkstyleMain"
"""Lane 3's failing task name; its path is `:web:checkstyleMain`."""
MAVEN_RETRIED_TEST = (maven_test_class("com.acme.ledgercore", "model"), "retriesFailedSettlement")
MAVEN_FAILING_TEST = (maven_test_class("com.acme.ledgercore", "model"), "postsBalancedEntries")
BAZEL_FLAKY_TEST = ("query_parser_test", "TestParsesEmptyQuery")
BAZEL_FAILING_TEST = ("token_test", "TestRejectsExpiredToken")
FLAKY_TARGET = "//search/query:query_test"
GATEWAY_TARGET = "//auth/gateway:gateway_test"
TOKENS_TARGET = "//auth/tokens:tokens_test"
TIMEOUT_TARGET = "//billing/reports:reports_test"
"""A small test of one shard: its three attempts time out within minutes, not hours."""

_LANE_TOOLS: tuple[tuple[ToolType, str], ...] = (
    ("gradle", "payments-service"), ("gradle", "search-api"), ("gradle", "mobile-backend"),
    ("gradle", "auth-gateway"), ("maven", "ledger-core"), ("bazel", "monorepo"),
    ("npm", "web-frontend"),
)
_TOOL_VERSIONS: dict[ToolType, tuple[str, str]] = {
    "gradle": ("8.14.3", "4.0.2"), "maven": ("3.9.9", "2.0"), "bazel": ("8.0.0", "1.2.1"),
    "npm": ("11.0.0", "1.0.1"),
}
_BRANCHES = ("main", "main", "release/4.2")
_LONGEST_MS = 20 * 60_000


def npm_failure_message(run: int) -> str:
    """What lane 6's failed run `run` reports: the same failure, with other numbers each time."""
    return (
        f"Command failed: jest --ci exited with code 1 after {1_000 + run * 37} ms "
        f"(cache /tmp/jest_{run:x}q7)"
    )


class TriageScenario:
    """The script of a triage world whose backfill has `backfill` builds."""

    def __init__(self, world: World, backfill: int) -> None:
        self._world = world
        self._backfill = backfill
        # Lane 1's runs in the backfill, of which the last NEW_RUNS fail.
        self.new_since_run = max(0, (backfill - 2) // LANES + 1 - NEW_RUNS)

    def plan_build(self, index: int, timestamp: int, *, exotic: bool = False) -> BuildSummary:
        """The `index`-th build, published at `timestamp`."""
        lane, run = index % LANES, index // LANES
        base = plan_build(self._world, index, timestamp, exotic=exotic)
        tool, project = _LANE_TOOLS[lane]
        script = self._script(lane, run)
        if lane in (1, 2):
            # A rerun, or the run before a break, says the work passed only if it was asked
            # the same: CI asks the same.
            host_rng = random.Random(f"triage-host:{self._world.seed}:{index}")
            base = replace(base, user="ci", host=self._world.host_for("ci", host_rng))
        return replace(
            base, tool_type=tool, tool_version=_TOOL_VERSIONS[tool][0],
            agent_version=_TOOL_VERSIONS[tool][1], project=project,
            commit=self.commit(lane, run // 2 if lane == 2 else run), failed=script.fails,
            duration_ms=min(base.duration_ms, _LONGEST_MS), target_events=0, script=script,
        )

    def commit(self, lane: int, key: int) -> Commit:
        """The commit of lane `lane`'s run (lane 2: pair of runs) `key`."""
        rng = random.Random(f"triage-commit:{self._world.seed}:{lane}:{key}")
        return Commit(f"{rng.getrandbits(160):040x}", _BRANCHES[key % len(_BRANCHES)],
                      rng.choice(self._world.users[3:]))

    def invocations(self, start_us: int, span_ms: int) -> list[InvocationPlan]:
        """The BuildBuddy invocations of the backfill's lane 3 and 5 commits, each started a
        few minutes before its build was published (the backfill spreads its builds over
        the `span_ms` before `start_us`)."""
        rng = random.Random(f"triage-invocations:{self._world.seed}")
        plans = []
        for index in range(self._backfill):
            lane, run = index % LANES, index // LANES
            if lane not in (3, 5):
                continue
            outcomes = {FLAKY_TARGET: "FLAKY"}
            if run % 2 == 0:
                outcomes[GATEWAY_TARGET if lane == 3 else TOKENS_TARGET] = "FAILED"
            if lane == 3 and run % 3 == 0:
                outcomes[TIMEOUT_TARGET] = "TIMEOUT"
            published = start_us - (self._backfill - index) * span_ms * 1000 // self._backfill
            plans.append(scripted_invocation(
                self._world, self.commit(lane, run), published - 30 * MINUTE, outcomes, rng
            ))
        return plans

    def _script(self, lane: int, run: int) -> BuildScript:
        even = run % 2 == 0
        if lane == 0:
            return BuildScript(failing_tests=(RECURRING_TEST,) if run % 3 == 1 else ())
        if lane == 1:
            return BuildScript(failing_tests=(NEW_TEST,) if run >= self.new_since_run else ())
        if lane == 2:
            return BuildScript(failing_tests=(FLAKY_TEST,) if run % 4 == 0 else ())
        if lane == 3:
            return BuildScript(retried_tests=(RETRIED_TEST,),
                               failing_work=FAILING_TASK if even else None)
        if lane == 4:
            return BuildScript(failing_tests=(MAVEN_FAILING_TEST,) if even else (),
                               retried_tests=(MAVEN_RETRIED_TEST,))
        if lane == 5:
            return BuildScript(failing_tests=(BAZEL_FAILING_TEST,) if even else (),
                               retried_tests=(BAZEL_FLAKY_TEST,))
        return BuildScript(failure_message=npm_failure_message(run) if even else None)
