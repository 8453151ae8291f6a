"""The simulated Develocity server's `eventTypes` filter: a build asked for with a filter first
(so the server makes only the events asked for, not the whole build) answers what the whole
build's answer holds of those types, with the same ids, in the same order."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sim_sse import AUTH, Message, parse_sse

from buildwatch.sim import SimConfig, SimulatorThread
from buildwatch.sim.config import FaultSpec

pytestmark = pytest.mark.timeout(60)

SUMMARY_TYPES = {
    "gradle": "BuildStarted,BuildFinished,BuildAgent,UserTag,UserNamedValue,ExceptionData",
    "maven": "MvnBuildStarted,MvnBuildFinished,MvnUserTag,MvnExceptionData",
    "bazel": "BzlBuildStarted,BzlBuildFinished,BzlBuildMetadataItem,BzlExceptionData",
    "npm": "NpmBuildStarted,NpmBuildFinished,NpmUserTag,NpmFailure",
}
"""A few event types of each tool that a summary asks for."""
BULK_TYPES = "TaskFinished,TestFinished,OutputStyledTextEvent,ResourceUsageSnapshot"
"""Types that make up most of a build, a big build's verbose output among them."""
# Seeds whose first 7 builds (the 8th would be a 210,000-event one) come from all four tools;
# a 40,000-event build (most of it verbose output) follows them.
CONFIGS = {
    "plain": SimConfig(seed=9, builds=7, huge_build_events=40_000),
    # Every build carries unknown event types among its events.
    "exotic": SimConfig(seed=13, builds=7, huge_build_events=40_000, faults=FaultSpec(unknown=1.0)),
}


@pytest.fixture(params=list(CONFIGS))
def client(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    with (
        SimulatorThread(CONFIGS[request.param]) as sim,
        httpx.Client(base_url=sim.develocity_url, headers=AUTH, timeout=30) as http,
    ):
        yield http


def builds(client: httpx.Client) -> list[dict[str, Any]]:
    overview: list[dict[str, Any]] = client.get("/_sim/develocity/builds").json()
    return overview


def requests_of(build: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, event types) to ask for `build`: both API versions where v1 serves it, each with
    its tool's summary types, Gradle's (no events for another tool on v1), and the bulk types."""
    versions = (1, 2) if build["toolType"] in ("gradle", "maven") else (2,)
    filters = dict.fromkeys((SUMMARY_TYPES[build["toolType"]], SUMMARY_TYPES["gradle"], BULK_TYPES))
    return [
        (f"/build-export/v{version}/build/{build['buildId']}/events", types)
        for version in versions
        for types in filters
    ]


def messages(client: httpx.Client, path: str, **params: str) -> list[Message]:
    response = client.get(path, params=params)
    assert response.status_code == 200
    return parse_sse(response.text)


def event_type(message: Message) -> str:
    event: dict[str, Any] = json.loads(message.data)
    return str(event["type"]["eventType"])


def test_a_filtered_answer_is_the_whole_answer_filtered(client: httpx.Client) -> None:
    asked = [request for build in builds(client) for request in requests_of(build)]
    filtered = {(path, types): messages(client, path, eventTypes=types) for path, types in asked}
    wholes = {path: messages(client, path) for path, _ in asked}
    for (path, types), answer in filtered.items():
        build_message, *events = wholes[path]
        wanted = set(types.split(","))
        assert answer == [build_message, *(m for m in events if event_type(m) in wanted)], path
    assert {b["toolType"] for b in builds(client)} == set(SUMMARY_TYPES)
    assert any(len(answer) > 1 for answer in filtered.values())


def test_a_filtered_answer_resumes_after_the_last_event_id_before_the_whole_build_is_read(
    client: httpx.Client,
) -> None:
    huge = next(b for b in builds(client) if (b["eventCount"] or 0) >= 40_000)
    path = f"/build-export/v2/build/{huge['buildId']}/events"
    types = SUMMARY_TYPES["gradle"]
    answer = messages(client, path, eventTypes=types)
    resumed = client.get(path, params={"eventTypes": types}, headers={"Last-Event-ID": answer[2].id})
    assert resumed.status_code == 200
    assert parse_sse(resumed.text) == answer[3:]
