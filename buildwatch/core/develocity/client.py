"""The Develocity Export API client: every message exactly once, in order, whatever the network does.

Each stream is a loop of connections. A connection's body goes through the SSE parser; when it
ends, cleanly or not (httpx reports a `Connection: close` body cut mid-event, or a gzip body
missing its trailer, as a clean end), the client reconnects with `Last-Event-ID` set to the
last complete message's id, until the server answers 204.

A build's events are the exception: the server sends them all (the build is finished once
listed) and then ends the body, so a body that ended whole (framed, its gzip stream complete,
between two events: `whole_body`) after bringing new messages completes the read without the
request for the 204; one that may have been cut is resumed as any other.

Messages already delivered are recognised by their id and never delivered again. A connection
that brought new messages is followed at once and ends a run of failures; one cut before its
next message (it brought bytes: the server is up) is followed after a short pause that grows,
up to a few seconds, with each such cut in a row; one that brought nothing (an error, a 503, an
empty body) is a failure and waits a backoff with full jitter, growing with each failure in a
row. A server's `retry:` field sets the waits.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import aclosing
from operator import attrgetter, lt
from typing import Literal, Protocol
from urllib.parse import quote, urlsplit

import httpx

from buildwatch.core.backoff import Backoff, RetryNotice, parse_retry_after
from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.models import Build, Message, messages_from
from buildwatch.core.develocity.whole_body import BodyReader
from buildwatch.core.errors import AuthError, NotFoundError, ServerError, UnavailableError
from buildwatch.core.http_client import async_client
from buildwatch.core.ids import checked_path_segment
from buildwatch.core.log_redaction import redact
from buildwatch.core.reachability import CONFIGURATION_HINT, configuration_problem
from buildwatch.core.sanitize import sanitize_line
from buildwatch.core.sse import DEFAULT_MAX_EVENT_BYTES, SSEEvent, SSEParser, pieces

DEFAULT_IDLE_TIMEOUT_S = 60.0
"""No byte for this long (heartbeats included) means the connection is dead."""
DEFAULT_MAX_FAILURES = 10
"""A finite stream gives up after this many connections in a row that brought nothing (a client
made with `max_failures=None` never does: the monitor rides out outages of any length)."""

Since = Literal["now"] | int
"""Where a build listing starts: `now`, or an epoch-ms time (0: the beginning)."""

# Besides every 5xx (a CDN's 520-530 HTML page too): a timeout, "too early" and throttling.
_RETRIED_4XX = frozenset({408, 425, 429})
# What a server answers to a `sinceBuild` or a `Last-Event-ID` it no longer knows.
_RESUME_REJECTED = frozenset({400, 404})
_SEEN_LISTING_IDS = 10_000
_ERROR_BODY_BYTES = 4096
_NOW_MARGIN_MS = 60_000
_event_id = attrgetter("id")


def plain_http_warning(connection: DevelocityConnection) -> str | None:
    """A warning if credentials would cross the network unencrypted, else None."""
    if not (connection.token or connection.password):
        return None
    url = urlsplit(connection.base_url)
    if url.scheme != "http" or _is_loopback(url.hostname or ""):
        return None
    return f"credentials are sent to {url.hostname} over plain http; use an https:// URL"


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DevelocityClient:
    """Reads builds and build events from one Develocity server; use it as an async context manager.

    `backoff` makes the backoff policy of each stream (tests pass short delays); `on_retry` is
    told about every reconnection (the CLI reports them on stderr), `on_connected` about every
    connection that opened a stream (a monitor shows the source live again). A finite stream
    gives up after `max_failures` fruitless connections in a row (None: never). An address that
    looks wrong (see `buildwatch.core.reachability`) fails at once with advice, unless
    `retry_misconfigured`: then it is retried like an outage, the notices saying what looks wrong.

    Each stream (`build_batches`, `event_batches`, `builds`, `events`) is an async generator that
    holds its HTTP response open between batches: read it inside `contextlib.aclosing(...)`, so
    that a reader that stops early closes the connection then, not when the garbage collector
    finds the generator.
    """

    def __init__(
        self,
        connection: DevelocityConnection,
        *,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        connect_timeout_s: float = 10.0,
        max_failures: int | None = DEFAULT_MAX_FAILURES,
        retry_misconfigured: bool = False,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        backoff: Callable[[], Backoff] = Backoff,
        on_retry: Callable[[RetryNotice], None] | None = None,
        on_connected: Callable[[], None] | None = None,
    ) -> None:
        self._connection = connection
        self._root = f"{connection.base_url.rstrip('/')}/build-export/v{connection.api_version}"
        self._host = urlsplit(connection.base_url).netloc or connection.base_url
        self._max_failures = max_failures
        self._retry_misconfigured = retry_misconfigured
        self._max_event_bytes = max_event_bytes
        self._backoff = backoff
        self._on_retry = on_retry
        self._on_connected = on_connected
        self._authorizations = _authorizations(connection)
        self._http = async_client(
            connection.base_url,
            timeout=httpx.Timeout(connect_timeout_s, read=idle_timeout_s),
            headers={"Accept-Encoding": "gzip", "Cache-Control": "no-store"},
        )

    async def __aenter__(self) -> DevelocityClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection."""
        await self._http.aclose()

    async def check_access(self) -> None:
        """Make one cheap request; raise AuthError if the server refuses the credentials."""
        try:
            response = await self._get(f"{self._root}/builds/since/now", {})
        except httpx.RequestError as error:
            problem = configuration_problem(error, self._connection.base_url)
            raise ServerError(f"cannot reach {self._host}: {problem or _describe(error)}") from None
        try:
            if response.status_code not in (200, 204):
                await self._raise_for_status(response, "the build listing")
        finally:
            await response.aclose()

    def build_batches(
        self, *, since: Since = "now", since_build: str | None = None, stream: bool = False
    ) -> AsyncGenerator[list[Message], None]:
        """Builds in the order Develocity received them, in batches as they arrive.

        From `since_build` (exclusive) if given, else from `since`. Without `stream` it ends when
        the builds received so far are delivered; with it, it runs until cancelled.

        If the server no longer knows where to resume (it answers 400 or 404 to `since_build` or
        to a `Last-Event-ID`, as after a restart that lost them), the listing starts again from
        the time of the newest build delivered, less a margin (before any: from `since`, if it is
        a time); builds delivered already are recognised by their id and not delivered again.
        """
        query = "?stream" if stream else ""
        if since_build is not None:
            since_id = quote(checked_path_segment(since_build, "build id"), safe="")
            path = f"builds/sinceBuild/{since_id}{query}"
            fallback = _ListingFallback(query, since if isinstance(since, int) else None)
            return self._stream(
                path, f"build {since_build}", _SeenListing(), endless=stream, fallback=fallback
            )
        restart = None
        if since == "now":
            # A connection lost before the first build has no id to resume from, and `now`
            # would then skip what was published meanwhile: restart from a little before this
            # call instead (the margin absorbs clock skew; the server refuses future dates).
            started_ms = int(time.time() * 1000) - _NOW_MARGIN_MS
            restart = f"builds/since/{started_ms}{query}"
        return self._stream(
            f"builds/since/{since}{query}",
            "the build listing",
            _SeenListing(),
            endless=stream,
            restart=restart,
            fallback=_ListingFallback(query, None),
        )

    def event_batches(
        self,
        build_id: str,
        event_types: Iterable[str] | None = None,
        *,
        until_cancelled: bool = False,
        attempts: int | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
    ) -> AsyncGenerator[list[Message], None]:
        """The build's `Build` message, then its events (of `event_types` only, if given).

        With `until_cancelled`, a server that does not answer is waited for however long it
        takes (a screen that shows the build cancels the read when it closes); else the read
        gives up after `attempts` fruitless connections in a row (default: the client's
        `max_failures`). `on_retry` is told about this read's retries instead of the client's.
        """
        path = f"build/{quote(checked_path_segment(build_id, 'build id'), safe='')}/events"
        if event_types is not None:
            path += "?eventTypes=" + quote(",".join(event_types), safe=",")
        return self._stream(
            path, f"build {build_id}", _SeenPositions(), endless=until_cancelled,
            attempts=attempts, on_retry=on_retry, final_when_whole=True,
        )

    async def builds(
        self, *, since: Since = "now", since_build: str | None = None, stream: bool = False
    ) -> AsyncGenerator[Message, None]:
        """`build_batches`, one message at a time."""
        batches = self.build_batches(since=since, since_build=since_build, stream=stream)
        async with aclosing(batches):
            async for batch in batches:
                for message in batch:
                    yield message

    async def events(
        self, build_id: str, event_types: Iterable[str] | None = None
    ) -> AsyncGenerator[Message, None]:
        """`event_batches`, one message at a time."""
        async with aclosing(self.event_batches(build_id, event_types)) as batches:
            async for batch in batches:
                for message in batch:
                    yield message

    async def _stream(
        self,
        path: str,
        what: str,
        seen: _Seen,
        *,
        endless: bool,
        restart: str | None = None,
        fallback: _ListingFallback | None = None,
        attempts: int | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
        final_when_whole: bool = False,
    ) -> AsyncGenerator[list[Message], None]:
        """Connect, parse, deliver new messages; reconnect until a 204 (see the module doc).

        `restart` is the path to reconnect to while no message id is known yet; `fallback`, for
        a listing, where to list again from when the server rejects the resume point. `endless`
        streams never give up, others after `attempts` (else `max_failures`) fruitless
        connections in a row; `on_retry` replaces the client's. With `final_when_whole` (a
        build's events: not a streaming resource), a body that brought new messages and ended
        whole ends the stream.
        """
        report = on_retry or self._on_retry
        url = f"{self._root}/{path}"
        backoff = self._backoff()
        last_id = ""
        failures = 0
        retry_hinted = False
        fell_back = False
        cuts = 0
        while True:
            received = False
            delivered = False
            clean = False
            retry_after = 0.0
            resume_rejected: str | None = None
            parser = SSEParser(last_id, self._max_event_bytes)
            resuming = bool(last_id) or "/sinceBuild/" in url
            try:
                response = await self._get(url, _resume_headers(last_id))
                try:
                    status = response.status_code
                    if status == 204:
                        # Read to its (empty) end, so the connection goes back to the pool:
                        # one closed unread is dropped, and every build's events would cost a
                        # new connection.
                        await response.aread()
                        return
                    if status >= 500 or status in _RETRIED_4XX:
                        retry_after = parse_retry_after(response.headers.get("Retry-After"))
                        cause = f"{self._host} answered {status}{_html_note(response)}"
                    elif (
                        status in _RESUME_REJECTED
                        and resuming
                        and fallback is not None
                        and (resume_rejected := fallback.path()) is not None
                    ):
                        cause = (
                            f"{self._host} no longer knows where the listing stopped ({status}); "
                            f"listing again from {_clock(fallback.since_ms)}"
                        )
                    else:
                        await self._check_stream(response, what)
                        if self._on_connected is not None:
                            self._on_connected()
                        body = BodyReader(response)
                        async for chunk in body.chunks():
                            received = True
                            for number, piece in enumerate(pieces(chunk)):
                                if number:
                                    # A turn of the loop between pieces: a big chunk (an
                                    # inflated gzip read) would otherwise hold it for as long
                                    # as its thousands of messages take, keys waiting.
                                    await asyncio.sleep(0)
                                events = parser.feed(piece)
                                if events:
                                    batch = messages_from(seen.fresh(events))
                                    if batch:
                                        delivered = True
                                        if fallback is not None:
                                            fallback.saw(batch)
                                        yield batch
                        between_events = parser.close()
                        if final_when_whole and delivered and between_events and body.whole:
                            # The server sent every event there is and ended the body itself:
                            # asking again would only fetch the 204 that says so.
                            return
                        clean = True
                        cause = "the server ended the response"
                finally:
                    await response.aclose()
            except httpx.RequestError as error:
                cause = self._transport_cause(error)
            last_id = parser.last_event_id
            if resume_rejected is not None:
                # A fresh listing from a time: no id to resume from, and none to restart from.
                url, last_id, restart = f"{self._root}/{resume_rejected}", "", None
            elif not last_id and restart is not None:
                url = f"{self._root}/{restart}"
            if parser.retry is not None:
                backoff.set_base(parser.retry)  # clamped to 0.5-60 s
                retry_hinted = True
            if delivered:
                failures = 0
                fell_back = False
                cuts = 0
                backoff.reset()
                # Progress: reconnect at once, unless the server asked for a pause.
                delay = backoff.base_s if retry_hinted else 0.0
            elif resume_rejected is not None and not fell_back:
                # The server is back, only without our position: list again at once.
                fell_back = True
                delay = 0.0
            elif received:
                # A stream cut before its next message: the server is up, only the connection
                # broke. That ends a run of failures; reconnect soon (a little later after each
                # such cut in a row). A finite stream gives up on as many cuts as failures.
                cuts += 1
                failures = 0
                backoff.reset()
                self._give_up_after(cuts, attempts, endless, what, cause)
                delay = backoff.base_s if retry_hinted else backoff.cut_delay(cuts)
            else:
                failures += 1
                self._give_up_after(failures, attempts, endless, what, cause)
                delay = backoff.next_delay(retry_after)
            # A finite stream's body ends cleanly before the 204 that completes it: not news.
            if report is not None and not (clean and delivered):
                report(RetryNotice(cause, delay, failures))
            await backoff.wait(delay)

    def _give_up_after(
        self, in_a_row: int, attempts: int | None, endless: bool, what: str, cause: str
    ) -> None:
        """Raise UnavailableError if a finite stream has had `in_a_row` fruitless connections
        of its limit (`attempts`, else the client's `max_failures`)."""
        limit = self._max_failures if attempts is None else attempts
        if not endless and limit is not None and in_a_row >= limit:
            raise UnavailableError(
                f"gave up on {what} at {self._host} after {in_a_row} attempts: {cause}"
            )

    def _transport_cause(self, error: httpx.RequestError) -> str:
        """Why a connection failed; raises at once for a wrong address unless told to retry."""
        problem = configuration_problem(error, self._connection.base_url)
        if problem is None:
            return _describe(error)
        if not self._retry_misconfigured:
            raise ServerError(f"cannot reach {self._host}: {problem}") from None
        return f"{CONFIGURATION_HINT}: {problem}"

    async def _get(self, url: str, headers: dict[bytes, bytes]) -> httpx.Response:
        """Send a GET with the credentials that work, falling back once on a 401."""
        for index, authorization in enumerate(self._authorizations):
            request = self._http.build_request("GET", url, headers={**headers, **authorization})
            response = await self._http.send(request, stream=True)
            if response.status_code != 401 or index == len(self._authorizations) - 1:
                # Remember what worked, so later requests don't pay for the fallback again.
                self._authorizations = self._authorizations[index:]
                return response
            await response.aclose()
        raise AssertionError("unreachable: there is always at least one authorization")

    async def _check_stream(self, response: httpx.Response, what: str) -> None:
        if response.status_code != 200:
            await self._raise_for_status(response, what)
        content_type = response.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() != "text/event-stream":
            shown = sanitize_line(content_type)[:80] or "no content type"
            raise ServerError(
                f"{self._host} answered {shown}, not an event stream: "
                "is the Develocity URL right (a proxy or login page in the way)?"
            )

    async def _raise_for_status(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status == 401:
            raise AuthError(
                f"{self._host} refused the credentials (401): set BUILDWATCH_DEVELOCITY_TOKEN "
                "or run `buildwatch auth login` with a valid access key"
            )
        if status == 403:
            raise AuthError(
                f"{self._host} denied access (403): the account needs the Export API permission"
            )
        if status == 404:
            if what.startswith("build "):
                raise NotFoundError(f"{what} not found on {self._host}")
            raise NotFoundError(f"no Export API at {self._root} (404): check the Develocity URL")
        if 300 <= status < 400:
            location = sanitize_line(response.headers.get("Location", ""))[:120]
            raise ServerError(f"{self._host} redirects to {location or 'elsewhere'}: use that URL")
        message = await _error_text(response)
        raise ServerError(f"{self._host} rejected the request for {what} ({status}): {message}")


class _Seen(Protocol):
    """Which messages of a stream were already delivered."""

    def fresh(self, events: list[SSEEvent]) -> list[SSEEvent]:
        """The events not delivered before, in order; they count as delivered from now on."""


class _SeenPositions:
    """An events stream numbers its messages 0 (the Build), 1, 2, ...: a high-water mark."""

    def __init__(self) -> None:
        self._last = -1

    def fresh(self, events: list[SSEEvent]) -> list[SSEEvent]:
        try:
            positions = list(map(int, map(_event_id, events)))
        except ValueError:
            positions = []
        if positions and positions[0] > self._last and all(map(lt, positions, positions[1:])):
            # The usual case, checked by C loops: every event is new and in order.
            self._last = positions[-1]
            return events
        last = self._last
        kept = []
        for event in events:
            try:
                position = int(event.id)
            except ValueError:
                kept.append(event)  # not a position: nothing to compare it with
                continue
            if position > last:
                last = position
                kept.append(event)
        self._last = last
        return kept


class _SeenListing:
    """A listing's ids are build ids: remember the recent ones."""

    def __init__(self) -> None:
        self._recent: OrderedDict[str, None] = OrderedDict()

    def fresh(self, events: list[SSEEvent]) -> list[SSEEvent]:
        recent = self._recent
        kept = []
        for event in events:
            if event.id in recent:
                continue
            kept.append(event)
            if event.id:
                recent[event.id] = None
        while len(recent) > _SEEN_LISTING_IDS:
            recent.popitem(last=False)
        return kept


class _ListingFallback:
    """Where a listing starts again when the server no longer knows its resume point."""

    def __init__(self, query: str, since_ms: int | None) -> None:
        self._query = query
        self.since_ms = since_ms
        """The time to list from: the newest build delivered, less a margin, else the start."""

    def saw(self, batch: list[Message]) -> None:
        """Note the newest build of a delivered batch (a listing is in publication order)."""
        for message in reversed(batch):
            if isinstance(message, Build) and message.timestamp is not None:
                # The margin takes in builds published close to this one but listed after it.
                self.since_ms = max(0, message.timestamp - _NOW_MARGIN_MS)
                return

    def path(self) -> str | None:
        """The listing path from `since_ms`, or None when there is no time to start from."""
        if self.since_ms is None:
            return None
        return f"builds/since/{self.since_ms}{self._query}"


def _authorizations(connection: DevelocityConnection) -> list[dict[bytes, bytes]]:
    """The Authorization headers to try, best first."""
    if connection.token:
        key = connection.token.reveal()
        # The manual sends the access key as it is; Gradle's own clients send it base64-encoded,
        # which older servers expect.
        return [
            {b"Authorization": f"Bearer {key}".encode()},
            {b"Authorization": b"Bearer " + base64.b64encode(key.encode())},
        ]
    if connection.username and connection.password:
        pair = f"{connection.username}:{connection.password.reveal()}"
        return [{b"Authorization": b"Basic " + base64.b64encode(pair.encode())}]
    return [{}]


def _resume_headers(last_id: str) -> dict[bytes, bytes]:
    # Sent as UTF-8 bytes: httpx refuses a non-ASCII str. An id with surrounding whitespace is
    # not a legal header value; without it the stream restarts and duplicates are dropped.
    if not last_id or last_id != last_id.strip():
        return {b"Accept": b"text/event-stream"}
    return {b"Accept": b"text/event-stream", b"Last-Event-ID": last_id.encode("utf-8")}


def _describe(error: httpx.RequestError) -> str:
    """A short, secret-free description of a transport failure."""
    kind = {
        httpx.ReadTimeout: "no data within the idle timeout",
        httpx.ConnectTimeout: "connection timed out",
        httpx.ConnectError: "cannot connect",
        httpx.ReadError: "connection lost",
        httpx.RemoteProtocolError: "response cut off",
        httpx.DecodingError: "corrupt compressed data",
    }.get(type(error), type(error).__name__)
    detail = sanitize_line(str(error))[:120]
    return f"{kind} ({detail})" if detail else kind


def _html_note(response: httpx.Response) -> str:
    """A note when an error status came with a web page, as proxies and CDNs send them."""
    content_type = response.headers.get("Content-Type", "")
    return " (an HTML error page)" if content_type.lower().startswith("text/html") else ""


def _clock(epoch_ms: int | None) -> str:
    """An epoch-ms time as the local `HH:MM:SS`."""
    if epoch_ms is None:
        return "the start"
    return time.strftime("%H:%M:%S", time.localtime(epoch_ms / 1000))


async def _error_text(response: httpx.Response) -> str:
    """The start of an error response's body, as one safe line."""
    raw = b""
    try:
        async for chunk in response.aiter_bytes():
            raw += chunk
            if len(raw) >= _ERROR_BODY_BYTES:
                break
    except httpx.RequestError:
        pass  # the status says enough
    # A debugging proxy or server may echo the request's Authorization header in its error page.
    text = redact(sanitize_line(raw[:_ERROR_BODY_BYTES].decode("utf-8", "replace"))).strip()
    return text[:200] or "no message"
