"""The events of a simulated npm build, with npm's own event names (`Npm*`)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from buildwatch.sim.develocity_model import BuildSummary, Clock, Event, os_of, user_data
from buildwatch.sim.world import World


def npm_events(summary: BuildSummary, world: World, rng: random.Random) -> Iterator[Event]:
    """Every event of an npm build scan for `summary`, in order."""
    clock = Clock(summary, rng)
    family, os_name, os_version, arch = os_of(summary)
    yield clock.event("NpmBuildStarted", 0, {})
    yield clock.event(
        "NpmBuildAgent",
        0,
        {"username": summary.user, "publicHostname": f"{summary.host}.acme.internal"},
    )
    yield clock.event("NpmHardware", 0, {"numProcessors": 8})
    yield clock.event(
        "NpmOs", 0, {"family": family, "name": os_name, "version": os_version, "arch": arch}
    )
    yield clock.event("NpmPackage", 0, {"name": f"@acme/{summary.project}"})
    yield clock.event(
        "NpmRequestedCommand", 0, {"command": "run", "args": ["test" if summary.on_ci else "build"]}
    )
    yield clock.event("NpmBuildScanUploadSettings", 0, {"uploadInBackground": not summary.on_ci})
    yield from user_data(clock, summary, world, "Npm")
    clock.wait(summary.duration_ms // 2, summary.duration_ms)
    if summary.failed:
        message = (
            summary.script.failure_message
            if summary.script is not None and summary.script.failure_message
            else "Command failed: jest --ci\n  ● CartSummary \u203a shows the discount line\n\n"
            '    expect(received).toContain(expected)\n\n    Expected substring: "-10%"'
        )
        yield clock.event("NpmFailure", 0, {"message": message})
    yield clock.event(
        "NpmBuildFinished", 0, {"exitCode": 1 if summary.failed else 0, "signal": None}, advance=0
    )
