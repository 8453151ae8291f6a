"""The targets of a simulated Bazel invocation: the monorepo's rules, when each target is built
and tested, and the statuses the real server derives from those build events.

Offsets are microseconds from the invocation's start. A target the build never completed keeps
no status of its own: the server goes on reporting it as BUILDING.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

SECOND = 1_000_000


@dataclass(frozen=True)
class Rule:
    """A target of the monorepo: its label, rule kind and tags."""

    label: str
    kind: str
    tags: tuple[str, ...] = ()
    shards: int = 0

    @property
    def is_test(self) -> bool:
        """Whether `bazel test` runs it."""
        return self.kind.endswith("_test")

    @property
    def language(self) -> str:
        """The server's guess: the kind up to its first underscore (`genrule` has none)."""
        head, underscore, _ = self.kind.partition("_")
        return head if underscore else ""

    @property
    def package(self) -> str:
        """The package part of the label, e.g. `payments/service`."""
        return self.label[2:].partition(":")[0]


MONOREPO: tuple[Rule, ...] = (
    Rule("//proto/events:events_proto", "proto_library"),
    Rule("//payments/api:api_proto", "proto_library"),
    Rule("//payments/api:api_java_proto", "java_proto_library"),
    Rule("//payments/ledger:ledger", "java_library"),
    Rule("//payments/ledger:ledger_test", "java_test", ("small",)),
    Rule("//payments/service:server", "java_binary"),
    Rule("//payments/service:server_test", "java_test", ("medium",)),
    Rule("//payments/service:integration_test", "java_test", ("large", "requires-network"), 4),
    Rule("//payments/service:image", "oci_image"),
    Rule("//search/api:search_go_proto", "go_proto_library"),
    Rule("//search/index:index", "go_library"),
    Rule("//search/index:index_test", "go_test", ("small",)),
    Rule("//search/query:query", "go_library"),
    Rule("//search/query:query_test", "go_test", ("small",)),
    Rule("//search/cmd/indexer:indexer", "go_binary"),
    Rule("//auth/tokens:tokens", "kt_jvm_library"),
    Rule("//auth/tokens:tokens_test", "kt_jvm_test", ("small",)),
    Rule("//auth/gateway:gateway", "kt_jvm_library"),
    Rule("//auth/gateway:gateway_test", "kt_jvm_test", ("medium", "requires-network")),
    Rule("//mobile/backend:backend", "java_library"),
    Rule("//mobile/backend:backend_test", "java_test", ("medium",), 2),
    Rule("//web/frontend:app", "ts_project"),
    Rule("//web/frontend:app_test", "jest_test", ("small",)),
    Rule("//web/frontend:bundle", "esbuild"),
    Rule("//web/frontend:lint", "eslint_test", ("lint",)),
    Rule("//web/admin:console", "ts_project"),
    Rule("//web/admin:e2e_test", "playwright_test", ("large", "exclusive", "e2e")),
    Rule("//billing/reports:reports", "py_library"),
    Rule("//billing/reports:reports_test", "py_test", ("small",)),
    Rule("//billing/batch:batch", "py_binary"),
    Rule("//billing/batch:batch_test", "py_test", ("medium",)),
    Rule("//native/hash:hash", "cc_library"),
    Rule("//native/hash:hash_test", "cc_test", ("small",)),
    Rule("//tools/codegen:gen_version", "genrule"),
    Rule("//tools/lint:buildifier_test", "sh_test", ("lint", "local")),
    Rule("//docs:site", "filegroup"),
)
_TEST_SECONDS = {"small": (0.4, 6.0), "medium": (4.0, 40.0), "large": (30.0, 150.0)}
_TIMEOUT_SECONDS = {"small": 60, "medium": 300, "large": 900}

# How the real server turns Bazel's TestSummary status into the API's Status.
TEST_SUMMARY_STATUS = {
    "PASSED": "PASSED", "FLAKY": "FLAKY", "TIMEOUT": "TIMED_OUT", "FAILED": "FAILED",
    "INCOMPLETE": "INCOMPLETE", "REMOTE_FAILURE": "TOOL_FAILED",
    "FAILED_TO_BUILD": "FAILED_TO_BUILD", "TOOL_HALTED_BEFORE_TESTING": "CANCELLED",
    "NO_STATUS": "",
}


@dataclass(frozen=True)
class Attempt:
    """One TestResult: a shard, run and attempt of a test, with Bazel's status for it."""

    shard: int
    run: int
    attempt: int
    status: str
    start: int
    duration: int
    cached: bool = False


@dataclass(frozen=True)
class TargetPlan:
    """A configured target and, if its completion was ever reported, its final status."""

    rule: Rule
    done: int | None
    """Offset of the event that fixes its status; None: never completed (stays BUILDING)."""
    built: int | None
    """Offset of its TargetCompleted event (a test is BUILT from then until its summary)."""
    status: str
    """The API Status name once done ("" is STATUS_UNSPECIFIED)."""
    attempts: tuple[Attempt, ...] = ()
    timing: tuple[int, int] | None = None
    """TestSummary's (start offset, duration) in microseconds, for tests that ran."""
    failure: bool = False
    """Its build action failed (stderr and stdout are published)."""


def schedule_targets(
    rules: list[Rule], command: str, fate: str, analysed: int, rng: random.Random, attempts: int
) -> list[TargetPlan]:
    """When each target is built and tested, for a build whose fate is `ok`, `tests` (some
    tests fail), `build` (a compile fails) or `interrupted`; CI retries failing tests."""
    broken = {r.label for r in rng.sample(rules, 1)} if fate == "build" else set()
    failing = set()
    if fate == "tests":
        tests = [r.label for r in rules if r.is_test and r.label not in broken]
        failing = set(rng.sample(tests, min(len(tests), rng.randint(1, 3))))
    plans = []
    for rule in rules:
        built = analysed + rng.randrange(2 * SECOND, 70 * SECOND)
        failed_build = rule.label in broken or (bool(broken) and rule.is_test and rng.random() < 0.2)
        if failed_build:
            plans.append(
                TargetPlan(rule, built, built, "FAILED_TO_BUILD", failure=rule.label in broken)
            )
        elif not rule.is_test or command == "build":
            plans.append(TargetPlan(rule, built, built, "BUILT"))
        else:
            plans.append(_test_plan(rule, built, rule.label in failing, rng, attempts))
    return plans


def scripted_targets(
    rules: Sequence[Rule], outcomes: Mapping[str, str], analysed: int, rng: random.Random
) -> list[TargetPlan]:
    """Every rule built and every test run (with CI's three attempts), each test ending with
    the Bazel TestSummary status `outcomes` gives its label (`FLAKY`, `FAILED`, `TIMEOUT`),
    else `PASSED`."""
    plans = []
    for rule in rules:
        built = analysed + rng.randrange(2 * SECOND, 70 * SECOND)
        if rule.is_test:
            outcome = outcomes.get(rule.label, "PASSED")
            plans.append(_test_plan(rule, built, outcome != "PASSED", rng, 3, outcome))
        else:
            plans.append(TargetPlan(rule, built, built, "BUILT"))
    return plans


def _test_plan(
    rule: Rule, built: int, failing: bool, rng: random.Random, max_attempts: int,
    outcome: str | None = None,
) -> TargetPlan:
    """A test's attempts, ending in `outcome` (a Bazel TestSummary status) or else in one
    drawn at random."""
    size = next((t for t in rule.tags if t in _TEST_SECONDS), "small")
    low, high = _TEST_SECONDS[size]
    cached = not failing and rng.random() < 0.35
    if outcome is not None:
        summary = outcome
    elif failing:
        summary = rng.choices(("FAILED", "TIMEOUT", "INCOMPLETE", "REMOTE_FAILURE"), (80, 12, 4, 4))[0]
    else:
        summary = "FLAKY" if rng.random() < 0.06 else "PASSED"
    attempts: list[Attempt] = []
    clock = built
    for shard in range(rule.shards or 1):
        if summary == "FLAKY":
            results = ["FAILED", "PASSED"]
        elif summary in ("FAILED", "TIMEOUT"):
            results = [summary] * max_attempts
        else:
            results = [summary]
        for number, result in enumerate(results, start=1):
            seconds = _TIMEOUT_SECONDS[size] if result == "TIMEOUT" else rng.uniform(low, high)
            took = int((0.05 if cached else seconds) * SECOND)
            attempts.append(Attempt(shard, 1, number, result, clock, took, cached))
            clock += took + rng.randrange(SECOND // 5, SECOND)
    first = attempts[0].start
    total = sum(a.duration for a in attempts)
    return TargetPlan(
        rule, clock, built, TEST_SUMMARY_STATUS[summary], tuple(attempts), timing=(first, total)
    )


def stop_at_failure(targets: list[TargetPlan], fate: str) -> list[TargetPlan]:
    """Stop the build at its first failure (or at an interrupt): the rest never completes."""
    ordered = sorted(targets, key=event_order)
    failed = [t.done for t in ordered if t.status not in ("BUILT", "PASSED", "FLAKY")]
    if fate == "interrupted":
        stop = ordered[len(ordered) // 2].done
    elif failed:
        stop = failed[0]
    else:
        return targets
    assert stop is not None
    kept = []
    for target in ordered:
        running_test = target.attempts and target.attempts[0].start <= stop < (target.done or 0)
        if target.done is not None and target.done <= stop:
            kept.append(target)
        elif fate == "interrupted" and running_test:
            halted = Attempt(0, 1, 1, "TOOL_HALTED_BEFORE_TESTING", stop, 0)
            kept.append(replace(target, done=stop + SECOND, status="CANCELLED",
                                attempts=(halted,), timing=(stop, 0)))
        else:
            kept.append(unfinished(target, stop))
    return kept


def unfinished(target: TargetPlan, stop: int) -> TargetPlan:
    """The target as it stands when events stop at `stop`: its summary never arrives."""
    built = target.built if target.built is not None and target.built <= stop else None
    if built is None or not target.attempts:
        return replace(target, done=None, built=built, status="", attempts=(), timing=None)
    return replace(target, done=built, status="BUILT", attempts=(), timing=None)


def event_order(target: TargetPlan) -> tuple[int, str]:
    """Sort key: targets in the order their final build events arrive, unfinished ones last."""
    return (target.done if target.done is not None else 1 << 62, target.rule.label)


def stretched(target: TargetPlan, analysed: int, factor: float) -> TargetPlan:
    """The target's events, with the execution phase (after analysis) slowed by `factor`."""

    def scale(offset: int) -> int:
        return analysed + int((offset - analysed) * factor)

    return replace(
        target,
        done=None if target.done is None else scale(target.done),
        built=None if target.built is None else scale(target.built),
        attempts=tuple(replace(a, start=scale(a.start), duration=int(a.duration * factor))
                       for a in target.attempts),
        timing=None if target.timing is None else (scale(target.timing[0]),
                                                   int(target.timing[1] * factor)),
    )
