"""The HTTP client both server clients are built on: httpx's, set up once for what they read.

Two choices apply to every connection buildwatch opens, and live here alone:

- TLS only where it can happen. Requests go only to URLs under the configured base URL and no
  redirect is followed, so an `http://` server never negotiates TLS: its client skips loading
  the CA certificates, some 40-50 ms of every command's start.
- Big reads. httpcore reads an HTTP/1.1 body 64 KiB at a time, and on asyncio each read passes
  through anyio's cancel scope for its timeout, which costs more than the read itself on a fast
  network: a third of the event loop's time in `bb file get` of a 200 MB file. Reading up to
  asyncio's own largest receive (256 KiB) makes those reads four times fewer where the bytes
  come faster than they are read (a big file, a backfill of events), and changes nothing where
  they come slower (each read returns what has arrived, as before).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpcore
import httpx

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
    return httpx.AsyncClient(
        auth=auth,
        headers=headers,
        timeout=timeout,
        follow_redirects=False,
        verify=urlsplit(base_url).scheme != "http",
    )
