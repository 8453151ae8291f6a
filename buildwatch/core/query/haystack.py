"""The form of a table row's haystack, the text bare words search, and of the words.

A haystack is a row's cells casefolded and joined by line breaks. Kept as it is, one cell such
as `✓ succeeded` makes a Python string of the whole row two bytes a character; 100,000 rows
held 18 MB more for it. Kept as its UTF-8 bytes, it is searched three times slower than a
string. So a haystack is its UTF-8 bytes read as Latin-1, one character a byte: a string of
one byte a character, searched as fast as any. A word, in the same form, is in it exactly
where the word is in the text (UTF-8 is made so that no character's bytes start inside
another's).
"""

from __future__ import annotations


def one_byte(text: str) -> str:
    """`text` as a haystack or a word to search in one: its UTF-8 bytes, each one character
    (`text` itself when it is ASCII)."""
    if text.isascii():
        return text
    return text.encode().decode("latin-1")
