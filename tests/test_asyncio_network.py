"""The connections under both server clients (`buildwatch.core.asyncio_network`, reached through
`http_client.async_client`), against real servers on 127.0.0.1: TLS, timeouts, cuts, reuse,
flow control, and a proxy named in the environment."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import trustme
from loop_turns import LoopTurns
from thread_server import QuietHandler, served

from buildwatch.core.asyncio_network import (
    FAIR_SHARE_BYTES,
    HIGH_WATER_BYTES,
    AsyncioBackend,
    AsyncioStream,
)
from buildwatch.core.http_client import async_client

pytestmark = pytest.mark.timeout(60)

TIMEOUT = httpx.Timeout(10.0)


class _Hello(QuietHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = f"hello {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_url(ca: trustme.CA) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 with a certificate for `localhost` from the test's own CA."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with served(server) as port:
        yield f"https://localhost:{port}"


class _Scripted:
    """A server that reads one request per connection and then does what the test says."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.closed = threading.Event()
        self.release = threading.Event()

    def run(self, answer: bytes, *, then: str, connections: int = 1) -> threading.Thread:
        """Answer `connections` connections with `answer`, then `close`, `reset` or `stall`."""

        def serve() -> None:
            for _ in range(connections):
                conn, _ = self.listener.accept()
                self.connections += 1
                conn.recv(65536)
                with contextlib.suppress(ConnectionError):  # the client left before the end
                    conn.sendall(answer)
                if then == "stall":
                    self.release.wait(30)
                if then == "reset":  # an RST instead of a FIN
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                self.closed.set()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        return thread


@pytest.fixture
def scripted() -> Iterator[_Scripted]:
    server = _Scripted()
    yield server
    server.release.set()
    server.listener.close()


async def test_a_tls_server_is_verified_against_the_ca_named_by_ssl_cert_file(
    https_url: str, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    async with async_client(https_url, timeout=TIMEOUT) as client:
        response = await client.get(f"{https_url}/builds")
    assert response.text == "hello /builds"


async def test_a_tls_server_with_an_unknown_certificate_is_refused(https_url: str) -> None:
    async with async_client(https_url, timeout=TIMEOUT) as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(https_url)


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    async with async_client(f"http://127.0.0.1:{port}", timeout=TIMEOUT) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_a_server_that_stops_sending_times_out_the_read(scripted: _Scripted) -> None:
    scripted.run(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", then="stall")
    timeout = httpx.Timeout(10.0, read=0.3)
    client = async_client(scripted.url, timeout=timeout)
    async with client, client.stream("GET", scripted.url) as response:
        with pytest.raises(httpx.ReadTimeout):
            await response.aread()


async def test_a_body_cut_short_by_the_server_is_a_remote_protocol_error(
    scripted: _Scripted,
) -> None:
    scripted.run(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", then="close")
    async with async_client(scripted.url, timeout=TIMEOUT) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(scripted.url)


async def test_a_connection_reset_mid_body_is_a_read_error(scripted: _Scripted) -> None:
    scripted.run(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", then="reset")
    async with async_client(scripted.url, timeout=TIMEOUT) as client:
        with pytest.raises(httpx.ReadError):
            await client.get(scripted.url)


async def test_a_kept_alive_connection_the_server_closed_is_not_reused(
    scripted: _Scripted,
) -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    server = scripted.run(answer, then="close", connections=2)
    async with async_client(scripted.url, timeout=TIMEOUT) as client:
        first = await client.get(scripted.url)
        assert await asyncio.to_thread(scripted.closed.wait, 10)
        second = await client.get(scripted.url)
    await asyncio.to_thread(server.join, 10)
    assert (first.text, second.text, scripted.connections) == ("ok", "ok", 2)


async def test_a_connection_reads_as_readable_once_closed_even_before_the_loop_has_seen_it(
    scripted: _Scripted,
) -> None:
    scripted.run(b"", then="close")
    host, port = scripted.listener.getsockname()
    stream = await AsyncioBackend().connect_tcp(host, port, timeout=10)
    await stream.write(b"GET / HTTP/1.1\r\n\r\n", timeout=10)
    # Blocking on purpose: the event loop does not run, and so has not read the server's close.
    assert scripted.closed.wait(10)
    readable = stream.get_extra_info("is_readable")
    await stream.aclose()
    assert readable


async def _until_reading_pauses(stream: AsyncioStream) -> None:
    """Wait (at most 10 s) until the stream stops reading its socket, its buffer full. The
    stream's own buffer and transport: what these tests are about, and nothing else shows them."""
    transport = stream._connection.transport
    assert transport is not None
    for _ in range(1000):
        if not transport.is_reading():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the stream never stopped reading its socket")


async def test_reading_pauses_while_a_megabyte_waits_unread_and_resumes_when_read(
    scripted: _Scripted,
) -> None:
    size = 16 * HIGH_WATER_BYTES
    scripted.run(bytes(size), then="stall")
    host, port = scripted.listener.getsockname()
    stream = await AsyncioBackend().connect_tcp(host, port, timeout=10)
    await stream.write(b"GET / HTTP/1.1\r\n\r\n", timeout=10)
    assert isinstance(stream, AsyncioStream)
    await _until_reading_pauses(stream)
    assert HIGH_WATER_BYTES <= stream._connection._buffered < 2 * HIGH_WATER_BYTES
    received = 0
    while received < size:
        received += len(await stream.read(256 * 1024, timeout=10))
    assert received == size
    await stream.aclose()


async def test_a_reader_with_a_megabyte_buffered_lets_other_tasks_run_as_it_reads(
    scripted: _Scripted,
) -> None:
    scripted.run(bytes(16 * HIGH_WATER_BYTES), then="stall")
    host, port = scripted.listener.getsockname()
    stream = await AsyncioBackend().connect_tcp(host, port, timeout=10)
    await stream.write(b"GET / HTTP/1.1\r\n\r\n", timeout=10)
    assert isinstance(stream, AsyncioStream)
    await _until_reading_pauses(stream)
    turns = LoopTurns(asyncio.get_running_loop())
    received = 0
    while received < HIGH_WATER_BYTES:
        received += len(await stream.read(64 * 1024, timeout=10))
    turns.stop()
    await stream.aclose()
    assert turns.count >= HIGH_WATER_BYTES // FAIR_SHARE_BYTES - 1


async def test_a_proxy_named_in_the_environment_carries_the_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    class _Proxy(_Hello):
        def do_GET(self) -> None:
            seen.append(self.path)  # a proxy is asked for the absolute URL
            super().do_GET()

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    with served(proxy) as port:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with async_client("http://builds.invalid", timeout=TIMEOUT) as client:
            response = await client.get("http://builds.invalid/x")
    assert response.text == "hello http://builds.invalid/x"
    assert seen == ["http://builds.invalid/x"]
    assert not isinstance(response.extensions["network_stream"], AsyncioStream)


async def test_without_a_proxy_in_the_environment_connections_are_asyncios_own(
    https_url: str, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    async with async_client(https_url, timeout=TIMEOUT) as client:
        response = await client.get(https_url)
    assert isinstance(response.extensions["network_stream"], AsyncioStream)
