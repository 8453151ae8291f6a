"""Which PostgreSQL database is the team store, and how its URL is shown.

The URL comes from `--store`, else `$BUILDWATCH_STORE`, else the profile's `store`. Its password
(in the URL's user part or a `password=` parameter) is never shown: `StoreLocation.shown` masks
it, and it is registered with the log redaction so no log line quotes it either. A URL without a
password leaves it to libpq's own mechanisms (`PGPASSWORD`, `PGPASSFILE`), and when those give
none to the keyring (`keyring_user`; `buildwatch auth store` puts it there).
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from buildwatch.core.errors import ConfigError
from buildwatch.core.sanitize import sanitize_line
from buildwatch.core.secrets import Secret

STORE_ENV = "BUILDWATCH_STORE"
_SCHEMES = ("postgresql", "postgres")
_MASK = "****"


@dataclass(frozen=True)
class StoreLocation:
    """A team store's connection URL, with its password held as a `Secret`."""

    url: Secret
    """The URL as given: revealed only to the driver that connects."""
    shown: str
    """The URL with its password masked, sanitised: the one form put in messages."""
    password: Secret | None
    """The password the URL carries, if any (to mask it in the server's own messages too)."""

    @property
    def keyring_user(self) -> str:
        """Where the keyring keeps this store's password: `store:<user>@<host>:<port>`, each
        part as libpq would take it (from the URL, else PGUSER, PGHOST, PGPORT, else the login
        name, localhost and 5432), so that every URL of one role on one server finds it."""
        parts = urlsplit(self.url.reveal())
        query = dict(parse_qsl(parts.query))
        user = (unquote(parts.username or "") or query.get("user") or os.environ.get("PGUSER")
                or getpass.getuser())
        host = parts.hostname or query.get("host") or os.environ.get("PGHOST") or "localhost"
        port = parts.port or query.get("port") or os.environ.get("PGPORT") or 5432
        return f"store:{user}@{host.lower()}:{port}"


def store_location(url: str) -> StoreLocation:
    """Check that `url` names a PostgreSQL database, and hold it so it cannot be shown whole."""
    if urlsplit(url).scheme not in _SCHEMES:
        # Not quoted: a libpq `key=value` string given here would show its password.
        raise ConfigError(
            "the store must be a postgresql:// URL (postgresql://user@host:5432/database)"
        )
    password = _password(url)
    return StoreLocation(
        url=Secret(url),
        shown=sanitize_line(_masked(url)),
        password=Secret(password) if password else None,
    )


def profile_store_url(url: str, what: str) -> str:
    """A profile's `store`, checked: a postgresql:// URL without a password, as the
    configuration file never holds a secret."""
    if urlsplit(url).scheme not in _SCHEMES:
        raise ConfigError(f"{what} must be a postgresql:// URL")
    if _password(url):
        raise ConfigError(
            f"{what} must not contain a password: put it in PGPASSFILE (~/.pgpass)"
        )
    return url


def resolve_store_url(flag: str | None, profile_store: str | None) -> str | None:
    """The store's URL: the `--store` flag, else `$BUILDWATCH_STORE`, else the profile's."""
    return flag or os.environ.get(STORE_ENV) or profile_store or None


def _password(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.password:
        return unquote(parts.password)
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "password" and value:
            return value
    return None


def _masked(url: str) -> str:
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            user_part, host_part = netloc.rsplit("@", 1)
            if ":" in user_part:
                user_part = f"{user_part.split(':', 1)[0]}:{_MASK}"
            netloc = f"{user_part}@{host_part}"
        query = parts.query
        if query:
            query = urlencode(
                [
                    (key, _MASK if key == "password" else value)
                    for key, value in parse_qsl(query, keep_blank_values=True)
                ],
                safe="*",
            )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        # Not even a URL (an unclosed IPv6 bracket): nothing of it can be shown safely.
        return "(an unreadable URL)"
