"""The feeds against the simulator: listing plus enrichment, and the BuildBuddy poller."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Coroutine, Iterator
from typing import Any

import pytest

from buildwatch.core.backoff import Backoff
from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.config import Profile, UiPreferences
from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.models import Message
from buildwatch.core.monitor.feeds import (
    BuildBuddyPoller,
    DevelocityFeed,
    connected_reporter,
    retry_reporter,
)
from buildwatch.core.monitor.pacing import Backlog, InputGate
from buildwatch.core.monitor.session import MonitorSession, MonitorSettings
from buildwatch.core.monitor.store import MonitorStore, SourceName
from buildwatch.core.reachability import CONFIGURATION_HINT
from buildwatch.core.secrets import Secret
from buildwatch.sim import FaultSpec, SimConfig, SimulatorThread
from buildwatch.sim.world import World

pytestmark = pytest.mark.timeout(60)


def fast_backoff() -> Backoff:
    return Backoff(base_s=0.05, cap_s=0.2)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(builds=12, not_ready_s=0.0)) as running:
        yield running


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition never became true")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(job: Coroutine[Any, Any, None]) -> Any:
    task = asyncio.create_task(job)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def develocity(sim: SimulatorThread, store: MonitorStore, token: str = "sim-token") -> DevelocityFeed:
    connection = DevelocityConnection(base_url=sim.develocity_url, token=Secret(token))
    listing = DevelocityClient(connection, backoff=fast_backoff, on_retry=retry_reporter(store))
    events = DevelocityClient(connection, backoff=fast_backoff)
    return DevelocityFeed(listing, events, store, since=0, concurrency=3)


class CountingEvents(DevelocityClient):
    """A real client that counts the event reads it has open at once."""

    open_reads = 0
    most_open = 0

    async def event_batches(  # type: ignore[override]
        self, *args: Any, **kwargs: Any
    ) -> AsyncGenerator[list[Message], None]:
        self.open_reads += 1
        self.most_open = max(self.most_open, self.open_reads)
        try:
            async for batch in super().event_batches(*args, **kwargs):
                yield batch
        finally:
            self.open_reads -= 1


async def most_summary_reads_at_once(sim: SimulatorThread, backlog: Backlog) -> int:
    """Run a feed of three readers until all 12 builds are summarised; the most event reads
    it had open at once."""
    store = MonitorStore()
    connection = DevelocityConnection(base_url=sim.develocity_url, token=Secret("sim-token"))
    events = CountingEvents(connection, backoff=fast_backoff)
    feed = DevelocityFeed(DevelocityClient(connection, backoff=fast_backoff), events, store,
                          since=0, concurrency=3, backlog=backlog)
    async with running(feed.run()):
        await until(lambda: len(store.builds) == 12
                    and all(entry.summary for entry in store.builds.values()))
    return events.most_open


async def test_while_the_screen_is_behind_by_a_backlog_one_build_is_summarised_at_a_time(
    sim: SimulatorThread,
) -> None:
    behind = Backlog(threshold=1_000)
    behind.waiting(50_000)
    assert await most_summary_reads_at_once(sim, behind) == 1


async def test_without_a_backlog_every_reader_summarises(sim: SimulatorThread) -> None:
    assert await most_summary_reads_at_once(sim, Backlog()) == 3


def buildbuddy(sim: SimulatorThread, key: str = "sim-api-key") -> BuildBuddyClient:
    connection = BuildBuddyConnection(base_url=sim.buildbuddy_url, api_key=Secret(key))
    return BuildBuddyClient(connection, max_attempts=1)


async def test_the_feed_lists_every_build_and_summarises_each(sim: SimulatorThread) -> None:
    store = MonitorStore()
    async with running(develocity(sim, store).run()):
        await until(lambda: len(store.builds) == 12
                    and all(entry.summary for entry in store.builds.values()))
    assert store.develocity.state == "live"
    assert {entry.summary.outcome for entry in store.builds.values() if entry.summary} <= {
        "success", "failed", "unknown"}


async def test_builds_published_later_arrive_live(sim: SimulatorThread) -> None:
    store = MonitorStore()
    async with running(develocity(sim, store).run()):
        await until(lambda: len(store.builds) == 12)
        sim.publish_builds(2)
        await until(lambda: len(store.builds) == 14)


async def test_a_refused_token_marks_develocity_auth_failed(sim: SimulatorThread) -> None:
    store = MonitorStore()
    await asyncio.wait_for(develocity(sim, store, token="wrong").run(), 20)
    assert store.develocity.state == "auth_failed"
    assert "401" in store.develocity.detail
    assert "wrong" not in store.develocity.detail


async def test_the_poller_reads_the_watched_commits_invocations(sim: SimulatorThread) -> None:
    store = MonitorStore()
    async with running(develocity(sim, store).run()):
        await until(lambda: bool(store.watched_commits()))
    async with buildbuddy(sim) as client, running(
        BuildBuddyPoller(client, store, interval_s=0.2).run()
    ):
        await until(lambda: len(store.invocations) > 0)
        assert store.buildbuddy.state == "live"
    watched = set(store.watched_commits())
    assert all(item.commit_sha in watched for item in store.invocations.values())


async def test_a_refused_api_key_stops_the_poller_as_auth_failed(sim: SimulatorThread) -> None:
    store = MonitorStore()
    store.watch("4f2a9c1", "you")
    async with buildbuddy(sim, key="wrong") as client:
        await asyncio.wait_for(BuildBuddyPoller(client, store, interval_s=0.2).run(), 20)
    assert store.buildbuddy.state == "auth_failed"


async def test_throttling_backs_off_no_sooner_than_retry_after(sim: SimulatorThread) -> None:
    store = MonitorStore()
    store.watch("4f2a9c1", "you")
    sim.set_faults(FaultSpec(throttle=1.0, burst=2))
    async with buildbuddy(sim) as client, running(
        BuildBuddyPoller(client, store, interval_s=0.2, backoff=fast_backoff).run()
    ):
        await until(lambda: store.buildbuddy.state == "reconnecting")
        status = store.buildbuddy
        assert status.retry_at is not None
        # The simulator's proxy answers Retry-After: 1; the fast backoff alone would wait 0.2 s.
        assert status.retry_at - store.clock() > 0.5
        sim.set_faults(FaultSpec())
        await until(lambda: store.buildbuddy.state == "live")


class RetryRecordingStore(MonitorStore):
    """A store that remembers each failed attempt a feed reports to it."""

    def __init__(self) -> None:
        super().__init__()
        self.retries: list[str] = []

    def retrying(self, source: SourceName, cause: str, delay_s: float, attempt: int) -> None:
        self.retries.append(f"{source}: {cause}")
        super().retrying(source, cause, delay_s, attempt)


def refused_invocation_polls(sim: SimulatorThread) -> int:
    return sum(1 for record in sim.requests
               if record.path == "/api/v1/GetInvocation" and record.status != 200)


async def test_the_poller_stays_live_while_invocations_keep_arriving_under_unavailability(
    sim: SimulatorThread,
) -> None:
    store = RetryRecordingStore()
    for commit in World(SimConfig().seed).commits[:20]:
        store.watch(commit.sha, "you")
    sim.set_faults(FaultSpec(unavailable=0.1))
    async with buildbuddy(sim) as client, running(
        BuildBuddyPoller(client, store, interval_s=0.05, backoff=fast_backoff).run()
    ):
        await until(lambda: refused_invocation_polls(sim) >= 10)
    assert store.retries == []
    assert store.buildbuddy.state == "live"
    assert store.buildbuddy.attempt == 0


async def test_the_poller_shows_reconnecting_when_no_commit_answers(sim: SimulatorThread) -> None:
    store = RetryRecordingStore()
    store.watch(World(SimConfig().seed).commits[0].sha, "you")
    sim.set_faults(FaultSpec(unavailable=1.0, burst=50))
    async with buildbuddy(sim) as client, running(
        BuildBuddyPoller(client, store, interval_s=0.05, backoff=fast_backoff).run()
    ):
        await until(lambda: store.buildbuddy.attempt >= 3)
        assert store.buildbuddy.state == "reconnecting" and not store.invocations
        # Each poll is one try: the cause reads as the server's, with no "gave up after 1 tries".
        assert "Unavailable" in store.buildbuddy.detail and "gave up" not in store.buildbuddy.detail


class HandClock:
    """A clock that moves only when told, counting how often it is read."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


async def test_the_poller_asks_nothing_while_its_input_gate_is_closed(
    sim: SimulatorThread,
) -> None:
    store = MonitorStore()
    store.watch(World(SimConfig().seed).commits[0].sha, "you")
    clock = HandClock()
    gate = InputGate(clock=clock)
    gate.close_for(0.05)
    async with buildbuddy(sim) as client, running(
        BuildBuddyPoller(client, store, interval_s=0.2, input_gate=gate).run()
    ):
        await until(lambda: clock.reads >= 5)  # the poller has found the gate closed, again
        assert not [record for record in sim.requests if record.path.startswith("/api/v1/")]
        clock.now += 1.0
        await until(lambda: len(store.invocations) > 0)


async def test_waking_the_poller_polls_a_new_commit_at_once(sim: SimulatorThread) -> None:
    store = MonitorStore()
    async with running(develocity(sim, store).run()):
        await until(lambda: bool(store.watched_commits()))
    commit = store.watched_commits()[0]
    empty = MonitorStore()
    async with buildbuddy(sim) as client:
        poller = BuildBuddyPoller(client, empty, interval_s=600)
        async with running(poller.run()):
            await until(lambda: empty.buildbuddy.state == "live")
            empty.watch(commit, "you")
            poller.wake()
            await until(lambda: len(empty.invocations) > 0, timeout=10)


async def test_a_stream_that_opens_after_refusals_shows_live_with_nothing_new_to_list(
    sim: SimulatorThread,
) -> None:
    store = MonitorStore()
    connection = DevelocityConnection(base_url=sim.develocity_url, token=Secret("sim-token"))
    listing = DevelocityClient(connection, backoff=fast_backoff, on_retry=retry_reporter(store),
                               on_connected=connected_reporter(store))
    feed = DevelocityFeed(listing, DevelocityClient(connection), store, since="now")
    sim.set_faults(FaultSpec(unavailable=1.0, burst=3))
    async with running(feed.run()):
        await until(lambda: store.develocity.state == "live")
    assert 503 in [record.status for record in sim.requests]
    assert store.builds == {}


async def test_a_server_down_at_start_is_retried_not_given_up() -> None:
    store = MonitorStore()
    connection = DevelocityConnection(base_url="http://127.0.0.1:9", token=Secret("sim-token"))
    listing = DevelocityClient(connection, backoff=fast_backoff, on_retry=retry_reporter(store))
    feed = DevelocityFeed(listing, DevelocityClient(connection), store, since=0)
    async with running(feed.run()) as task:
        await until(lambda: store.develocity.state == "reconnecting" and store.develocity.attempt > 1)
        assert not task.done()
    assert "cannot" in store.develocity.detail


async def test_the_monitor_keeps_polling_https_to_a_plain_http_port_and_says_it_looks_misconfigured(
    sim: SimulatorThread,
) -> None:
    store = MonitorStore()
    url = sim.buildbuddy_url.replace("http://", "https://")
    connection = BuildBuddyConnection(url, api_key=Secret("sim-api-key"))
    quick = Profile(ui=UiPreferences(retry_max_seconds=0.2))
    session = MonitorSession(MonitorSettings(quick, buildbuddy=connection), store)
    status = store.buildbuddy
    try:
        async with running(session.run_buildbuddy()) as task:
            await until(lambda: status.state == "reconnecting" and status.attempt > 3)
            assert not task.done()
    finally:
        await session.aclose()
    assert status.detail.startswith(f"{CONFIGURATION_HINT}: ")
    assert "does not speak TLS: is it an http:// server (the URL says https://)?" in status.detail
