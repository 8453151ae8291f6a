"""Waking when the team store changes: `LISTEN` on the channel every write notifies.

One psycopg async connection, in autocommit, waits on the event loop for notifications. A write
notifies in its transaction, so a viewer woken reads rows that are already visible. Bursts are
coalesced: the iterator yields once for all the notifications that arrived together, since one
read of the changes covers them all. A connection that fails or drops (the server restarted, the
network gone: TCP keepalives notice a silent loss) ends the iteration with a `HistoryError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from buildwatch.core.errors import BuildwatchError
from buildwatch.core.history.store import HistoryError
from buildwatch.core.teamstore import connection as server
from buildwatch.core.teamstore.location import StoreLocation

if TYPE_CHECKING:
    import psycopg

CHANNEL = "buildwatch_changes"
"""The channel every write to the store notifies in its transaction."""

_KEEPALIVES: dict[str, Any] = {
    "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
}
"""A listener only reads: without keepalives a network that silently dropped the connection
would leave it waiting forever. These notice it within about 25 s."""


@asynccontextmanager
async def listening(location: StoreLocation) -> AsyncIterator[AsyncIterator[None]]:
    """LISTEN on `CHANNEL`; the iterator yields once per burst of notifications. Raises
    `HistoryError` (one line, the URL masked) when the connection fails or drops."""
    import psycopg

    try:
        connection = await _connect(location)
    except BuildwatchError as error:
        raise HistoryError(str(error)) from None
    async with connection:
        try:
            await connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as error:
            raise _lost(error, location) from None
        yield _bursts(connection, location)


async def _connect(location: StoreLocation) -> psycopg.AsyncConnection[tuple[Any, ...]]:
    """As `connection.connect` does, on the event loop (the keyring read in a thread)."""
    import psycopg

    arguments = {**server.connect_arguments(location), **_KEEPALIVES}
    try:
        return await psycopg.AsyncConnection.connect(**arguments)
    except psycopg.Error as error:
        password = await asyncio.to_thread(server.keyring_password, error, location)
        if password is None:
            raise server.connect_error(error, location) from None
    try:
        return await psycopg.AsyncConnection.connect(**arguments, password=password.reveal())
    except psycopg.Error as error:
        raise server.connect_error(error, location, password) from None


async def _bursts(
    connection: psycopg.AsyncConnection[tuple[Any, ...]], location: StoreLocation
) -> AsyncIterator[None]:
    import psycopg

    try:
        while True:
            async for _ in connection.notifies(stop_after=1):
                pass
            # The rest of the burst, already received: one wake-up covers it.
            async for _ in connection.notifies(timeout=0):
                pass
            yield
    except psycopg.Error as error:
        raise _lost(error, location) from None


def _lost(error: Exception, location: StoreLocation) -> HistoryError:
    words = server.server_words(error, location)
    return HistoryError(f"lost the team store {location.shown}: {words}")
