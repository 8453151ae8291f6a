"""Which connection failures point at a wrong address rather than a server that is down.

A server that is down comes back by itself; a TLS handshake against a plain-http port, a host
name that does not exist or a certificate nobody trusts never will. Headless commands stop at
once on these with advice; the monitor keeps trying (the user may be fixing the server) but says
that it looks like a configuration problem.
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

from buildwatch.core.sanitize import sanitize_line

# getaddrinfo's "no such name" answers. EAI_AGAIN (a DNS server that did not answer) is left
# out: it is what an offline laptop or a DNS outage gives, and it passes.
_UNKNOWN_NAME_ERRNOS = frozenset(
    getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA", "EAI_FAIL") if hasattr(socket, name)
)
# What OpenSSL says when the other end answered the ClientHello with plain HTTP.
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL"}
)

CONFIGURATION_HINT = "looks like a configuration problem"
"""How the monitor's status line introduces a `configuration_problem` while it keeps trying."""


def configuration_problem(error: BaseException, url: str) -> str | None:
    """Advice if `error` (raised connecting to `url`) means the address is wrong, else None."""
    parts = urlsplit(url)
    host = sanitize_line(parts.hostname or url)[:120]
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            detail = sanitize_line(cause.verify_message or "not trusted")[:80]
            return (
                f"{host}'s certificate is not trusted ({detail}): point SSL_CERT_FILE at "
                "your CA bundle"
            )
        if isinstance(cause, ssl.SSLError) and cause.reason in _NOT_TLS_REASONS:
            return (
                f"{host}:{parts.port or 443} does not speak TLS: is it an http:// server "
                "(the URL says https://)?"
            )
        if isinstance(cause, socket.gaierror) and cause.errno in _UNKNOWN_NAME_ERRNOS:
            return f"no such host {host}: is the host name in the URL right?"
    return None


def _causes(error: BaseException) -> list[BaseException]:
    """`error` and the exceptions it was raised from (httpx wraps httpcore wraps ssl/socket)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain
