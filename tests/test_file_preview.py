"""A downloaded file is shown as highlighted text or a hex dump, streamed and bounded."""

from __future__ import annotations

from buildwatch.core.file_preview import Preview, hex_dump, lexer_for, looks_binary


def shown(name: str, *pieces: bytes, limit: int = 1 << 20) -> str:
    preview = Preview(name, limit=limit)
    return "".join(preview.feed(piece) for piece in pieces) + preview.finish()


def test_a_nul_byte_makes_a_file_binary() -> None:
    assert looks_binary(b"ELF\x00\x01")


def test_utf8_text_with_colour_sequences_is_text() -> None:
    assert not looks_binary("héllo \x1b[31mred\x1b[0m\n".encode())


def test_a_stray_invalid_byte_does_not_make_a_log_binary() -> None:
    assert not looks_binary(b"x" * 500 + b"\xff" + b"y" * 500)


def test_mostly_undecodable_bytes_make_a_file_binary() -> None:
    assert looks_binary(bytes(range(128, 256)) * 4)


def test_a_character_cut_at_the_end_of_the_sample_does_not_make_text_binary() -> None:
    assert not looks_binary("abc é".encode()[:-1])


def test_the_hex_dump_shows_offset_hex_pairs_and_printable_bytes() -> None:
    assert hex_dump(b"AB\x00\xff", 32) == "00000020  " + "4142 00ff".ljust(39) + "  AB..\n"


def test_a_binary_file_is_dumped_in_rows_of_sixteen_across_pieces() -> None:
    text = shown("blob.bin", bytes(range(10)), bytes(range(10, 20)))
    assert text.splitlines()[1].startswith("00000010  1011 1213")
    assert len(text.splitlines()) == 2


def test_a_character_split_between_pieces_is_decoded_whole() -> None:
    data = "naïve\n".encode()
    assert shown("notes.txt", data[:3], data[3:]) == "naïve\n"


def test_xml_is_highlighted_and_logs_are_not() -> None:
    assert "\x1b[" in shown("test.xml", b"<testsuite name='a'/>\n")
    assert shown("test.log", b"<testsuite name='a'/>\n") == "<testsuite name='a'/>\n"


def test_sources_get_a_lexer_by_their_name() -> None:
    assert lexer_for("Foo.java") is not None and lexer_for("BUILD") is not None
    assert lexer_for("output.log") is None


def test_text_escape_sequences_are_neutralised_before_highlighting() -> None:
    text = shown("Foo.java", b"class A {} // \x1b]52;c;ZXZpbA==\x07\n")
    assert "\x1b]" not in text and "ZXZpbA" not in text


def test_a_preview_that_received_nothing_does_not_say_what_kind_the_file_is() -> None:
    preview = Preview("test.log")
    assert preview.finish() == "" and preview.binary is None


def test_the_preview_stops_at_its_limit() -> None:
    preview = Preview("big.txt", limit=10)
    text = preview.feed(b"0123456789abcdef")
    assert preview.full and text + preview.finish() == "0123456789"
