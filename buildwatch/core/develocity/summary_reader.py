"""Reading a build's summary events from the server, whatever its listing said about its tool.

One filtered request for a build whose listing names its tool (v2's `toolType`). A v1 listing
names none, so the request asks for Gradle's summary types first and, only when no Gradle event
came back, for the next tool's (`summary_passes`): a Gradle build still costs one request.
"""

from __future__ import annotations

from contextlib import aclosing
from typing import TYPE_CHECKING

from buildwatch.core.develocity.models import BuildEvent
from buildwatch.core.develocity.summary import SummaryBuilder, summary_passes

if TYPE_CHECKING:
    from buildwatch.core.develocity.client import DevelocityClient


async def read_summary(
    client: DevelocityClient, builder: SummaryBuilder, *, attempts: int | None = None
) -> None:
    """Add the build's summary events to `builder`, until they say which tool built it.

    Raises what the client raises (`UnavailableError` once a request had `attempts` fruitless
    connections in a row, by default the client's `max_failures`); `builder` keeps whatever
    arrived before.
    """
    build_id = builder.build.build_id
    for event_types in summary_passes(builder.tool_type):
        batches = client.event_batches(build_id, event_types, attempts=attempts)
        async with aclosing(batches):
            async for batch in batches:
                for message in batch:
                    if isinstance(message, BuildEvent):
                        builder.add(message)
        if builder.tool_type is not None:
            return
