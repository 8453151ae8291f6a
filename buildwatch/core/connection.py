"""Where a server is and how to authenticate to it: what every client is built from.

Resolving these (command-line flag, environment, profile, keyring) is the job of
`buildwatch.core.config` and `buildwatch.core.credentials`; the clients only read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from buildwatch.core.secrets import Secret

DEFAULT_BUILDBUDDY_URL = "https://app.buildbuddy.io"

CredentialSource = Literal["environment", "keyring", "none"]


@dataclass(frozen=True)
class DevelocityConnection:
    """A Develocity server: base URL (any path prefix kept), Export API version, credentials.

    Either `token` (an access key, sent as a bearer token) or `username` + `password` (basic
    auth) is set, or neither when the server allows anonymous access.
    """

    base_url: str
    api_version: Literal[1, 2] = 2
    token: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    source: CredentialSource = "none"


@dataclass(frozen=True)
class BuildBuddyConnection:
    """A BuildBuddy server: base URL and API key."""

    base_url: str = DEFAULT_BUILDBUDDY_URL
    api_key: Secret | None = None
    source: CredentialSource = "none"
