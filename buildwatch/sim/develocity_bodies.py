"""Builds' events encoded once as SSE bytes, so that even huge builds are served at memory speed.

A build's `BuildEvent` messages are encoded into one byte string with the offset of every
message, so a response is a few slices of it: all of it, the part after a `Last-Event-ID`, or
the runs of messages whose event type was asked for. The full gzipped body is cached too.
A filtered request for a build not encoded whole encodes only the messages of its types (most
of a big build is never made), kept apart under that filter: a summary of each build, asked
once, costs what its few events cost. Encoding happens in a worker thread, once per build (and
filter), and the cache forgets the least recently used encodings beyond a memory budget.
"""

from __future__ import annotations

import asyncio
import bisect
import gzip
import json
from array import array
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

from buildwatch.sim.develocity_data import numbered_events
from buildwatch.sim.develocity_model import BuildSummary, Event, RawJson
from buildwatch.sim.world import World

CHUNK_BYTES = 1 << 20
"""Largest write of a cached body; big enough for speed, small enough to cut anywhere."""
_CACHE_BUDGET_BYTES = 384 << 20
_ENTRY_BYTES = 2048
"""What an encoding's Python objects take beside its bytes (about 1.6 kB measured), counted so
that the budget bounds a cache of many small (filtered) encodings too."""
# Non-ASCII text goes out as UTF-8, as real servers send it, not as `\u` escapes.
_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


_Key = tuple[str, frozenset[str] | None]
"""A cached encoding: the build id and the event types it holds (None: all of them)."""


@dataclass
class EncodedEvents:
    """One build's BuildEvent messages (all, or those of `only`) as SSE bytes, in id order."""

    body: bytes
    offsets: array[int]
    """Where each message starts in `body`, plus the end of the body."""
    kinds: array[int]
    """Each message's event type, as a position in `type_names`."""
    type_names: list[str]
    ids: array[int]
    """Each message's SSE id, ascending."""
    only: frozenset[str] | None = None
    """The event types encoded, when not all of them were."""
    gzipped: dict[bytes, bytes] = field(default_factory=dict)
    """The whole gzipped response, keyed by the Build message that starts it."""
    cached: bool = False
    """Whether the cache holds this encoding, and counts the bytes it gains."""

    @property
    def count(self) -> int:
        """Number of BuildEvent messages."""
        return len(self.kinds)

    @property
    def size(self) -> int:
        """Bytes held for this build."""
        arrays = (self.offsets, self.kinds, self.ids)
        held = _ENTRY_BYTES + sum(len(values) * values.itemsize for values in arrays)
        return held + len(self.body) + sum(len(body) for body in self.gzipped.values())

    def runs(self, after_id: int, event_types: Collection[str] | None) -> list[tuple[int, int]]:
        """Runs [first, end) of consecutive messages with an id above `after_id` and a wanted type.

        `event_types` must be among the types encoded (all of them, or exactly `only`).
        """
        first = bisect.bisect_right(self.ids, after_id)
        if event_types is None or frozenset(event_types) == self.only:
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
        """The `position`-th message held (from 0)."""
        return self.body[self.offsets[position] : self.offsets[position + 1]]


def slices(body: bytes, start: int = 0, stop: int | None = None) -> Iterator[memoryview]:
    """`body[start:stop]` as views of at most `CHUNK_BYTES`, without copying."""
    view = memoryview(body)
    end = len(body) if stop is None else stop
    for piece in range(start, end, CHUNK_BYTES):
        yield view[piece : min(piece + CHUNK_BYTES, end)]


def encode_events(
    events: Iterable[tuple[int, Event]], only: frozenset[str] | None = None
) -> EncodedEvents:
    """Encode numbered events as `BuildEvent` SSE messages with those ids; `only`: the event
    types they were chosen by, if they are not all of the build's."""
    parts: list[bytes] = []
    offsets = array("q", [0])
    kinds = array("H")
    ids = array("q")
    codes: dict[str, int] = {}
    total = 0
    for number, (timestamp, event_type, major, minor, data) in events:
        message = (
            f'id: {number}\nevent: BuildEvent\ndata: {{"timestamp":{timestamp},"type":'
            f'{{"majorVersion":{major},"minorVersion":{minor},"eventType":"{event_type}"}},'
            f'"data":{data if isinstance(data, RawJson) else _encode_json(data)}}}\n\n'
        ).encode()
        parts.append(message)
        total += len(message)
        offsets.append(total)
        kinds.append(codes.setdefault(event_type, len(codes)))
        ids.append(number)
    return EncodedEvents(b"".join(parts), offsets, kinds, list(codes), ids, only)


def sse_message(message_id: str | int, event: str, data: object) -> bytes:
    """One SSE message with an id, an event name and JSON data."""
    return f"id: {message_id}\nevent: {event}\ndata: {_encode_json(data)}\n\n".encode()


class EventBodies:
    """Encoded builds, made on first use in a worker thread and kept within a memory budget."""

    def __init__(self, world: World, budget_bytes: int = _CACHE_BUDGET_BYTES) -> None:
        self._world = world
        self._budget = budget_bytes
        self._cache: OrderedDict[_Key, EncodedEvents] = OrderedDict()
        self._held = 0
        """Bytes the cached encodings hold, kept as they come and go: summing them at each
        new one made a 100,000-build summary pass quadratic (the cache holds that many)."""
        self._pending: dict[_Key, asyncio.Future[EncodedEvents]] = {}

    async def get(
        self, summary: BuildSummary, event_types: Collection[str] | None = None
    ) -> EncodedEvents:
        """The build's encoded events, holding at least `event_types` (None: all of them): the
        whole build if it is cached, else only those types. Concurrent first requests share one
        encoding."""
        whole: _Key = (summary.build_id, None)
        key = whole if event_types is None else (summary.build_id, frozenset(event_types))
        for wanted in dict.fromkeys((whole, key)):
            cached = self._cache.get(wanted)
            if cached is not None:
                self._cache.move_to_end(wanted)
                return cached
        pending = self._pending.get(whole) or self._pending.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().run_in_executor(
                None, self._encode, summary, key[1]
            )
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._settle(key, done))
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
            if encoded.cached:
                self._held += len(body)
        return body

    def _encode(self, summary: BuildSummary, only: frozenset[str] | None) -> EncodedEvents:
        return encode_events(numbered_events(summary, self._world, only), only)

    def _settle(self, key: _Key, done: asyncio.Future[EncodedEvents]) -> None:
        del self._pending[key]
        if done.cancelled() or done.exception() is not None:
            return
        encoded = self._cache[key] = done.result()
        encoded.cached = True
        self._held += encoded.size
        while self._held > self._budget and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            dropped.cached = False
            self._held -= dropped.size

    @property
    def held_bytes(self) -> int:
        """Bytes the cached encodings hold (`EncodedEvents.size`), at most the budget."""
        return self._held
