"""The simulated Develocity Export API, v1 and v2, under `/build-export/`.

- `GET builds/since/{date}` (`0`, epoch ms or `now`) and `GET builds/sinceBuild/{id}`: `Build`
  messages whose id is the build id; with `?stream` the response stays open, pushes builds as
  they are published and sends `:` heartbeat comments while idle. Without it, the response ends
  after the builds published so far; nothing (left) to send answers 204.
- `GET build/{id}/events[?eventTypes=A,B]`: the `Build` message (id 0), then the `BuildEvent`
  messages with ids 1..n (filtering keeps each event's own id, so resuming works); a resume with
  nothing left answers 204, a just-published build 503, an unknown build 404, and v1 answers 400
  for a build that is neither Gradle's nor Maven's. v1 lists Maven builds as Gradle ones, without
  `toolType` (`gradleVersion` holds Maven's version), and a filter of Gradle's event types
  answers a Maven build with no events, as a real server does.
- `Last-Event-ID` resumes after that message; `Accept-Encoding: gzip` gzips; every request needs
  the access key as a bearer token (raw or base64-encoded) or basic auth, else 401. A
  `Last-Event-ID` the listing does not know answers 400, an unknown `sinceBuild` 404.
- Under the `gateway` fault, a proxy's HTML error page with a 5xx status answers instead.
- Bodies go out in writes of up to 1 MiB; under the `packets` fault, one message per write.

`GET /_sim/develocity/builds` lists the published builds with what a test or benchmark may want
to pick one by (tool, outcome, size).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import TypeVar

from aiohttp import web

from buildwatch.sim.context import SimContext
from buildwatch.sim.develocity_bodies import CHUNK_BYTES, EventBodies, slices, sse_message
from buildwatch.sim.develocity_catalog import BuildCatalog
from buildwatch.sim.develocity_model import BuildSummary
from buildwatch.sim.streaming import Chunk, stream_body

_PREFIX = "/build-export/v{version:[12]}"
_HEARTBEAT = b":\n\n"
# A v1 server lists Maven builds as it lists Gradle ones, with no `toolType` to tell them apart.
_V1_TOOLS = ("gradle", "maven")
_C = TypeVar("_C", bytes, Chunk)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def add_routes(app: web.Application, ctx: SimContext) -> None:
    """Serve the Export API on `app`, with `ctx.config.builds` builds already published."""
    catalog = BuildCatalog(ctx)
    catalog.backfill(ctx.config.builds)
    ctx.publishers.append(catalog.publish)
    api = _ExportApi(ctx, catalog, EventBodies(ctx.world))
    app.router.add_get(f"{_PREFIX}/builds/since/{{date}}", api.guarded(api.since_date))
    app.router.add_get(f"{_PREFIX}/builds/sinceBuild/{{build_id}}", api.guarded(api.since_build))
    app.router.add_get(f"{_PREFIX}/build/{{build_id}}/events", api.guarded(api.events))
    app.router.add_get("/_sim/develocity/builds", api.overview)
    app.on_response_prepare.append(api.record)


class _ExportApi:
    """The Export API's handlers over one catalog of published builds."""

    def __init__(self, ctx: SimContext, catalog: BuildCatalog, bodies: EventBodies) -> None:
        self._ctx = ctx
        self._catalog = catalog
        self._bodies = bodies

    def guarded(self, handler: Handler) -> Handler:
        """Check the credentials, then let the fault injector refuse, then run `handler`."""

        async def guarded_handler(request: web.Request) -> web.StreamResponse:
            if not self._authorized(request.headers.get("Authorization", "")):
                return web.Response(
                    status=401,
                    text="Authentication required\n",
                    headers={
                        "WWW-Authenticate": 'Bearer realm="Develocity", Basic realm="Develocity"'
                    },
                )
            refusal = self._ctx.refusal(("unavailable", "throttle", "gateway"))
            if refusal == "unavailable":
                return web.Response(status=503, text="Service temporarily unavailable\n")
            if refusal == "gateway":
                return self._ctx.gateway_page()
            if refusal == "throttle":
                return web.Response(
                    status=429, text="Too many requests\n", headers={"Retry-After": "1"}
                )
            return await handler(request)

        return guarded_handler

    async def since_date(self, request: web.Request) -> web.StreamResponse:
        """Builds published at or after a date."""
        date = request.match_info["date"]
        if date == "now":
            start = len(self._catalog.builds)
        elif date.isdigit():
            if int(date) > self._ctx.now_ms():
                return _bad_request(f"Invalid date {date}: it is in the future")
            start = self._catalog.first_at_or_after(int(date))
        else:
            return _bad_request(f"Invalid date {date!r}: expected epoch milliseconds or 'now'")
        return await self._listing(request, start)

    async def since_build(self, request: web.Request) -> web.StreamResponse:
        """Builds published after a given build."""
        summary = self._catalog.find(request.match_info["build_id"])
        if summary is None:
            return _not_found(request.match_info["build_id"])
        return await self._listing(request, summary.index + 1)

    async def events(self, request: web.Request) -> web.StreamResponse:
        """One build's Build message and events."""
        version = int(request.match_info["version"])
        summary = self._catalog.find(request.match_info["build_id"])
        if summary is None:
            return _not_found(request.match_info["build_id"])
        if version == 1 and summary.tool_type not in _V1_TOOLS:
            return _bad_request(
                f"Build {summary.build_id} is not a Gradle or Maven build; use /build-export/v2"
            )
        if not self._catalog.is_ready(summary):
            return web.Response(status=503, text="Build data is still being stored; retry later\n")
        last_id = request.headers.get("Last-Event-ID")
        if last_id is not None and not last_id.strip().isdigit():
            return _bad_request(f"Invalid Last-Event-ID {last_id!r}")
        raw_types = request.query.get("eventTypes")
        event_types = None if raw_types is None else {name for name in raw_types.split(",") if name}
        encoded = await self._bodies.get(summary, event_types)
        runs = encoded.runs(int(last_id) if last_id is not None else 0, event_types)
        if last_id is not None and not runs:
            return web.Response(status=204)
        build_message = (
            b"" if last_id is not None else sse_message(0, "Build", summary.listing_data(version))
        )
        gzip = _accepts_gzip(request)
        size = len(build_message) + encoded.byte_size(runs)
        one_per_write = self._ctx.should(self._ctx.faults.packets)
        if one_per_write or self._ctx.faults.bad_json > 0:
            messages = self._with_bad_json(_prepend(build_message, (
                encoded.message(position) for first, end in runs for position in range(first, end)
            )))
            chunks: Iterable[Chunk] = messages if one_per_write else _batched(messages)
        elif gzip and last_id is None and event_types is None:
            body = await self._bodies.gzipped(encoded, build_message)
            return await self._send(request, slices(body), precompressed=True, size=len(body))
        else:
            chunks = _prepend(build_message, encoded.chunks(runs))
        return await self._send(request, chunks, gzip=gzip, size=size)

    async def overview(self, _: web.Request) -> web.Response:
        """The published builds, for tests and benchmarks that need a particular kind."""
        return web.json_response(
            [
                {
                    "buildId": build.build_id,
                    "toolType": build.tool_type,
                    "timestamp": build.timestamp,
                    "failed": build.failed,
                    "eventCount": build.target_events or None,
                }
                for build in self._catalog.builds
            ]
        )

    async def record(self, request: web.Request, response: web.StreamResponse) -> None:
        """Log every Export API response as its status line goes out."""
        if request.path.startswith("/build-export/"):
            self._ctx.record("develocity", request, response.status)

    async def _listing(self, request: web.Request, start: int) -> web.StreamResponse:
        last_id = request.headers.get("Last-Event-ID")
        if last_id is not None:
            resumed = self._catalog.find(last_id.strip())
            if resumed is None:
                return _bad_request(f"Invalid Last-Event-ID {last_id!r}: no such build")
            start = resumed.index + 1
        version = int(request.match_info["version"])
        stream = "stream" in request.query
        published = self._catalog.builds[start:]
        backlog = self._listing_messages(published, version)
        if not stream and not backlog:
            return web.Response(status=204)
        live_from = start + len(published) if stream else None
        return await self._send(
            request,
            self._listing_body(backlog, version, live_from),
            gzip=_accepts_gzip(request),
            size=sum(map(len, backlog)),
            live=stream,
        )

    async def _listing_body(
        self, backlog: list[bytes], version: int, live_from: int | None
    ) -> AsyncIterator[bytes]:
        """The backlog, then (when live) builds as they are published, heartbeats while idle."""
        position = live_from
        batch = backlog
        one_per_write = self._ctx.should(self._ctx.faults.packets)
        while True:
            if one_per_write:
                for message in self._with_bad_json(batch):
                    yield message
            elif batch:
                yield b"".join(self._with_bad_json(batch))
            if position is None:
                return
            if not await self._catalog.wait_for_more_than(position, self._ctx.config.heartbeat_s):
                yield _HEARTBEAT
                batch = []
                continue
            fresh = self._catalog.builds[position:]
            position += len(fresh)
            batch = self._listing_messages(fresh, version)

    def _listing_messages(self, builds: Iterable[BuildSummary], version: int) -> list[bytes]:
        """`Build` messages for the builds this API version lists (v1: Gradle and Maven)."""
        return [
            sse_message(build.build_id, "Build", build.listing_data(version))
            for build in builds
            if version == 2 or build.tool_type in _V1_TOOLS
        ]

    def _with_bad_json(self, messages: Iterable[bytes]) -> Iterator[bytes]:
        """Pass messages on, breaking the JSON of some when the `bad-json` fault is on."""
        for message in messages:
            yield (
                _truncated_json(message) if self._ctx.should(self._ctx.faults.bad_json) else message
            )

    async def _send(
        self,
        request: web.Request,
        chunks: Iterable[Chunk] | AsyncIterator[Chunk],
        *,
        size: int,
        gzip: bool = False,
        precompressed: bool = False,
        live: bool = False,
    ) -> web.StreamResponse:
        headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        if request.headers.get("Authorization", "").lower().startswith("bearer "):
            headers["Access-Control-Allow-Origin"] = "*"
        return await stream_body(
            request,
            chunks,
            self._ctx,
            headers=headers,
            gzip=gzip,
            precompressed=precompressed,
            size_hint=size,
            live=live,
        )

    def _authorized(self, header: str) -> bool:
        scheme, _, credentials = header.partition(" ")
        credentials = credentials.strip()
        config = self._ctx.config
        if scheme.lower() == "bearer":
            return _same(credentials, config.token) or _same(_unbase64(credentials), config.token)
        if scheme.lower() == "basic":
            return _same(_unbase64(credentials), f"{config.username}:{config.password}")
        return False


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _unbase64(value: str) -> str | None:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _accepts_gzip(request: web.Request) -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def _bad_request(message: str) -> web.Response:
    return web.Response(status=400, text=f"{message}\n")


def _not_found(build_id: str) -> web.Response:
    return web.Response(status=404, text=f"Build {build_id!r} not found\n")


def _truncated_json(message: bytes) -> bytes:
    head, _, data = message.partition(b"data: ")
    data = data.rstrip(b"\n")
    return head + b"data: " + data[: len(data) // 2] + b"\n\n"


def _prepend(first: _C, rest: Iterable[_C]) -> Iterator[_C]:
    if first:
        yield first
    yield from rest


def _batched(messages: Iterable[Chunk]) -> Iterator[bytes]:
    batch = bytearray()
    for message in messages:
        batch += message
        if len(batch) >= CHUNK_BYTES:
            yield bytes(batch)
            batch.clear()
    if batch:
        yield bytes(batch)
