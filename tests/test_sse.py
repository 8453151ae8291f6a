"""The SSE parser follows the WHATWG rules, whatever the chunking.

Each vector is parsed whole, one byte at a time and in the chunks given; all three must agree.
"""

from __future__ import annotations

import pytest

from buildwatch.core.sse import MAX_RETRY_MS, EventTooLargeError, SSEEvent, SSEParser

BOM = b"\xef\xbb\xbf"


def parse(*chunks: bytes, last_event_id: str = "") -> tuple[list[SSEEvent], SSEParser]:
    """Feed `chunks` to a fresh parser, end the stream, return the events and the parser."""
    parser = SSEParser(last_event_id)
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    parser.close()
    return events, parser


def texts(*chunks: bytes) -> list[str]:
    """The data of the events in `chunks`, checked to be the same however the bytes are split."""
    body = b"".join(chunks)
    results = [
        parse(*chunks)[0],
        parse(body)[0],
        parse(*(body[i : i + 1] for i in range(len(body))))[0],
    ]
    assert results[0] == results[1] == results[2]
    return [event.text for event in results[0]]


@pytest.mark.parametrize("body", [b"data: a\n\n", b"data: a\r\r", b"data: a\r\n\r\n"])
def test_each_line_ending_ends_an_event(body: bytes) -> None:
    assert texts(body) == ["a"]


def test_line_endings_can_be_mixed_within_an_event() -> None:
    assert texts(b"data: a\rdata: b\ndata: c\r\n\r\n") == ["a\nb\nc"]


def test_crlf_split_between_chunks_is_one_line_ending() -> None:
    assert texts(b"data: a\r", b"\n", b"\r", b"\ndata: b\r\n\r\n") == ["a", "b"]


def test_lf_line_then_crlf_blank_line_ends_the_event() -> None:
    assert texts(b"data: a\n\r\n") == ["a"]


def test_cr_at_the_end_of_a_chunk_completes_the_event_at_once() -> None:
    parser = SSEParser()
    assert [event.text for event in parser.feed(b"data: a\r\r")] == ["a"]


def test_cr_at_the_very_end_of_the_stream_is_a_line_ending() -> None:
    assert texts(b"data: a\r", b"\r") == ["a"]


def test_a_leading_bom_is_stripped() -> None:
    assert texts(BOM + b"data: 1\n\n") == ["1"]


def test_a_bom_split_across_chunks_is_stripped() -> None:
    assert texts(BOM[:1], BOM[1:2], BOM[2:] + b"data: 1\n\n") == ["1"]


def test_only_one_bom_is_stripped() -> None:
    assert texts(BOM + BOM + b"data: 1\n\ndata: 2\n\n") == ["2"]


def test_a_bom_in_the_middle_of_the_stream_is_data() -> None:
    assert texts(b"data: 1\n\ndata: " + BOM + b"2\n\n") == ["1", "\ufeff2"]


def test_the_space_after_the_colon_is_optional() -> None:
    assert texts(b"data:test\n\ndata: test\n\n") == ["test", "test"]


def test_only_one_space_after_the_colon_is_removed() -> None:
    assert texts(b"data:  x\n\n") == [" x"]


def test_a_field_without_a_colon_has_an_empty_value() -> None:
    assert texts(b"data\n\n") == [""]
    assert texts(b"data\ndata\n\n") == ["\n"]


def test_field_names_are_case_sensitive_and_not_trimmed() -> None:
    assert texts(b"Data: x\n\n", b" data: x\n\n") == []


def test_the_value_keeps_later_colons() -> None:
    assert texts(b"data: a: b\n\n") == ["a: b"]


def test_comments_are_ignored() -> None:
    assert texts(b": comment\n\n") == []
    assert texts(b"data: a\n:heartbeat\ndata: b\n\n") == ["a\nb"]


def test_heartbeats_between_events_dispatch_nothing() -> None:
    assert texts(b"id: 1\ndata: a\n\n:hb\n\n:hb\n\ndata: b\n\n") == ["a", "b"]


@pytest.mark.parametrize("body", [b"event: foo\n\n", b"id: 9\n\n", b"retry: 100\n\n"])
def test_a_block_without_data_dispatches_nothing(body: bytes) -> None:
    assert texts(body) == []


def test_a_block_with_only_an_id_still_moves_the_last_event_id() -> None:
    _, parser = parse(b"id: 1\ndata: a\n\nid: 9\n\n")
    assert parser.last_event_id == "9"


def test_a_block_with_only_retry_still_sets_the_reconnection_time() -> None:
    _, parser = parse(b"retry: 100\n\n")
    assert parser.retry == 100


def test_the_event_type_defaults_to_message_and_is_reset_after_each_event() -> None:
    events, _ = parse(b"event: Build\ndata: a\n\ndata: b\n\n")
    assert [event.event for event in events] == ["Build", "message"]


def test_the_id_carries_over_to_later_events() -> None:
    events, parser = parse(b"id: 1\ndata: a\n\ndata: b\n\n")
    assert [event.id for event in events] == ["1", "1"]
    assert parser.last_event_id == "1"


def test_an_empty_id_resets_the_last_event_id() -> None:
    events, parser = parse(b"id: 1\ndata: a\n\nid\ndata: b\n\n")
    assert [event.id for event in events] == ["1", ""]
    assert parser.last_event_id == ""


@pytest.mark.parametrize("value", [b"2\x003", b"\x00\x00", b"x\x00", b"\x00x", b"x\x00x", b" \x00"])
def test_an_id_containing_nul_is_ignored(value: bytes) -> None:
    events, parser = parse(b"id: 1\ndata: a\n\nid: " + value + b"\ndata: b\n\n")
    assert [event.id for event in events] == ["1", "1"]
    assert parser.last_event_id == "1"


def test_the_last_event_id_of_a_previous_connection_carries_over() -> None:
    events, parser = parse(b":hb\n\ndata: a\n\n", last_event_id="41")
    assert [event.id for event in events] == ["41"]
    assert parser.last_event_id == "41"


def test_an_id_in_an_event_cut_off_at_the_end_is_not_adopted() -> None:
    _, parser = parse(b"id: 1\ndata: a\n\nid: 2\ndata: b\n")
    assert parser.last_event_id == "1"


def test_retry_sets_the_reconnection_time() -> None:
    _, parser = parse(b"retry: 1500\n\n")
    assert parser.retry == 1500


@pytest.mark.parametrize("value", ["-5", "1_000", " 1000 ", "10s", "\u0661\u0662", "", "1000x"])
def test_retry_that_is_not_all_ascii_digits_is_ignored(value: str) -> None:
    _, parser = parse(b"retry: 2000\n\nretry: " + value.encode() + b"\n\n")
    assert parser.retry == 2000


def test_a_huge_retry_is_clamped() -> None:
    _, parser = parse(b"retry: 99999999999999999999999\n\n")
    assert parser.retry == MAX_RETRY_MS


def test_a_complete_retry_line_counts_even_if_its_event_is_cut_off() -> None:
    _, parser = parse(b"retry: 700\ndata: a\n")
    assert parser.retry == 700


@pytest.mark.parametrize(
    "body", [b"data: a\n\ndata: b\n", b"data: a\n\ndata: b", b"data: a\n\ndata:"]
)
def test_an_event_cut_off_at_the_end_of_the_stream_is_discarded(body: bytes) -> None:
    assert texts(body) == ["a"]


def test_a_stream_cut_mid_character_gives_a_replacement_character() -> None:
    assert texts("data: é\n\ndata: é".encode()[:-1]) == ["é"]
    assert texts(b"data: \xc3\n\n") == ["\ufffd"]


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c"])
def test_other_unicode_line_separators_are_data(char: str) -> None:
    assert texts(f"data: a{char}b\n\n".encode()) == [f"a{char}b"]


def test_invalid_utf8_becomes_a_replacement_character() -> None:
    assert texts(b"data: a\xffb\n\n") == ["a\ufffdb"]


def test_data_is_kept_as_the_bytes_the_server_sent() -> None:
    events, _ = parse('id: 7\nevent: BuildEvent\ndata: {"a":"é"}\n\n'.encode())
    assert events == [SSEEvent("BuildEvent", '{"a":"é"}'.encode(), "7")]


def test_a_line_longer_than_the_limit_is_refused() -> None:
    parser = SSEParser(max_event_bytes=1024)
    with pytest.raises(EventTooLargeError, match="larger than"):
        for _ in range(10):
            parser.feed(b"data: " + b"x" * 200)


def test_an_event_of_many_lines_over_the_limit_is_refused() -> None:
    parser = SSEParser(max_event_bytes=1024)
    with pytest.raises(EventTooLargeError):
        parser.feed(b"data: x\n" * 500 + b"\n")


def test_a_complete_event_over_the_limit_in_one_chunk_is_refused() -> None:
    parser = SSEParser(max_event_bytes=1024)
    with pytest.raises(EventTooLargeError):
        parser.feed(b"id: 1\nevent: BuildEvent\ndata: " + b"x" * 2048 + b"\n\n")


def test_many_events_under_the_limit_pass_in_one_chunk() -> None:
    parser = SSEParser(max_event_bytes=1024)
    events = parser.feed((b"data: " + b"y" * 500 + b"\n\n") * 10)
    assert len(events) == 10


def test_a_long_stream_in_network_sized_chunks_loses_no_event() -> None:
    body = b"".join(b"id: %d\nevent: BuildEvent\ndata: {}\n\n" % i for i in range(100_000))
    parser = SSEParser()
    count = sum(len(parser.feed(body[i : i + 65536])) for i in range(0, len(body), 65536))
    assert count == 100_000
    assert parser.last_event_id == "99999"


def develocity_messages(*messages: tuple[bytes, bytes, bytes]) -> bytes:
    """Messages written as Develocity writes every one: `id: `, `event: `, `data: `, blank."""
    return b"".join(b"id: %s\nevent: %s\ndata: %s\n\n" % message for message in messages)


def test_a_batch_in_the_develocity_form_gives_each_event_its_type_data_and_id() -> None:
    body = develocity_messages(
        (b"0", b"Build", b'{"buildId":"b"}'),
        (b"1", b"BuildEvent", '{"text":"Grüße 注文 🚚"}'.encode()),
        ("é".encode(), b"", b"{}"),
        (b"x\xffy", "Typ€".encode(), b"[1]"),
    )
    events, parser = parse(body)
    assert events == [
        SSEEvent("Build", b'{"buildId":"b"}', "0"),
        SSEEvent("BuildEvent", '{"text":"Grüße 注文 🚚"}'.encode(), "1"),
        SSEEvent("message", b"{}", "é"),
        SSEEvent("Typ€", b"[1]", "x\ufffdy"),
    ]
    assert parser.last_event_id == "x\ufffdy"


@pytest.mark.parametrize(
    ("odd_block", "odd_events"),
    [
        (b": heartbeat\n\n", []),
        (b"\n", []),
        (b"id:5\nevent:BuildEvent\ndata:{}\n\n", [SSEEvent("BuildEvent", b"{}", "5")]),
        (b"data: {}\nevent: Later\nid: 6\n\n", [SSEEvent("Later", b"{}", "6")]),
        (b"id: 7\nevent: BuildEvent\ndata: a\ndata: b\n\n", [SSEEvent("BuildEvent", b"a\nb", "7")]),
        (b"id: \x008\nevent: BuildEvent\ndata: {}\n\n", [SSEEvent("BuildEvent", b"{}", "2")]),
        (b"id: 9\nevents: BuildEvent\ndata: {}\n\n", [SSEEvent("message", b"{}", "9")]),
        (b"id: 10\nevent: BuildEvent\ndata:  {}\n\n", [SSEEvent("BuildEvent", b" {}", "10")]),
        (b"id:15\nevent: BuildEvent\ndata: {}\n\n", [SSEEvent("BuildEvent", b"{}", "15")]),
        (b"id: 11\nevent: BuildEvent\ndata:{}\n\n", [SSEEvent("BuildEvent", b"{}", "11")]),
        (b"id: 12\nevent: BuildEvent\n: no data\n\n", []),
        (
            b"id: 13\nevent: BuildEvent\ndata: a\n: note\nid: 14\nevent: Other\ndata: b\n\n",
            [SSEEvent("Other", b"a\nb", "14")],
        ),
    ],
    ids=["comment", "blank line", "no spaces", "other order", "two data lines", "nul in id",
         "unknown field", "two spaces", "id without space", "data without space", "no data line",
         "eight lines in one block"],
)
def test_a_block_in_another_form_among_develocity_blocks_is_read_by_the_rules(
    odd_block: bytes, odd_events: list[SSEEvent]
) -> None:
    before = develocity_messages((b"1", b"BuildEvent", b"[1]"), (b"2", b"BuildEvent", b"[2]"))
    after = develocity_messages((b"99", b"BuildEvent", b"[99]"))
    events, parser = parse(before + odd_block + after)
    assert events == [
        SSEEvent("BuildEvent", b"[1]", "1"),
        SSEEvent("BuildEvent", b"[2]", "2"),
        *odd_events,
        SSEEvent("BuildEvent", b"[99]", "99"),
    ]
    assert parser.last_event_id == "99"


def test_hundreds_of_event_types_in_one_batch_are_each_named() -> None:
    names = [f"Type{n}".encode() for n in range(600)]
    body = develocity_messages(*((b"%d" % n, name, b"{}") for n, name in enumerate(names)))
    events, _ = parse(body)
    assert [event.event.encode() for event in events] == names


def test_the_last_event_id_follows_batches_in_the_develocity_form_and_in_others() -> None:
    parser = SSEParser()
    odd = b": note\nid: 3\nevent: BuildEvent\ndata: {}\n\n"
    batches = [odd, develocity_messages((b"5", b"BuildEvent", b"{}")), odd]
    ids = [[event.id for event in parser.feed(batch)] for batch in batches]
    assert ids == [["3"], ["5"], ["3"]]
    assert parser.last_event_id == "3"


def test_a_batch_that_starts_with_a_block_in_another_form_is_read_by_the_rules() -> None:
    body = b"ids: 1\nevent: BuildEvent\ndata: {}\n\n" + develocity_messages(
        (b"2", b"BuildEvent", b"[2]")
    )
    events, _ = parse(body)
    assert events == [SSEEvent("BuildEvent", b"{}", ""), SSEEvent("BuildEvent", b"[2]", "2")]
