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
    yield clock.event(
        "ProjectStructure",
        2,
        {"rootProjectName": summary.project, "projects": _projects(summary, subprojects)},
    )
    yield from user_data(clock, summary, world, "")


def _projects(summary: BuildSummary, subprojects: list[str]) -> list[dict[str, object]]:
    root_dir = f"/home/{summary.user}/work/monorepo/{summary.project}"
    paths = [(":", root_dir, list(range(1, len(subprojects) + 1)))]
    paths += [(f":{sub}", f"{root_dir}/{sub}", []) for sub in subprojects]
    return [
        {
            "projectPath": path,
            "children": children,
            "projectDir": directory,
            "buildFile": f"{directory}/build.gradle.kts",
            "buildFileExists": True,
            "buildPath": ":",
        }
        for path, directory, children in paths
    ]
