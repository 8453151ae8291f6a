"""Outages, restarts and wrong addresses: the Develocity client and the monitor never give up on
a server that may come back, and say at once when the address itself looks wrong."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from ports import free_port

from buildwatch.core.backoff import Backoff, RetryNotice
from buildwatch.core.config import Profile, UiPreferences
from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.models import Build, Message
from buildwatch.core.errors import NotFoundError, ServerError
from buildwatch.core.monitor.session import MonitorSession, MonitorSettings
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.reachability import CONFIGURATION_HINT
from buildwatch.core.secrets import Secret
from buildwatch.sim import FaultSpec, SimConfig, Simulator, SimulatorThread
from buildwatch.sim.context import GATEWAY_STATUSES

pytestmark = pytest.mark.timeout(60)

QUICK = Profile(ui=UiPreferences(retry_max_seconds=0.5))
"""A profile whose reconnections come at most half a second apart."""



def connection_to(url: str) -> DevelocityConnection:
    return DevelocityConnection(url, token=Secret("sim-token"))


def client_of(
    url: str,
    notices: list[RetryNotice] | None = None,
    *,
    max_failures: int | None = 10,
) -> DevelocityClient:
    """A client of `url` whose retries are quick."""
    return DevelocityClient(
        connection_to(url),
        max_failures=max_failures,
        backoff=lambda: Backoff(base_s=0.01, cap_s=0.05),
        on_retry=notices.append if notices is not None else None,
    )


async def started(config: SimConfig, port: int) -> Simulator:
    simulator = Simulator(config)
    await simulator.start("127.0.0.1", port)
    return simulator


async def until(condition: Callable[[], bool], what: Callable[[], object], timeout: float = 30) -> None:
    """Wait for `condition`; on timeout, fail showing `what()`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition never became true; last: {what()}")
        await asyncio.sleep(0.02)


def ids(messages: list[Message]) -> list[str]:
    return [message.build_id for message in messages if isinstance(message, Build)]


@contextlib.asynccontextmanager
async def collecting(listing: AsyncIterator[list[Message]]) -> AsyncIterator[list[Message]]:
    """Collect a listing's messages in the background while the block runs."""
    got: list[Message] = []

    async def collect() -> None:
        async for batch in listing:
            got.extend(batch)

    task = asyncio.create_task(collect())
    try:
        yield got
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# --- Every 5xx is retried ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [507, 520, 521, 522, 523, 524, 530, 599])
async def test_any_5xx_with_an_html_page_is_retried(status: int) -> None:
    answers = [status]

    async def handler(_: web.Request) -> web.StreamResponse:
        if answers:
            answers.pop()
            return web.Response(status=status, text="<html>origin down</html>",
                                content_type="text/html")
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    notices: list[RetryNotice] = []
    try:
        async with client_of(f"http://127.0.0.1:{port}", notices) as client:
            assert [m async for m in client.builds(since=0)] == []
    finally:
        await runner.cleanup()
    assert [notice.cause for notice in notices] == [
        f"127.0.0.1:{port} answered {status} (an HTML error page)"
    ]


async def test_proxy_error_pages_lose_and_repeat_nothing_in_the_listing_or_the_events() -> None:
    sim = await started(SimConfig(seed=4, builds=6, not_ready_s=0.0), 0)
    try:
        async with client_of(sim.develocity_url) as client:
            truth = [m.message_id async for m in client.builds(since=0)]
            build_id = truth[0]
            events = [m.message_id async for m in client.events(build_id)]
            sim.set_faults(FaultSpec(gateway=0.7, burst=3))
            listed = [m.message_id async for m in client.builds(since=0)]
            evented = [m.message_id async for m in client.events(build_id)]
        refused = {r.status for r in sim.ctx.requests if r.status >= 500}
    finally:
        await sim.stop()
    assert (listed, evented) == (truth, events)
    assert refused and refused <= set(GATEWAY_STATUSES)


# --- An outage of any length ----------------------------------------------------------------


async def test_a_finite_listing_without_a_failure_limit_outlasts_ten_failures() -> None:
    port = free_port()
    notices: list[RetryNotice] = []
    async with client_of(f"http://127.0.0.1:{port}", notices, max_failures=None) as client:
        replay = asyncio.create_task(listed_ids(client.builds(since=0)))
        await until(lambda: len(notices) > 12 or replay.done(), lambda: notices[-1:])
        assert not replay.done(), replay.exception()
        sim = await started(SimConfig(seed=4, builds=6), port)
        try:
            listed = await asyncio.wait_for(replay, 20)
            assert listed == await published(sim)
        finally:
            await sim.stop()


async def listed_ids(messages: AsyncIterator[Message]) -> list[str]:
    return [message.message_id async for message in messages]


async def published(sim: Simulator) -> list[str]:
    """The ids of the builds the simulator has published, in order."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{sim.develocity_url}/_sim/develocity/builds")
    return [build["buildId"] for build in response.json()]


async def test_the_monitor_resumes_from_its_history_after_an_outage_of_any_length(
    tmp_path: Path,
) -> None:
    port = free_port()
    history = tmp_path / "history.sqlite"
    settings = MonitorSettings(
        QUICK, develocity=connection_to(f"http://127.0.0.1:{port}"), history=history
    )
    sim = await started(SimConfig(seed=9, builds=8), port)
    first = MonitorStore()
    await run_monitor(settings, first, lambda: len(first.builds) == 8)
    before = await published(sim)
    await sim.stop()

    store = MonitorStore()
    session = MonitorSession(settings, store)
    assert await session.open_history() == []
    task = asyncio.create_task(session.run_develocity())
    try:
        status = store.develocity
        await until(lambda: status.state == "reconnecting" and status.attempt > 10, lambda: status)
        # Back, with four builds published while it was down (the first eight are the same).
        sim = await started(SimConfig(seed=9, builds=12), port)
        after = await published(sim)
        await until(lambda: status.state == "live" and len(store.builds) == 12, lambda: status)
    finally:
        await stop(task)
        session.close_history()
        await session.aclose()
        await sim.stop()
    assert after[:8] == before
    assert sorted(store.builds) == sorted(after)
    assert status.count == 12
    resumed = [r.path for r in sim.ctx.requests if "/sinceBuild/" in r.path]
    assert resumed[0].endswith(f"/sinceBuild/{before[-1]}")


async def run_monitor(
    settings: MonitorSettings, store: MonitorStore, done: Callable[[], bool]
) -> None:
    """Run the Develocity side of a monitor until `done()`, then close it as the app does."""
    session = MonitorSession(settings, store)
    await session.open_history()
    task = asyncio.create_task(session.run_develocity())
    try:
        await until(done, lambda: store.develocity)
    finally:
        await stop(task)
        session.close_history()
        await session.aclose()


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# --- A server that lost the resume point ---------------------------------------------------


async def test_a_followed_listing_whose_last_event_id_is_rejected_lists_again_by_time() -> None:
    port = free_port()
    sim = await started(SimConfig(seed=3, builds=5), port)
    first = await published(sim)
    notices: list[RetryNotice] = []
    client = client_of(sim.develocity_url, notices)
    async with client, collecting(client.build_batches(since=0, stream=True)) as got:
        await until(lambda: len(got) == 5, lambda: ids(got))
        await sim.stop()
        # Another server on the same address, which never heard of those builds.
        sim = await started(SimConfig(seed=4, builds=0), port)
        later = sim.publish_builds(2)[:2]
        await until(lambda: len(got) == 7, lambda: ids(got))
    await sim.stop()
    assert ids(got) == first + later
    statuses = [(r.status, r.path.rsplit("/", 2)[-2]) for r in sim.ctx.requests]
    assert statuses[:2] == [(400, "since"), (200, "since")]
    assert "no longer knows where the listing stopped (400); listing again from" in (
        notices[-1].cause
    )


async def test_a_listing_after_a_build_the_restarted_server_never_had_lists_again_by_time() -> None:
    port = free_port()
    sim = await started(SimConfig(seed=3, builds=5), port)
    first = await published(sim)
    async with client_of(sim.develocity_url) as client:
        listing = client.build_batches(since_build=first[1], stream=True)
        async with collecting(listing) as got:
            await until(lambda: len(got) == 3, lambda: ids(got))
            await sim.stop()
            sim = await started(SimConfig(seed=4, builds=0), port)
            later = sim.publish_builds(1)[:1]
            await until(lambda: len(got) == 4, lambda: ids(got))
    await sim.stop()
    assert ids(got) == first[2:] + later
    assert [r.status for r in sim.ctx.requests][:2] == [404, 200]


async def test_an_unknown_build_to_start_after_without_a_time_to_fall_back_to_is_not_found() -> None:
    sim = await started(SimConfig(seed=3, builds=5), 0)
    try:
        async with client_of(sim.develocity_url) as client:
            with pytest.raises(NotFoundError, match="build zzzzzzzzzzzzz not found"):
                await listed_ids(client.builds(since_build="zzzzzzzzzzzzz"))
    finally:
        await sim.stop()


# --- A wrong address ------------------------------------------------------------------------


async def test_https_to_a_plain_http_port_fails_at_once_with_advice() -> None:
    sim = await started(SimConfig(seed=3, builds=1), 0)
    url = sim.develocity_url.replace("http://", "https://")
    notices: list[RetryNotice] = []
    try:
        async with client_of(url, notices) as client:
            with pytest.raises(ServerError, match=r"does not speak TLS: is it an http:// server"):
                await listed_ids(client.builds(since=0))
    finally:
        await sim.stop()
    assert notices == []


async def test_a_host_name_that_does_not_exist_fails_at_once_with_advice() -> None:
    notices: list[RetryNotice] = []
    async with client_of("http://develocity.invalid", notices) as client:
        with pytest.raises(ServerError, match=r"no such host develocity\.invalid: is the host"):
            await listed_ids(client.builds(since=0))
    assert notices == []


async def test_the_monitor_keeps_trying_a_wrong_address_and_says_it_looks_misconfigured() -> None:
    sim = await started(SimConfig(seed=3, builds=1), 0)
    url = sim.develocity_url.replace("http://", "https://")
    store = MonitorStore()
    session = MonitorSession(MonitorSettings(QUICK, develocity=connection_to(url)), store)
    task = asyncio.create_task(session.run_develocity())
    status = store.develocity
    try:
        await until(lambda: status.attempt > 3, lambda: status)
        assert not task.done()
    finally:
        await stop(task)
        await session.aclose()
        await sim.stop()
    assert status.state == "reconnecting"
    assert status.detail.startswith(f"{CONFIGURATION_HINT}: ")
    assert "does not speak TLS" in status.detail


def test_tail_follow_given_https_for_a_plain_http_server_stops_at_once_with_one_line() -> None:
    with SimulatorThread(SimConfig(seed=3, builds=1)) as sim:
        result = subprocess.run(
            [sys.executable, "-m", "buildwatch", "tail", "--follow", "--since", "0"],
            env={
                **os.environ,
                "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url.replace("http://", "https://"),
                "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token",
            },
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == ServerError.exit_code
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "does not speak TLS: is it an http:// server (the URL says https://)?" in line


async def test_the_monitor_lists_again_by_time_when_a_restarted_server_lost_its_position() -> None:
    port = free_port()
    sim = await started(SimConfig(seed=3, builds=5), port)
    first = await published(sim)
    store = MonitorStore()
    settings = MonitorSettings(QUICK, since=0, develocity=connection_to(sim.develocity_url))
    session = MonitorSession(settings, store)
    task = asyncio.create_task(session.run_develocity())
    status = store.develocity
    try:
        await until(lambda: len(store.builds) == 5, lambda: status)
        await sim.stop()
        await until(lambda: status.state == "reconnecting", lambda: status)
        sim = await started(SimConfig(seed=4, builds=0), port)
        later = sim.publish_builds(2)[:2]
        await until(lambda: len(store.builds) == 7 and status.state == "live", lambda: status)
    finally:
        await stop(task)
        await session.aclose()
        await sim.stop()
    assert sorted(store.builds) == sorted(first + later)
    assert 400 in [r.status for r in sim.ctx.requests]


def test_tail_follow_lists_again_by_time_when_a_restarted_server_lost_its_position() -> None:
    port = free_port()
    first_server = SimulatorThread(SimConfig(seed=3, builds=3), port=port)
    first_server.start()
    process = subprocess.Popen(
        [sys.executable, "-m", "buildwatch", "tail", "--since", "0", "--follow", "--json"],
        env={
            **os.environ,
            "BUILDWATCH_DEVELOCITY_URL": f"http://127.0.0.1:{port}",
            "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        before = [json.loads(process.stdout.readline())["buildId"] for _ in range(3)]
        first_server.stop()
        with SimulatorThread(SimConfig(seed=4, builds=0), port=port) as second_server:
            later = second_server.publish_builds(2)[:2]
            after = [json.loads(process.stdout.readline())["buildId"] for _ in range(2)]
            rejected = [r.status for r in second_server.requests if r.status == 400]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        first_server.stop()
    assert len(set(before)) == 3
    assert after == later
    assert rejected


async def test_a_build_whose_events_are_unavailable_for_ten_rounds_is_still_summarised() -> None:
    sim = await started(SimConfig(seed=3, builds=0, not_ready_s=8.0), 0)
    store = MonitorStore()
    settings = MonitorSettings(QUICK, since=0, develocity=connection_to(sim.develocity_url))
    session = MonitorSession(settings, store)
    task = asyncio.create_task(session.run_develocity())
    try:
        await until(lambda: store.develocity.state == "live", lambda: store.develocity)
        (build_id,) = sim.publish_builds(1)[:1]
        await until(lambda: build_id in store.builds, lambda: store.develocity)
        # Tried again after each short try (`retrying`), never marked unreadable for good.
        await until(
            lambda: store.builds[build_id].summary is not None
            or (store.builds[build_id].problem is not None and not store.builds[build_id].retrying),
            lambda: store.builds[build_id],
        )
        entry = store.builds[build_id]
        refused = [r.status for r in sim.ctx.requests if r.path.endswith("/events")]
    finally:
        await stop(task)
        await session.aclose()
        await sim.stop()
    assert entry.problem is None and entry.summary is not None
    assert refused.count(503) > 10
