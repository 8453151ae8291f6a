"""One collector, two viewers, in real terminals: `buildwatch collect` fills a team store on a real
PostgreSQL (see postgres_server) from the simulator, and two `buildwatch --store` apps in tmux show
a build published on the simulator; the simulator serves one listing stream and reads each
build's summary once, however many viewers there are."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from collector_harness import created_store, events_reads, listing_requests
from postgres_server import empty_database, postgres_server
from terminal import TmuxSession, app_environment

from buildwatch.sim import SimConfig, SimulatorThread

__all__ = ["empty_database", "postgres_server"]
"""The fixtures imported above: pytest finds them by name, so they are exported to be kept."""

pytestmark = [
    pytest.mark.timeout(90),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]
BUILDWATCH = str(Path(sys.executable).with_name("buildwatch"))
BUILDS = 6


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=3, builds=BUILDS, not_ready_s=0.0)) as running:
        yield running


@pytest.fixture
def collect(sim: SimulatorThread, empty_database: str, tmp_path: Path) -> Iterator[str]:
    """`buildwatch collect` of the simulator into a new team store, running; the store's URL."""
    created_store(empty_database)
    environment = {
        **os.environ,
        "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url,
        "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token",
        "BUILDWATCH_BUILDBUDDY_URL": sim.buildbuddy_url,
        "BUILDWATCH_BUILDBUDDY_API_KEY": "sim-api-key",
    }
    with (tmp_path / "collect.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "buildwatch", "collect", "--store", empty_database],
            env=environment, stdout=log, stderr=log,
        )
        try:
            yield empty_database
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_build_published_appears_in_both_viewers_read_once_from_the_server(
    sim: SimulatorThread, collect: str, tmp_path: Path
) -> None:
    homes = [tmp_path / "ana", tmp_path / "ben"]
    viewers = []
    for home in homes:
        home.mkdir()
        environment = app_environment(home, "", (120, 36), BUILDWATCH_STORE=collect)
        viewers.append(TmuxSession([BUILDWATCH], env=environment))
    with viewers[0] as ana, viewers[1] as ben:
        for viewer in (ana, ben):
            viewer.wait_for(f"{BUILDS} builds", timeout=40)
            viewer.wait_for("collector: live")

        new = [build_id for build_id in sim.publish_builds(1) if len(build_id) == 13]

        assert new
        for viewer in (ana, ben):
            viewer.wait_for(new[0], timeout=30)
            viewer.wait_for(f"{BUILDS + 1} builds")

    assert listing_requests(sim.requests)["stream"] == 1
    reads = events_reads(sim.requests)
    summaries = [count for (_build, query), count in reads.items() if "BuildStarted" in query]
    assert len(summaries) == BUILDS + 1
    assert set(summaries) == {1}
