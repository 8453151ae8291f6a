"""Every simulated BuildBuddy response is a valid api.v1 message in canonical protojson form.

The messages come from `tests/proto/buildbuddy_api.proto`, compiled with grpcio-tools at test
time. A response must parse strictly (an unknown field fails) and re-encode to exactly the same
JSON, which holds only if names are lowerCamelCase, int64 values strings, enums names and zero
values absent, as Go's protojson writes them.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from grpc_tools import protoc

from buildwatch.sim.buildbuddy_invocations import (
    BENCHMARK_INVOCATION_ID,
    EVERY_STATUS_INVOCATION_ID,
    plan_invocations,
)
from buildwatch.sim.config import SimConfig
from buildwatch.sim.server import SimulatorThread
from buildwatch.sim.world import World

pytestmark = pytest.mark.timeout(60)

PROTO = Path(__file__).parent / "proto" / "buildbuddy_api.proto"
SEED = 11
PLANS = plan_invocations(World(SEED), 0)


@pytest.fixture(scope="module")
def messages(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The generated Python module of the proto."""
    out = tmp_path_factory.mktemp("proto")
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    status = protoc.main(
        ["protoc", f"-I{PROTO.parent}", f"-I{well_known}", f"--python_out={out}", PROTO.name]
    )
    assert status == 0
    spec = importlib.util.spec_from_file_location(
        "buildbuddy_api_pb2", out / "buildbuddy_api_pb2.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    """A client of a running simulator's BuildBuddy API."""
    with (
        SimulatorThread(SimConfig(seed=SEED)) as thread,
        httpx.Client(
            base_url=thread.buildbuddy_url,
            timeout=30,
            headers={"x-buildbuddy-api-key": SimConfig().api_key},
        ) as api,
    ):
        yield api


def assert_canonical(messages: ModuleType, message_name: str, text: str) -> None:
    """`text` parses strictly as `message_name` and is exactly what protojson would write."""
    parsed = json_format.Parse(text, getattr(messages, message_name)())
    assert json_format.MessageToDict(parsed) == json.loads(text)


def responses(client: httpx.Client, method: str, bodies: list[dict[str, Any]]) -> Iterator[str]:
    for body in bodies:
        response = client.post(f"/api/v1/{method}", json=body)
        assert response.status_code == 200, response.text
        yield response.text


def interesting_invocations() -> list[str]:
    """One invocation of each role and outcome, plus the special ones."""
    chosen = {(p.role, p.exit_code, p.uploads): p.invocation_id for p in PLANS}
    recent = {c.sha for c in World(SEED).commits[-3:]}
    live = [p.invocation_id for p in PLANS if p.commit.sha in recent]
    return [*chosen.values(), *live, EVERY_STATUS_INVOCATION_ID, BENCHMARK_INVOCATION_ID]


def test_get_invocation_responses_are_canonical(messages: ModuleType, client: httpx.Client) -> None:
    bodies: list[dict[str, Any]] = [
        {
            "selector": {"invocation_id": i},
            "include_metadata": True,
            "include_artifacts": True,
            "include_child_invocations": True,
        }
        for i in interesting_invocations()
    ]
    bodies += [{"selector": {"commit_sha": c.sha}} for c in World(SEED).commits[::7]]
    bodies.append({"selector": {"invocation_id": "no-such-invocation"}})
    for text in responses(client, "GetInvocation", bodies):
        assert_canonical(messages, "GetInvocationResponse", text)


def test_get_target_responses_are_canonical(messages: ModuleType, client: httpx.Client) -> None:
    bodies = [{"selector": {"invocation_id": i}} for i in interesting_invocations()]
    for text in responses(client, "GetTarget", bodies):
        assert_canonical(messages, "GetTargetResponse", text)


def test_get_action_responses_are_canonical(messages: ModuleType, client: httpx.Client) -> None:
    bodies = [{"selector": {"invocation_id": i}} for i in interesting_invocations()]
    for text in responses(client, "GetAction", bodies):
        assert_canonical(messages, "GetActionResponse", text)


def test_get_log_responses_are_canonical(messages: ModuleType, client: httpx.Client) -> None:
    bodies = [
        {"selector": {"invocation_id": i}, "page_token": token}
        for i in interesting_invocations()
        for token in ("", "0000", "0001", "0fff")
    ]
    for text in responses(client, "GetLog", bodies):
        assert_canonical(messages, "GetLogResponse", text)


def test_delete_file_responses_are_canonical(messages: ModuleType, client: httpx.Client) -> None:
    body = {"uri": "blobs/" + "3" * 64 + "/9"}
    for text in responses(client, "DeleteFile", [body]):
        assert_canonical(messages, "DeleteFileResponse", text)


def test_the_strict_check_rejects_a_field_the_api_does_not_have(messages: ModuleType) -> None:
    with pytest.raises(json_format.ParseError):
        assert_canonical(messages, "GetLogResponse", '{"log": {"contents": "x", "lines": 3}}')


def test_the_strict_check_rejects_a_non_canonical_encoding(messages: ModuleType) -> None:
    with pytest.raises(AssertionError):
        assert_canonical(messages, "GetActionResponse", '{"action": [{"shard": 2}]}')
