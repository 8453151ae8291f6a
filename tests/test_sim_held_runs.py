"""The simulator's held BuildBuddy runs: in progress until whoever started one ends it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from buildwatch.sim import SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(30)
COMMIT = "5eed" * 10
KEY = {"x-buildbuddy-api-key": "sim-api-key"}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=2, builds=5)) as simulator:
        yield simulator


def runs_of(sim: SimulatorThread, commit: str) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{sim.buildbuddy_url}/api/v1/GetInvocation",
        json={"selector": {"commit_sha": commit}}, headers=KEY,
    )
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json().get("invocation", [])
    return found


def test_a_held_run_is_in_progress_until_it_is_ended_with_its_exit_code(sim: SimulatorThread) -> None:
    held = httpx.post(f"{sim.buildbuddy_url}/_sim/buildbuddy/hold", params={"commit": COMMIT})
    invocation_id = held.json()["invocationId"]
    [running] = runs_of(sim, COMMIT)

    ended = httpx.post(
        f"{sim.buildbuddy_url}/_sim/buildbuddy/end",
        params={"invocation": invocation_id, "exit": "TESTS_FAILED"},
    )
    [finished] = runs_of(sim, COMMIT)

    assert ended.status_code == 200
    assert (running["id"]["invocationId"], running["invocationStatus"]) == (
        invocation_id, "PARTIAL_INVOCATION_STATUS"
    )
    assert "bazelExitCode" not in running
    assert (finished["invocationStatus"], finished["bazelExitCode"]) == (
        "COMPLETE_INVOCATION_STATUS", "TESTS_FAILED"
    )
    assert "success" not in finished and int(finished["durationUsec"]) > 0


def test_only_a_held_run_can_be_ended_and_only_once(sim: SimulatorThread) -> None:
    invocation_id = sim.hold_invocation(COMMIT)
    sim.end_invocation(invocation_id)
    again = httpx.post(f"{sim.buildbuddy_url}/_sim/buildbuddy/end", params={"invocation": invocation_id})
    without_commit = httpx.post(f"{sim.buildbuddy_url}/_sim/buildbuddy/hold")

    assert again.status_code == 404
    assert without_commit.status_code == 400
