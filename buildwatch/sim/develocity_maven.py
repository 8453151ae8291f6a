"""The events of a simulated Maven build, with Maven's own event names (`Mvn*`)."""

from __future__ import annotations

import random
from collections.abc import Generator, Iterator

from buildwatch.sim.develocity_model import (
    BuildScript,
    BuildSummary,
    Clock,
    Event,
    Failure,
    exception_data,
    long_id,
    os_of,
    user_data,
)
from buildwatch.sim.world import World

_MAVEN_MODULES = ("model", "core", "adapters", "batch-jobs", "reporting", "app")
_MAVEN_GOALS = (
    # (plugin:version, goal, phase, mojo class, execution id)
    ("maven-resources-plugin:3.3.1", "resources", "process-resources",
     "org.apache.maven.plugins.resources.ResourcesMojo", "default-resources"),
    ("maven-compiler-plugin:3.13.0", "compile", "compile",
     "org.apache.maven.plugin.compiler.CompilerMojo", "default-compile"),
    ("maven-resources-plugin:3.3.1", "testResources", "process-test-resources",
     "org.apache.maven.plugins.resources.TestResourcesMojo", "default-testResources"),
    ("maven-compiler-plugin:3.13.0", "testCompile", "test-compile",
     "org.apache.maven.plugin.compiler.TestCompilerMojo", "default-testCompile"),
    ("maven-surefire-plugin:3.5.2", "test", "test",
     "org.apache.maven.plugin.surefire.SurefireMojo", "default-test"),
    ("maven-jar-plugin:3.4.2", "jar", "package",
     "org.apache.maven.plugins.jar.JarMojo", "default-jar"),
)  # fmt: skip
_TEST_NAMES = (
    "postsBalancedEntries", "rejectsUnbalancedJournal", "closesPeriodAtMidnight",
    "exportsCsvWithHeader", "retriesFailedSettlement", "computesAccruedInterest",
)  # fmt: skip


def maven_events(summary: BuildSummary, world: World, rng: random.Random) -> Iterator[Event]:
    """Every event of a Maven build scan for `summary`, in order."""
    clock = Clock(summary, rng)
    family, os_name, os_version, arch = os_of(summary)
    modules = list(_MAVEN_MODULES[: rng.randint(3, len(_MAVEN_MODULES))])
    failing_module = rng.choice(modules) if summary.failed else None
    script = summary.script
    if script is not None:
        failing_module = modules[0] if script.fails else None
    group = f"com.acme.{summary.project.replace('-', '')}"
    yield clock.event("MvnBuildStarted", 0, {})
    yield clock.event(
        "MvnBuildRequestedGoals",
        0,
        {"goals": ["clean", "verify"] if summary.on_ci else ["install"]},
    )
    yield clock.event(
        "MvnBuildModes",
        3,
        {
            "maxThreads": 1,
            "offline": False,
            "failFast": True,
            "failAtEnd": False,
            "failNever": False,
            "batchMode": summary.on_ci,
            "rerunGoals": False,
            "daemon": False,
        },
    )
    yield clock.event(
        "MvnBuildAgent",
        0,
        {
            "username": summary.user,
            "localHostname": summary.host,
            "publicHostname": f"{summary.host}.acme.internal",
            "ipAddresses": ["10.20.4.17"],
        },
    )
    yield clock.event(
        "MvnOs", 0, {"family": family, "name": os_name, "version": os_version, "arch": arch}
    )
    yield clock.event("MvnHardware", 0, {"numProcessors": 8})
    root = f"/home/{summary.user}/work/monorepo/{summary.project}"
    project_ids = {module: long_id(rng) for module in modules}
    projects = [
        {
            "id": project_ids[module],
            "name": f"{summary.project} :: {module}",
            "groupId": group,
            "artifactId": f"{summary.project}-{module}",
            "packaging": "jar",
            "version": "4.2.0-SNAPSHOT",
            "projectDir": f"{root}/{module}",
            "pomVersion": "4.0.0",
            "children": [],
            "excluded": False,
        }
        for module in modules
    ]
    yield clock.event(
        "MvnProjectStructure", 1, {"projects": projects, "topLevelProjectName": summary.project}
    )
    yield from user_data(clock, summary, world, "Mvn")
    yield clock.event("MvnExecutionStarted", 0, {})
    failures: dict[int, Failure] = {}
    retry_failures: dict[int, Failure] = {}
    """Failures of tests that passed when rerun: recorded, but they fail nothing."""
    for module in modules:
        project_id = project_ids[module]
        yield clock.event("MvnProjectStarted", 0, {"id": project_id})
        failed = module == failing_module
        for plugin, goal, phase, mojo, execution in _MAVEN_GOALS:
            goal_id = long_id(rng)
            yield clock.event(
                "MvnGoalExecutionStarted",
                0,
                {
                    "id": goal_id,
                    "name": goal,
                    "executionId": execution,
                    "projectId": project_id,
                    "mojoClassName": mojo,
                    "pluginId": f"org.apache.maven.plugins:{plugin}",
                    "buildPhase": phase,
                },
            )
            prefix = plugin.split(":")[0].removeprefix("maven-").removesuffix("-plugin")
            version = plugin.split(":")[1]
            yield clock.event(
                "MvnOutputStyledText",
                0,
                {
                    "common": {
                        "category": "org.apache.maven.cli.event.ExecutionEventLogger",
                        "logLevel": "INFO",
                    },
                    "spans": [
                        {
                            "text": f"[INFO] --- {prefix}:{version}:{goal} ({execution}) "
                            f"@ {summary.project}-{module} ---\n",
                            "style": "Header",
                        }
                    ],
                },
            )
            goal_failure = None
            if goal == "test":
                goal_failure = yield from _maven_tests(
                    clock, group, module, goal_id, failed, failures, rng,
                    script if module == modules[0] else None, retry_failures,
                )
            clock.wait(50, max(summary.duration_ms // (len(modules) * 8), 60))
            yield clock.event(
                "MvnGoalExecutionFinished",
                2,
                {
                    "id": goal_id,
                    "outcome": "failed" if goal_failure else "success",
                    "failureId": goal_failure,
                    "originBuildInvocationId": None,
                    "cachingDisabledReasonCategory": None,
                    "nonCacheableReason": None,
                    "originExecutionTime": None,
                    "storeEnabled": False,
                },
            )
            if goal_failure:
                break
        yield clock.event(
            "MvnProjectFinished",
            0,
            {
                "id": project_id,
                "outcome": "failed" if failed else "success",
                "failureId": next(reversed(failures)) if failed else None,
            },
        )
        if failed:
            break
    if failures or retry_failures:
        yield exception_data(clock, "MvnExceptionData", retry_failures | failures, rng)
    if failures:
        yield clock.event(
            "MvnOutputStyledText",
            0,
            {
                "common": {"category": "org.apache.maven.cli.MavenCli", "logLevel": "ERROR"},
                "spans": [
                    {
                        "text": "[ERROR] BUILD FAILURE\n[ERROR] Failed to execute goal "
                        "org.apache.maven.plugins:maven-surefire-plugin:3.5.2:test (default-test) "
                        f"on project {summary.project}-{failing_module}: There are test failures.\n",
                        "style": "Failure",
                    }
                ],
            },
        )
    yield clock.event(
        "MvnBuildFinished", 0, {"failed": bool(failures), "failureIds": list(failures)}, advance=0
    )


def _maven_tests(
    clock: Clock,
    group: str,
    module: str,
    goal_id: int,
    fails: bool,
    failures: dict[int, Failure],
    rng: random.Random,
    script: BuildScript | None,
    retry_failures: dict[int, Failure],
) -> Generator[Event, None, int | None]:
    """Surefire's test events; returns the goal's failure id when a test failed for good.

    A `script`'s retried tests fail, then pass when surefire reruns them (each rerun its own
    pair of events for the same class and name); their failures fail nothing."""
    class_name = maven_test_class(group, module)
    class_id = long_id(rng)
    yield clock.event(
        "MvnTestStarted",
        1,
        {
            "goalId": goal_id,
            "id": class_id,
            "name": class_name,
            "className": class_name,
            "parent": None,
            "testType": "junit5",
        },
    )
    names = rng.sample(_TEST_NAMES, rng.randint(2, len(_TEST_NAMES)))
    failing_name = rng.choice(names) if fails else None
    retried: list[str] = []
    if script is not None:
        failing_name = next((name for _, name in script.failing_tests), None)
        retried = [name for _, name in script.retried_tests]
        names = list(dict.fromkeys([*retried, *names, *([failing_name] if failing_name else [])]))
    for name in names:
        test_id = long_id(rng)
        yield clock.event(
            "MvnTestStarted",
            1,
            {
                "goalId": goal_id,
                "id": test_id,
                "name": name,
                "className": class_name,
                "parent": class_id,
                "testType": "junit5",
            },
        )
        clock.wait(1, 120)
        failure_id = None
        if name == failing_name or name in retried:
            failure_id = long_id(rng)
            failure = Failure(
                "org.opentest4j.AssertionFailedError",
                "expected: <0.00> but was: <-12.50>",
                ((class_name, name, f"{class_name.rsplit('.', 1)[1]}.java", 88),),
            )
            (failures if name == failing_name else retry_failures)[failure_id] = failure
        yield clock.event(
            "MvnTestFinished",
            0,
            {
                "goalId": goal_id,
                "id": test_id,
                "outcome": "failed" if failure_id else "success",
                "failureId": failure_id,
            },
        )
    for name in retried:
        yield from _rerun(clock, goal_id, class_id, class_name, name, rng)
    yield clock.event(
        "MvnTestFinished",
        0,
        {
            "goalId": goal_id,
            "id": class_id,
            "outcome": "failed" if failing_name else "success",
            "failureId": None,
        },
    )
    if failing_name is None:
        return None
    goal_failure = long_id(rng)
    failures[goal_failure] = Failure(
        "org.apache.maven.plugin.MojoFailureException",
        "There are test failures.\n\nPlease refer to target/surefire-reports for the individual test results.",
        (
            (
                "org.apache.maven.plugin.surefire.SurefireHelper",
                "throwException",
                "SurefireHelper.java",
                333,
            ),
        ),
    )
    return goal_failure


def maven_test_class(group: str, module: str) -> str:
    """The test class surefire runs in `module` of a project whose group is `group`."""
    return f"{group}.{module.replace('-', '')}.{module.title().replace('-', '')}Test"


def _rerun(
    clock: Clock, goal_id: int, class_id: int, class_name: str, name: str, rng: random.Random
) -> Iterator[Event]:
    """Surefire's rerun of a test that failed: a new execution, which passes."""
    test_id = long_id(rng)
    yield clock.event(
        "MvnTestStarted",
        1,
        {"goalId": goal_id, "id": test_id, "name": name, "className": class_name,
         "parent": class_id, "testType": "junit5"},
    )
    clock.wait(1, 120)
    yield clock.event(
        "MvnTestFinished",
        0,
        {"goalId": goal_id, "id": test_id, "outcome": "success", "failureId": None},
    )
