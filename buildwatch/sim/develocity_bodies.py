"""Builds' events encoded once as SSE bytes, so that even huge builds are served at memory speed.

A build's `BuildEvent` messages are encoded into one byte string with the offset of every
message, so a response is a few slices of it: all of it, the part after a `Last-Event-ID`, or
the runs of messages whose event type was asked for. The full gzipped body is cached too.
Encoding happens in a worker thread, once per build, and the cache forgets the least recently
used builds beyond a memory budget.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from array import array
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

from buildwatch.sim.develocity_data import build_events
from buildwatch.sim.develocity_model import BuildSummary, Event, RawJson
from buildwatch.sim.world import World

CHUNK_BYTES = 1 << 20
"""Largest write of a cached body; big enough for speed, small enough to cut anywhere."""
_CACHE_BUDGET_BYTES = 384 << 20
# Non-ASCII text goes out as UTF-8, as real servers send it, not as `\u` escapes.
_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass
class EncodedEvents:
    """One build's BuildEvent messages as SSE bytes; the message with id `n` is number n-1."""

    body: bytes
    offsets: array[int]
    """Where each message starts in `body`, plus the end of the body."""
    kinds: array[int]
    """Each message's event type, as a position in `type_names`."""
    type_names: list[str]
    gzipped: dict[bytes, bytes] = field(default_factory=dict)
    """The whole gzipped response, keyed by the Build message that starts it."""

    @property
    def count(self) -> int:
        """Number of BuildEvent messages."""
        return len(self.kinds)

    @property
    def size(self) -> int:
        """Bytes held for this build."""
        return len(self.body) + sum(len(body) for body in self.gzipped.values())

    def runs(self, after_id: int, event_types: Collection[str] | None) -> list[tuple[int, int]]:
        """Runs [first, end) of consecutive messages with an id above `after_id` and a wanted type."""
        first = max(after_id, 0)
        if event_types is None:
            return [(first, self.count)] if first < self.count else []
        wanted = {code for code, name in enumerate(self.type_names) if name in event_types}
        runs: list[tuple[int, int]] = []
        start = None
        for position in range(first, self.count):
            if self.kinds[position] in wanted:
                if start is None:
                    start = position
            elif start is not None:
                runs.append((start, position))
                start = None
        if start is not None:
            runs.append((start, self.count))
        return runs

    def byte_size(self, runs: Iterable[tuple[int, int]]) -> int:
        """Bytes the messages in `runs` take."""
        return sum(self.offsets[end] - self.offsets[first] for first, end in runs)

    def chunks(self, runs: Iterable[tuple[int, int]]) -> Iterator[memoryview]:
        """The messages in `runs` as slices of the body, each at most `CHUNK_BYTES`."""
        for first, end in runs:
            yield from slices(self.body, self.offsets[first], self.offsets[end])

    def message(self, position: int) -> bytes:
        """The SSE message with id `position + 1`."""
        return self.body[self.offsets[position] : self.offsets[position + 1]]


def slices(body: bytes, start: int = 0, stop: int | None = None) -> Iterator[memoryview]:
    """`body[start:stop]` as views of at most `CHUNK_BYTES`, without copying."""
    view = memoryview(body)
    end = len(body) if stop is None else stop
    for piece in range(start, end, CHUNK_BYTES):
        yield view[piece : min(piece + CHUNK_BYTES, end)]


def encode_events(events: Iterable[Event]) -> EncodedEvents:
    """Encode events as `BuildEvent` SSE messages numbered from 1."""
    parts: list[bytes] = []
    offsets = array("q", [0])
    kinds = array("H")
    codes: dict[str, int] = {}
    total = 0
    for number, (timestamp, event_type, major, minor, data) in enumerate(events, start=1):
        message = (
            f'id: {number}\nevent: BuildEvent\ndata: {{"timestamp":{timestamp},"type":'
            f'{{"majorVersion":{major},"minorVersion":{minor},"eventType":"{event_type}"}},'
            f'"data":{data if isinstance(data, RawJson) else _encode_json(data)}}}\n\n'
        ).encode()
        parts.append(message)
        total += len(message)
        offsets.append(total)
        kinds.append(codes.setdefault(event_type, len(codes)))
    return EncodedEvents(b"".join(parts), offsets, kinds, list(codes))


def sse_message(message_id: str | int, event: str, data: object) -> bytes:
    """One SSE message with an id, an event name and JSON data."""
    return f"id: {message_id}\nevent: {event}\ndata: {_encode_json(data)}\n\n".encode()


class EventBodies:
    """Encoded builds, made on first use in a worker thread and kept within a memory budget."""

    def __init__(self, world: World, budget_bytes: int = _CACHE_BUDGET_BYTES) -> None:
        self._world = world
        self._budget = budget_bytes
        self._cache: OrderedDict[str, EncodedEvents] = OrderedDict()
        self._pending: dict[str, asyncio.Future[EncodedEvents]] = {}

    async def get(self, summary: BuildSummary) -> EncodedEvents:
        """The build's encoded events; concurrent first requests share one encoding."""
        build_id = summary.build_id
        cached = self._cache.get(build_id)
        if cached is not None:
            self._cache.move_to_end(build_id)
            return cached
        pending = self._pending.get(build_id)
        if pending is None:
            pending = asyncio.get_running_loop().run_in_executor(None, self._encode, summary)
            self._pending[build_id] = pending
            pending.add_done_callback(lambda done: self._settle(build_id, done))
        # Shielded: a request that goes away must not cancel the encoding others wait for.
        return await asyncio.shield(pending)

    async def gzipped(self, encoded: EncodedEvents, build_message: bytes) -> bytes:
        """The whole response (`build_message`, then every event) gzipped, made once."""
        body = encoded.gzipped.get(build_message)
        if body is None:
            body = await asyncio.get_running_loop().run_in_executor(
                None, gzip.compress, build_message + encoded.body
            )
            encoded.gzipped[build_message] = body
        return body

    def _encode(self, summary: BuildSummary) -> EncodedEvents:
        return encode_events(build_events(summary, self._world))

    def _settle(self, build_id: str, done: asyncio.Future[EncodedEvents]) -> None:
        del self._pending[build_id]
        if done.cancelled() or done.exception() is not None:
            return
        self._cache[build_id] = done.result()
        total = sum(entry.size for entry in self._cache.values())
        while total > self._budget and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            total -= dropped.size
