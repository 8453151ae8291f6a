"""What `buildwatch bb` puts on stdout: tables, JSON lines, and server text on a terminal."""

from __future__ import annotations

import io
import json
import subprocess
import sys

from buildwatch.cli.bb_output import (
    Coloured,
    RawText,
    TerminalBytes,
    TerminalText,
    format_table,
    write_json_lines,
)


def test_table_columns_line_up_and_the_last_is_not_padded() -> None:
    lines = format_table(["A", "LONGER"], [["x", "1"], ["wide cell", "2"]])
    assert lines == ["A          LONGER", "x          1", "wide cell  2"]


def test_table_cells_from_the_server_lose_their_escape_sequences() -> None:
    lines = format_table(["LABEL"], [["//a:\x1b]52;c;ZXZpbA==\x07b\x1b[2J"]])
    assert lines[1] == "//a:b"


def test_a_server_string_that_looks_coloured_is_still_sanitised() -> None:
    lines = format_table(["STATUS", "X"], [["\x1b[31mFAILED\x1b[0m", "x"]])
    assert "\x1b" not in lines[1]


def test_coloured_cells_keep_their_colour_and_align_by_visible_width() -> None:
    lines = format_table(["STATUS", "LABEL"], [[Coloured("FAILED", "31"), "//a"], ["BUILT", "//b"]])
    assert lines[1] == "\x1b[31mFAILED\x1b[0m  //a"
    assert lines[2] == "BUILT   //b"


def test_json_lines_escape_every_control_character() -> None:
    out = io.StringIO()
    write_json_lines([{"label": "\x1b]52;c;x\x07\x9b6n"}], out)
    line = out.getvalue()
    assert line.count("\n") == 1
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in line.rstrip("\n"))
    assert json.loads(line) == {"label": "\x1b]52;c;x\x07\x9b6n"}


def test_terminal_text_keeps_colours_and_drops_every_other_escape() -> None:
    out = io.StringIO()
    text = TerminalText(out)
    text.write("\x1b[32mINFO:\x1b[0m ok\x1b]0;title\x07\x1b[6n\n")
    text.close()
    assert out.getvalue() == "\x1b[32mINFO:\x1b[0m ok\n\x1b[0m"


def test_terminal_text_catches_an_escape_split_between_two_pieces() -> None:
    out = io.StringIO()
    text = TerminalText(out)
    text.write("before \x1b]52;c;ZXZp")
    text.write("bA==\x07after\n")
    text.close()
    assert "\x1b]" not in out.getvalue()
    assert "ZXZpbA==" not in out.getvalue()
    assert "before after" in out.getvalue()


def test_terminal_text_writes_a_huge_line_in_pieces() -> None:
    out = io.StringIO()
    text = TerminalText(out)
    text.write("x" * 200_000)
    assert len(out.getvalue()) == 200_000


def test_the_terminal_status_line_is_erased_by_the_next_write_and_by_close() -> None:
    out = io.StringIO()
    text = TerminalText(out, width=80)
    text.show_status("[1 / 9] 2 actions running")
    text.write("two\n")
    text.show_status("[2 / 9] 5 actions running")
    text.close()
    assert out.getvalue() == ("[1 / 9] 2 actions running\r\x1b[Ktwo\n"
                              "[2 / 9] 5 actions running\r\x1b[K\x1b[0m")


def test_the_terminal_status_line_is_cut_to_the_width_so_it_never_wraps() -> None:
    out = io.StringIO()
    TerminalText(out, width=20).show_status("[1 / 9] Compiling //a/very/long:target")
    assert out.getvalue() == "[1 / 9] Compiling …"


def test_the_terminal_status_line_loses_every_escape_sequence() -> None:
    out = io.StringIO()
    TerminalText(out, width=80).show_status("\x1b[32m[1 / 9]\x1b[0m run\x1b]0;title\x07ning")
    assert out.getvalue() == "[1 / 9] running"


def test_terminal_bytes_decode_utf8_split_across_pieces() -> None:
    out = io.StringIO()
    shown = TerminalBytes(out)
    encoded = "héllo\n".encode()
    shown.write(encoded[:2])
    shown.write(encoded[2:])
    shown.close()
    assert out.getvalue().startswith("héllo\n")


def test_raw_text_writes_exactly_the_servers_bytes() -> None:
    out = io.BytesIO()
    RawText(out).write("\x1b[32mINFO\x1b[0m é\r\n")
    assert out.getvalue() == "\x1b[32mINFO\x1b[0m é\r\n".encode()


def test_the_bb_commands_and_the_buildbuddy_client_never_import_textual() -> None:
    modules = ", ".join([
        "buildwatch.cli.buildbuddy", "buildwatch.cli.bb_files", "buildwatch.cli.bb_tables",
        "buildwatch.core.buildbuddy.client", "buildwatch.core.buildbuddy.logs",
    ])
    code = f"import sys, {modules}; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
