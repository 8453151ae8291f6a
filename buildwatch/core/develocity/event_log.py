"""A build's whole event stream, kept compactly enough for 500,000 events.

Each event is kept as the bytes the server sent, in one growing buffer, with its type and time in
typed arrays: about the stream's size plus twenty bytes an event, where a list of decoded
dictionaries would take ten times that. Filtering by type scans the type array, not the events.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection

from buildwatch.core.develocity.models import JsonObject, decode_object

_NO_TIME = -1


class EventLog:
    """Events in arrival order, each with its type, timestamp and JSON source."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("q")
        self._type_ids = array("H")
        self._times = array("q")
        self._types: list[str] = []
        self._type_index: dict[str, int] = {}
        self._counts: list[int] = []

    def __len__(self) -> int:
        return len(self._ends)

    @property
    def nbytes(self) -> int:
        """Bytes held, buffers and indexes together."""
        arrays = (self._ends, self._type_ids, self._times)
        return len(self._data) + sum(len(a) * a.itemsize for a in arrays)

    def add(self, event_type: str, timestamp: int | None, source: bytes) -> None:
        """Keep one event."""
        type_id = self._type_index.get(event_type)
        if type_id is None:
            type_id = self._type_index[event_type] = len(self._types)
            self._types.append(event_type)
            self._counts.append(0)
        self._counts[type_id] += 1
        self._data += source
        self._ends.append(len(self._data))
        self._type_ids.append(type_id)
        self._times.append(_NO_TIME if timestamp is None else timestamp)

    def event_type(self, index: int) -> str:
        """The type of event `index`."""
        return self._types[self._type_ids[index]]

    def timestamp(self, index: int) -> int | None:
        """When event `index` happened (epoch ms), if it says."""
        value = self._times[index]
        return None if value == _NO_TIME else value

    def source(self, index: int) -> bytes:
        """Event `index` exactly as the server sent it."""
        start = self._ends[index - 1] if index else 0
        return bytes(self._data[start:self._ends[index]])

    def decoded(self, index: int) -> JsonObject:
        """Event `index` as a JSON object."""
        return decode_object(self.source(index))

    def type_counts(self) -> dict[str, int]:
        """How many events of each type, by type name, in order of first appearance."""
        return dict(zip(self._types, self._counts, strict=True))

    def indices(self, types: Collection[str] | None, start: int = 0) -> array[int]:
        """Positions (from `start`) of the events of `types`, or of every event for None."""
        if types is None:
            return array("q", range(start, len(self)))
        wanted = {self._type_index[name] for name in types if name in self._type_index}
        ids = self._type_ids
        return array("q", (i for i in range(start, len(ids)) if ids[i] in wanted))
