"""The simulated BuildBuddy API over HTTP: `POST /api/v1/<Method>` with JSON, and GetFile.

The answers follow the real server, including where it surprises: a handler error (bad key,
unknown invocation, bad selector, quota) is HTTP 500 with a plain-text `rpc error: code = …`
body, while GetFile has its own handler answering 401, 400 or 404, streams raw bytes without a
Content-Length, and appends an error that happens mid-stream to its 200 body. Under the
`gateway` fault a proxy or CDN in front of it answers with an HTML error page instead.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from buildwatch.sim.buildbuddy_data import BuildBuddyData
from buildwatch.sim.buildbuddy_files import (
    BadUri,
    Blob,
    delete_target,
    parse_resource_name,
    request_uri,
)
from buildwatch.sim.buildbuddy_wire import (
    REQUESTS,
    HandlerError,
    WireError,
    decode_request,
    encode_response,
    go_quote,
)
from buildwatch.sim.context import Refusal, SimContext
from buildwatch.sim.develocity_catalog import BACKFILL_SPAN_MS
from buildwatch.sim.streaming import stream_body
from buildwatch.sim.triage import TriageScenario

API = "buildbuddy"
DATA_KEY = web.AppKey("buildbuddy_data", BuildBuddyData)
"""Where the app keeps its simulator's BuildBuddy state (tests read plans through it)."""

_PROTOBUF_TYPES = ("application/proto", "application/protobuf", "application/protobuf-text",
                   "application/grpc+proto")
_PLAIN = {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"}
_UNAVAILABLE = "connection error: desc = \"transport: error while dialing: connection refused\""
_RPC_REFUSALS: tuple[Refusal, ...] = ("unavailable", "quota", "throttle", "gateway")

Handler = Callable[[BuildBuddyData, dict[str, Any], int], dict[str, Any]]


def add_routes(app: web.Application, ctx: SimContext) -> None:
    """Serve the BuildBuddy API under `/api/v1/` from a state of its own for this app."""
    start_us = ctx.now_ms() * 1000
    scripted = None
    if ctx.config.world == "triage":
        scenario = TriageScenario(ctx.world, ctx.config.builds)
        scripted = scenario.invocations(start_us, BACKFILL_SPAN_MS)
    data = BuildBuddyData(ctx.world, start_us, scripted)
    app[DATA_KEY] = data
    ctx.publishers.append(lambda count: data.publish(count, ctx.now_ms() * 1000))
    app.router.add_route("*", "/api/v1/GetFile", _recorded(ctx, _get_file(ctx, data)))
    app.router.add_route("*", "/api/v1/{method:.*}", _recorded(ctx, _rpc(ctx, data)))


def _recorded(
    ctx: SimContext, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def recording(request: web.Request) -> web.StreamResponse:
        response = await handler(request)
        ctx.record(API, request, response.status)
        return response

    return recording


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    """A plain-text answer the way Go's `http.Error` writes it (with a trailing newline)."""
    return web.Response(status=status, text=text + "\n", headers={**_PLAIN, **(headers or {})})


def _throttled() -> web.Response:
    return _text(429, "Too Many Requests", {"Retry-After": "1"})


def _api_key(request: web.Request) -> str:
    """The API key a request carries: `x-buildbuddy-api-key`, or in `Authorization`."""
    key = request.headers.get("x-buildbuddy-api-key", "")
    if key:
        return key
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "x-buildbuddy-api-key"):
        return value.strip()
    return ""


def _authenticate(ctx: SimContext, request: web.Request) -> None:
    key = _api_key(request)
    if not key:
        raise HandlerError("Unauthenticated", "User not found")
    if key != ctx.config.api_key:
        shown = "***" if len(key) < 8 else f"{key[0]}***{key[-1]}"
        raise HandlerError("Unauthenticated", f"Invalid API key {go_quote(shown)}")


def _rpc(
    ctx: SimContext, data: BuildBuddyData
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def rpc(request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        handler = _HANDLERS.get(method)
        if handler is None:
            return _text(404, f"Method '{request.path}' not found.")
        refusal = ctx.refusal(_RPC_REFUSALS)
        if refusal == "throttle":
            return _throttled()
        if refusal == "gateway":
            return ctx.gateway_page()
        await ctx.pause_if_slow()
        content_type = request.headers.get("Content-Type", "")
        if content_type in _PROTOBUF_TYPES:
            return _text(400, f"the simulator speaks JSON only, not {content_type}")
        if content_type not in ("", "application/json"):
            return _text(400, f"Unknown Content-Type: {content_type}, expected application/json "
                              "or application/protobuf")
        try:
            body = decode_request(await request.read(), REQUESTS[method])
        except WireError as error:
            return _text(400, str(error))
        try:
            if refusal == "unavailable":
                raise HandlerError("Unavailable", _UNAVAILABLE)
            if refusal == "quota":
                raise HandlerError("ResourceExhausted",
                                   f'quota exceeded for "rpc:/api.v1.ApiService/{method}"')
            _authenticate(ctx, request)
            message = handler(data, body, ctx.now_ms() * 1000)
        except HandlerError as error:
            return _text(500, str(error))
        return _json(request, message)

    return rpc


def _json(request: web.Request, message: dict[str, Any]) -> web.Response:
    """A JSON answer: gzipped if the client accepts it; otherwise Go sniffs it as plain text."""
    body = encode_response(message)
    if _accepts_gzip(request.headers.get("Accept-Encoding", "")):
        return web.Response(body=gzip.compress(body, compresslevel=1), headers={
            "Content-Type": "application/json", "Content-Encoding": "gzip"})
    return web.Response(body=body, headers={"Content-Type": "text/plain; charset=utf-8"})


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether `Accept-Encoding` allows gzip (and does not give it q=0)."""
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return not re.fullmatch(r"\s*q\s*=\s*0(\.0*)?\s*", params)
    return False


def _require(selector: dict[str, Any], message: str) -> None:
    if not selector.get("invocation_id"):
        raise HandlerError("InvalidArgument", message)


def _get_invocation(data: BuildBuddyData, body: dict[str, Any], now_us: int) -> dict[str, Any]:
    selector = body.get("selector", {})
    invocation_id = selector.get("invocation_id", "")
    commit_sha = selector.get("commit_sha", "")
    if not invocation_id and not commit_sha:
        raise HandlerError("InvalidArgument",
                           "InvocationSelector must contain a valid invocation_id or commit_sha")
    found = data.invocations(
        invocation_id, commit_sha, now_us, metadata=body.get("include_metadata", False),
        artifacts=body.get("include_artifacts", False),
        children=body.get("include_child_invocations", False),
    )
    return {"invocation": found} if found else {}


def _get_target(data: BuildBuddyData, body: dict[str, Any], now_us: int) -> dict[str, Any]:
    selector = body.get("selector", {})
    _require(selector, "TargetSelector must contain a valid invocation_id")
    found = data.targets(selector, now_us)
    return {"target": found} if found else {}


def _get_action(data: BuildBuddyData, body: dict[str, Any], now_us: int) -> dict[str, Any]:
    selector = body.get("selector", {})
    _require(selector, "ActionSelector must contain a valid invocation_id")
    found = data.actions(selector, now_us)
    return {"action": found} if found else {}


def _get_log(data: BuildBuddyData, body: dict[str, Any], now_us: int) -> dict[str, Any]:
    selector = body.get("selector", {})
    _require(selector, "LogSelector must contain a valid invocation_id")
    contents, next_token = data.log_page(
        selector["invocation_id"], body.get("page_token", ""), now_us
    )
    log: dict[str, Any] = {"contents": contents} if contents else {}
    return {"log": log, "nextPageToken": next_token} if next_token else {"log": log}


def _delete_file(data: BuildBuddyData, body: dict[str, Any], now_us: int) -> dict[str, Any]:
    name, problem = delete_target(body.get("uri", ""))
    if name is None:
        raise HandlerError("InvalidArgument", problem)
    if not name.action_cache:
        data.cache.delete(name.digest)
    return {}


_HANDLERS: dict[str, Handler] = {
    "GetInvocation": _get_invocation,
    "GetLog": _get_log,
    "GetTarget": _get_target,
    "GetAction": _get_action,
    "DeleteFile": _delete_file,
}


def _get_file(
    ctx: SimContext, data: BuildBuddyData
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def get_file(request: web.Request) -> web.StreamResponse:
        refusal = ctx.refusal(("unavailable", "throttle", "gateway"))
        if refusal == "throttle":
            return _throttled()
        if refusal == "gateway":
            return ctx.gateway_page()
        await ctx.pause_if_slow()
        try:
            _authenticate(ctx, request)
        except HandlerError:
            return _text(401, "Invalid API key")
        try:
            uri = decode_request(await request.read(), REQUESTS["GetFile"]).get("uri", "")
        except WireError:
            # The real handler ignores a body it cannot parse and goes on with an empty URI.
            uri = ""
        try:
            name = parse_resource_name(request_uri(uri))
        except BadUri:
            return _text(400, "Invalid URI")
        if urlsplit(uri).scheme not in ("bytestream", "actioncache"):
            return _text(404, str(HandlerError("InvalidArgument",
                                               "Only bytestream:// uris are supported")))
        missing = HandlerError("Unavailable", f"failed to read byte stream resource {go_quote(uri)}")
        blob = None if name is None or name.action_cache else data.blob(name.digest)
        if refusal == "unavailable" or blob is None:
            return _text(404, str(missing))
        assert name is not None
        return await _send_blob(ctx, request, blob, zstd=name.zstd, error=str(missing))

    return get_file


async def _send_blob(
    ctx: SimContext, request: web.Request, blob: Blob, *, zstd: bool, error: str
) -> web.StreamResponse:
    gzip_ok = _accepts_gzip(request.headers.get("Accept-Encoding", ""))
    compressed = zstd and request.headers.get("X-Stored-Encoding-Hint", "").lower() != "zstd"
    # Go sniffs the type from the first bytes written; a gzipped body is left without one.
    kind = "application/octet-stream" if compressed else _sniff(blob.data[:512])
    headers = {} if gzip_ok else {"Content-Type": kind}
    if compressed:
        pieces: Iterator[bytes] = blob.zstd_pieces()
    elif ctx.should(ctx.faults.truncate_file):
        pieces = _truncated(blob, ctx.fault_rng.randrange(max(blob.size, 1)), error)
    elif gzip_ok:
        return await stream_body(request, blob.gzip_pieces(), ctx, precompressed=True,
                                 size_hint=blob.size)
    else:
        pieces = blob.pieces()
    return await stream_body(request, pieces, ctx, headers=headers, gzip=gzip_ok,
                             size_hint=blob.size)


def _truncated(blob: Blob, stop: int, error: str) -> Iterator[bytes]:
    """The first `stop` bytes, then the error text, as the server writes a failed stream."""
    sent = 0
    for piece in blob.pieces():
        if sent + len(piece) >= stop:
            yield piece[: stop - sent]
            break
        yield piece
        sent += len(piece)
    yield (error + "\n").encode()


def _sniff(head: bytes) -> str:
    """The Content-Type Go's `http.DetectContentType` would give these first bytes."""
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head.lstrip().startswith(b"<?xml"):
        return "text/xml; charset=utf-8"
    if any(byte < 0x09 or byte == 0x0B or 0x0E <= byte < 0x1B or 0x1C <= byte < 0x20
           for byte in head):
        return "application/octet-stream"
    return "text/plain; charset=utf-8"
