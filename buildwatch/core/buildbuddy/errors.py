"""What a BuildBuddy error response means, and the one-line message it becomes.

The JSON API does not map gRPC codes to HTTP statuses: every handler error is an HTTP 500 whose
plain-text body reads `rpc error: code = <Code> desc = <message>`. Only a few cases have their
own status (400 for a body the server cannot parse, 401 from GetFile for a bad key, 403 for IP
rules, 404 for an unknown method or a missing blob), and proxies and CDNs in front of the server
add 429 and any other 5xx, often with an HTML page (502-504, 507, 520-524, 530). So an error is
classified by the gRPC code when the body carries one, and by the HTTP status otherwise.
"""

from __future__ import annotations

import re

from buildwatch.core.errors import (
    AuthError,
    BuildwatchError,
    ConfigError,
    NotFoundError,
    ServerError,
)
from buildwatch.core.sanitize import sanitize_line

_GRPC_STATUS = re.compile(r"rpc error: code = (\w+) desc = (.*)", re.DOTALL)
_MESSAGE_LIMIT = 300
_HTML = re.compile(rb"^\s*<[!?a-zA-Z]")

_RETRIED_CODES = frozenset(
    {"Unavailable", "ResourceExhausted", "Internal", "Unknown", "DeadlineExceeded", "Aborted"}
)
"""gRPC codes that say "try again later" rather than "this request is wrong"."""
_PERMANENT_CODES = frozenset({"AlreadyExists", "Unimplemented"})
"""gRPC codes, besides the ones with a meaning of their own below, that say "this request will
never work". Any other code in a 5xx (DataLoss, Canceled, one newer than this client) is tried
again, as every 5xx is."""
_KEY_HINT = "check BUILDWATCH_BUILDBUDDY_API_KEY or the key stored in the keyring"
_KEY_REJECTED = "the server rejected the API key"
"""Said without the server's words: they quote the key, even if partly masked (`w***1`)."""


class RetryableError(ServerError):
    """The server is overloaded, throttling or briefly failing: a read may be tried again."""

    def __init__(self, message: str, retry_after_s: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class MalformedResponseError(ServerError):
    """A 200 answer that is not the API's JSON, or JSON that does not have the API's shape."""


def looks_like_html(body: bytes) -> bool:
    """Whether a body is a web page (an SSO login page, a proxy's error page)."""
    return bool(_HTML.match(body[:512]))


def shown(text: str, secret: str | None = None) -> str:
    """Server text made fit for one line on a terminal: no escapes, no secret, bounded length."""
    if secret:
        text = text.replace(secret, "****")
    line = sanitize_line(text).strip()
    return line if len(line) <= _MESSAGE_LIMIT else line[: _MESSAGE_LIMIT - 1] + "…"


def classify(
    rpc: str, status: int, body: bytes, retry_after_s: float, secret: str | None
) -> BuildwatchError:
    """The error an HTTP error response to `rpc` stands for.

    `retry_after_s` is the response's `Retry-After`, already parsed; `secret` is the API key,
    scrubbed from anything quoted from the body.
    """
    text = body.decode("utf-8", "replace")
    grpc = _GRPC_STATUS.search(text)
    # GetFile has a handler of its own whose 400, 401 and 404 mean what they say: a missing blob
    # is a 404 whose body reads like a transient error (the server hides the cause).
    if grpc is not None and not (rpc == "GetFile" and status in (400, 401, 404)):
        return _for_grpc_code(
            rpc, status, grpc.group(1), shown(grpc.group(2), secret), retry_after_s
        )
    detail = "" if looks_like_html(body) else shown(text, secret)
    said = f": {detail}" if detail else ""
    if status == 401:
        return AuthError(f"BuildBuddy: {_KEY_REJECTED} (HTTP 401); {_KEY_HINT}")
    if status == 403:
        return AuthError(
            f"BuildBuddy refused {rpc} (HTTP 403{said}): the API key or this machine's address "
            "is not allowed"
        )
    if status == 404 and rpc == "GetFile":
        return NotFoundError(f"BuildBuddy cannot find or read this file (HTTP 404{said})")
    if status == 404:
        return ConfigError(
            f"no BuildBuddy API answers {rpc} at this address (HTTP 404{said}); "
            "check --buildbuddy-url"
        )
    if status == 400:
        return ConfigError(f"BuildBuddy rejected the {rpc} request (HTTP 400{said})")
    if status == 429:
        return RetryableError(f"BuildBuddy is throttling requests (HTTP 429{said})", retry_after_s)
    if status >= 500:
        # Every 5xx, a CDN's HTML error page (520-524, 530) too: the server or the way to it is
        # failing for now, whatever the body says.
        return RetryableError(f"BuildBuddy failed (HTTP {status}{said})", retry_after_s)
    return ServerError(f"BuildBuddy answered {rpc} with HTTP {status}{said}")


def _for_grpc_code(
    rpc: str, status: int, code: str, message: str, retry_after_s: float
) -> BuildwatchError:
    said = f"{code}: {message}" if message else code
    if code == "Unauthenticated":
        return AuthError(f"BuildBuddy: {_KEY_REJECTED}; {_KEY_HINT}")
    if code == "PermissionDenied":
        return AuthError(f"the BuildBuddy API key may not call {rpc} ({said})")
    if code == "NotFound":
        return NotFoundError(f"BuildBuddy {rpc}: {message or 'not found'}")
    if code in ("InvalidArgument", "OutOfRange", "FailedPrecondition"):
        return ConfigError(f"BuildBuddy rejected the {rpc} request ({said})")
    if code in _RETRIED_CODES or (status >= 500 and code not in _PERMANENT_CODES):
        return RetryableError(f"BuildBuddy {rpc} failed ({said})", retry_after_s)
    return ServerError(f"BuildBuddy {rpc} failed ({said})")
