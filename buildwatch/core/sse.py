"""An incremental Server-Sent Events parser that follows the WHATWG rules exactly.

Feed it the bytes of one response as they arrive, in chunks split anywhere; it returns the events
completed so far. It works on bytes, not text: every byte that matters to the format (CR, LF, the
colon, the space, NUL, ASCII digits) is ASCII and never occurs inside a multi-byte UTF-8
sequence, so splitting the bytes gives the same lines as splitting the decoded text, and the data
of an event can be handed on, and written out, without being decoded and encoded again.

Differences from httpx-sse 0.4.3 that matter here (measured against it): a leading BOM is
stripped instead of spoiling the first event, a block without data (a heartbeat, an
`id:`-only block) dispatches nothing, `retry` must be all ASCII digits, and the size of an event
is bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import repeat
from operator import itemgetter, methodcaller

import msgspec

from buildwatch.core.errors import ServerError

DEFAULT_MAX_EVENT_BYTES = 64 * 1024 * 1024
"""Largest event (or unfinished line) accepted; real events reach a few MB (ExceptionData)."""

MAX_RETRY_MS = 24 * 60 * 60 * 1000
"""Largest `retry:` kept, so a hostile value can never reach `sleep()` as it is."""

PIECE_BYTES = 64 * 1024
"""Size of the pieces `pieces` cuts a chunk into: parsing one and decoding its messages takes a
few milliseconds, while a gzip body arrives in chunks of about 500 KB (one read of compressed
bytes, inflated): 35-45 ms to parse and decode in one go on an idle machine, over 100 ms in the
monitor under load."""

_BOM = b"\xef\xbb\xbf"


class EventTooLargeError(ServerError):
    """An event, or a line still waiting for its end, exceeds the parser's size limit."""


class SSEEvent(msgspec.Struct, frozen=True, gc=False):
    """One dispatched event: its type, its data as UTF-8 bytes, and the last event id.

    A msgspec Struct: made by a C constructor and not tracked by the garbage collector, which
    matters at hundreds of thousands of events.

    `data` holds the bytes the server sent, `data` lines joined by LF; decode them with
    `errors="replace"` (as `text` does) to get the string the standard defines.
    """

    event: str
    data: bytes
    id: str

    @property
    def text(self) -> str:
        """The data as the standard's string: UTF-8, invalid bytes replaced by U+FFFD."""
        return self.data.decode("utf-8", "replace")


def pieces(chunk: bytes, size: int = PIECE_BYTES) -> Iterator[bytes]:
    """`chunk` cut into consecutive pieces of at most `size` bytes, for `SSEParser.feed` one at a
    time, so that a consumer can let other work run between them.

    Each piece ends after the last blank line within its bound (an event's end), so an event is
    rarely carried over from one piece to the next; where there is none, it ends at the bound.
    The parser accepts any cut either way: the events are the same as from the whole chunk.
    """
    start = 0
    end = len(chunk)
    while end - start > size:
        cut = chunk.rfind(b"\n\n", start, start + size) + 2
        if cut <= start + 1:
            cut = start + size
        yield chunk[start:cut]
        start = cut
    yield chunk[start:]


class SSEParser:
    """Parses one response body; create a new one for each connection.

    `last_event_id` starts at the id carried over from the previous connection: as in the Node
    `eventsource` client, only an `id` field changes it, so a heartbeat at the start of a resumed
    stream cannot erase the resume point. `retry` is the last valid `retry:` value in ms, or None.
    """

    __slots__ = (
        "_after_cr",
        "_bom_checked",
        "_id",
        "_id_raw",
        "_max",
        "_pending",
        "retry",
    )

    def __init__(
        self, last_event_id: str = "", max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    ) -> None:
        self._id = last_event_id
        self._id_raw = last_event_id.encode("utf-8")
        self._max = max_event_bytes
        self._pending = bytearray()
        self._after_cr = False
        self._bom_checked = False
        self.retry: int | None = None

    @property
    def last_event_id(self) -> str:
        """The id to send as `Last-Event-ID` if the connection ends now ("" for none)."""
        return self._id

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Parse the next bytes of the body and return the events they complete."""
        if self._after_cr and chunk:
            self._after_cr = False
            if chunk[0] == 10:
                # The LF of a CRLF split between two chunks: the CR already ended the line.
                chunk = chunk[1:]
        if not chunk:
            return []
        if not self._bom_checked:
            chunk = self._strip_bom(chunk)
            if not chunk:
                return []
        self._after_cr = chunk[-1] == 13
        if 13 in chunk:
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        pending = self._pending
        if b"\n\n" not in chunk and not (chunk[0] == 10 and pending[-1:] == b"\n"):
            # No event completed: keep the bytes (amortised linear, however many chunks).
            pending += chunk
            self._check_size(len(pending))
            return []
        buffer = bytes(pending) + chunk if pending else chunk
        complete = buffer.rfind(b"\n\n") + 2
        self._pending = bytearray(buffer[complete:])
        self._check_size(len(self._pending))
        events = self._dispatch_canonical(buffer, complete)
        if events is not None:
            return events
        blocks = _BLOCK.findall(buffer, 0, complete)
        if complete > self._max:
            # Only a chunk this big can hold a complete event over the limit.
            self._check_size(max(len(data) + len(other) for _, _, data, other in blocks))
        return self._dispatch(blocks)

    def close(self) -> bool:
        """End of the body: an event without its closing blank line is discarded. Returns
        whether the body ended between events (nothing but line ends after the last one).

        A `retry:` line that did arrive complete still counts, as the standard applies fields
        line by line.
        """
        between_events = not self._pending.strip(b"\n")
        complete_lines = bytes(self._pending).split(b"\n")[:-1]
        self._pending = bytearray()
        for line in complete_lines:
            name, _, value = line.partition(b":")
            if name == b"retry":
                self._set_retry(value[1:] if value[:1] == b" " else value)
        return between_events

    def _strip_bom(self, chunk: bytes) -> bytes:
        head = bytes(self._pending) + chunk
        if len(head) < len(_BOM) and _BOM.startswith(head):
            # Maybe a BOM split between chunks: wait for the rest of it.
            self._pending = bytearray(head)
            return b""
        self._bom_checked = True
        self._pending = bytearray()
        return head[len(_BOM) :] if head.startswith(_BOM) else head

    def _check_size(self, size: int) -> None:
        if size > self._max:
            raise EventTooLargeError(
                f"the server sent an event larger than {self._max // (1024 * 1024)} MiB"
            )

    def _set_retry(self, value: bytes) -> None:
        if value.isdigit():  # ASCII digits only, as bytes.isdigit() is
            self.retry = min(int(value), MAX_RETRY_MS)

    def _dispatch_canonical(self, buffer: bytes, complete: int) -> list[SSEEvent] | None:
        """The events of `buffer[:complete]` when every block in it has the form every
        Develocity message has (`id: `, `event: `, `data: ` lines, then a blank one); else None.

        The fast path for big batches: the buffer is split into lines once, by a C loop that
        needs no per-byte work of the regular expression, and each field is cut from its line
        by slicing a whole column of lines at once.
        """
        lines = buffer.split(b"\n")
        # The lines after the last blank one are still pending: a few, as they end no block.
        del lines[len(lines) - buffer.count(b"\n", complete) - 1 :]
        count = len(lines) // 4
        if not count or len(lines) % 4 or any(lines[3::4]):
            return None
        names = _event_names(lines[1::4])
        # Every fourth line from the first is an `id: ` line exactly when the column joined by
        # LF, which no id holds, starts so and splits into one id per block.
        ids_text = b"\n".join(lines[0::4])
        if names is None or not ids_text.startswith(b"id: ") or b"\0" in ids_text:
            return None
        ids = ids_text[4:].decode("utf-8", "replace").split("\nid: ")
        data_lines = lines[2::4]
        if len(ids) != count or not all(map(bytes.startswith, data_lines, repeat(b"data: "))):
            return None
        datas = list(map(_DATA_VALUE, data_lines))
        if complete > self._max:
            self._check_size(max(map(len, datas)))
        self._id = ids[-1]
        self._id_raw = lines[-4][4:]
        return list(map(SSEEvent, names, datas, ids))

    def _dispatch(self, blocks: list[tuple[bytes, bytes, bytes, bytes]]) -> list[SSEEvent]:
        """Turn the matches of `_BLOCK` into events, updating the last event id."""
        if not blocks:
            return []
        ids, types, datas, others = zip(*blocks, strict=True)
        if any(others):
            return self._dispatch_any(blocks)
        # Only the canonical form: each block names its own id and type, so the whole batch is
        # converted by C loops (no Python frame per event, which is what makes this fast).
        try:
            names = list(map(_EVENT_TYPES.__getitem__, types))
        except KeyError:
            names = list(map(_event_type, types))
        id_raw = ids[-1]
        if id_raw != self._id_raw:
            self._id_raw = id_raw
            self._id = id_raw.decode("utf-8", "replace")
        return list(map(SSEEvent, names, datas, map(_decode_id, ids)))

    def _dispatch_any(self, blocks: list[tuple[bytes, bytes, bytes, bytes]]) -> list[SSEEvent]:
        """`_dispatch` for blocks in any form, one at a time."""
        events: list[SSEEvent] = []
        append = events.append
        event_id = self._id
        id_raw = self._id_raw
        for id_value, event_type, data, other in blocks:
            if other:
                event_type, other_data, id_value = self._fields(other, id_raw)
            if id_value != id_raw:
                id_raw = id_value
                event_id = id_value.decode("utf-8", "replace")
            if other:
                if other_data is None:
                    continue
                data = other_data
            append(SSEEvent(_event_type(event_type), data, event_id))
        self._id = event_id
        self._id_raw = id_raw
        return events

    def _fields(self, block: bytes, id_raw: bytes) -> tuple[bytes, bytes | None, bytes]:
        """The event type, data (None: no `data` line) and id of a block in any allowed form.

        `block` is the block's lines, each ended by LF; `id_raw` the id before it. `retry` fields
        take effect as they are met.
        """
        data: list[bytes] = []
        event_type = b""
        for line in block[:-1].split(b"\n"):
            name, colon, value = line.partition(b":")
            if colon and value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"id":
                if b"\0" not in value:
                    id_raw = value
            elif name == b"event":
                event_type = value
            elif name == b"retry":
                self._set_retry(value)
            # Anything else, comments (an empty name) included, is ignored.
        if not data:
            return event_type, None, id_raw
        return event_type, data[0] if len(data) == 1 else b"\n".join(data), id_raw


_BLOCK = re.compile(
    # Blank lines before a block dispatch nothing, so they are skipped with it.
    rb"\n*(?:"
    # The form every Develocity message has, matched in one go for speed ...
    rb"id: ([^\n\0]*)\nevent: ([^\n]*)\ndata: ([^\n]*)\n"
    # ... and every other block: its lines, each ended by LF.
    rb"|((?:[^\n]+\n)+)"
    # The blank line that dispatches the block.
    rb")\n"
)

_MAX_EVENT_TYPES = 256
"""How many event types, and `event:` lines, are remembered: a server cannot grow them further."""
_EVENT_TYPES: dict[bytes, str] = {}
_EVENT_LINES: dict[bytes, str] = {}
_decode_id = methodcaller("decode", "utf-8", "replace")
_DATA_VALUE = itemgetter(slice(len(b"data: "), None))


def _event_type(raw: bytes) -> str:
    """The event type as a string ("message" when unset), remembered for the next events."""
    name = _EVENT_TYPES.get(raw)
    if name is None:
        name = raw.decode("utf-8", "replace") if raw else "message"
        if len(_EVENT_TYPES) < _MAX_EVENT_TYPES:
            _EVENT_TYPES[raw] = name
    return name


def _event_names(lines: list[bytes]) -> list[str] | None:
    """The type each `event: TYPE` line names, or None if one of `lines` is not such a line.

    Lines seen before are looked up whole, by a C loop; new ones are remembered, up to a bound.
    """
    try:
        return list(map(_EVENT_LINES.__getitem__, lines))
    except KeyError:
        pass
    if not all(map(bytes.startswith, lines, repeat(b"event: "))):
        return None
    new = set(lines).difference(_EVENT_LINES)
    if len(_EVENT_LINES) + len(new) > _MAX_EVENT_TYPES:
        return [_event_type(line[len(b"event: ") :]) for line in lines]
    _EVENT_LINES.update((line, _event_type(line[len(b"event: ") :])) for line in new)
    return list(map(_EVENT_LINES.__getitem__, lines))
