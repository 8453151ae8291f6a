"""Reading a build's summary events from the server, whatever its listing said about its tool.

One filtered request for a build whose listing names its tool (v2's `toolType`). A v1 listing
names none, so the request asks for Gradle's summary types first and, only when no Gradle event
came back, for the next tool's (`summary_passes`): a Gradle build still costs one request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import aclosing
from typing import TYPE_CHECKING

from buildwatch.core.develocity.models import Build, BuildEvent
from buildwatch.core.develocity.summary import BuildSummary, SummaryBuilder, summary_passes
from buildwatch.core.errors import ServerError

if TYPE_CHECKING:
    from buildwatch.core.develocity.client import DevelocityClient
    from buildwatch.core.develocity.git_values import GitValueNames


async def read_summary(
    client: DevelocityClient,
    builder: SummaryBuilder,
    *,
    attempts: int | None = None,
    pause: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Add the build's summary events to `builder`, until they say which tool built it.

    Raises what the client raises (`UnavailableError` once a request had `attempts` fruitless
    connections in a row, by default the client's `max_failures`); `builder` keeps whatever
    arrived before. `pause`, if given, is awaited before each batch is taken in (and the next
    one read): the monitor's readers hold what arrives while a key is answered.
    """
    build_id = builder.build.build_id
    for event_types in summary_passes(builder.tool_type):
        batches = client.event_batches(build_id, event_types, attempts=attempts)
        async with aclosing(batches):
            async for batch in batches:
                if pause is not None:
                    await pause()
                for message in batch:
                    if isinstance(message, BuildEvent):
                        builder.add(message)
        if builder.tool_type is not None:
            return


async def read_summary_of(
    client: DevelocityClient, build_id: str, git_names: GitValueNames
) -> BuildSummary:
    """The summary of a build known by its id alone (no listing told its tool).

    The events stream opens with the build's `Build` message, which names the tool over v2: the
    first request asks for Gradle's summary types (the most common tool), and only a build of
    another tool costs a second one, for its own types. Raises what the client raises.
    """
    builder: SummaryBuilder | None = None
    batches = client.event_batches(build_id, summary_passes(None)[0])
    async with aclosing(batches):
        async for batch in batches:
            for message in batch:
                if isinstance(message, Build):
                    builder = builder or SummaryBuilder(message, git_names)
                elif isinstance(message, BuildEvent) and builder is not None:
                    builder.add(message)
    if builder is None:
        raise ServerError(f"the events of build {build_id} did not begin with the build")
    if builder.tool_type != "gradle":
        await read_summary(client, builder)
    return builder.result()
