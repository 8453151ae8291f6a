"""The events that open a Gradle build scan: what was asked, where and how the build ran."""

from __future__ import annotations

import random
from collections.abc import Iterator

from buildwatch.sim.develocity_model import BuildSummary, Clock, Event, os_of, user_data
from buildwatch.sim.world import World

_JVM = {
    "version": "21.0.5", "vendor": "Eclipse Adoptium", "runtimeName": "OpenJDK Runtime Environment",
    "runtimeVersion": "21.0.5+11-LTS", "classVersion": "65.0", "vmInfo": "mixed mode, sharing",
    "vmName": "OpenJDK 64-Bit Server VM", "vmVersion": "21.0.5+11-LTS", "vmVendor": "Eclipse Adoptium",
}  # fmt: skip


def environment_events(
    clock: Clock, summary: BuildSummary, world: World, subprojects: list[str], rng: random.Random
) -> Iterator[Event]:
    """BuildStarted, then what was asked and where and how the build ran, and its user data."""
    family, os_name, os_version, arch = os_of(summary)
    yield clock.event("BuildStarted", 0, {})
    requested = (
        ["build"] if summary.on_ci else [rng.choice(("build", "check", f":{subprojects[0]}:test"))]
    )
    yield clock.event("BuildRequestedTasks", 0, {"requested": requested, "excluded": []})
    yield clock.event(
        "BuildModes",
        2,
        {
            "refreshDependencies": False,
            "parallelProjectExecution": True,
            "rerunTasks": False,
            "continuous": False,
            "continueOnFailure": False,
            "configureOnDemand": False,
            "daemon": not summary.on_ci,
            "offline": False,
            "dryRun": False,
            "maxWorkers": 8 if summary.on_ci else 12,
            "taskOutputCache": False,
        },
    )
    yield clock.event(
        "BuildAgent",
        0,
        {
            "username": summary.user,
            "localHostname": summary.host,
            "publicHostname": f"{summary.host}.acme.internal",
            "ipAddresses": [f"10.20.{summary.index % 250}.{rng.randint(2, 250)}"],
        },
    )
    yield clock.event("Hardware", 0, {"numProcessors": 8 if summary.on_ci else 12})
    yield clock.event(
        "Os", 0, {"family": family, "name": os_name, "version": os_version, "arch": arch}
    )
    yield clock.event("Jvm", 0, _JVM)
    yield clock.event(
        "Locality",
        0,
        {
            "localeLanguage": "en",
            "localeCountry": "US",
            "localeVariant": "",
            "timeZoneId": "UTC" if summary.on_ci else "Europe/Berlin",
            "timeZoneOffsetMillis": 0 if summary.on_ci else 3_600_000,
        },
    )
    # buildSrc and included builds each send their own ProjectStructure, here before the root
    # build's. They take nothing from the build's random stream: the rest stays as it was.
    root_dir = f"/home/{summary.user}/work/monorepo/{summary.project}"
    for name in _other_builds(world.seed, summary.index):
        projects = [_project(":", f"{root_dir}/{name}", [], f":{name}")]
        yield clock.event(
            "ProjectStructure", 2, {"rootProjectName": name, "projects": projects}, advance=0
        )
    yield clock.event(
        "ProjectStructure",
        2,
        {"rootProjectName": summary.project, "projects": _projects(root_dir, subprojects)},
    )
    yield from user_data(clock, summary, world, "")


def _other_builds(seed: int, index: int) -> tuple[str, ...]:
    """The builds besides the root one: none for two builds in five, else buildSrc, an included
    build, or both; chosen from a stream of their own, so the rest of the build is the same."""
    rng = random.Random(f"develocity-other-builds:{seed}:{index}")
    return rng.choice(((), (), ("buildSrc",), ("build-logic",), ("buildSrc", "build-logic")))


def _projects(root_dir: str, subprojects: list[str]) -> list[dict[str, object]]:
    paths = [(":", root_dir, list(range(1, len(subprojects) + 1)))]
    paths += [(f":{sub}", f"{root_dir}/{sub}", []) for sub in subprojects]
    return [_project(path, directory, children, ":") for path, directory, children in paths]


def _project(
    path: str, directory: str, children: list[int], build_path: str
) -> dict[str, object]:
    """A project of ProjectStructure 1.2, which names the build it belongs to (":" for root)."""
    return {
        "projectPath": path,
        "children": children,
        "projectDir": directory,
        "buildFile": f"{directory}/build.gradle.kts",
        "buildFileExists": True,
        "buildPath": build_path,
    }
