"""Which of the collectors on one store is active: the holder of a session-level advisory lock.

The lock lives as long as the connection that took it, and that connection does nothing else,
so nothing but its end releases it: a collector killed (`kill -9`, a crash) drops its connection
and the server releases the lock at once; a machine that vanishes is noticed by the server's TCP
keepalives, which this connection sets short (`_DEAD_PEER_SETTINGS`). The standby asks for the
lock every few seconds and is active from the first `True`.

The calls block: the collector makes them through `asyncio.to_thread`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from buildwatch.core.teamstore import connection as server
from buildwatch.core.teamstore.location import StoreLocation

if TYPE_CHECKING:
    import psycopg

_TRY_LOCK = "SELECT pg_try_advisory_lock(hashtext('buildwatch collector'))"
_DEAD_PEER_SETTINGS = (
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 3",
    "SET tcp_keepalives_count = 3",
)
"""The server gives up on a silent lock holder after about 15 s (not the system's two hours),
so a standby takes over well within 30 s of its machine vanishing."""
_CLIENT_KEEPALIVES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 3,
    "keepalives_count": 3,
}
"""The same on this side: the active collector learns as soon that its lock may be gone."""


class LeaderLock:
    """The collector lock, held; `held()` says whether it still is, `release()` gives it up."""

    def __init__(self, connection: psycopg.Connection[tuple[Any, ...]]) -> None:
        self._connection = connection

    @classmethod
    def try_acquire(cls, location: StoreLocation) -> LeaderLock | None:
        """The lock if no other collector holds it, else None. An `UnavailableError` (one
        line, the URL masked) if the store cannot be reached; another `BuildwatchError` if it
        refuses the collector for good: the credentials, no such database, or a schema that is
        missing or not this buildwatch's."""
        import psycopg

        try:
            connection = psycopg.connect(
                location.url.reveal(), autocommit=True,
                connect_timeout=server.CONNECT_TIMEOUT_S, **_CLIENT_KEEPALIVES,
            )
        except psycopg.Error as error:
            raise server.connect_error(error, location) from None
        try:
            server.check_current(connection, location)
            for setting in _DEAD_PEER_SETTINGS:
                connection.execute(setting)
            row = connection.execute(_TRY_LOCK).fetchone()
        except psycopg.Error as error:
            connection.close()
            raise server.connect_error(error, location) from None
        except BaseException:
            connection.close()
            raise
        if row is None or not row[0]:
            connection.close()
            return None
        return cls(connection)

    def held(self) -> bool:
        """Whether the lock is still held: its connection still answers."""
        import psycopg

        try:
            self._connection.execute("SELECT 1")
        except psycopg.Error:
            self._connection.close()
            return False
        return True

    def release(self) -> None:
        """Give the lock up (closing its connection releases it)."""
        self._connection.close()
