"""`buildwatch tail/events --json` lines: the server's bytes where safe, one line per message."""

from __future__ import annotations

import json

import pytest

from buildwatch.cli.develocity import json_lines
from buildwatch.core.develocity.models import Build, BuildEvent, messages_from
from buildwatch.core.sse import SSEEvent

UTF8_TEXT = "Überweisung für Søren Müller: 1 234,50 € → 注文 🚚"


def events(*datas: bytes) -> list[Build | BuildEvent]:
    """Messages as the client makes them from a batch of `BuildEvent` SSE messages."""
    made = messages_from([SSEEvent("BuildEvent", data, str(n)) for n, data in enumerate(datas)])
    assert all(isinstance(message, BuildEvent) for message in made)
    return [message for message in made if isinstance(message, BuildEvent)]


def message(text: str) -> bytes:
    """One message's data: JSON holding `text` as it is, non-ASCII as UTF-8 (no escapes)."""
    return json.dumps({"data": {"message": text}}, ensure_ascii=False).encode()


def written(messages: list[Build | BuildEvent]) -> list[bytes]:
    return b"".join(json_lines(messages)).split(b"\n")[:-1]


def test_utf8_text_passes_through_as_the_server_sent_it() -> None:
    datas = [message(f"{UTF8_TEXT} {n}") for n in range(1000)]
    assert written(events(*datas)) == datas


@pytest.mark.parametrize("text", [UTF8_TEXT, "task output"], ids=["utf-8", "ascii"])
def test_a_c1_control_is_escaped_in_its_message_and_the_others_pass_through(text: str) -> None:
    datas = [message(f"{text} {n}") for n in range(1000)]
    datas[617] = message("before \x9b31m after")
    lines = written(events(*datas))
    assert lines[617] == rb'{"data":{"message":"before \u009b31m after"}}'
    assert lines[:617] + lines[618:] == datas[:617] + datas[618:]


def test_invalid_utf8_is_written_with_replacement_characters() -> None:
    datas = [message(f"{UTF8_TEXT} {n}") for n in range(10)]
    datas[3] = b'{"data":{"message":"bad \xff\xc0 bytes"}}'
    lines = written(events(*datas))
    assert json.loads(lines[3]) == {"data": {"message": "bad \ufffd\ufffd bytes"}}
    assert all(line.decode("utf-8") for line in lines)
    assert lines[:3] + lines[4:] == datas[:3] + datas[4:]


def test_a_message_spread_over_lines_is_written_on_one() -> None:
    datas = [message("first"), b'{"data":\n{"message":"split"}}', message("last")]
    assert written(events(*datas)) == [
        message("first"), b'{"data":{"message":"split"}}', message("last")
    ]


def test_no_line_holds_a_control_character_a_terminal_obeys() -> None:
    hostile = ["\x85next line", "\x9d8;;http://x\x9c", "ok \u00a0 nbsp", "\u0080", UTF8_TEXT]
    lines = written(events(*(message(text) for text in hostile)))
    decoded = [line.decode("utf-8") for line in lines]
    assert len(lines) == len(hostile)
    assert not [char for line in decoded for char in line if "\x80" <= char <= "\x9f"]
    assert [json.loads(line)["data"]["message"] for line in decoded] == hostile


def test_an_ascii_batch_is_written_in_one_piece_exactly_as_the_server_sent_it() -> None:
    datas = [message(f"task :app:compile{n} UP-TO-DATE") for n in range(1000)]
    assert json_lines(events(*datas)) == [b"\n".join(datas) + b"\n"]


def test_an_escape_sequence_stays_a_json_escape_in_an_ascii_batch() -> None:
    datas = [message("\x1b]0;PWNED\x07\x1b[2J"), message("plain")]
    lines = written(events(*datas))
    assert lines == datas
    assert not [byte for line in lines for byte in line if byte < 0x20 or byte == 0x7F]


def test_a_raw_escape_is_not_json_and_never_reaches_a_line() -> None:
    made = messages_from([SSEEvent("BuildEvent", b'{"m":"\x1b[2J"}', "1")])
    assert [type(message).__name__ for message in made] == ["SkippedMessage"]

