"""Resuming the build listing from the history: replay what was missed, then follow.

The replay is a finite listing, so its end is known exactly: the screen can say "catching up:
1,234 builds" while it runs and drop the words when it is done. Following then starts after
the last build replayed, so nothing published in between is lost or shown twice.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass

from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.models import Build, Message, SkippedMessage
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
    skipped: tuple[SkippedMessage, ...] = ()
    """Messages of this batch that could not be read as builds (malformed JSON, ...)."""

    @property
    def status_text(self) -> str | None:
        """`catching up: 1,234 builds` during the replay, None after."""
        return catch_up_text(self.replayed) if self.catching_up else None


async def resumed_listing(
    client: DevelocityClient, point: ResumePoint
) -> AsyncGenerator[ListingBatch, None]:
    """The build listing from `point`, replaying first, then following until cancelled.

    If the server no longer knows the build to resume after (deleted, or the history is from
    another server), the client lists the catch-up window instead; the history and the monitor
    ignore builds they already hold.
    """
    replayed, last = 0, point.since_build
    replay = client.build_batches(since=point.since, since_build=point.since_build)
    async with aclosing(replay):
        async for builds, skipped in _readable(replay):
            replayed += len(builds)
            if builds:
                last = builds[-1].build_id
            yield ListingBatch(builds, True, replayed, skipped)
    yield ListingBatch([], False, replayed)
    following = client.build_batches(since=point.since, since_build=last, stream=True)
    async with aclosing(following):
        async for builds, skipped in _readable(following):
            yield ListingBatch(builds, False, replayed, skipped)


async def listing_batches(batches: AsyncIterator[list[Message]]) -> AsyncIterator[ListingBatch]:
    """A listing followed from a time, as batches without a catch-up."""
    async for builds, skipped in _readable(batches):
        yield ListingBatch(builds, False, 0, skipped)


async def _readable(
    batches: AsyncIterator[list[Message]],
) -> AsyncIterator[tuple[list[Build], tuple[SkippedMessage, ...]]]:
    """Each non-empty batch as its builds and the messages that could not be read."""
    async for batch in batches:
        builds = [message for message in batch if isinstance(message, Build)]
        skipped = tuple(message for message in batch if isinstance(message, SkippedMessage))
        if builds or skipped:
            yield builds, skipped
