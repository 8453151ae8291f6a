"""The events of a simulated Gradle build, in the order a Gradle build scan records them."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain

from buildwatch.sim.develocity_gradle_environment import environment_events
from buildwatch.sim.develocity_gradle_output import (
    KINDS,
    NOUNS,
    Owner,
    assertion_failure,
    checkstyle_warning,
    compile_error,
    console,
    failure_report,
    log,
    result_line,
    skipped_verbose_output,
    task_failure,
    test_failure_line,
    verbose_output,
)
from buildwatch.sim.develocity_model import (
    BuildScript,
    BuildSummary,
    Clock,
    Event,
    Failure,
    Skipped,
    exception_data,
    long_id,
)
from buildwatch.sim.world import World

_SUBPROJECTS = (
    "api", "core", "persistence", "web", "client", "events", "batch", "admin", "reporting",
    "search", "notifications", "billing", "ledger", "gateway", "scheduler", "audit",
)  # fmt: skip
_TASKS = (
    ("compileJava", "org.gradle.api.tasks.compile.JavaCompile", True),
    ("processResources", "org.gradle.language.jvm.tasks.ProcessResources", True),
    ("classes", "org.gradle.api.DefaultTask", False),
    ("jar", "org.gradle.api.tasks.bundling.Jar", True),
    ("compileTestJava", "org.gradle.api.tasks.compile.JavaCompile", True),
    ("processTestResources", "org.gradle.language.jvm.tasks.ProcessResources", True),
    ("testClasses", "org.gradle.api.DefaultTask", False),
    ("test", "org.gradle.api.tasks.testing.Test", True),
    ("checkstyleMain", "org.gradle.api.plugins.quality.Checkstyle", True),
    ("check", "org.gradle.api.DefaultTask", False),
    ("assemble", "org.gradle.api.DefaultTask", False),
    ("build", "org.gradle.api.DefaultTask", False),
)
_TASK_NAMES = [name for name, _, _ in _TASKS]
SCRIPTED_SUBPROJECTS = ("core", "api", "web")
"""A scripted build's subprojects: its tests run in the first, its failing task is the last's."""
_ACTIONABLE_OUTCOMES = {
    "success": 30, "from_cache": 30, "up_to_date": 30, "skipped": 4, "no_source": 4,
    "avoided_for_unknown_reason": 2,
}  # fmt: skip
_CONSOLE_SUFFIX = {
    "up_to_date": " UP-TO-DATE", "from_cache": " FROM-CACHE", "skipped": " SKIPPED",
    "no_source": " NO-SOURCE", "failed": " FAILED",
}  # fmt: skip
_RERUN_REASONS = (
    "Task has failed previously.",
    "Input property 'source' file src/main/java/com/acme/Ledger.java has changed.",
    "Output property 'destinationDirectory' file build/classes/java/main has been removed.",
    "Value of input property 'compilerArgs' has changed for task.",
)
_METHODS = (
    "returnsEmptyResultForUnknownId", "rejectsNegativeAmount", "roundsToTheNearestCent",
    "retriesOnTransientFailure", "keepsInsertionOrder", "parsesIso8601Timestamps",
    "refusesExpiredToken", "paginatesWithCursor", "emitsAuditEventOnUpdate",
    "handlesConcurrentUpdates", "serializesToJson", "mapsNullFieldsToDefaults",
    "timesOutAfterConfiguredDelay", "deduplicatesRetriedRequests",
)  # fmt: skip


@dataclass
class _Task:
    path: str
    class_name: str
    actionable: bool
    id: int
    outcome: str = "success"
    dependencies: list[int] = field(default_factory=list)
    test_classes: list[tuple[str, list[str]]] = field(default_factory=list)
    failing_tests: set[tuple[str, str]] = field(default_factory=set)
    retried_tests: set[tuple[str, str]] = field(default_factory=set)
    """Fail, then pass when the test retry runs them again."""


def gradle_events(
    summary: BuildSummary, world: World, rng: random.Random, *, verbose_output_made: bool = True
) -> Iterator[Event | Skipped]:
    """Every event of a Gradle build scan for `summary`, in order.

    Without `verbose_output_made`, the verbose output that pads a big build to its size (most of
    its events, all `OutputStyledTextEvent`s) comes as one `Skipped`, for a filter without them.
    """
    clock = Clock(summary, rng)
    subprojects = _subprojects(summary, rng)
    tasks = _plan_tasks(summary, subprojects, rng)
    failing = _choose_failure(summary, tasks, rng)
    failures: dict[int, Failure] = {}
    count = 0
    for event in chain(
        environment_events(clock, summary, world, subprojects, rng),
        (_planned(clock, task) for task in tasks),
        _run_tasks(clock, summary, tasks, failing, failures, rng),
    ):
        count += 1
        yield event
    build_failure_id = next(reversed(failures)) if failing is not None else None
    # A big build reaches its exact size with verbose output before its last events.
    padding = summary.target_events - count - (2 if build_failure_id is None else 4)
    if verbose_output_made:
        yield from verbose_output(clock, subprojects, _TASK_NAMES, padding, rng, world.log_text)
    else:
        yield skipped_verbose_output(clock, padding, rng)
    if build_failure_id is not None:
        yield exception_data(clock, "ExceptionData", failures, rng)
        yield console(clock, "Failure", failure_report(failures[build_failure_id]))
    yield console(
        clock,
        "SuccessHeader" if build_failure_id is None else "FailureHeader",
        result_line(summary, build_failure_id is not None),
    )
    yield clock.event(
        "BuildFinished", 1, {"failure": None, "failureId": build_failure_id}, advance=0
    )


def _run_tasks(
    clock: Clock,
    summary: BuildSummary,
    tasks: list[_Task],
    failing: _Task | None,
    failures: dict[int, Failure],
    rng: random.Random,
) -> Iterator[Event]:
    """Run the tasks in order; the build stops at the failing one."""
    per_task_ms = max(summary.duration_ms // (2 * len(tasks)), 10)
    for task in tasks:
        yield from _run_task(clock, summary, task, task is failing, failures, per_task_ms, rng)
        if task is failing:
            return


def _subprojects(summary: BuildSummary, rng: random.Random) -> list[str]:
    if summary.target_events:
        return [f"{name}{n}" if n else name for n in range(3) for name in _SUBPROJECTS]
    if summary.script is not None:
        return list(SCRIPTED_SUBPROJECTS)
    return rng.sample(_SUBPROJECTS, rng.randint(3, 7))


def _plan_tasks(summary: BuildSummary, subprojects: list[str], rng: random.Random) -> list[_Task]:
    tasks: list[_Task] = []
    classes_per_project = (30, 50) if summary.target_events else (2, 7)
    package = f"com.acme.{summary.project.replace('-', '')}"
    outcomes, weights = list(_ACTIONABLE_OUTCOMES), list(_ACTIONABLE_OUTCOMES.values())
    for sub in subprojects:
        previous: _Task | None = None
        for name, class_name, actionable in _TASKS:
            task = _Task(f":{sub}:{name}", class_name, actionable, long_id(rng))
            if previous is not None:
                task.dependencies.append(previous.id)
            if name == "test":
                task.outcome = rng.choices(("success", "from_cache", "up_to_date"), (14, 5, 1))[0]
            elif actionable:
                task.outcome = rng.choices(outcomes, weights)[0]
            else:
                task.outcome = "up_to_date" if rng.random() < 0.5 else "success"
            if name == "test" and task.outcome == "success":
                task.test_classes = [
                    (
                        f"{package}.{sub}.{rng.choice(NOUNS)}{rng.choice(KINDS)}Test",
                        rng.sample(_METHODS, rng.randint(3, 12)),
                    )
                    for _ in range(rng.randint(*classes_per_project))
                ]
            tasks.append(task)
            previous = task
    return tasks


def _choose_failure(summary: BuildSummary, tasks: list[_Task], rng: random.Random) -> _Task | None:
    if summary.script is not None:
        return _scripted_failure(summary.script, tasks)
    if not summary.failed:
        return None
    kind = rng.choice(("test", "test", "compileJava", "checkstyleMain"))
    candidates = [task for task in tasks if task.path.endswith(f":{kind}")]
    # A big build fails late, after most of its tests ran; others fail anywhere in the first half.
    half = len(candidates) // 2
    failing = rng.choice(candidates[half:] if summary.target_events else candidates[: max(1, half)])
    failing.outcome = "failed"
    if kind == "test":
        if not failing.test_classes:
            package = f"com.acme.{summary.project.replace('-', '')}"
            failing.test_classes = [
                (f"{package}.{rng.choice(NOUNS)}ServiceTest", rng.sample(_METHODS, 6))
            ]
        class_name, methods = rng.choice(failing.test_classes)
        chosen = rng.sample(methods, rng.randint(1, 2))
        failing.failing_tests = {(class_name, method) for method in chosen}
    return failing


def _scripted_failure(script: BuildScript, tasks: list[_Task]) -> _Task | None:
    """Put the script's tests in the first subproject's test task and fail what it says."""
    test_task = next(task for task in tasks if task.path.endswith(":test"))
    test_task.outcome = "success"
    scripted = [*script.failing_tests, *script.retried_tests]
    for class_name in dict.fromkeys(class_name for class_name, _ in scripted):
        methods = [method for name, method in scripted if name == class_name]
        test_task.test_classes.insert(0, (class_name, methods))
    test_task.failing_tests = set(script.failing_tests)
    test_task.retried_tests = set(script.retried_tests)
    if script.failing_tests:
        test_task.outcome = "failed"
        return test_task
    if script.failing_work is not None:
        failing = [task for task in tasks if task.path.endswith(f":{script.failing_work}")][-1]
        failing.outcome = "failed"
        return failing
    return None


def _planned(clock: Clock, task: _Task) -> Event:
    return clock.event(
        "PlannedTask",
        0,
        {
            "id": task.id,
            "buildPath": ":",
            "taskPath": task.path,
            "dependencies": task.dependencies,
            "mustRunAfter": [],
            "shouldRunAfter": [],
            "finalizedBy": [],
        },
    )


def _run_task(
    clock: Clock,
    summary: BuildSummary,
    task: _Task,
    fails: bool,
    failures: dict[int, Failure],
    per_task_ms: int,
    rng: random.Random,
) -> Iterator[Event]:
    yield clock.event(
        "TaskStarted",
        6,
        {
            "id": task.id,
            "buildPath": ":",
            "path": task.path,
            "className": task.class_name,
            "thread": None,
            "noActions": False,
        },
    )
    owner: Owner = {"type": "TASK", "id": task.id}
    suffix = _CONSOLE_SUFFIX.get(task.outcome, "")
    yield console(clock, "Header", f"> Task {task.path}{suffix}\n", owner)
    if task.test_classes:
        yield from _run_tests(clock, task, failures, rng)
    if fails and task.path.endswith(":compileJava"):
        yield console(clock, "Failure", compile_error(summary, task.path), owner)
    if fails and task.path.endswith(":checkstyleMain"):
        yield log(clock, "WARN", checkstyle_warning(summary, task.path), owner)
    clock.wait(per_task_ms // 4, per_task_ms)
    failure_id = None
    if fails:
        failure_id = long_id(rng)
        failures[failure_id] = task_failure(summary, task.path)
    yield _task_finished(clock, task, rng)
    if failure_id is not None:
        yield log(clock, "ERROR", f"Execution failed for task '{task.path}'.", owner, failure_id)


def _task_finished(clock: Clock, task: _Task, rng: random.Random) -> Event:
    cacheable = task.actionable and task.outcome in ("success", "from_cache", "failed")
    from_cache = task.outcome == "from_cache"
    executed = task.outcome in ("success", "failed")
    return clock.event(
        "TaskFinished",
        8,
        {
            "id": task.id,
            "path": task.path,
            "outcome": task.outcome,
            "skipMessage": "SKIPPED" if task.outcome == "skipped" else None,
            "cacheable": cacheable,
            "cachingDisabledReason": None if cacheable else "NOT_CACHEABLE",
            "cachingDisabledExplanation": None if cacheable else "Caching has not been enabled",
            "actionable": task.actionable,
            "originBuildInvocationId": _invocation_id(rng) if from_cache else None,
            "upToDateMessages": [rng.choice(_RERUN_REASONS)] if executed else [],
            "originExecutionTime": rng.randint(200, 90_000) if from_cache else None,
            "cachingDisabledReasonCategory": None if cacheable else "NOT_CACHEABLE",
            "skipReasonMessage": None,
            "originBuildCacheKey": (
                base64.b64encode(rng.randbytes(16)).decode() if from_cache else None
            ),
        },
    )


def _run_tests(
    clock: Clock, task: _Task, failures: dict[int, Failure], rng: random.Random
) -> Iterator[Event]:
    """The test events of a Test task: a run suite, an executor suite, classes and methods."""
    run_id, executor_id = 1, 2
    yield _test_started(clock, task, run_id, None, f"Gradle Test Run {task.path}", None, True)
    yield _test_started(clock, task, executor_id, run_id, "Gradle Test Executor 1", None, True)
    next_id = 3
    any_failed = False
    for class_name, methods in task.test_classes:
        class_id = next_id
        next_id += 1
        yield _test_started(clock, task, class_id, executor_id, class_name, class_name, True)
        class_failed = False
        for method in methods:
            test_id = next_id
            next_id += 1
            yield _test_started(clock, task, test_id, class_id, f"{method}()", class_name, False)
            clock.wait(0, 40)
            failure_id = None
            if (class_name, method) in task.failing_tests | task.retried_tests:
                failure_id = long_id(rng)
                failures[failure_id] = assertion_failure(class_name, method)
                class_failed = any_failed = True
                owner: Owner = {"type": "TASK", "id": task.id}
                yield console(clock, "Failure", test_failure_line(class_name, method), owner)
            yield _test_finished(clock, task, test_id, failure_id is not None, failure_id)
        yield _test_finished(clock, task, class_id, class_failed, None)
    yield from _retry_tests(clock, task, executor_id, next_id)
    for suite_id in (executor_id, run_id):
        yield _test_finished(clock, task, suite_id, any_failed, None)


def _retry_tests(clock: Clock, task: _Task, executor_id: int, next_id: int) -> Iterator[Event]:
    """The test retry's second round: each retried test runs again, as a new execution of its
    class and method, and passes."""
    for class_name, method in sorted(task.retried_tests):
        class_id, test_id = next_id, next_id + 1
        next_id += 2
        yield _test_started(clock, task, class_id, executor_id, class_name, class_name, True)
        yield _test_started(clock, task, test_id, class_id, f"{method}()", class_name, False)
        clock.wait(0, 40)
        yield _test_finished(clock, task, test_id, False, None)
        yield _test_finished(clock, task, class_id, False, None)


def _test_started(
    clock: Clock,
    task: _Task,
    test_id: int,
    parent: int | None,
    name: str,
    class_name: str | None,
    suite: bool,
) -> Event:
    return clock.event(
        "TestStarted",
        1,
        {
            "task": task.id,
            "id": test_id,
            "parent": parent,
            "name": name,
            "className": class_name,
            "suite": suite,
        },
    )


def _test_finished(
    clock: Clock, task: _Task, test_id: int, failed: bool, failure_id: int | None
) -> Event:
    return clock.event(
        "TestFinished",
        1,
        {
            "task": task.id,
            "id": test_id,
            "failed": failed,
            "skipped": False,
            "failure": None,
            "failureId": failure_id,
        },
    )


def _invocation_id(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(26))
