"""The monitor's summary pool against a server whose events fail for good for some builds: they
are tried again and again, and never keep a later build from its summary."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from test_monitor_feeds import fast_backoff, running, until

from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.monitor.feeds import DevelocityFeed
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.secrets import Secret
from buildwatch.tui.rows import build_outcome

pytestmark = pytest.mark.timeout(60)
WORKERS = 2
FAILING = [f"failing{n}" for n in range(WORKERS + 1)]
"""More builds whose events answer 500 forever than the pool has workers."""
GOOD = "good"
BUILD_TIME_MS = 1_700_000_000_000


@dataclass
class Server:
    """Lists the failing builds, then, once `release` is set, the good one."""

    url: str = ""
    release: asyncio.Event = field(default_factory=asyncio.Event)
    events_requests: Counter[str] = field(default_factory=Counter)


def sse(messages: list[tuple[str, dict[str, Any]]], ids: list[str] | None = None) -> bytes:
    """The messages as SSE, their ids `ids` (a listing's: build ids) or positions (events')."""
    positions = ids or [str(index) for index in range(len(messages))]
    return b"".join(
        f"event: {kind}\nid: {position}\ndata: {json.dumps(data)}\n\n".encode()
        for position, (kind, data) in zip(positions, messages, strict=True)
    )


def listed(build_id: str) -> tuple[str, dict[str, Any]]:
    return ("Build", {"buildId": build_id, "timestamp": BUILD_TIME_MS, "toolType": "gradle",
                      "toolVersion": "8.14", "agentVersion": "4.0"})


def event(kind: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return ("BuildEvent", {"timestamp": BUILD_TIME_MS, "type": {
        "eventType": kind, "majorVersion": 1, "minorVersion": 0}, "data": data})


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()

    async def listing(request: web.Request) -> web.StreamResponse:
        if "stream" not in request.query:
            return web.Response(status=204)  # the access check: nothing new
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(sse([listed(build_id) for build_id in FAILING], FAILING))
        await state.release.wait()
        await response.write(sse([listed(GOOD)], [GOOD]))
        await asyncio.Event().wait()  # open until the client goes
        return response

    async def events(request: web.Request) -> web.StreamResponse:
        build_id = request.match_info["build_id"]
        state.events_requests[build_id] += 1
        if build_id != GOOD:
            return web.Response(status=500, text="internal error")
        if request.headers.get("Last-Event-ID"):
            return web.Response(status=204)
        body = sse([listed(GOOD), event("BuildStarted", {}),
                    event("BuildFinished", {"failureId": None})])
        return web.Response(body=body, content_type="text/event-stream")

    app = web.Application()
    app.router.add_get("/build-export/v2/builds/since/{since}", listing)
    app.router.add_get("/build-export/v2/build/{build_id}/events", events)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    await runner.cleanup()


def feed(server: Server, store: MonitorStore) -> DevelocityFeed:
    connection = DevelocityConnection(base_url=server.url, token=Secret("token"))
    listing = DevelocityClient(connection, backoff=fast_backoff)
    events = DevelocityClient(connection, backoff=fast_backoff)
    return DevelocityFeed(
        listing, events, store, since=0, concurrency=WORKERS, backoff=fast_backoff
    )


def tried(server: Server) -> int:
    return sum(1 for build_id in FAILING if server.events_requests[build_id])


async def test_builds_whose_events_fail_forever_do_not_keep_a_later_build_from_its_summary(
    server: Server,
) -> None:
    store = MonitorStore()
    async with running(feed(server, store).run()):
        # Every worker has met a failing build before the good one is listed.
        await until(lambda: tried(server) >= WORKERS)
        server.release.set()
        await until(lambda: GOOD in store.builds and store.builds[GOOD].summary is not None)
        so_far = server.events_requests.copy()
        await until(lambda: all(server.events_requests[b] > so_far[b] for b in FAILING))
    assert store.builds[GOOD].summary is not None
    assert store.builds[GOOD].summary.outcome == "success"
    assert all(store.builds[build_id].summary is None for build_id in FAILING)


async def test_a_build_whose_events_fail_for_now_reads_retrying_not_unreadable(
    server: Server,
) -> None:
    store = MonitorStore()
    async with running(feed(server, store).run()):
        await until(lambda: all(
            build_id in store.builds and store.builds[build_id].retrying for build_id in FAILING
        ))
        entries = [store.builds[build_id] for build_id in FAILING]
    assert all("500" in (entry.problem or "") for entry in entries)
    assert [build_outcome(entry).plain for entry in entries] == ["… retrying"] * len(FAILING)
