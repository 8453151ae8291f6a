"""The HTTP client both server clients are built on: httpx's, set up once for what they read.

Three choices apply to every connection buildwatch opens, and live here alone:

- TLS only where it can happen. Requests go only to URLs under the configured base URL and no
  redirect is followed, so an `http://` server never negotiates TLS: its client skips loading
  the CA certificates, some 40-50 ms of every command's start.
- asyncio's own sockets. Connections go through `asyncio_network.AsyncioBackend` rather than
  httpcore's default backend, whose every read costs a cancel scope and either a turn of the
  event loop or two system calls (that module says how). Where the environment names a proxy
  (`HTTPS_PROXY` and the rest, which httpx honours), httpx's own transport does the proxying.
- Big reads. httpcore reads an HTTP/1.1 body 64 KiB at a time. Reading up to asyncio's own
  largest receive (256 KiB) makes reads four times fewer where the bytes come faster than they
  are read (a big file, a backfill of events), and changes nothing where they come slower (each
  read returns what has arrived, as before).
"""

from __future__ import annotations

import urllib.request
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpcore
import httpx

from buildwatch.core.asyncio_network import AsyncioBackend

READ_BYTES = 256 * 1024
"""The most one read of a response body asks for: asyncio's selector transport receives at
most this much per system call, so asking for more brings nothing more."""


def async_client(
    base_url: str,
    *,
    timeout: httpx.Timeout,
    auth: httpx.Auth | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """An httpx client for the server at `base_url`: never follows a redirect (a credential
    would go to whichever host it names), verifies TLS for `https://` and reads in big pieces."""
    # A class attribute: httpcore creates its connections itself, and offers no other way in.
    # Every async HTTP/1.1 connection of the process reads this much, which is this module's
    # policy for all of them.
    httpcore.AsyncHTTP11Connection.READ_NUM_BYTES = READ_BYTES
    verify = urlsplit(base_url).scheme != "http"
    # httpx reads proxies from the environment only when it builds its own transport.
    transport = None if urllib.request.getproxies() else AsyncioTransport(verify=verify)
    return httpx.AsyncClient(
        auth=auth,
        headers=headers,
        timeout=timeout,
        follow_redirects=False,
        verify=verify,
        transport=transport,
    )


class AsyncioTransport(httpx.AsyncBaseTransport):
    """httpx's direct (no proxy) transport, with connections on `AsyncioBackend`.

    It does what httpx's `AsyncHTTPTransport` does without a proxy: a pool of keep-alive
    connections with httpx's default limits, TLS verified against the CA certificates (or
    `SSL_CERT_FILE` / `SSL_CERT_DIR`), and httpcore's errors raised as httpx's.
    """

    def __init__(self, *, verify: bool) -> None:
        limits = httpx.Limits()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncioBackend(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` on a pooled connection; the response's body streams from it."""
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = httpcore.URL(
            scheme=request.url.raw_scheme,
            host=request.url.raw_host,
            port=request.url.port,
            target=request.url.raw_path,
        )
        core_request = httpcore.Request(
            method=request.method,
            url=url,
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._pool.aclose()


class _Body(httpx.AsyncByteStream):
    """A response body from the pool, raising httpx's errors."""

    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for piece in self._stream:
                yield piece

    async def aclose(self) -> None:
        """Give the connection back to the pool, or close it if the body was left unread."""
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


_HTTPX_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.ProtocolError: httpx.ProtocolError,
}
"""httpcore's errors and httpx's of the same name, which httpx's callers catch."""


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as error:
        # The most specific first: a class comes before its bases in its method resolution order.
        for kind in type(error).__mro__:
            if kind in _HTTPX_ERRORS:
                raise _HTTPX_ERRORS[kind](str(error)) from error
        raise
