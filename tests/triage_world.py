"""The simulator's triage world as the tests use it: a small backfill, and the names its
scripted failures are recorded under."""

from __future__ import annotations

from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimConfig, Simulator, SimulatorThread
from buildwatch.sim.develocity_data import build_id
from buildwatch.sim.triage import LANES, TriageScenario
from buildwatch.sim.world import World

SEED = 4
BUILDS = 6 * LANES
"""Six runs per lane: lane 1's last three fail its new test."""


def triage_config() -> SimConfig:
    """The triage world's simulator, every build readable at once."""
    return SimConfig(seed=SEED, builds=BUILDS, not_ready_s=0.0, world="triage")


def scenario() -> TriageScenario:
    return TriageScenario(World(SEED), BUILDS)


def run_id(lane: int, run: int) -> str:
    """The build id of `lane`'s run `run`."""
    return build_id(SEED, lane + run * LANES)


def gradle_test(test: tuple[str, str]) -> str:
    """A Gradle test's recorded name: JUnit 5 method names end in `()`."""
    return f"{test[0]}.{test[1]}()"


def plain_test(test: tuple[str, str]) -> str:
    """A Maven (`Class.method`) or Bazel (`suite.case`) test's recorded name."""
    return f"{test[0]}.{test[1]}"


def develocity_client(sim: Simulator | SimulatorThread) -> DevelocityClient:
    return DevelocityClient(DevelocityConnection(sim.develocity_url, token=Secret("sim-token")))


def buildbuddy_client(sim: Simulator | SimulatorThread) -> BuildBuddyClient:
    return BuildBuddyClient(BuildBuddyConnection(sim.buildbuddy_url, api_key=Secret("sim-api-key")))
