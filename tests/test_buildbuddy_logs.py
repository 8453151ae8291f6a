"""Writing a log once when its live chunk is polled and replaced (`LogAssembler`): what is
written ends up as the log, and the lines the server still redraws are held apart."""

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


def test_the_last_line_of_a_live_snapshot_is_held_back() -> None:
    assembler = LogAssembler()
    assert assembler.add(live("0000", "one\ntwo\n")) == "one\n"
    assert assembler.held == "two\n"


def test_the_same_live_snapshot_polled_twice_is_written_once() -> None:
    assembler = LogAssembler()
    first = assembler.add(live("0000", "one\ntwo\nthree\n"))
    second = assembler.add(live("0000", "one\ntwo\nthree\n"))
    assert (first, second) == ("one\ntwo\n", "")


def test_a_growing_live_chunk_writes_the_lines_that_now_have_one_after_them() -> None:
    assembler = LogAssembler()
    assembler.add(live("0000", "one\n"))
    assert assembler.add(live("0000", "one\ntwo\nthree\n")) == "one\ntwo\n"


def test_an_incomplete_last_line_is_the_one_held_back() -> None:
    assembler = LogAssembler()
    assert assembler.add(live("0000", "one\ntw")) == "one\n"
    assert assembler.held == "tw"


def test_what_is_held_is_written_when_the_log_stops_on_a_live_chunk() -> None:
    assembler = LogAssembler()
    assembler.add(live("0000", "one\n[1 / 9] 2 running\n"))
    assert assembler.finish() == "[1 / 9] 2 running\n"


def test_a_live_chunk_turning_final_writes_only_what_was_not_written() -> None:
    assembler = LogAssembler()
    assembler.add(live("0000", "one\ntwo\n"))
    assert assembler.add(final("0000", "one\ntwo\nthree\n", "0001")) == "two\nthree\n"


def test_the_log_is_written_as_it_ends_without_the_progress_line_redrawn_at_its_end() -> None:
    assembler = LogAssembler()
    snapshots = ["one\n[1 / 9] 2 running\n", "one\ntwo\n[2 / 9] 5 running\n",
                 "one\ntwo\nthree\n[3 / 9] 1 running\n"]
    written = [assembler.add(live("0000", text)) for text in snapshots]
    assert assembler.progress == "[3 / 9] 1 running"
    written.append(assembler.add(final("0000", "one\ntwo\nthree\nfour\n", "0001")))
    assert "".join(written) + assembler.finish() == "one\ntwo\nthree\nfour\n"


def test_a_written_line_redrawn_is_written_again_in_its_new_form() -> None:
    assembler = LogAssembler()
    assert assembler.add(live("0000", "one\ntwo\nthree\n")) == "one\ntwo\n"
    assert assembler.add(live("0000", "one\nTWO\nthree\nfour\n")) == "TWO\n"


def test_a_redraw_deeper_than_the_held_lines_teaches_to_hold_that_many() -> None:
    assembler = LogAssembler()
    assert assembler.add(live("0000", "one\n[1 / 9]\n  Compiling a.cc\n")) == "one\n[1 / 9]\n"
    # The written progress line was redrawn with the line under it: two lines from now on.
    assert assembler.add(live("0000", "one\ntwo\n[2 / 9]\n  Linking b\n")) == "two\n"
    assert assembler.add(live("0000", "one\ntwo\nthree\n[3 / 9]\n  Testing c\n")) == "three\n"
    assert assembler.held == "[3 / 9]\n  Testing c\n"


def test_written_lines_that_move_to_the_next_chunk_are_not_written_again() -> None:
    assembler = LogAssembler()
    assert assembler.add(live("0000", "one\n[10 / 90]\n  Compiling a\n")) == "one\n[10 / 90]\n"
    assert assembler.add(final("0000", "one\n", "0001")) == ""
    assert assembler.add(live("0001", "[10 / 90]\n  Compiling a\nnext\n")) == "  Compiling a\n"
