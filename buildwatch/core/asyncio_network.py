"""httpcore's network layer on asyncio's own transports: the sockets under both server clients.

httpcore reaches the network through a backend it is given. Its default on asyncio goes through
anyio, which reads a socket only while a read waits, and pays on every read of a response body:
a cancel scope for the read's timeout, and then either a turn of the event loop (bytes were
waiting) or a resume and a pause of the socket's reading (two `epoll_ctl` system calls).

This backend keeps what arrives in a buffer, with asyncio's flow control as the only brake: the
socket stops being read when `HIGH_WATER_BYTES` wait unread and starts again below
`LOW_WATER_BYTES`. A read takes what is buffered at once, with no timer and no system call; only
a read that finds nothing waits, and only that wait carries the timeout. So that one busy
connection cannot hold the event loop, a read still lets other tasks run after every
`FAIR_SHARE_BYTES` taken without waiting."""

from __future__ import annotations

import asyncio
import collections
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

HIGH_WATER_BYTES = 1024 * 1024
"""Unread bytes at which the socket stops being read (asyncio then lets TCP push back)."""
LOW_WATER_BYTES = 256 * 1024
"""Unread bytes below which it is read again."""
FAIR_SHARE_BYTES = 256 * 1024
"""Bytes read from the buffer, without waiting, after which a read lets the event loop run other
tasks first. A reader that finds its bytes waiting never has to wait, so without this, a reader
behind with a megabyte buffered would hold the loop (and a screen's keys) until it had handled
all of it; with it, no longer than it takes to handle this much, as when each read waited."""
HAPPY_EYEBALLS_DELAY_S = 0.25
"""How long one address of a host gets to connect before the next is tried alongside (RFC 8305's
recommended delay, as httpcore's default backend waits)."""


class _Connection(asyncio.Protocol):
    """One connection's received bytes, end and error, and a waiter for the next of them."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._reading_paused = False
        self._ended = False
        self._error: BaseException | None = None
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    # asyncio's side: called by the transport.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered >= HIGH_WATER_BYTES and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()
        _wake(self._readable)

    def eof_received(self) -> bool:
        self._ended = True
        _wake(self._readable)
        return False  # the transport closes itself: HTTP/1.1 never writes after the server ends

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended = True
        self._error = exc
        _wake(self._readable)
        _wake(self._writable)

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        _wake(self._writable)
        self._writable = None

    # The stream's side.

    @property
    def ready(self) -> bool:
        """Bytes, an end or an error wait to be read."""
        return bool(self._chunks) or self._ended

    def take(self, max_bytes: int) -> bytes:
        """Up to `max_bytes` of what is buffered, b"" at the end; raises a connection error."""
        if not self._chunks:
            if self._error is not None:
                raise httpcore.ReadError(str(self._error) or type(self._error).__name__)
            return b""
        data = self._chunks.popleft()
        if len(data) > max_bytes:
            self._chunks.appendleft(data[max_bytes:])
            data = data[:max_bytes]
        self._buffered -= len(data)
        if self._reading_paused and self._buffered < LOW_WATER_BYTES and self.transport:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    async def wait_ready(self, timeout: float | None) -> None:
        """Wait until `ready`; raises httpcore.ReadTimeout after `timeout` seconds."""
        self._readable = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._readable
        except TimeoutError:
            raise httpcore.ReadTimeout(f"nothing received for {timeout} s") from None
        finally:
            self._readable = None

    async def drained(self, timeout: float | None) -> None:
        """Wait until the transport takes writes again; raises httpcore.WriteTimeout."""
        if self._writable is None:
            return
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._writable)
        except TimeoutError:
            raise httpcore.WriteTimeout(f"could not send for {timeout} s") from None

    @property
    def lost(self) -> bool:
        """The connection is closed: nothing more can be sent on it."""
        return self._error is not None or self.transport is None or self.transport.is_closing()


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


def _readable(sock: socket.socket | None) -> bool:
    if sock is None:
        return False
    if hasattr(select, "poll"):  # not limited to descriptors below 1024, as select() is
        poll = select.poll()
        poll.register(sock, select.POLLIN)
        return bool(poll.poll(0))
    return bool(select.select([sock], [], [], 0)[0])


_TRANSPORT_INFO = {
    "ssl_object": "ssl_object",
    "client_addr": "sockname",
    "server_addr": "peername",
    "socket": "socket",
}
"""What httpcore asks a stream for, and the name asyncio's transport gives it."""


class AsyncioStream(httpcore.AsyncNetworkStream):
    """A TCP (or TLS) connection as httpcore reads and writes it."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection
        self._unyielded = 0

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """What has arrived, up to `max_bytes`; waits only when nothing has."""
        if not self._connection.ready:
            await self._connection.wait_ready(timeout)
            self._unyielded = 0
        elif self._unyielded >= FAIR_SHARE_BYTES:
            await asyncio.sleep(0)
            self._unyielded = 0
        data = self._connection.take(max_bytes)
        self._unyielded += len(data)
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Send `buffer`, waiting (up to `timeout`) while the socket's send buffer is full."""
        if not buffer:
            return
        if self._connection.lost or self._connection.transport is None:
            raise httpcore.WriteError("the connection is closed")
        self._connection.transport.write(buffer)
        await self._connection.drained(timeout)

    async def aclose(self) -> None:
        """Close the connection (what is still to be sent goes first)."""
        if self._connection.transport is not None:
            self._connection.transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Negotiate TLS on this connection; the stream to use from then on."""
        transport = self._connection.transport
        assert transport is not None
        try:
            async with asyncio.timeout(timeout):
                secure = await asyncio.get_running_loop().start_tls(
                    transport, self._connection, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            transport.close()
            raise httpcore.ConnectTimeout(f"no TLS handshake within {timeout} s") from None
        except (OSError, ssl.SSLError) as error:
            transport.close()
            raise httpcore.ConnectError(str(error)) from error
        if secure is None:  # the server hung up during the handshake
            raise httpcore.ConnectError("the server closed the connection during the TLS handshake")
        assert isinstance(secure, asyncio.Transport)
        self._connection.transport = secure
        return self

    def get_extra_info(self, info: str) -> Any:
        """What httpcore asks of a connection: its TLS object, addresses, socket, and whether it
        is readable (an idle connection that is was closed by the server, and is not reused)."""
        transport = self._connection.transport
        if transport is None:
            return None
        if info == "is_readable":
            if self._connection.ready or transport.is_closing():
                return True
            # The socket too: the server's close may have arrived since the loop last read.
            return _readable(transport.get_extra_info("socket"))
        key = _TRANSPORT_INFO.get(info)
        return None if key is None else transport.get_extra_info(key)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens `AsyncioStream` connections with asyncio's event loop."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to `host`:`port` within `timeout` seconds (asyncio sets TCP_NODELAY)."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, connection = await loop.create_connection(
                    _Connection,
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY_S,
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection within {timeout} s") from None
        except OSError as error:
            raise httpcore.ConnectError(str(error)) from error
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(connection)

    async def sleep(self, seconds: float) -> None:
        """Wait, as httpcore does between retries of a connection."""
        await asyncio.sleep(seconds)
