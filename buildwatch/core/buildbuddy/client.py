"""An async client for the BuildBuddy API (JSON over HTTP POST at `/api/v1/<Method>`).

Reads are retried with backoff when the server is throttling or briefly failing; DeleteFile is
sent exactly once, whatever happens. The API key goes only to the configured origin: redirects
are never followed, because httpx would carry `x-buildbuddy-api-key` to another host.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
import msgspec

from buildwatch.core.backoff import Backoff, RetryNotice, parse_retry_after
from buildwatch.core.buildbuddy.errors import (
    MalformedResponseError,
    RetryableError,
    classify,
    looks_like_html,
    shown,
)
from buildwatch.core.buildbuddy.files import (
    BlobUri,
    Consumer,
    Decoder,
    Feeder,
    IncompleteDownloadError,
    VerifyingSink,
    open_destination,
)
from buildwatch.core.buildbuddy.models import (
    Action,
    Invocation,
    Json,
    LogChunk,
    Target,
    messages,
)
from buildwatch.core.connection import BuildBuddyConnection
from buildwatch.core.errors import AuthError, BuildwatchError, ConfigError, ServerError
from buildwatch.core.http_client import async_client
from buildwatch.core.ids import MAX_URI_LENGTH, checked_path_segment, checked_text
from buildwatch.core.reachability import CONFIGURATION_HINT, configuration_problem
from buildwatch.core.secrets import Secret

_T = TypeVar("_T")
FIRST_LOG_PAGE = "0000"
"""GetLog's first chunk. An empty token would return the last persisted chunk instead."""
_ERROR_BODY_LIMIT = 64 * 1024
_DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=30.0, pool=30.0)


class _ApiKeyAuth(httpx.Auth):
    """Adds `x-buildbuddy-api-key` to requests for the configured origin, and to no other."""

    def __init__(self, origin: httpx.URL, key: Secret) -> None:
        self._origin = (origin.scheme, origin.host, origin.port)
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if (request.url.scheme, request.url.host, request.url.port) == self._origin:
            request.headers["x-buildbuddy-api-key"] = self._key.reveal()
        yield request


class BuildBuddyClient:
    """Calls one BuildBuddy server with one API key. Use it as an async context manager.

    `max_attempts` bounds the tries of a read (None: no bound); `backoff` makes the delay policy
    for one call (tests pass a fast one); `on_retry` hears of each failed try that will be tried
    again; `live_poll_s` is how often a growing log chunk is polled. An address that looks wrong
    (see `buildwatch.core.reachability`) fails at once with advice, unless `retry_misconfigured`:
    then it is retried like an outage, the error saying what looks wrong.
    """

    def __init__(
        self,
        connection: BuildBuddyConnection,
        *,
        max_attempts: int | None = 6,
        retry_misconfigured: bool = False,
        backoff: Callable[[], Backoff] = Backoff,
        on_retry: Callable[[RetryNotice], None] | None = None,
        live_poll_s: float = 1.0,
        timeout: httpx.Timeout = _DEFAULT_TIMEOUT,
    ) -> None:
        try:
            base = httpx.URL(connection.base_url.rstrip("/") + "/")
        except httpx.InvalidURL:
            base = httpx.URL()
        if base.scheme not in ("http", "https") or not base.host:
            raise ConfigError("the BuildBuddy URL must start with https:// or http:// and name a host")
        self._base = base
        self._key = connection.api_key or None
        self._max_attempts = max_attempts
        self._retry_misconfigured = retry_misconfigured
        self._backoff = backoff
        self._on_retry = on_retry
        self._live_poll_s = live_poll_s
        self._http = async_client(
            str(base), timeout=timeout, auth=_ApiKeyAuth(base, self._key) if self._key else None
        )

    async def __aenter__(self) -> BuildBuddyClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    def until_cancelled(self, on_retry: Callable[[RetryNotice], None]) -> BuildBuddyClient:
        """This client, on the same connections, retrying a read that meets an outage for as
        long as it takes and telling `on_retry` of each wait instead of the client's `on_retry`:
        a screen waits while it is open, and cancels the read when it closes. Close only the
        original."""
        waiting = copy.copy(self)
        waiting._max_attempts = None
        waiting._on_retry = on_retry
        return waiting

    async def check_access(self) -> None:
        """Make one cheap authenticated call; raise `AuthError` if the key is missing or refused.

        GetInvocation for a random id answers `{}` to a valid key.
        """
        await self._call("GetInvocation", {"selector": {"invocation_id": str(uuid.uuid4())}})

    def invocations(
        self, *, invocation_id: str | None = None, commit_sha: str | None = None
    ) -> AsyncIterator[Invocation]:
        """Invocations with this id, or of this commit (every page, in the server's order)."""
        if not invocation_id and not commit_sha:
            raise ConfigError("give an invocation id or a commit SHA")
        selector = _selector(invocation_id=invocation_id, commit_sha=commit_sha)
        return self._pages("GetInvocation", selector, "invocation", Invocation.from_json)

    def targets(
        self,
        invocation_id: str,
        *,
        target_id: str | None = None,
        tag: str | None = None,
        label: str | None = None,
    ) -> AsyncIterator[Target]:
        """Targets of an invocation, optionally narrowed by id, tag or label (every page)."""
        selector = _selector(invocation_id=invocation_id, target_id=target_id, tag=tag, label=label)
        return self._pages("GetTarget", selector, "target", Target.from_json)

    def actions(
        self,
        invocation_id: str,
        *,
        target_id: str | None = None,
        configuration_id: str | None = None,
        action_id: str | None = None,
    ) -> AsyncIterator[Action]:
        """Actions of an invocation, optionally narrowed by target, configuration or action."""
        selector = _selector(
            invocation_id=invocation_id,
            target_id=target_id,
            configuration_id=configuration_id,
            action_id=action_id,
        )
        return self._pages("GetAction", selector, "action", Action.from_json)

    async def log_page(self, invocation_id: str, page_token: str) -> LogChunk:
        """One GetLog chunk."""
        body = {"selector": _selector(invocation_id=invocation_id), "page_token": page_token}
        return LogChunk.from_json(page_token, await self._call("GetLog", body))

    async def log(self, invocation_id: str, *, follow: bool = False) -> AsyncIterator[LogChunk]:
        """The log from its first chunk to its end.

        A live chunk (an invocation still running) is yielded as a snapshot; with `follow` it is
        polled again with the same token and each new snapshot replaces the previous one, until
        the chunk is final and the log moves on. Without `follow` the live snapshot ends the log.
        """
        token = FIRST_LOG_PAGE
        seen = {token}
        while True:
            chunk = await self.log_page(invocation_id, token)
            yield chunk
            if chunk.last or (chunk.live and not follow):
                return
            if chunk.live:
                await asyncio.sleep(self._live_poll_s)
                continue
            token = _next_token("GetLog", chunk.next_page_token, seen)

    async def get_file(self, uri: str, consumer: Consumer) -> int:
        """Stream the file to `consumer`; return its size once its length and digest check out.

        The consumer is called on the event loop, and may already have received part of a
        file that then fails a check.
        """
        blob = BlobUri.parse(_checked_uri(uri))
        sink = VerifyingSink(blob, consumer)
        async with Feeder(Decoder(sink, blob.zstd), offload=False) as feeder:
            await self._receive_file(uri, feeder, sink)
        sink.finish()
        return sink.received

    async def download(self, uri: str, destination: Path) -> int:
        """Save the file at `destination`: a file appears there only once it is complete and
        verified; a character device or a FIFO gets the bytes as they come (see `write_mode`)."""
        blob = BlobUri.parse(_checked_uri(uri))
        with open_destination(destination) as target:
            sink = VerifyingSink(blob, target.write)
            async with Feeder(Decoder(sink, blob.zstd), offload=True) as feeder:
                await self._receive_file(uri, feeder, sink)
            sink.finish()
            # fsync can take a while on a big file: never on the event loop, which may be a UI's.
            await asyncio.to_thread(target.commit)
        return sink.received

    async def _receive_file(self, uri: str, feeder: Feeder, sink: VerifyingSink) -> None:
        # Blobs are often compressed already and large: gzip on the fly would cost both ends more
        # CPU than it saves. A `/compressed-blobs/zstd/` URI is the way to a compressed transfer.
        identity = {"Accept-Encoding": "identity"}
        async with self._open("GetFile", {"uri": uri}, headers=identity) as response:
            try:
                async for piece in response.aiter_bytes():
                    await feeder.put(piece)
            except httpx.TransportError as error:
                await feeder.drain()
                raise IncompleteDownloadError(
                    f"GetFile was cut off after {sink.received} bytes ({_reason(error)}): "
                    "the download is incomplete"
                ) from None
            except httpx.DecodingError as error:
                raise MalformedResponseError(f"GetFile sent a corrupt body ({error})") from None

    async def delete_file(self, uri: str) -> None:
        """Delete a cache entry. Sent once and never retried, whatever the outcome."""
        try:
            await self._call("DeleteFile", {"uri": _checked_uri(uri)}, retry=False)
        except ServerError as error:
            # Plain ServerError: nothing about a failed delete invites a caller to retry it.
            raise ServerError(f"{error}; DeleteFile is never retried") from None

    async def _pages(
        self, rpc: str, selector: Json, key: str, parse: Callable[[Json], _T]
    ) -> AsyncIterator[_T]:
        body: dict[str, Any] = {"selector": selector}
        seen: set[str] = set()
        while True:
            response = await self._call(rpc, body)
            for item in messages(response, key, "response"):
                yield parse(item)
            token = response.get("nextPageToken")
            if not token:
                return
            if not isinstance(token, str):
                raise MalformedResponseError(f"BuildBuddy sent a non-string {rpc} page token")
            body = {"selector": selector, "page_token": _next_token(rpc, token, seen)}

    async def _call(self, rpc: str, body: Json, *, retry: bool = True) -> dict[str, Any]:
        response = await self._send(rpc, body, retry=retry, read_body=True)
        return self._decode(rpc, response.content)

    def _decode(self, rpc: str, raw: bytes) -> dict[str, Any]:
        if looks_like_html(raw):
            raise ConfigError(
                f"{self.origin} answered {rpc} with a web page, not the BuildBuddy API "
                "(a login page or a proxy?); check --buildbuddy-url"
            )
        try:
            # msgspec decodes a log page's long escaped strings about twice as fast as json.
            decoded = msgspec.json.decode(raw)
        except ValueError:
            raise MalformedResponseError(
                f"BuildBuddy {rpc} answered with malformed JSON: {shown(raw[:80].decode('utf-8', 'replace'))}"
            ) from None
        if not isinstance(decoded, dict):
            raise MalformedResponseError(f"BuildBuddy {rpc} answered with JSON that is not an object")
        return decoded

    @asynccontextmanager
    async def _open(
        self, rpc: str, body: Json, *, headers: Mapping[str, str]
    ) -> AsyncIterator[httpx.Response]:
        """A 200 response to `body` (a read, retried), held open for streaming its body."""
        response = await self._send(rpc, body, retry=True, read_body=False, headers=headers)
        try:
            yield response
        finally:
            await response.aclose()

    async def _send(
        self,
        rpc: str,
        body: Json,
        *,
        retry: bool,
        read_body: bool,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send `body` to `rpc` until a 200 arrives (once, unless `retry`).

        With `read_body` a body cut off in transit counts as a failed try; without it the
        response is returned open and the caller must close it.
        """
        if self._key is None:
            raise AuthError(
                "no BuildBuddy API key: set BUILDWATCH_BUILDBUDDY_API_KEY or store one in the keyring"
            )
        request = self._http.build_request(
            "POST",
            self._base.join(f"api/v1/{rpc}"),
            content=json.dumps(body, separators=(",", ":")).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        backoff = self._backoff()
        attempts = self._max_attempts if retry else 1
        attempt = 1
        while True:
            outcome = await self._attempt(rpc, request, read_body)
            if isinstance(outcome, httpx.Response):
                return outcome
            if not isinstance(outcome, RetryableError) or not retry:
                raise outcome
            if attempts is not None and attempt == attempts:
                if attempts > 1:
                    outcome = RetryableError(
                        f"{outcome} (gave up after {attempts} tries)", outcome.retry_after_s
                    )
                raise outcome
            delay = backoff.next_delay(at_least_s=outcome.retry_after_s)
            if self._on_retry is not None:
                self._on_retry(RetryNotice(str(outcome), delay, attempt))
            attempt += 1
            await asyncio.sleep(delay)

    async def _attempt(
        self, rpc: str, request: httpx.Request, read_body: bool
    ) -> httpx.Response | BuildwatchError:
        """One try: the 200 response, or the error that stands for any other outcome."""
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TransportError as error:
            return self._unreachable(error)
        if response.status_code == 200:
            if not read_body:
                return response
            try:
                await response.aread()
            except httpx.TransportError as error:
                return RetryableError(f"BuildBuddy {rpc} was cut off ({_reason(error)})")
            except httpx.DecodingError as error:
                return MalformedResponseError(f"BuildBuddy {rpc} sent a corrupt body ({error})")
            finally:
                await response.aclose()
            return response
        try:
            if response.is_redirect:
                location = httpx.URL(response.headers.get("location", "")).host or "elsewhere"
                return ConfigError(
                    f"{self.origin} redirected {rpc} to {shown(location)} (a login page or a "
                    "proxy?); not followed, so the API key stays with it; check --buildbuddy-url"
                )
            body = bytearray()
            async for piece in response.aiter_bytes():
                body += piece
                if len(body) >= _ERROR_BODY_LIMIT:
                    break
        except (httpx.TransportError, httpx.DecodingError):
            body = bytearray()
        finally:
            await response.aclose()
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        secret = self._key.reveal() if self._key else None
        return classify(rpc, response.status_code, bytes(body), retry_after, secret)

    def _unreachable(self, error: httpx.TransportError) -> BuildwatchError:
        """Why the server could not be reached: an outage is retried; an address that looks
        wrong is final, unless the client was told to retry it."""
        problem = configuration_problem(error, str(self._base))
        if problem is None:
            return RetryableError(f"cannot reach BuildBuddy at {self.origin} ({_reason(error)})")
        if not self._retry_misconfigured:
            return ServerError(f"cannot reach BuildBuddy at {self.origin}: {problem}")
        return RetryableError(f"{CONFIGURATION_HINT}: {problem}")

    @property
    def origin(self) -> str:
        """The server as `scheme://host[:port]`, for messages (never any user info in the URL)."""
        host = f"[{self._base.host}]" if ":" in self._base.host else self._base.host
        port = f":{self._base.port}" if self._base.port else ""
        return shown(f"{self._base.scheme}://{host}{port}")


_SEGMENT_FIELDS = frozenset({"invocation_id", "commit_sha"})
"""Selector fields that are plain ids (an invocation id is also a path segment of its web page)."""


def _selector(**fields: str | None) -> dict[str, str]:
    """The selector fields that are set (the server rejects fields it does not know), each
    checked: `InvalidIdError` for one no server could have issued."""
    selector = {}
    for name, value in fields.items():
        if value:
            what = name.replace("_", " ").replace(" sha", " SHA")
            check = checked_path_segment if name in _SEGMENT_FIELDS else checked_text
            selector[name] = check(value, what)
    return selector


def _checked_uri(uri: str) -> str:
    return checked_text(uri, "file URI", MAX_URI_LENGTH)


def _next_token(rpc: str, token: str, seen: set[str]) -> str:
    """Refuse a page token the server already gave: following it would loop forever."""
    if token in seen:
        raise ServerError(f"BuildBuddy {rpc} returned the same page token twice; stopped")
    seen.add(token)
    return token


def _reason(error: Exception) -> str:
    detail = shown(str(error))
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__

