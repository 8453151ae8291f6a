"""The BuildBuddy client facing answers the simulator never gives: a scripted server on 127.0.0.1.

Login pages, redirects to another host, malformed JSON, paged lists with odd tokens, a blob whose
bytes do not match its digest: each is played by a real HTTP server that answers every request
with the next scripted reply and records what it received.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import zstandard
from aiohttp import web

from buildwatch.core.backoff import Backoff
from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.buildbuddy.errors import MalformedResponseError, RetryableError
from buildwatch.core.buildbuddy.files import (
    BATCH_BYTES,
    DigestMismatchError,
    IncompleteDownloadError,
)
from buildwatch.core.connection import BuildBuddyConnection
from buildwatch.core.errors import AuthError, ConfigError, NotFoundError, ServerError
from buildwatch.core.secrets import Secret

pytestmark = pytest.mark.timeout(30)
KEY = "scripted-key-4f9a1c"
Reply = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ScriptedServer:
    url: str = ""
    replies: list[Reply] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)

    def answer(self, *replies: Reply) -> None:
        self.replies.extend(replies)


def reply(status: int = 200, body: bytes | str = b"{}", **headers: str) -> Reply:
    data = body.encode() if isinstance(body, str) else body

    async def respond(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=data, headers=headers)

    return respond


async def cut_off(request: web.Request) -> web.StreamResponse:
    """Promise 100 bytes of JSON, send ten, and hang up."""
    response = web.StreamResponse(headers={"Content-Length": "100"})
    await response.prepare(request)
    await response.write(b'{"invocati')
    assert request.transport is not None
    request.transport.close()
    return response


def json_reply(message: dict[str, Any]) -> Reply:
    return reply(body=json.dumps(message))


async def start(server: ScriptedServer) -> web.AppRunner:
    async def handle(request: web.Request) -> web.StreamResponse:
        server.seen.append(Seen(request.path, dict(request.headers), await request.read()))
        if not server.replies:
            return web.Response(status=418, text="no reply scripted")
        return await server.replies.pop(0)(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}"
    return runner


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    runner = await start(scripted)
    yield scripted
    await runner.cleanup()


@pytest.fixture
async def elsewhere() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    runner = await start(scripted)
    yield scripted
    await runner.cleanup()


def fast_backoff() -> Backoff:
    return Backoff(base_s=0.01, cap_s=0.02)


def client_for(url: str) -> BuildBuddyClient:
    return BuildBuddyClient(
        BuildBuddyConnection(url, Secret(KEY)), backoff=fast_backoff, live_poll_s=0.01
    )


@pytest.fixture
async def client(server: ScriptedServer) -> AsyncIterator[BuildBuddyClient]:
    async with client_for(server.url) as opened:
        yield opened


async def all_invocation_ids(client: BuildBuddyClient) -> list[str]:
    return [i.invocation_id async for i in client.invocations(commit_sha="abc")]


def blob_uri(data: bytes, kind: str = "blobs") -> str:
    return f"bytestream://cache.example/ci/{kind}/{hashlib.sha256(data).hexdigest()}/{len(data)}"


async def test_requests_are_exact_json_with_only_the_fields_that_are_set(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(json_reply({}))
    [t async for t in client.targets("inv-1", tag="small")]
    seen = server.seen[0]
    assert seen.path == "/api/v1/GetTarget"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["x-buildbuddy-api-key"] == KEY
    assert seen.json == {"selector": {"invocation_id": "inv-1", "tag": "small"}}


async def test_a_path_prefix_in_the_server_url_is_kept(server: ScriptedServer) -> None:
    server.answer(json_reply({}))
    async with client_for(f"{server.url}/buildbuddy/") as client:
        await client.check_access()
    assert server.seen[0].path == "/buildbuddy/api/v1/GetInvocation"


async def test_lists_follow_opaque_page_tokens_to_the_end(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    tokens = ["a/b+c==", " spaced out ", "ünïcode"]
    server.answer(
        json_reply({"invocation": [{"id": {"invocationId": "1"}}], "nextPageToken": tokens[0]}),
        json_reply({"invocation": [{"id": {"invocationId": "2"}}], "nextPageToken": tokens[1]}),
        json_reply({"nextPageToken": tokens[2]}),
        json_reply({"invocation": [{"id": {"invocationId": "3"}}]}),
    )
    assert await all_invocation_ids(client) == ["1", "2", "3"]
    assert [seen.json.get("page_token") for seen in server.seen] == [None, *tokens]
    assert all(seen.json["selector"] == {"commit_sha": "abc"} for seen in server.seen)


async def test_a_page_token_given_twice_stops_the_listing_with_an_error(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(
        json_reply({"target": [{"label": "//a"}], "nextPageToken": "t1"}),
        json_reply({"target": [{"label": "//b"}], "nextPageToken": "t1"}),
    )
    with pytest.raises(ServerError, match="same page token twice"):
        [t async for t in client.targets("inv")]
    assert len(server.seen) == 2


async def test_following_a_log_polls_the_live_chunk_then_moves_on_when_it_is_final(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(
        json_reply({"log": {"contents": "a\n"}, "nextPageToken": "0000"}),
        json_reply({"log": {"contents": "a\nb\n"}, "nextPageToken": "0000"}),
        json_reply({"log": {"contents": "a\nb\nc\n"}, "nextPageToken": "0001"}),
        json_reply({"log": {}}),
    )
    chunks = [chunk async for chunk in client.log("inv", follow=True)]
    assert [seen.json["page_token"] for seen in server.seen] == ["0000", "0000", "0000", "0001"]
    assert [chunk.live for chunk in chunks] == [True, True, False, False]


async def test_a_log_token_that_comes_back_after_moving_on_is_an_error(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(
        json_reply({"log": {"contents": "a"}, "nextPageToken": "0001"}),
        json_reply({"log": {"contents": "b"}, "nextPageToken": "0000"}),
    )
    with pytest.raises(ServerError, match="same page token twice"):
        [chunk async for chunk in client.log("inv")]


async def test_a_login_page_is_a_configuration_error(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(body="<!DOCTYPE html><html><body>Sign in with SSO</body></html>",
                        **{"Content-Type": "text/html"}))
    with pytest.raises(ConfigError, match=r"web page.*--buildbuddy-url"):
        await client.check_access()


async def test_a_redirect_to_another_host_is_not_followed_and_the_key_stays_home(
    server: ScriptedServer, elsewhere: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(307, b"", Location=f"{elsewhere.url}/api/v1/GetInvocation"))
    with pytest.raises(ConfigError, match="redirected"):
        await client.check_access()
    assert elsewhere.seen == []


async def test_malformed_json_is_a_clear_error(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(body='{"invocation": [{"id": '))
    with pytest.raises(MalformedResponseError, match="malformed JSON"):
        await all_invocation_ids(client)


async def test_json_that_is_not_an_object_is_a_clear_error(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(body="[1, 2]"))
    with pytest.raises(MalformedResponseError, match="not an object"):
        await all_invocation_ids(client)


async def test_a_list_of_the_wrong_shape_is_a_clear_error(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(json_reply({"target": {"label": "//a"}}))
    with pytest.raises(MalformedResponseError, match="target"):
        [t async for t in client.targets("inv")]


async def test_a_proxy_error_page_is_retried_and_the_read_succeeds(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(
        reply(502, "<html><h1>502 Bad Gateway</h1></html>", **{"Content-Type": "text/html"}),
        json_reply({"invocation": [{"id": {"invocationId": "1"}}]}),
    )
    assert await all_invocation_ids(client) == ["1"]


CDN_PAGE = ("<!DOCTYPE html><html><head><title>example.com | 520: Web server is returning an "
            "unknown error</title></head><body><h1>Error 520</h1></body></html>")
"""What a CDN in front of the server sends when the server's answer makes no sense to it."""


async def test_a_507_then_a_cdn_520_page_are_retried_and_the_read_succeeds(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(
        reply(507, "Insufficient Storage"),
        reply(520, CDN_PAGE, **{"Content-Type": "text/html"}),
        json_reply({"invocation": [{"id": {"invocationId": "1"}}]}),
    )
    assert await all_invocation_ids(client) == ["1"]
    assert len(server.seen) == 3


@pytest.mark.parametrize(("status", "body"), [
    *((status, CDN_PAGE) for status in (521, 522, 523, 524, 530)),
    (500, "rpc error: code = DataLoss desc = chunk lost"),  # a code with no meaning of its own
])
async def test_every_5xx_is_retried(
    server: ScriptedServer, client: BuildBuddyClient, status: int, body: str
) -> None:
    server.answer(reply(status, body), json_reply({}))
    await client.check_access()
    assert len(server.seen) == 2


async def test_a_method_the_server_does_not_implement_is_not_retried(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(500, "rpc error: code = Unimplemented desc = no such RPC"), json_reply({}))
    with pytest.raises(ServerError, match="Unimplemented"):
        await client.check_access()
    assert len(server.seen) == 1


async def test_a_delete_that_meets_a_cdn_520_page_is_sent_once_and_fails_in_one_line(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(520, CDN_PAGE, **{"Content-Type": "text/html"}), json_reply({}))
    with pytest.raises(ServerError) as raised:
        await client.delete_file(blob_uri(b"x"))
    message = str(raised.value)
    assert len(server.seen) == 1
    assert "HTTP 520" in message and "never retried" in message
    assert "\n" not in message and "<" not in message


async def test_a_read_whose_body_is_cut_off_is_retried(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(cut_off, json_reply({"invocation": [{"id": {"invocationId": "1"}}]}))
    assert await all_invocation_ids(client) == ["1"]
    assert len(server.seen) == 2


async def test_a_503_burst_is_retried_with_its_retry_after(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    hints: list[float] = []

    class Recording(Backoff):
        def next_delay(self, at_least_s: float = 0.0) -> float:
            hints.append(at_least_s)
            return 0.0

    server.answer(
        reply(503, "busy", **{"Retry-After": "0"}),
        reply(503, "busy", **{"Retry-After": "0"}),
        json_reply({}),
    )
    async with BuildBuddyClient(
        BuildBuddyConnection(server.url, Secret(KEY)), backoff=Recording
    ) as recording:
        await recording.check_access()
    assert len(server.seen) == 3
    assert hints == [0.0, 0.0]


async def test_a_delete_that_meets_a_503_is_sent_once(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(503, "busy"), json_reply({}))
    with pytest.raises(ServerError, match="never retried"):
        await client.delete_file(blob_uri(b"x"))
    assert len(server.seen) == 1


async def test_the_key_quoted_in_an_error_is_never_shown(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(500, f'rpc error: code = Unauthenticated desc = Invalid API key "{KEY}"'))
    with pytest.raises(AuthError) as raised:
        await client.check_access()
    assert KEY not in str(raised.value)
    assert len(server.seen) == 1


async def test_permission_denied_is_an_auth_error_not_retried(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(500, "rpc error: code = PermissionDenied desc = DeleteFile API not enabled"))
    with pytest.raises(AuthError, match="DeleteFile API not enabled"):
        await client.delete_file(blob_uri(b"x"))


async def test_invalid_argument_carries_the_servers_message(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(500, "rpc error: code = InvalidArgument desc = bad selector\n"))
    with pytest.raises(ConfigError, match="InvalidArgument: bad selector"):
        await client.check_access()
    assert len(server.seen) == 1


async def test_a_400_carries_the_servers_message(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(400, 'proto: (line 1:2): unknown field "include_child_invocations"'))
    with pytest.raises(ConfigError, match="unknown field"):
        await client.check_access()


async def test_escape_sequences_in_a_server_message_are_neutralised(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(500, "rpc error: code = NotFound desc = \x1b]52;c;ZXZpbA==\x07gone\x1b[2J"))
    with pytest.raises(NotFoundError) as raised:
        [t async for t in client.targets("inv")]
    assert "\x1b" not in str(raised.value)
    assert "gone" in str(raised.value)


async def test_an_unknown_method_means_the_url_is_wrong(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(404, "Method '/api/v1/GetInvocation' not found."))
    with pytest.raises(ConfigError, match="--buildbuddy-url"):
        await client.check_access()


async def test_a_401_from_getfile_is_an_auth_error(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(401, "Invalid API key"))
    with pytest.raises(AuthError):
        await client.get_file(blob_uri(b"x"), lambda data: None)


async def test_bytes_that_do_not_match_the_digest_are_reported_and_leave_no_file(
    server: ScriptedServer, client: BuildBuddyClient, tmp_path: Path
) -> None:
    expected = b"the real test log\n"
    server.answer(reply(body=b"a forged test log\n"))
    with pytest.raises(DigestMismatchError, match="sha256"):
        await client.download(blob_uri(expected), tmp_path / "test.log")
    assert list(tmp_path.iterdir()) == []


async def test_bytes_beyond_the_promised_size_never_reach_the_consumer(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    expected = b"0123456789"
    server.answer(reply(body=expected + b"rpc error: code = Unavailable desc = gone\n"))
    received = bytearray()
    with pytest.raises(IncompleteDownloadError):
        await client.get_file(blob_uri(expected), received.extend)
    assert len(received) <= len(expected)


async def test_a_short_body_is_reported(server: ScriptedServer, client: BuildBuddyClient) -> None:
    expected = b"0123456789"
    server.answer(reply(body=expected[:4]))
    with pytest.raises(IncompleteDownloadError, match="4 of 10 bytes"):
        await client.get_file(blob_uri(expected), lambda data: None)


async def test_a_zstd_body_is_decompressed_and_verified(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    expected = b"compressible " * 10_000
    server.answer(reply(body=zstandard.ZstdCompressor().compress(expected)))
    received = bytearray()
    await client.get_file(blob_uri(expected, "compressed-blobs/zstd"), received.extend)
    assert received == expected


async def test_a_corrupt_zstd_body_is_a_clear_error(
    server: ScriptedServer, client: BuildBuddyClient
) -> None:
    server.answer(reply(body=b"definitely not zstd"))
    with pytest.raises(MalformedResponseError, match="zstd"):
        await client.get_file(blob_uri(b"x" * 100, "compressed-blobs/zstd"), lambda data: None)


async def test_an_unreachable_server_is_reported_after_the_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with client_for(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(RetryableError, match="cannot reach BuildBuddy"):
            await client.check_access()


def test_a_server_url_that_is_not_http_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="https://"):
        BuildBuddyClient(BuildBuddyConnection("ftp://example.com", Secret(KEY)))


def several_batches() -> bytes:
    """Bytes for three hand-overs to the writing thread, that do not compress to nothing."""
    size = 2 * BATCH_BYTES + 2**20
    return b"".join(hashlib.sha256(str(n).encode()).digest() for n in range(size // 32))


def sends_then(data: bytes, promised: int, *, hang: bool) -> Reply:
    """Promise `promised` bytes, send `data`, then hang up (or, with `hang`, go silent until
    the client does)."""

    async def respond(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(promised)})
        await response.prepare(request)
        await response.write(data)
        transport = request.transport
        assert transport is not None
        while hang and not transport.is_closing():
            await asyncio.sleep(0.01)
        transport.close()
        return response

    return respond


async def test_a_download_of_several_batches_is_saved_whole(
    server: ScriptedServer, client: BuildBuddyClient, tmp_path: Path
) -> None:
    expected = several_batches()
    server.answer(reply(body=expected))
    destination = tmp_path / "blob"
    assert await client.download(blob_uri(expected), destination) == len(expected)
    assert destination.read_bytes() == expected


async def test_a_zstd_download_of_several_batches_is_saved_decompressed(
    server: ScriptedServer, client: BuildBuddyClient, tmp_path: Path
) -> None:
    expected = several_batches()
    server.answer(reply(body=zstandard.ZstdCompressor().compress(expected)))
    destination = tmp_path / "blob"
    await client.download(blob_uri(expected, "compressed-blobs/zstd"), destination)
    assert destination.read_bytes() == expected


async def test_a_download_that_does_not_match_its_digest_leaves_no_file(
    server: ScriptedServer, client: BuildBuddyClient, tmp_path: Path
) -> None:
    expected = several_batches()
    server.answer(reply(body=expected[:-1] + b"?"))
    with pytest.raises(DigestMismatchError):
        await client.download(blob_uri(expected), tmp_path / "blob")
    assert list(tmp_path.iterdir()) == []


async def test_a_download_cut_off_reports_every_byte_that_arrived_and_leaves_no_file(
    server: ScriptedServer, client: BuildBuddyClient, tmp_path: Path
) -> None:
    expected = several_batches()
    sent = BATCH_BYTES + 2**20
    server.answer(sends_then(expected[:sent], len(expected), hang=False))
    with pytest.raises(IncompleteDownloadError, match=f"after {sent} bytes"):
        await client.download(blob_uri(expected), tmp_path / "blob")
    assert list(tmp_path.iterdir()) == []


async def test_a_cancelled_download_leaves_no_file(
    server: ScriptedServer, client: BuildBuddyClient, tmp_path: Path
) -> None:
    expected = several_batches()
    server.answer(sends_then(expected[: BATCH_BYTES + 2**20], len(expected), hang=True))
    download = asyncio.create_task(client.download(blob_uri(expected), tmp_path / "blob"))
    while not any(tmp_path.iterdir()) or next(tmp_path.iterdir()).stat().st_size < BATCH_BYTES:
        await asyncio.sleep(0.01)
    download.cancel()
    with pytest.raises(asyncio.CancelledError):
        await download
    assert list(tmp_path.iterdir()) == []
