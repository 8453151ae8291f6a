"""`buildwatch collect` as real processes on one store: killed at any moment and started again,
two at once (one active, one standing by, which takes over when the active one is killed), and
stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from collector_harness import all_done, created_store, new_database, published, stored_count
from postgres_server import SUPERUSER_PASSWORD, PostgresServer, postgres_server

from buildwatch.core.teamstore.location import StoreLocation
from buildwatch.sim import SimConfig, SimulatorThread

__all__ = ["postgres_server"]
"""The fixture imported above: pytest finds it by name, so it is exported to be kept."""

pytestmark = pytest.mark.timeout(90)

KILL_AFTER_S = (0.0, 0.4, 1.0)
"""Each round starts a collector, waits until it is active, and kills it this long after."""
STANDBY_RETRY_S = "0.2"
BACKFILL = 40


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    config = SimConfig(seed=7, builds=BACKFILL, heartbeat_s=0.2, not_ready_s=0.2)
    with SimulatorThread(config) as running:
        yield running


@pytest.fixture
def location(postgres_server: PostgresServer) -> StoreLocation:
    return created_store(new_database(postgres_server))


@pytest.fixture
def start(
    sim: SimulatorThread, location: StoreLocation, tmp_path: Path
) -> Iterator[Callable[[str], tuple[subprocess.Popen[bytes], Path]]]:
    """Start `buildwatch collect` on the simulator and the store; its process and log file."""
    config = tmp_path / "config.toml"
    config.write_text("[profiles.default.ui]\nretry_max_seconds = 0.5\n")
    environment = {
        **os.environ,
        "BUILDWATCH_CONFIG": str(config),
        "BUILDWATCH_STORE": location.url.reveal(),
        "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url,
        "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token",
        "BUILDWATCH_BUILDBUDDY_URL": sim.buildbuddy_url,
        "BUILDWATCH_BUILDBUDDY_API_KEY": "sim-api-key",
    }
    processes: list[subprocess.Popen[bytes]] = []

    def started(name: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"{name}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "buildwatch", "collect",
                 "--standby-retry", STANDBY_RETRY_S],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                env=environment,
            )
        processes.append(process)
        return process, log

    yield started
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> float:
    """Wait for `condition`, looking every 50 ms; how long it took. Fails after `timeout`."""
    begun = time.monotonic()
    while not condition():
        if time.monotonic() - begun > timeout:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)
    return time.monotonic() - begun


def says(log: Path, words: str) -> bool:
    return words in log.read_text()




def test_a_collector_killed_at_any_moment_then_restarted_stores_every_build_once(
    sim: SimulatorThread, location: StoreLocation,
    start: Callable[[str], tuple[subprocess.Popen[bytes], Path]],
) -> None:
    for round_number, delay in enumerate(KILL_AFTER_S):
        process, log = start(f"round-{round_number}")
        wait_for(lambda: says(log, "active: "), "the collector active")  # noqa: B023
        sim.publish_builds(5)
        time.sleep(delay)  # the moment of the kill is what varies: not a wait for an event

        process.send_signal(signal.SIGKILL)
        process.wait()

    final, log = start("final")
    # Every build may be stored already: SIGTERM must still find the collector running.
    wait_for(lambda: says(log, "active: "), "the final collector active")
    wait_for(lambda: all_done(location, published(sim)), "every build stored and summarised")
    final.send_signal(signal.SIGTERM)
    assert final.wait(timeout=20) == 128 + signal.SIGTERM
    assert stored_count(location) == len(published(sim)) == BACKFILL + 5 * len(KILL_AFTER_S)
    assert SUPERUSER_PASSWORD not in log.read_text()


def test_a_standby_takes_over_within_seconds_when_the_active_collector_is_killed(
    sim: SimulatorThread, location: StoreLocation,
    start: Callable[[str], tuple[subprocess.Popen[bytes], Path]],
) -> None:
    first, first_log = start("first")
    wait_for(lambda: says(first_log, "active: "), "the first collector active")
    _, second_log = start("second")
    wait_for(lambda: says(second_log, "standby: another collector is active"), "a standby")

    first.send_signal(signal.SIGKILL)
    first.wait()
    took_s = wait_for(lambda: says(second_log, "active: "), "the standby active")
    sim.publish_builds(5)

    wait_for(lambda: all_done(location, published(sim)), "every build stored by the second")
    assert took_s < 30
    assert stored_count(location) == len(published(sim))
    assert not says(first_log, "standby")


def test_sigterm_stores_what_is_held_and_releases_the_lock(
    location: StoreLocation, start: Callable[[str], tuple[subprocess.Popen[bytes], Path]],
) -> None:
    first, first_log = start("first")
    wait_for(lambda: stored_count(location) > 0, "the first builds stored")

    first.send_signal(signal.SIGTERM)
    code = first.wait(timeout=20)
    _, second_log = start("second")

    assert code == 128 + signal.SIGTERM
    lines = first_log.read_text().splitlines()
    assert lines[-1].endswith("buildwatch collect: stopped")
    assert sum(written_builds(line) for line in lines) == stored_count(location)
    wait_for(lambda: says(second_log, "active: "), "the next collector active at once", 10)
    assert not says(second_log, "standby")


def written_builds(line: str) -> int:
    """The builds a `written: 3 builds, ...` line counts (0 for other lines)."""
    if "written: " not in line:
        return 0
    return int(line.split("written: ")[1].split(" builds")[0].replace(",", ""))
