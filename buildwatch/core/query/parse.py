"""The query language's grammar: text to a `Query` of terms, and a `Query` back to text.

    query    := term (spaces term)*            every term must hold: they are ANDed
    term     := ["-" | "!"] (field | word)     a leading - or ! negates the term
    field    := NAME [":" KEY] OPERATOR VALUE  the KEY part only for `value` (a custom value)
    OPERATOR := ":" | "=" | "~" | ">=" | "<=" | ">" | "<"
    word     := TEXT                           any column holds it

A NAME is a letter then letters, digits or `_`, in any case. A VALUE, KEY or word is either
unquoted (it runs to the next space; a KEY also stops at an operator) or in double quotes, where
`\\"` is a quote and `\\\\` a backslash (any other backslash is itself, so a regular expression
keeps its `\\d`). Text that would read as something else (`"-x"`, `"a:b"`, `"two words"`) is a
word when quoted. The parser knows no field: whether a name exists is the compiler's to say
(`buildwatch.core.query.match`), as the panes have different fields.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Literal

from buildwatch.core.errors import ConfigError

Operator = Literal[":", "=", "~", ">=", "<=", ">", "<"]
OPERATORS: tuple[Operator, ...] = (":", "=", "~", ">=", "<=", ">", "<")
"""Every operator; the two-character ones before the one-character ones they start with."""

KEYED_FIELD = "value"
"""The one field whose name takes a key: `value:"CI job"=nightly`."""

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?=>=|<=|[:=~<>])")
_OPERATOR = re.compile(r">=|<=|[:=~<>]")
_UNQUOTED = re.compile(r"\S*")
_UNQUOTED_KEY = re.compile(r"[^\s:=~<>]*")
_SPACES = re.compile(r"\s*")
_SPACE = re.compile(r"\s")
_NEEDS_QUOTES_AS_WORD = re.compile(r"[-!\"]|[A-Za-z][A-Za-z0-9_]*(?:[:=~<>])")


class QueryError(ConfigError):
    """A query that cannot be read or compiled: `message` says why, `position` where (an offset
    into the text, from 0; `column` counts from 1, as the user reads it)."""

    def __init__(self, message: str, position: int) -> None:
        self.message = message
        self.position = position
        super().__init__(f"query: {message} at column {self.column}")

    @property
    def column(self) -> int:
        """The fault's column, from 1."""
        return self.position + 1


@dataclass(frozen=True)
class Span:
    """Where a part of a term is in the query's text: `start` to `end` (exclusive)."""

    start: int
    end: int


_NOWHERE = Span(0, 0)


@dataclass(frozen=True)
class Word:
    """A bare word: some column holds `text` (ignoring case)."""

    text: str
    negated: bool = False
    span: Span = dataclasses.field(default=_NOWHERE, compare=False)


@dataclass(frozen=True)
class FieldTerm:
    """`field OPERATOR value`: one field of the row compared with `value`.

    `field` is lower-cased; `key` is the custom value's name for `value:KEY`, else None.
    Spans: `span` the whole term, `field_span` its name, `value_span` its value (quotes
    included).
    """

    field: str
    operator: Operator
    value: str
    key: str | None = None
    negated: bool = False
    span: Span = dataclasses.field(default=_NOWHERE, compare=False)
    field_span: Span = dataclasses.field(default=_NOWHERE, compare=False)
    value_span: Span = dataclasses.field(default=_NOWHERE, compare=False)


Term = Word | FieldTerm


@dataclass(frozen=True)
class Query:
    """The terms of a query, in the order written; an empty query matches everything."""

    terms: tuple[Term, ...]


def parse(text: str) -> Query:
    """Read `text` as a query; `QueryError` (with the fault's position) if it cannot be."""
    return _Parser(text).query()


def format_query(query: Query) -> str:
    """The text of `query`, quoting only what needs it: `parse(format_query(q)) == q`."""
    return " ".join(format_term(term) for term in query.terms)


def format_term(term: Term) -> str:
    """The text of one term (negation written `-`)."""
    sign = "-" if term.negated else ""
    if isinstance(term, Word):
        text = term.text
        needs = not text or _SPACE.search(text) or _NEEDS_QUOTES_AS_WORD.match(text)
        return sign + (quote(text) if needs else text)
    key = "" if term.key is None else ":" + format_key(term.key)
    return f"{sign}{term.field}{key}{term.operator}{format_value(term.value)}"


def format_value(value: str) -> str:
    """A field's value as a query writes it: quoted if it is empty, holds a space or starts
    with a quote (what completion inserts, too)."""
    return quote(value) if not value or value.startswith('"') or _SPACE.search(value) else value


def format_key(key: str) -> str:
    """A custom value's name as `value:KEY` writes it: quoted unless it is all unquoted text."""
    plain = key and not key.startswith('"') and _UNQUOTED_KEY.fullmatch(key) is not None
    return key if plain else quote(key)


def quote(text: str) -> str:
    """`text` in double quotes, its quotes and backslashes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Parser:
    """One pass over the text, left to right; `at` is the position read next."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def query(self) -> Query:
        terms: list[Term] = []
        self._skip_spaces()
        while self.at < len(self.text):
            terms.append(self._term())
            if self.at < len(self.text) and not _SPACE.match(self.text, self.at):
                raise QueryError("expected a space after the closing quote", self.at)
            self._skip_spaces()
        return Query(tuple(terms))

    def _skip_spaces(self) -> None:
        match = _SPACES.match(self.text, self.at)
        assert match is not None  # `\s*` matches everywhere
        self.at = match.end()

    def _term(self) -> Term:
        start = self.at
        negated = self.text[start] in "-!"
        if negated:
            self.at += 1
            if self.at == len(self.text) or _SPACE.match(self.text, self.at):
                raise QueryError(f"{self.text[start]!r} negates nothing: put a term after it", start)
        name = _NAME.match(self.text, self.at)
        if name is None:
            text = self._text(_UNQUOTED)
            return Word(text, negated, Span(start, self.at))
        field_name = name.group().lower()
        field_span = Span(name.start(), name.end())
        self.at = name.end()
        key = None
        operator = self._operator()
        if field_name == KEYED_FIELD and operator == ":":
            key_start = self.at
            key = self._text(_UNQUOTED_KEY)
            if self.at == len(self.text) or _SPACE.match(self.text, self.at):
                raise QueryError(
                    f'value:{quote(key)} needs a comparison, e.g. value:"CI job"=nightly',
                    key_start,
                )
            operator = self._operator()
        value_start = self.at
        if self.at == len(self.text) or _SPACE.match(self.text, self.at):
            raise QueryError(f"expected a value after {field_name}{operator}", value_start)
        value = self._text(_UNQUOTED)
        return FieldTerm(
            field_name, operator, value, key, negated,
            Span(start, self.at), field_span, Span(value_start, self.at),
        )  # fmt: skip

    def _operator(self) -> Operator:
        match = _OPERATOR.match(self.text, self.at)
        if match is None:
            raise QueryError("expected an operator: one of : = ~ > < >= <=", self.at)
        self.at = match.end()
        operator = match.group()
        return next(known for known in OPERATORS if known == operator)

    def _text(self, unquoted: re.Pattern[str]) -> str:
        """A quoted text, or an unquoted one as far as `unquoted` reaches."""
        if self.at < len(self.text) and self.text[self.at] == '"':
            return self._quoted()
        match = unquoted.match(self.text, self.at)
        assert match is not None  # both patterns match the empty text
        self.at = match.end()
        return match.group()

    def _quoted(self) -> str:
        opening = self.at
        parts: list[str] = []
        at = opening + 1
        text = self.text
        while at < len(text):
            char = text[at]
            if char == '"':
                self.at = at + 1
                return "".join(parts)
            if char == "\\" and at + 1 < len(text) and text[at + 1] in '"\\':
                parts.append(text[at + 1])
                at += 2
                continue
            parts.append(char)
            at += 1
        raise QueryError("unclosed quote", opening)
