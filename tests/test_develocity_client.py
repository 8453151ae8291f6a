"""The Develocity client against the simulator: what it delivers, and how it fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from loop_turns import LoopTurns
from sim_sse import AUTH, parse_sse

from buildwatch.core.backoff import Backoff, RetryNotice
from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient, plain_http_warning
from buildwatch.core.develocity.models import Build, BuildEvent, Message, SkippedMessage
from buildwatch.core.errors import AuthError, NotFoundError, ServerError
from buildwatch.core.secrets import Secret
from buildwatch.core.sse import PIECE_BYTES
from buildwatch.sim import FaultSpec, SimConfig, Simulator

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    simulator = Simulator(SimConfig(seed=5, builds=24, heartbeat_s=0.2, not_ready_s=0.5))
    await simulator.start()
    yield simulator
    await simulator.stop()


def connect(
    sim: Simulator,
    *,
    api_version: int = 2,
    token: str | None = "sim-token",
    username: str | None = None,
    password: str | None = None,
    on_retry: Callable[[RetryNotice], None] | None = None,
    on_connected: Callable[[], None] | None = None,
    idle_timeout_s: float = 5.0,
    backoff_s: float = 0.01,
) -> DevelocityClient:
    """A client of the simulator whose retries are quick."""
    connection = DevelocityConnection(
        sim.develocity_url,
        api_version=2 if api_version == 2 else 1,
        token=Secret(token) if token else None,
        username=username,
        password=Secret(password) if password else None,
    )
    return DevelocityClient(
        connection,
        idle_timeout_s=idle_timeout_s,
        backoff=lambda: Backoff(base_s=backoff_s, cap_s=backoff_s * 5),
        on_retry=on_retry,
        on_connected=on_connected,
    )


async def sim_builds(sim: Simulator) -> list[dict[str, Any]]:
    """The simulator's published builds, from its control endpoint."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{sim.develocity_url}/_sim/develocity/builds")
    builds: list[dict[str, Any]] = response.json()
    return builds


async def small_build(sim: Simulator, tool: str = "gradle") -> str:
    """A build of `tool` with a few hundred events."""
    builds = await sim_builds(sim)
    return str(next(b["buildId"] for b in builds if b["toolType"] == tool and not b["eventCount"]))


async def expected(sim: Simulator, path: str) -> list[tuple[str, str]]:
    """(id, data) of every message at `path`, read with plain httpx and the simulator's reader."""
    async with httpx.AsyncClient(base_url=sim.develocity_url, headers=AUTH) as http:
        response = await http.get(f"/build-export/v2/{path}")
    return [(message.id, message.data) for message in parse_sse(response.text)]


async def collect(messages: AsyncIterator[Message]) -> list[Message]:
    return [message async for message in messages]


def received(messages: list[Message]) -> list[tuple[str, str]]:
    return [(message.message_id, message.source.decode()) for message in messages]


def publish(sim: Simulator, count: int) -> list[str]:
    """Publish builds now; the ids of the Develocity ones (13 characters, unlike BuildBuddy's)."""
    return [build_id for build_id in sim.publish_builds(count) if len(build_id) == 13]


def client_sockets_to(sim: Simulator) -> int:
    """Established TCP connections to the simulator's port from a client (Linux /proc)."""
    port = f"{urlsplit(sim.develocity_url).port:04X}"
    established = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[2].endswith(f":{port}") and fields[3] == "01":
                established += 1
    return established


async def listing_in_flight(sim: Simulator) -> None:
    """Wait until the simulator is answering a build listing: the client is connected."""
    deadline = asyncio.get_running_loop().time() + 10
    while not any(
        "/builds/since/" in route and gauge.now for route, gauge in sim.ctx.in_flight.items()
    ):
        assert asyncio.get_running_loop().time() < deadline, "the client never connected"
        await asyncio.sleep(0.01)


def statuses(sim: Simulator, path_end: str) -> list[int]:
    return [r.status for r in sim.ctx.requests if r.path.endswith(path_end)]


async def test_the_listing_delivers_every_build_in_order_then_ends_on_204(sim: Simulator) -> None:
    async with connect(sim) as client:
        builds = await collect(client.builds(since=0))
    assert statuses(sim, "/builds/since/0") == [200, 204]
    assert received(builds) == await expected(sim, "builds/since/0")
    assert all(isinstance(build, Build) for build in builds)


async def test_the_listing_after_a_build_starts_with_the_next_one(sim: Simulator) -> None:
    ids = [b["buildId"] for b in await sim_builds(sim)]
    async with connect(sim) as client:
        builds = await collect(client.builds(since_build=ids[9]))
    assert [build.message_id for build in builds] == ids[10:]


async def test_the_v1_listing_has_gradle_and_maven_builds_naming_no_tool(sim: Simulator) -> None:
    listed = [b["buildId"] for b in await sim_builds(sim) if b["toolType"] in ("gradle", "maven")]
    async with connect(sim, api_version=1) as client:
        builds = [b for b in await collect(client.builds(since=0)) if isinstance(b, Build)]
    assert [build.build_id for build in builds] == listed
    assert all("gradleVersion" in build.raw and build.tool_version for build in builds)
    assert {build.tool_type for build in builds} == {None}


async def test_a_stream_delivers_builds_published_while_it_runs(sim: Simulator) -> None:
    async with connect(sim) as client:
        stream = client.builds(since="now", stream=True)
        first = asyncio.ensure_future(anext(stream))
        await listing_in_flight(sim)
        published = publish(sim, 3)
        seen = [await first, await anext(stream), await anext(stream)]
        await stream.aclose()
    assert [build.message_id for build in seen] == published


async def test_heartbeats_keep_an_idle_stream_on_one_connection(sim: Simulator) -> None:
    notices: list[RetryNotice] = []
    async with connect(sim, idle_timeout_s=1.0, on_retry=notices.append) as client:
        stream = client.builds(since="now", stream=True)
        waiting = asyncio.ensure_future(anext(stream))
        # The behaviour under test: a quiet stream outlives the idle timeout (heartbeats every
        # 0.2 s, idle timeout 1 s), so this wait is the test, not a wait for something to happen.
        await asyncio.sleep(2.5)
        publish(sim, 1)
        await waiting
        await stream.aclose()
    assert notices == []
    assert len(statuses(sim, "/builds/since/now")) == 1


async def test_a_silent_stall_is_detected_and_the_stream_resumed(sim: Simulator) -> None:
    build_id = await small_build(sim)
    notices: list[RetryNotice] = []

    def on_retry(notice: RetryNotice) -> None:
        notices.append(notice)
        sim.set_faults(FaultSpec())

    sim.set_faults(FaultSpec(stall=1.0, cut_within=2000))
    async with connect(sim, idle_timeout_s=0.5, on_retry=on_retry) as client:
        events = await collect(client.events(build_id))
    assert received(events) == await expected(sim, f"build/{build_id}/events")
    assert "idle timeout" in notices[0].cause


async def test_cancelling_a_stream_closes_its_connection_promptly(sim: Simulator) -> None:
    async with connect(sim) as client:

        async def consume() -> None:
            async for _ in client.builds(since="now", stream=True):
                pass

        task = asyncio.create_task(consume())
        await listing_in_flight(sim)
        assert client_sockets_to(sim) == 1
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done == {task}
        assert client_sockets_to(sim) == 0


async def test_builds_read_one_after_another_share_one_connection(sim: Simulator) -> None:
    gradle = [b["buildId"] for b in await sim_builds(sim) if b["toolType"] == "gradle"][:3]
    async with connect(sim) as client:
        for build_id in gradle:
            await collect(client.events(build_id, ["BuildStarted", "BuildFinished"]))
        # Each body is read to its end: the connection stays open for the next.
        assert client_sockets_to(sim) == 1
    # A build's events that arrived whole need no request for the 204 that would follow.
    assert statuses(sim, "/events") == [200] * 3


async def test_events_start_with_the_build_then_every_event_in_order(sim: Simulator) -> None:
    build_id = await small_build(sim)
    async with connect(sim) as client:
        messages = await collect(client.events(build_id))
    assert received(messages) == await expected(sim, f"build/{build_id}/events")
    assert isinstance(messages[0], Build) and messages[0].build_id == build_id
    assert all(isinstance(message, BuildEvent) for message in messages[1:])
    assert [message.message_id for message in messages[1:4]] == ["1", "2", "3"]


async def test_event_types_filter_the_events(sim: Simulator) -> None:
    build_id = await small_build(sim)
    async with connect(sim) as client:
        messages = await collect(client.events(build_id, ["BuildStarted", "BuildFinished"]))
    assert [m.event_type for m in messages if isinstance(m, BuildEvent)] == [
        "BuildStarted",
        "BuildFinished",
    ]


async def test_basic_auth_is_accepted(sim: Simulator) -> None:
    async with connect(sim, token=None, username="sim", password="sim-password") as client:
        await client.check_access()
        builds = await collect(client.builds(since=0))
    assert len(builds) == 24


async def test_check_access_passes_with_a_valid_token(sim: Simulator) -> None:
    async with connect(sim) as client:
        await client.check_access()


async def test_a_refused_token_stops_at_once_with_an_auth_error_naming_the_server(
    sim: Simulator,
) -> None:
    async with connect(sim, token="wrong-token-1234") as client:
        with pytest.raises(AuthError) as refused:
            await collect(client.builds(since=0))
    assert "127.0.0.1" in str(refused.value) and "401" in str(refused.value)
    assert "wrong-token" not in str(refused.value)
    assert len(sim.ctx.requests) <= 2


async def test_check_access_raises_an_auth_error_for_a_refused_token(sim: Simulator) -> None:
    async with connect(sim, token="wrong-token") as client:
        with pytest.raises(AuthError):
            await client.check_access()


async def test_an_unknown_build_is_not_found(sim: Simulator) -> None:
    async with connect(sim) as client:
        with pytest.raises(NotFoundError, match="build nosuchbuild00 not found"):
            await collect(client.events("nosuchbuild00"))
    assert statuses(sim, "/events") == [404]


async def test_a_bad_request_reports_the_servers_message(sim: Simulator) -> None:
    bazel = await small_build(sim, "bazel")
    async with connect(sim, api_version=1) as client:
        with pytest.raises(ServerError, match="not a Gradle or Maven build"):
            await collect(client.events(bazel))
    assert statuses(sim, "/events") == [400]


async def test_a_build_not_ready_yet_is_retried_until_it_is(sim: Simulator) -> None:
    (build_id,) = publish(sim, 1)
    notices: list[RetryNotice] = []
    async with connect(sim, on_retry=notices.append, backoff_s=0.1) as client:
        messages = await collect(client.events(build_id))
    assert received(messages) == await expected(sim, f"build/{build_id}/events")
    assert 503 in statuses(sim, "/events")
    assert all(notice.failures > 0 for notice in notices)


async def test_the_client_says_when_a_stream_opens_only_after_the_refusals_before_it(
    sim: Simulator,
) -> None:
    build_id = await small_build(sim)
    happened: list[str] = []
    sim.set_faults(FaultSpec(unavailable=1.0, burst=2))
    async with connect(
        sim,
        on_retry=lambda notice: happened.append("retry"),
        on_connected=lambda: happened.append("connected"),
    ) as client:
        await collect(client.events(build_id))
    assert happened[:3] == ["retry", "retry", "connected"]


async def test_bursts_of_503_are_retried_without_losing_or_repeating_a_build(
    sim: Simulator,
) -> None:
    sim.set_faults(FaultSpec(unavailable=0.5, burst=3, drop=0.3, cut_within=3000))
    async with connect(sim) as client:
        builds = await collect(client.builds(since=0))
    sim.set_faults(FaultSpec())
    assert 503 in statuses(sim, "/builds/since/0")
    assert received(builds) == await expected(sim, "builds/since/0")


async def test_malformed_json_in_one_event_is_reported_and_the_stream_goes_on(
    sim: Simulator,
) -> None:
    build_id = await small_build(sim)
    truth = await expected(sim, f"build/{build_id}/events")
    sim.set_faults(FaultSpec(bad_json=0.02))
    async with connect(sim) as client:
        messages = await collect(client.events(build_id))
    skipped = [m for m in messages if isinstance(m, SkippedMessage)]
    assert skipped and all("malformed JSON" in m.reason for m in skipped)
    assert [m.message_id for m in messages] == [message_id for message_id, _ in truth]


async def test_unknown_event_types_and_fields_are_carried_whole() -> None:
    simulator = Simulator(SimConfig(seed=6, builds=3, faults=FaultSpec(unknown=1.0)))
    await simulator.start()
    try:
        build_id = await small_build(simulator)
        async with connect(simulator) as client:
            messages = await collect(client.events(build_id))
        truth = await expected(simulator, f"build/{build_id}/events")
    finally:
        await simulator.stop()
    events = [m for m in messages if isinstance(m, BuildEvent)]
    snapshots = [e for e in events if e.event_type == "ResourceUsageSnapshot"]
    assert snapshots and snapshots[0].data["processes"] == [{"pid": 4242, "kind": "GRADLE_DAEMON"}]
    assert any("buildInsightsTraceId" in e.data for e in events)
    assert received(messages) == truth


def test_credentials_over_plain_http_to_another_host_are_warned_about() -> None:
    remote = DevelocityConnection("http://develocity.example.com", token=Secret("t"))
    assert "develocity.example.com" in (plain_http_warning(remote) or "")


@pytest.mark.parametrize(
    "url",
    ["https://develocity.example.com", "http://127.0.0.1:8080", "http://localhost", "http://[::1]"],
)
def test_https_or_loopback_needs_no_warning(url: str) -> None:
    assert plain_http_warning(DevelocityConnection(url, token=Secret("t"))) is None


def test_no_credentials_need_no_warning() -> None:
    assert plain_http_warning(DevelocityConnection("http://develocity.example.com")) is None


async def test_a_big_chunk_is_delivered_in_pieces_with_a_loop_turn_between_them() -> None:
    # 3,000 builds make a gzip body whose reads inflate to chunks several pieces long.
    big = Simulator(SimConfig(seed=5, builds=3_000))
    await big.start()
    turns = LoopTurns(asyncio.get_running_loop())
    try:
        async with connect(big) as client:
            batches = [(turns.count, batch) async for batch in client.build_batches(since=0)]
        body = await expected(big, "builds/since/0")
    finally:
        turns.stop()
        await big.stop()
    assert [message for _, batch in batches for message in received(batch)] == body
    body_bytes = sum(len(f"id: {id}\nevent: Build\ndata: {data}\n\n") for id, data in body)
    assert len(batches) > body_bytes // PIECE_BYTES
    assert all(before < after for (before, _), (after, _) in pairwise(batches))
