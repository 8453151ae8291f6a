"""Invocations a test needs, found by asking a BuildBuddy simulator over its public API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx

from buildwatch.sim import SimulatorThread
from buildwatch.sim.buildbuddy_invocations import OLD_SERVER_INVOCATION_IDS
from buildwatch.sim.world import World

MID_BUILD_SEED = 3
"""A seed whose running CI invocations are still building targets when the simulator starts
(with seed 1 they have built them all and only run tests)."""


def _api(sim: SimulatorThread, method: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{sim.buildbuddy_url}/api/v1/{method}", json=body,
                          headers={"x-buildbuddy-api-key": "sim-api-key"}, timeout=10)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def target_statuses(sim: SimulatorThread, invocation_id: str) -> list[str]:
    """The status of each target of the invocation, as the server reports it now."""
    found = _api(sim, "GetTarget", {"selector": {"invocation_id": invocation_id}})
    return [target.get("status", "") for target in found.get("target", [])]


def invocation_leaving_targets_building(sim: SimulatorThread, seed: int, *, running: bool) -> str:
    """A running invocation (`running`), or a finished failed one, with targets the server
    reports as BUILDING; running ones are searched from the newest commit."""
    commits = World(seed).commits
    ordered: Iterable[Any] = reversed(commits) if running else commits
    for commit in ordered:
        found = _api(sim, "GetInvocation", {"selector": {"commit_sha": commit.sha}})
        for invocation in found.get("invocation", []):
            status = invocation.get("invocationStatus")
            partial = status == "PARTIAL_INVOCATION_STATUS"
            # Only a server that reports the status says for sure that a run has ended.
            if not status or partial != running or (not running and invocation.get("success")):
                continue
            invocation_id = str(invocation["id"]["invocationId"])
            if "BUILDING" in target_statuses(sim, invocation_id):
                return invocation_id
    state = "running" if running else "finished failed"
    raise AssertionError(f"the simulator has no {state} invocation with targets left BUILDING")


def old_server_run(era: str, fate: str) -> str:
    """The simulator's invocation as a server of year `era` records it, that went as `fate`
    says (`ok`, `build`, `running`, `interrupted`)."""
    return next(invocation_id for invocation_id, shape in OLD_SERVER_INVOCATION_IDS.items()
                if shape == (era, fate))
