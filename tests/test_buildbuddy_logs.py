"""Writing a log once when its live chunk is polled and replaced (`LogAssembler`)."""

from __future__ import annotations

from buildwatch.core.buildbuddy.logs import LogAssembler
from buildwatch.core.buildbuddy.models import LogChunk


def live(token: str, contents: str) -> LogChunk:
    return LogChunk(token, contents, token)


def final(token: str, contents: str, next_token: str = "") -> LogChunk:
    return LogChunk(token, contents, next_token)


def test_final_chunks_are_written_whole_and_in_order() -> None:
    assembler = LogAssembler()
    written = [
        assembler.add(final("0000", "a\nb", "0001")),
        assembler.add(final("0001", "c\n", "0002")),
        assembler.add(final("0002", "")),
    ]
    assert "".join(written) + assembler.finish() == "a\nbc\n"


def test_the_same_live_snapshot_polled_twice_is_written_once() -> None:
    assembler = LogAssembler()
    first = assembler.add(live("0000", "one\ntwo\n"))
    second = assembler.add(live("0000", "one\ntwo\n"))
    assert (first, second) == ("one\ntwo\n", "")


def test_a_growing_live_chunk_writes_only_its_new_lines() -> None:
    assembler = LogAssembler()
    assembler.add(live("0000", "one\n"))
    assert assembler.add(live("0000", "one\ntwo\nthree\n")) == "two\nthree\n"


def test_an_incomplete_live_line_waits_until_it_is_complete() -> None:
    assembler = LogAssembler()
    assert assembler.add(live("0000", "one\ntw")) == "one\n"
    assert assembler.add(live("0000", "one\ntwo\n")) == "two\n"


def test_the_incomplete_line_is_written_when_the_log_stops_on_a_live_chunk() -> None:
    assembler = LogAssembler()
    assembler.add(live("0000", "one\ntw"))
    assert assembler.finish() == "tw"


def test_a_live_chunk_turning_final_writes_only_what_was_not_written() -> None:
    assembler = LogAssembler()
    assembler.add(live("0000", "one\ntwo\n"))
    assert assembler.add(final("0000", "one\ntwo\nthree\n", "0001")) == "three\n"


def test_progress_lines_moved_to_the_next_chunk_are_not_written_again() -> None:
    assembler = LogAssembler()
    assembler.add(live("0000", "one\n[10 / 90] 3 actions running\n"))
    assert assembler.add(final("0000", "one\n", "0001")) == ""
    assert assembler.add(live("0001", "[10 / 90] 3 actions running\nnext\n")) == "next\n"


def test_a_redrawn_line_is_written_in_its_new_form_after_the_old_one() -> None:
    assembler = LogAssembler()
    assembler.add(live("0000", "one\n[10 / 90] 3 actions running\n"))
    assert assembler.add(live("0000", "one\ntwo\n[20 / 90] 5 actions running\n")) == (
        "two\n[20 / 90] 5 actions running\n"
    )
