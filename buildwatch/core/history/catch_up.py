"""Resuming the build listing from the history: replay what was missed, then follow.

The replay is a finite listing, so its end is known exactly: the screen can say "catching up:
1,234 builds" while it runs and drop the words when it is done. Following then starts after
the last build replayed, so nothing published in between is lost or shown twice.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.models import Build, Message
from buildwatch.core.errors import NotFoundError
from buildwatch.core.history.resume import ResumePoint, catch_up_text


@dataclass(frozen=True)
class ListingBatch:
    """Builds from the resumed listing, and where the catch-up stands."""

    builds: list[Build]
    catching_up: bool
    """True while replaying what was published before the start; one empty batch with False
    marks the end of the replay."""
    replayed: int
    """Builds replayed so far."""

    @property
    def status_text(self) -> str | None:
        """`catching up: 1,234 builds` during the replay, None after."""
        return catch_up_text(self.replayed) if self.catching_up else None


async def resumed_listing(
    client: DevelocityClient, point: ResumePoint
) -> AsyncGenerator[ListingBatch, None]:
    """The build listing from `point`, replaying first, then following until cancelled.

    If the server no longer knows the build to resume after (deleted, or the history is from
    another server), the catch-up window is backfilled instead; the history and the monitor
    ignore builds they already hold.
    """
    replayed, last = 0, point.since_build

    async def replay(since_build: str | None) -> AsyncIterator[ListingBatch]:
        nonlocal replayed, last
        listing = client.build_batches(since=point.since, since_build=since_build)
        async for builds in _builds(listing):
            replayed += len(builds)
            last = builds[-1].build_id
            yield ListingBatch(builds, True, replayed)

    try:
        async for batch in replay(point.since_build):
            yield batch
    except NotFoundError:
        if point.since_build is None or replayed:
            raise
        last = None
        async for batch in replay(None):
            yield batch
    yield ListingBatch([], False, replayed)
    following = client.build_batches(since=point.since, since_build=last, stream=True)
    async for builds in _builds(following):
        yield ListingBatch(builds, False, replayed)


async def _builds(batches: AsyncIterator[list[Message]]) -> AsyncIterator[list[Build]]:
    """The non-empty lists of builds in `batches` (skipped messages are left out)."""
    async for batch in batches:
        builds = [message for message in batch if isinstance(message, Build)]
        if builds:
            yield builds
