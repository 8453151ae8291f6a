"""A `socketserver` server run on a thread of its own for the length of a test."""

from __future__ import annotations

import contextlib
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler


class QuietHandler(BaseHTTPRequestHandler):
    """An HTTP handler that logs nothing: a test's output is its assertions."""

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@contextlib.contextmanager
def served(server: socketserver.TCPServer) -> Iterator[int]:
    """Serve `server` on a thread until the block ends; its port. The thread is joined and the
    socket closed on the way out."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
