"""Ids that no server issues (`..`, a path, 100,000 characters, control characters) are refused
by the clients before any request, so neither the command line nor the app can be made to ask
for another resource; the command line says so in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.ids import InvalidIdError, checked_path_segment
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(60)

NOT_IDS = ["..", ".", "a/b", "../builds", "a?b", "a#b", "a%2Fb", "a\\b", "a b", "a\x1b[2Jb", "",
           "x" * 100_000]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=5, builds=4)) as simulator:
        yield simulator


def buildwatch(sim: SimulatorThread, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url,
        "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token",
        "BUILDWATCH_BUILDBUDDY_URL": sim.buildbuddy_url,
        "BUILDWATCH_BUILDBUDDY_API_KEY": "sim-api-key",
    }
    return subprocess.run([sys.executable, "-m", "buildwatch", *args], env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)


@pytest.mark.parametrize("value", NOT_IDS, ids=repr)
def test_a_value_that_is_not_one_path_segment_is_not_an_id(value: str) -> None:
    with pytest.raises(InvalidIdError) as refused:
        checked_path_segment(value, "build id")

    assert "\n" not in str(refused.value) and len(str(refused.value)) < 200


@pytest.mark.parametrize("value", ["ayd9x49tzfc4e", "8dcd8f5e-2d0d-4f19-b567-036f9f808266", "a.b"])
def test_ids_servers_issue_are_ids(value: str) -> None:
    assert checked_path_segment(value, "build id") == value


async def test_the_develocity_client_refuses_to_ask_for_a_build_that_is_not_an_id(
    sim: SimulatorThread,
) -> None:
    connection = DevelocityConnection(base_url=sim.develocity_url, token=Secret("sim-token"))
    before = len(sim.requests)
    async with DevelocityClient(connection) as client:
        for value in ("..", "../builds/since/0"):
            with pytest.raises(InvalidIdError):
                client.event_batches(value)
            with pytest.raises(InvalidIdError):
                client.build_batches(since_build=value)

    assert len(sim.requests) == before


async def test_the_buildbuddy_client_refuses_ids_and_uris_no_server_issues(
    sim: SimulatorThread,
) -> None:
    connection = BuildBuddyConnection(base_url=sim.buildbuddy_url, api_key=Secret("sim-api-key"))
    before = len(sim.requests)
    async with BuildBuddyClient(connection) as client:
        with pytest.raises(InvalidIdError):
            [target async for target in client.targets("..")]
        with pytest.raises(InvalidIdError):
            [invocation async for invocation in client.invocations(invocation_id="a/b")]
        with pytest.raises(InvalidIdError):
            await client.delete_file("bytestream://host/blobs/\x1b[2J/1")
        with pytest.raises(InvalidIdError):
            await client.get_file("bytestream://host/" + "a" * 10_000, lambda _: None)

    assert len(sim.requests) == before


@pytest.mark.parametrize(
    "args",
    [["events", ".."], ["events", "x" * 100_000], ["tail", "--since-build", "../x"],
     ["bb", "targets", ".."], ["bb", "log", "a/../b"], ["bb", "file", "get", "x" * 100_000]],
    ids=lambda args: " ".join(args)[:30],
)
def test_the_command_line_refuses_an_id_in_one_line_and_sends_nothing(
    sim: SimulatorThread, args: list[str]
) -> None:
    before = len(sim.requests)

    done = buildwatch(sim, *args)

    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("buildwatch: ") and len(line) < 250
    assert "not an id" in line or "too long" in line
    assert len(sim.requests) == before
