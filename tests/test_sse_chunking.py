"""However a stream is cut into chunks, the parser gives the same events and state, and the
same as a literal, line-by-line reading of the standard."""

from __future__ import annotations

import re
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from buildwatch.core.sse import MAX_RETRY_MS, SSEEvent, SSEParser, pieces

_LINE_ENDINGS = st.sampled_from([b"\n", b"\r", b"\r\n"])
_VALUES = st.one_of(
    st.just(b""),
    st.binary(max_size=12).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"")),
    st.text(max_size=8).map(lambda text: text.encode().replace(b"\r", b"").replace(b"\n", b"")),
)
_NAMES = st.sampled_from([b"data", b"id", b"event", b"retry", b"", b"Data", b"other"])


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    """One line in any form the format allows, with its line ending."""
    kind = draw(st.sampled_from(["field", "bare", "comment", "blank", "canonical"]))
    end = draw(_LINE_ENDINGS)
    if kind == "blank":
        return end
    if kind == "comment":
        return b":" + draw(_VALUES) + end
    if kind == "bare":
        return draw(_NAMES) + end
    if kind == "canonical":
        number = draw(st.integers(0, 10_000))
        return b'id: %d\nevent: BuildEvent\ndata: {"n":%d}\n' % (number, number) + end
    space = draw(st.sampled_from([b"", b" ", b"  "]))
    return draw(_NAMES) + b":" + space + draw(_VALUES) + end


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    """A body: an optional BOM, then lines, possibly ending mid-line."""
    bom = draw(st.sampled_from([b"", b"\xef\xbb\xbf"]))
    body = bom + b"".join(draw(st.lists(lines(), max_size=40)))
    return body + draw(st.sampled_from([b"", b"data: cut", b"\r"]))


def reference(body: bytes) -> tuple[list[tuple[str, str, str]], str, int | None]:
    """The standard's algorithm, read literally: decode, split lines, apply fields, dispatch."""
    text = body.decode("utf-8", "replace").removeprefix("\ufeff")
    *complete, _unterminated = re.split("\r\n|\r|\n", text)
    events: list[tuple[str, str, str]] = []
    data, event_type, id_buffer, last_id, retry = "", "", "", "", None
    for line in complete:
        if not line:
            last_id = id_buffer
            if data:
                events.append((event_type or "message", data.removesuffix("\n"), last_id))
            data, event_type = "", ""
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data += value + "\n"
        elif name == "event":
            event_type = value
        elif name == "id" and "\0" not in value:
            id_buffer = value
        elif name == "retry" and value.isascii() and value.isdigit():
            retry = min(int(value), MAX_RETRY_MS)
    return events, last_id, retry


def parse(chunks: list[bytes]) -> tuple[list[SSEEvent], str, int | None]:
    parser = SSEParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    parser.close()
    return events, parser.last_event_id, parser.retry


def split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted(cut % (len(body) + 1) for cut in cuts), len(body)]
    return [body[start:end] for start, end in pairwise(points)]


@settings(max_examples=400, deadline=None)
@given(streams(), st.lists(st.integers(min_value=0), max_size=30))
def test_any_chunking_gives_the_same_events(body: bytes, cuts: list[int]) -> None:
    assert parse(split(body, cuts)) == parse([body])


@settings(max_examples=100, deadline=None)
@given(streams())
def test_byte_by_byte_gives_the_same_events(body: bytes) -> None:
    assert parse([body[i : i + 1] for i in range(len(body))]) == parse([body])


@settings(max_examples=400, deadline=None)
@given(streams())
def test_the_parser_agrees_with_a_literal_reading_of_the_standard(body: bytes) -> None:
    events, last_id, retry = parse([body])
    assert ([(e.event, e.text, e.id) for e in events], last_id, retry) == reference(body)


@st.composite
def develocity_messages(draw: st.DrawFn) -> bytes:
    """A message as Develocity writes every one (`id: `, `event: `, `data: ` lines, then a
    blank one) with any id, type and data; one in four also has a line in any other form."""
    message = [
        b"id: " + draw(st.one_of(st.integers(0, 10**6).map(b"%d".__mod__), _VALUES)) + b"\n",
        b"event: " + draw(st.one_of(st.sampled_from([b"Build", b"BuildEvent"]), _VALUES)) + b"\n",
        b"data: " + draw(_VALUES) + b"\n",
    ]
    if draw(st.integers(0, 3)) == 0:
        message.insert(draw(st.integers(0, len(message))), draw(lines()))
    return b"".join(message) + b"\n"


@settings(max_examples=400, deadline=None)
@given(st.lists(develocity_messages(), max_size=30), st.lists(st.integers(min_value=0), max_size=8))
def test_develocity_shaped_streams_are_read_by_the_standard_however_chunked(
    messages: list[bytes], cuts: list[int]
) -> None:
    body = b"".join(messages)
    events, last_id, retry = parse(split(body, cuts))
    assert ([(e.event, e.text, e.id) for e in events], last_id, retry) == reference(body)


@settings(max_examples=150, deadline=None)
@given(streams(), st.integers(min_value=1, max_value=64))
def test_pieces_of_a_chunk_are_bounded_and_give_the_same_events(body: bytes, size: int) -> None:
    cut = list(pieces(body, size))
    assert b"".join(cut) == body
    assert all(len(piece) <= size for piece in cut)
    assert parse(cut) == parse([body])


def test_pieces_end_at_the_last_event_end_within_their_bound() -> None:
    messages = [b'id: %d\nevent: Build\ndata: {"n":%d}\n\n' % (n, n) for n in range(100, 200)]
    body = b"".join(messages)
    cut = list(pieces(body, len(messages[0]) * 3 + 5))
    assert cut == [b"".join(messages[n : n + 3]) for n in range(0, len(messages), 3)]
