"""A TCP proxy on a free port of 127.0.0.1 whose link to the server a test can cut and restore:
a server that becomes unreachable and comes back, without stopping the real server that other
tests share.

`cut()` closes every proxied connection and refuses new ones (the listening socket stays bound,
so the port cannot be taken meanwhile); `restore()` lets connections through again.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

_CHUNK = 65_536


class TcpProxy:
    """Forwards connections from `port` to `target_port` on 127.0.0.1 while not cut."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._closed = False
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    def cut(self) -> None:
        """Drop every connection now, and refuse new ones until `restore()`."""
        with self._lock:
            self._cut = True
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        """Let connections through again."""
        with self._lock:
            self._cut = False

    def close(self) -> None:
        """Stop listening and drop every connection."""
        self._closed = True
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                _close(client)
                continue
            # Checked and recorded under one lock: a connection accepted while `cut()` runs is
            # either dropped by it or refused here, never left open through the cut.
            with self._lock:
                refused = self._cut
                if not refused:
                    self._open |= {client, server}
            if refused:
                _close(client)
                _close(server)
                continue
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(_CHUNK):
            sink.sendall(data)
    _close(source)
    _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@contextlib.contextmanager
def proxy_to(port: int) -> Iterator[TcpProxy]:
    """A `TcpProxy` to `port`, closed at the end."""
    proxy = TcpProxy(port)
    try:
        yield proxy
    finally:
        proxy.close()
