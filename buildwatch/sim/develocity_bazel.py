"""The events of a simulated Bazel build, with Bazel's own event names (`Bzl*`).

Bazel builds carry their Git commit as build metadata and workspace status items, not as
custom values.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Generator, Iterator

from buildwatch.sim.develocity_git import BAZEL_NAMINGS, git_naming
from buildwatch.sim.develocity_model import (
    BuildSummary,
    Clock,
    Event,
    Failure,
    exception_data,
    long_id,
)
from buildwatch.sim.world import World

_BAZEL_TARGETS = (
    "//services/payments:payments_lib",
    "//services/payments:payments_test",
    "//services/search:index_builder",
    "//services/search:query_parser_test",
    "//libs/auth:token_lib",
    "//libs/auth:token_test",
    "//web/frontend:bundle",
    "//tools/lint:buildifier_check",
)
_TEST_CASES = (
    "TestParsesEmptyQuery", "TestRanksExactMatchFirst", "TestRejectsExpiredToken",
    "TestRefreshesTokenBeforeExpiry", "TestBuildsIndexIncrementally", "TestEscapesSpecialCharacters",
)  # fmt: skip


def bazel_events(summary: BuildSummary, world: World, rng: random.Random) -> Iterator[Event]:
    """Every event of a Bazel build scan for `summary`, in order."""
    clock = Clock(summary, rng)
    commit = summary.commit
    yield clock.event(
        "BzlBuildStarted",
        1,
        {
            "command": "test",
            "workspaceDirectory": f"/home/{summary.user}/work/monorepo",
            "invocationId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        },
    )
    naming = git_naming(world.seed, summary.index, BAZEL_NAMINGS)
    git = [(naming.branch, commit.branch), (naming.commit, commit.sha)]
    if naming.repository is not None:
        git.insert(0, (naming.repository, world.repo_url))
    role = ("ROLE", "CI" if summary.on_ci else "DEV")
    who = [("BUILD_USER", summary.user), ("BUILD_HOST", summary.host)]
    if naming == BAZEL_NAMINGS[0]:
        # --build_metadata names the Git data, and the workspace status script the commit too.
        metadata, status = [*git, role], [("STABLE_GIT_COMMIT", commit.sha), *who]
    else:
        metadata, status = [role], [*git, *who]
    for key, value in metadata:
        yield clock.event("BzlBuildMetadataItem", 0, {"key": key, "value": value})
    for key, value in status:
        yield clock.event("BzlWorkspaceStatusItem", 0, {"key": key, "value": value})
    # The same draws from the build's random stream as the --build_metadata variant takes.
    clock.pass_events(7 - len(metadata) - len(status))
    configuration_id = f"{rng.getrandbits(256):064x}"
    yield clock.event(
        "BzlConfiguration",
        0,
        {"id": configuration_id, "mnemonic": "k8-fastbuild", "platformName": "k8", "cpu": "k8"},
    )
    targets = [(long_id(rng), label) for label in _BAZEL_TARGETS]
    failing_label = (
        rng.choice([label for _, label in targets if label.endswith("_test")])
        if summary.failed
        else None
    )
    # A scripted build names its failing cases by suite; a flaky target fails its first attempt.
    script = summary.script
    if script is not None:
        failing_label = None
    failing_cases = dict(script.failing_tests) if script else {}
    flaky_cases = dict(script.retried_tests) if script else {}
    for target_id, label in targets:
        yield clock.event("BzlTarget", 0, {"id": target_id, "label": label})
        yield clock.event(
            "BzlTargetConfigured",
            0,
            {
                "id": target_id,
                "targetKind": "java_test rule" if label.endswith("_test") else "java_library rule",
                "configurationId": configuration_id,
                "testSize": "SMALL" if label.endswith("_test") else None,
                "tags": [],
            },
        )
    failures: dict[int, Failure] = {}
    retry_failures: dict[int, Failure] = {}
    for target_id, label in targets:
        clock.wait(100, max(summary.duration_ms // len(targets), 200))
        failure_id = None
        suite = label.split(":")[1]
        if suite in flaky_cases:
            yield from _bazel_test(
                clock, target_id, label, True, retry_failures, rng, flaky_cases[suite]
            )
            yield from _bazel_test(clock, target_id, label, False, {}, rng, flaky_cases[suite], 2)
        elif label.endswith("_test"):
            failure_id = yield from _bazel_test(
                clock, target_id, label, label == failing_label or suite in failing_cases,
                failures, rng, failing_cases.get(suite),
            )
        yield clock.event(
            "BzlTargetCompleted",
            1,
            {
                "id": target_id,
                "success": failure_id is None,
                "outputGroups": [{"name": "default", "incomplete": False}],
                "actions": [],
                "failureId": failure_id,
                "aspect": None,
            },
        )
    exit_code = (
        {"exitCode": 3, "exitCodeMessage": "TESTS_FAILED"}
        if failures
        else {"exitCode": 0, "exitCodeMessage": "SUCCESS"}
    )
    if failures or retry_failures:
        yield exception_data(clock, "BzlExceptionData", retry_failures | failures, rng)
    yield clock.event(
        "BzlBuildFinished",
        1,
        {"failed": bool(failures), "exitCode": exit_code, "buildFailureDetails": None},
        advance=0,
    )


def _bazel_test(
    clock: Clock,
    target_id: int,
    label: str,
    fails: bool,
    failures: dict[int, Failure],
    rng: random.Random,
    case: str | None = None,
    attempt: int = 1,
) -> Generator[Event, None, int | None]:
    """One attempt of a test target; returns the target's failure id when it failed.

    Three cases run, drawn at random unless `case` is given: then it runs first (and is the
    one that fails), with two fixed others."""
    attempt_id = long_id(rng)
    yield clock.event(
        "BzlTestTargetAttemptStarted",
        0,
        {"id": attempt_id, "targetId": target_id, "attempt": attempt, "run": 1, "shard": 1},
    )
    suite_id = long_id(rng)
    suite = label.split(":")[1]
    yield clock.event(
        "BzlTestStarted",
        0,
        {
            "id": suite_id,
            "testTargetAttemptId": attempt_id,
            "parentId": None,
            "name": suite,
            "isSuite": True,
        },
    )
    failure_id = None
    names = (
        rng.sample(_TEST_CASES, 3)
        if case is None
        else [case, *[other for other in _TEST_CASES if other != case][:2]]
    )
    for name in names:
        test_id = long_id(rng)
        yield clock.event(
            "BzlTestStarted",
            0,
            {
                "id": test_id,
                "testTargetAttemptId": attempt_id,
                "parentId": suite_id,
                "name": name,
                "isSuite": False,
            },
        )
        clock.wait(1, 80)
        failed = fails and failure_id is None
        if failed:
            failure_id = long_id(rng)
            failures[failure_id] = Failure(
                "java.lang.AssertionError",
                f"{name}: expected 3 results, got 0",
                ((suite, name, f"{suite}.java", 41),),
            )
        yield clock.event(
            "BzlTestFinished", 0, {"id": test_id, "outcome": "failed" if failed else "passed"}
        )
    yield clock.event(
        "BzlTestFinished", 0, {"id": suite_id, "outcome": "failed" if failure_id else "passed"}
    )
    yield clock.event(
        "BzlTestTargetAttemptFinished",
        2,
        {"id": attempt_id, "status": "FAILED" if failure_id else "PASSED", "cached": False},
    )
    return failure_id
