"""Exactly once, in order, whatever the network does: the client across cut and refused responses.

The simulator cuts its bodies at random bytes (a clean close or a reset, chunked or delimited by
the close, gzipped or not). A small scripted server, reusing the simulator's fault injection,
covers what the simulator does not send: CR and CRLF line endings, an id that is not ASCII,
`retry:`, 403, an HTML page, a redirect and a corrupt gzip body.
"""

from __future__ import annotations

import gzip
import re
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web
from sim_sse import AUTH, parse_sse

from buildwatch.core.backoff import Backoff, RetryNotice
from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.models import Message
from buildwatch.core.errors import AuthError, ServerError
from buildwatch.core.secrets import Secret
from buildwatch.sim import FaultSpec, SimConfig, Simulator
from buildwatch.sim.context import SimContext
from buildwatch.sim.streaming import stream_body

pytestmark = pytest.mark.timeout(90)

CUTS = FaultSpec(drop=1.0, rst=0.5, cut_within=12_000, framing="mixed")
"""Every response cut (a clean close or a reset) within its first 12 kB (before gzip)."""


def client_of(
    url: str, notices: list[RetryNotice] | None = None, max_failures: int = 10
) -> DevelocityClient:
    """A client of `url` whose retries are quick."""
    return DevelocityClient(
        DevelocityConnection(url, token=Secret("sim-token")),
        max_failures=max_failures,
        backoff=lambda: Backoff(base_s=0.001, cap_s=0.005, cut_base_s=0.001, cut_cap_s=0.005),
        on_retry=notices.append if notices is not None else None,
    )


def pairs(messages: list[Message]) -> list[tuple[str, str]]:
    return [(message.message_id, message.source.decode()) for message in messages]


async def truth(url: str, path: str) -> list[tuple[str, str]]:
    async with httpx.AsyncClient(headers=AUTH) as http:
        response = await http.get(f"{url}/build-export/v2/{path}")
    return [(message.id, message.data) for message in parse_sse(response.text)]


async def test_a_hundred_random_cuts_lose_nothing_and_repeat_nothing() -> None:
    sim = Simulator(SimConfig(seed=21, builds=12))
    await sim.start()
    try:
        async with httpx.AsyncClient() as http:
            listed = (await http.get(f"{sim.develocity_url}/_sim/develocity/builds")).json()
        paths = ["builds/since/0"] + [
            f"build/{b['buildId']}/events" for b in listed if not b["eventCount"]
        ]
        expected = {path: await truth(sim.develocity_url, path) for path in paths}
        sim.set_faults(CUTS)
        got: dict[str, list[tuple[str, str]]] = {}
        async with client_of(sim.develocity_url, max_failures=50) as client:
            for path in paths:
                if path.startswith("builds/"):
                    got[path] = pairs([m async for m in client.builds(since=0)])
                else:
                    got[path] = pairs([m async for m in client.events(path.split("/")[1])])
        cut_responses = sum(1 for r in sim.ctx.requests if r.status == 200) - len(paths)
    finally:
        await sim.stop()
    assert got == expected
    assert cut_responses >= 100


@dataclass
class Scripted:
    """A server whose handlers a test writes; it records each request's Last-Event-ID."""

    url: str
    resumed_from: list[str | None] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[Scripted]]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> Scripted:
        scripted = Scripted("")

        async def recording(request: web.Request) -> web.StreamResponse:
            scripted.resumed_from.append(request.headers.get("Last-Event-ID"))
            scripted.paths.append(request.path_qs)
            return await handler(request)

        app = web.Application()
        app.router.add_get("/{tail:.*}", recording)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        scripted.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        return scripted

    yield start
    for runner in runners:
        await runner.cleanup()


def stream_of(messages: list[tuple[str, str]], line_end: str = "\n") -> bytes:
    text = "".join(
        f"id: {i}{line_end}event: BuildEvent{line_end}data: {d}{line_end}{line_end}"
        for i, d in messages
    )
    return text.encode()


def events_after(messages: list[tuple[str, str]], last_id: str | None) -> list[tuple[str, str]]:
    if last_id is None:
        return messages
    ids = [message_id for message_id, _ in messages]
    return messages[ids.index(last_id) + 1 :]


SAMPLE = [
    (
        str(n),
        f'{{"timestamp":{n},"type":{{"eventType":"OutputLogEvent"}},"data":{{"message":"line {n}"}}}}',
    )
    for n in range(1, 1500)
]


@pytest.mark.parametrize("line_end", ["\r\n", "\r"])
async def test_cuts_in_cr_and_crlf_streams_lose_nothing_and_repeat_nothing(
    serve: Callable[[Handler], Awaitable[Scripted]], line_end: str
) -> None:
    ctx = SimContext(
        SimConfig(seed=3, faults=FaultSpec(drop=1.0, rst=0.5, cut_within=6000, framing="mixed"))
    )

    async def handler(request: web.Request) -> web.StreamResponse:
        rest = events_after(SAMPLE, request.headers.get("Last-Event-ID"))
        if not rest:
            return web.Response(status=204)
        gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
        headers = {"Content-Type": "text/event-stream"}
        return await stream_body(
            request, [stream_of(rest, line_end)], ctx, headers=headers, gzip=gzipped
        )

    scripted = await serve(handler)
    async with client_of(scripted.url, max_failures=50) as client:
        got = [m async for m in client.events("b")]
    assert pairs(got) == SAMPLE
    assert len(scripted.resumed_from) > 20


async def test_a_resumed_request_sends_the_id_of_the_last_complete_event(
    serve: Callable[[Handler], Awaitable[Scripted]],
) -> None:
    body = stream_of(SAMPLE[:3])
    cut_inside_third = body.index(b"id: 3") + 10

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Last-Event-ID"):
            return web.Response(status=204)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        response.force_close()
        await response.prepare(request)
        await response.write(body[:cut_inside_third])
        return response

    scripted = await serve(handler)
    async with client_of(scripted.url) as client:
        got = [m async for m in client.events("b")]
    assert [m.message_id for m in got] == ["1", "2"]
    assert scripted.resumed_from == [None, "2"]


async def test_a_stream_from_now_lost_before_any_build_restarts_from_before_it_began(
    serve: Callable[[Handler], Awaitable[Scripted]],
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if "/since/now" not in request.path:
            return web.Response(status=204)
        return web.Response(body=b":heartbeat\n\n", headers={"Content-Type": "text/event-stream"})

    scripted = await serve(handler)
    before_ms = int(time.time() * 1000)
    async with client_of(scripted.url) as client:
        assert [m async for m in client.builds(since="now", stream=True)] == []
    restarted = re.fullmatch(r"/build-export/v2/builds/since/(\d+)\?stream", scripted.paths[1])
    assert scripted.paths[0] == "/build-export/v2/builds/since/now?stream"
    assert restarted is not None and int(restarted.group(1)) < before_ms
    assert scripted.resumed_from == [None, None]


async def test_a_non_ascii_event_id_is_sent_back_as_utf8(
    serve: Callable[[Handler], Awaitable[Scripted]],
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Last-Event-ID"):
            return web.Response(status=204)
        body = 'id: é-1\nevent: Build\ndata: {"buildId":"b"}\n\n'.encode()
        return web.Response(body=body, headers={"Content-Type": "text/event-stream"})

    scripted = await serve(handler)
    async with client_of(scripted.url) as client:
        got = [m async for m in client.builds(since=0)]
    assert [m.message_id for m in got] == ["é-1"]
    assert scripted.resumed_from == [None, "é-1"]  # aiohttp reads header bytes as UTF-8


async def test_the_servers_retry_sets_the_wait_before_reconnecting(
    serve: Callable[[Handler], Awaitable[Scripted]],
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Last-Event-ID"):
            return web.Response(status=204)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"retry: 700\n\n" + stream_of(SAMPLE[:1]))
        assert request.transport is not None
        request.transport.abort()
        return response

    scripted = await serve(handler)
    notices: list[RetryNotice] = []
    async with client_of(scripted.url, notices) as client:
        got = [m async for m in client.events("b")]
    assert len(got) == 1
    assert [notice.delay_s for notice in notices] == [0.7]


async def test_403_stops_at_once_and_names_the_missing_permission(
    serve: Callable[[Handler], Awaitable[Scripted]],
) -> None:
    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(status=403, text="Forbidden")

    scripted = await serve(handler)
    async with client_of(scripted.url) as client:
        with pytest.raises(AuthError, match="Export API permission"):
            [m async for m in client.builds(since=0)]
    assert len(scripted.resumed_from) == 1


async def test_a_login_page_instead_of_a_stream_is_an_error_not_a_retry_loop(
    serve: Callable[[Handler], Awaitable[Scripted]],
) -> None:
    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>Sign in</html>", content_type="text/html")

    scripted = await serve(handler)
    async with client_of(scripted.url) as client:
        with pytest.raises(ServerError, match=r"text/html.*not an event stream"):
            [m async for m in client.builds(since=0)]
    assert len(scripted.resumed_from) == 1


async def test_a_redirect_is_not_followed(serve: Callable[[Handler], Awaitable[Scripted]]) -> None:
    async def handler(_: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("https://elsewhere.example.com/build-export/v2/builds/since/0")

    scripted = await serve(handler)
    async with client_of(scripted.url) as client:
        with pytest.raises(
            ServerError, match=re.escape("redirects to https://elsewhere.example.com")
        ):
            [m async for m in client.builds(since=0)]
    assert len(scripted.resumed_from) == 1


async def test_a_204_at_once_is_an_empty_stream(
    serve: Callable[[Handler], Awaitable[Scripted]],
) -> None:
    async def handler(_: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    scripted = await serve(handler)
    async with client_of(scripted.url) as client:
        assert [m async for m in client.builds(since=0)] == []


async def test_a_corrupt_gzip_body_is_retried(
    serve: Callable[[Handler], Awaitable[Scripted]],
) -> None:
    good = gzip.compress(stream_of(SAMPLE[:5]))
    bodies = [b"\x1f\x8b\x08\x00 this is not deflate data", good]

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Last-Event-ID"):
            return web.Response(status=204)
        headers = {"Content-Type": "text/event-stream", "Content-Encoding": "gzip"}
        return web.Response(body=bodies.pop(0), headers=headers)

    scripted = await serve(handler)
    notices: list[RetryNotice] = []
    async with client_of(scripted.url, notices) as client:
        got = [m async for m in client.events("b")]
    assert pairs(got) == SAMPLE[:5]
    assert "corrupt compressed data" in notices[0].cause


async def test_429_waits_at_least_what_retry_after_says(
    serve: Callable[[Handler], Awaitable[Scripted]],
) -> None:
    answers = [web.Response(status=429, headers={"Retry-After": "1"})]

    async def handler(request: web.Request) -> web.StreamResponse:
        if answers:
            return answers.pop()
        return web.Response(status=204)

    scripted = await serve(handler)
    notices: list[RetryNotice] = []
    async with client_of(scripted.url, notices) as client:
        assert [m async for m in client.builds(since=0)] == []
    assert notices[0].delay_s >= 1.0


async def test_a_server_that_cannot_be_reached_is_given_up_on_with_the_cause() -> None:
    async with client_of("http://127.0.0.1:9", max_failures=3) as client:
        with pytest.raises(ServerError, match=re.escape("after 3 attempts: cannot connect")):
            [m async for m in client.events("b")]


def _gzip_without_trailer(data: bytes) -> bytes:
    """`data` gzipped and flushed, but the stream never finished: no final block, no trailer."""
    encoder = zlib.compressobj(wbits=31)
    return encoder.compress(data) + encoder.flush(zlib.Z_SYNC_FLUSH)


FIRST_BODIES: dict[str, tuple[bytes, dict[str, str]]] = {
    "gzip without its trailer": (
        _gzip_without_trailer(stream_of(SAMPLE[:5])), {"Content-Encoding": "gzip"}
    ),
    "ending mid-event": (stream_of(SAMPLE[:6])[:-30], {}),
}
"""A build's events cut where httpx sees a clean end: the body tells where it ends (its length)."""


async def _answer_whole(request: web.Request, messages: list[tuple[str, str]]) -> web.Response:
    """The messages after the request's Last-Event-ID in a body with its length, else a 204."""
    rest = events_after(messages, request.headers.get("Last-Event-ID"))
    if not rest:
        return web.Response(status=204)
    return web.Response(body=stream_of(rest), headers={"Content-Type": "text/event-stream"})


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
async def test_a_builds_events_that_end_whole_take_one_request(
    serve: Callable[[Handler], Awaitable[Scripted]], gzipped: bool
) -> None:
    ctx = SimContext(SimConfig(seed=1))  # no faults: a chunked body, ended with its last chunk

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Last-Event-ID"):
            return web.Response(status=204)
        headers = {"Content-Type": "text/event-stream"}
        return await stream_body(request, [stream_of(SAMPLE[:5])], ctx, headers=headers,
                                 gzip=gzipped)

    scripted = await serve(handler)
    async with client_of(scripted.url) as client:
        got = [m async for m in client.events("b")]
    assert pairs(got) == SAMPLE[:5]
    assert scripted.resumed_from == [None]


@pytest.mark.parametrize("cut", list(FIRST_BODIES))
async def test_a_builds_events_that_may_have_been_cut_are_resumed(
    serve: Callable[[Handler], Awaitable[Scripted]], cut: str
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Last-Event-ID"):
            return await _answer_whole(request, SAMPLE[:8])
        body, headers = FIRST_BODIES[cut]
        return web.Response(body=body, headers={"Content-Type": "text/event-stream", **headers})

    scripted = await serve(handler)
    async with client_of(scripted.url) as client:
        got = [m async for m in client.events("b")]
    assert pairs(got) == SAMPLE[:8]
    assert scripted.resumed_from == [None, "5"]


async def test_a_builds_events_delimited_by_the_close_are_resumed(
    serve: Callable[[Handler], Awaitable[Scripted]],
) -> None:
    ctx = SimContext(SimConfig(seed=1, faults=FaultSpec(framing="close")))

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Last-Event-ID"):
            return await _answer_whole(request, SAMPLE[:8])
        headers = {"Content-Type": "text/event-stream"}
        return await stream_body(request, [stream_of(SAMPLE[:5])], ctx, headers=headers)

    scripted = await serve(handler)
    async with client_of(scripted.url) as client:
        got = [m async for m in client.events("b")]
    assert pairs(got) == SAMPLE[:8]
    assert scripted.resumed_from == [None, "5"]


async def test_a_finite_listing_that_ends_whole_still_asks_for_its_204(
    serve: Callable[[Handler], Awaitable[Scripted]],
) -> None:
    builds = [(f"b{n}", f'{{"buildId":"b{n}"}}') for n in range(3)]

    async def handler(request: web.Request) -> web.StreamResponse:
        rest = events_after(builds, request.headers.get("Last-Event-ID"))
        if not rest:
            return web.Response(status=204)
        body = stream_of(rest).replace(b"BuildEvent", b"Build")
        return web.Response(body=body, headers={"Content-Type": "text/event-stream"})

    scripted = await serve(handler)
    async with client_of(scripted.url) as client:
        got = [m async for m in client.builds(since=0)]
    assert [m.message_id for m in got] == ["b0", "b1", "b2"]
    assert scripted.resumed_from == [None, "b2"]
