"""Proof with a client we did not write: the Node `eventsource` package, which the Develocity
manual recommends, streams from the simulator, resumes after a drop and stops on 204."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from sim_sse import AUTH, parse_sse

from buildwatch.sim import FaultSpec, SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(90)

NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="module")
def proof_script() -> Path:
    """The Node script, once `.ci/run` has installed its `eventsource` dependency next to it.

    Outside CI a missing Node or client skips these tests with the reason; in CI (CI=true) it
    fails them, since `.ci/run` installs both.
    """
    missing = None
    if shutil.which("node") is None:
        missing = "node is not installed"
    elif not (NODE_DIR / "node_modules" / "eventsource").is_dir():
        missing = "the Node eventsource client is not installed: run `npm ci` in tests/node"
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing} (.ci/run installs it)")
        pytest.skip(missing)
    return NODE_DIR / "eventsource_proof.mjs"


def run_node(script: Path, url: str, *extra: str) -> dict[str, Any]:
    done = subprocess.run(
        ["node", str(script), url, "sim-token", *extra],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_node_eventsource_streams_every_build_then_stops_on_204(proof_script: Path) -> None:
    with SimulatorThread(SimConfig(seed=2, builds=12)) as sim:
        listing = httpx.get(f"{sim.develocity_url}/build-export/v2/builds/since/0", headers=AUTH)
        result = run_node(proof_script, f"{sim.develocity_url}/build-export/v2/builds/since/0")
        statuses = [r.status for r in sim.requests if r.path.endswith("/builds/since/0")]
    assert [build_id for _, build_id in result["received"]] == [
        m.id for m in parse_sse(listing.text)
    ]
    assert result["closedWith"] == 204
    assert statuses == [200, 200, 204]


def test_node_eventsource_resumes_a_builds_events_after_a_drop_then_stops_on_204(
    proof_script: Path,
) -> None:
    # The cut lands past the first kilobyte, so the first connection delivers some messages
    # whole and the second must resume after them.
    faults = FaultSpec(drop=1, rst=0, cut_after=1024)
    with SimulatorThread(SimConfig(seed=2, builds=12, faults=faults)) as sim:
        builds = httpx.get(f"{sim.develocity_url}/_sim/develocity/builds").json()
        build_id = next(
            b["buildId"] for b in builds if b["toolType"] == "gradle" and not b["eventCount"]
        )
        path = f"/build-export/v2/build/{build_id}/events"
        result = run_node(
            proof_script, f"{sim.develocity_url}{path}", f"{sim.develocity_url}/_sim/faults"
        )
        statuses = [r.status for r in sim.requests if r.path == path]
        sim.set_faults(FaultSpec())
        complete = parse_sse(httpx.get(f"{sim.develocity_url}{path}", headers=AUTH).text)
    first = [message_id for connection, message_id in result["received"] if connection == 1]
    second = [message_id for connection, message_id in result["received"] if connection == 2]
    assert 0 < len(first) < len(complete)
    assert first + second == [m.id for m in complete]
    assert result["closedWith"] == 204
    assert statuses == [200, 200, 204]
