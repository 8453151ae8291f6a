"""A query compiled, once, into a test of rows.

    compiled = compile_query("branch:main outcome:failed", BUILD_FIELDS, me=("alice",))
    shown = [entry for entry in entries if compiled.matches(entry, haystack_of(entry))]

Every comparison ignores case. `:` means contains, `=` equals, `~` a regular expression
searched anywhere (`~^main$` for all of it). Durations (`duration>5m`) and times
(`published>-2h`: in the last two hours; `published<2026-12-01`: before that day began, local
time) compare with `>`, `<`, `>=`, `<=`. `user:me` and `user=me` mean any of the profile's `me`
names. A bare word is searched in `haystack`, the row's shown cells as the table keeps them
(`TableModel` casefolds and joins them), exactly as the filter did before fields existed.

Relative times are resolved against `now_ms` when compiling: compile again to slide them.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Generic

from buildwatch.core.durations import parse_duration_ms
from buildwatch.core.query.fields import (
    Fields,
    KeyedField,
    NumberField,
    Row,
    TextField,
    Texts,
    text_of,
)
from buildwatch.core.query.parse import FieldTerm, Query, QueryError, Word, parse

Test = Callable[[Row], bool]

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le,
}  # fmt: skip
_ME = "me"


class CompiledQuery(Generic[Row]):
    """A query ready to test rows: `matches(row, haystack)`."""

    def __init__(
        self,
        query: Query,
        tests: Sequence[Test[Row]],
        words: Sequence[tuple[str, bool]],
        fields: Fields[Row],
        needs_summary: bool,
        relative: bool = False,
    ) -> None:
        self.query = query
        self.needs_summary = needs_summary
        """Whether some term reads a build's summary (a bare word reads every field)."""
        self.relative = relative
        """Whether some term is a time ago (`published>-2h`): compile again to move it on."""
        self._tests = tuple(tests)
        self._words = tuple(words)
        self._fields = fields

    def matches(self, row: Row, haystack: str | None = None) -> bool:
        """Whether `row` passes every term. Bare words search `haystack` (casefolded), or,
        without one, the row's text fields (`text_of`)."""
        for test in self._tests:
            if not test(row):
                return False
        if self._words:
            text = text_of(row, self._fields) if haystack is None else haystack
            for needle, negated in self._words:
                if (needle in text) == negated:
                    return False
        return True

    def by_key(self, rows: Mapping[str, Row]) -> Callable[[str, str], bool]:
        """`matches` of the row `rows` holds under a key, with that key's haystack (False for
        a key it lacks): a table's row test, a call fewer per row than `matches`."""
        get, tests, words = rows.get, self._tests, self._words

        def test(key: str, haystack: str) -> bool:
            row = get(key)
            if row is None:
                return False
            for term_test in tests:
                if not term_test(row):
                    return False
            for needle, negated in words:  # noqa: SIM110 (a loop, not a generator: once per row)
                if (needle in haystack) == negated:
                    return False
            return True

        return test


def compile_query(
    query: Query | str,
    fields: Fields[Row],
    *,
    me: Sequence[str] = (),
    now_ms: int | None = None,
) -> CompiledQuery[Row]:
    """Compile `query` (its text, or a parsed one) over a pane's `fields` (`BUILD_FIELDS`,
    `INVOCATION_FIELDS`). `me` are the names `user:me` stands for; `now_ms` (default: now) is
    what relative times count back from. `QueryError`, with the fault's position, for an
    unknown field, an operator the field does not take, or a value that cannot be read."""
    parsed = parse(query) if isinstance(query, str) else query
    reference_ms = int(datetime.now().timestamp() * 1000) if now_ms is None else now_ms
    tests: list[Test[Row]] = []
    words: list[tuple[str, bool]] = []
    needs_summary = relative = False
    for term in parsed.terms:
        if isinstance(term, Word):
            words.append((term.text.casefold(), term.negated))
            needs_summary = True
            continue
        field = fields.get(term.field)
        if field is None:
            raise QueryError(_unknown_field(term.field, fields), term.field_span.start)
        needs_summary = needs_summary or field.needs_summary
        if isinstance(field, NumberField):
            tests.append(_number_test(term, field, reference_ms))
            relative = relative or (field.kind == "time" and term.value.startswith("-"))
        else:
            tests.append(_text_test(term, field, me))
    return CompiledQuery(parsed, tests, words, fields, needs_summary, relative)


def _unknown_field(name: str, fields: Fields[Row]) -> str:
    near = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6)
    if near:
        return f"unknown field {name!r}: did you mean {near[0]!r}?"
    return f"unknown field {name!r}: fields are {', '.join(fields)}"


def _operator_position(term: FieldTerm) -> int:
    return term.value_span.start - len(term.operator)


def _text_test(term: FieldTerm, field: TextField[Row] | KeyedField[Row], me: Sequence[str]) -> Test[Row]:
    if term.operator in _COMPARISONS:
        raise QueryError(
            f"{term.field} takes : (contains), = (equals) or ~ (regular expression), "
            f"not {term.operator}",
            _operator_position(term),
        )
    read: Callable[[Row], Texts | None]
    if isinstance(field, KeyedField):
        if term.key is None:
            raise QueryError(
                f'{field.name} needs a custom value\'s name: {field.name}:"CI job"=nightly',
                term.field_span.start,
            )
        key, read_keyed = term.key.casefold(), field.read

        def read_key(row: Row) -> Texts | None:
            return read_keyed(row, key)

        read = read_key
    else:
        read = field.read

    return _any_value_test(read, term, me)


def _any_value_test(
    read: Callable[[Row], Texts | None], term: FieldTerm, me: Sequence[str]
) -> Test[Row]:
    """The test that some text `read` holds satisfies the term. The commonest, contains one
    text, has a loop of its own, a call fewer per row of a table."""
    negated = term.negated
    needles = () if term.operator == "~" else _needles(term, me)
    if term.operator == ":" and len(needles) == 1:
        needle = needles[0]

        def contains(row: Row) -> bool:
            values = read(row)
            if values is None:
                return False  # unknown: no term on it holds, negated or not
            for value in values:
                if needle in value.casefold():
                    return not negated
            return negated

        return contains
    if term.operator == "=":
        exact = frozenset(needles)

        def equals(row: Row) -> bool:
            values = read(row)
            if values is None:
                return False
            for value in values:
                if value.casefold() in exact:
                    return not negated
            return negated

        return equals
    hit = _regex_hit(term) if term.operator == "~" else _contains_any(needles)

    def test(row: Row) -> bool:
        values = read(row)
        if values is None:
            return False
        for value in values:
            if hit(value):
                return not negated
        return negated

    return test


def _contains_any(needles: tuple[str, ...]) -> Callable[[str], bool]:
    return lambda value: any(needle in value.casefold() for needle in needles)


def _regex_hit(term: FieldTerm) -> Callable[[str], bool]:
    try:
        pattern = re.compile(term.value, re.IGNORECASE)
    except re.error as error:
        quoted = term.value_span.end - term.value_span.start != len(term.value)
        offset = (error.pos or 0) + (1 if quoted else 0)
        raise QueryError(
            f"bad regular expression: {error.msg}", term.value_span.start + offset
        ) from None
    except OverflowError as error:  # a repetition count too large: `a{99999999999}`
        raise QueryError(f"bad regular expression: {error}", term.value_span.start) from None
    search = pattern.search
    return lambda value: search(value) is not None


def _needles(term: FieldTerm, me: Sequence[str]) -> tuple[str, ...]:
    """The texts the term looks for, casefolded: `me` stands for the profile's names."""
    needles: tuple[str, ...] = (term.value.casefold(),)
    if term.field == "user" and needles == (_ME,):
        needles = tuple(name.casefold() for name in me)
        if not needles:
            raise QueryError(
                "`me` needs your user names: set `me` in the profile's [ui] table",
                term.value_span.start,
            )
    return needles


def _number_test(term: FieldTerm, field: NumberField[Row], now_ms: int) -> Test[Row]:
    compare = _COMPARISONS.get(term.operator)
    if compare is None:
        example = "duration>5m" if field.kind == "duration" else f"{field.name}>-2h"
        raise QueryError(
            f"{field.name} compares with > < >= or <= (e.g. {example}), not {term.operator}",
            _operator_position(term),
        )
    bound = _duration(term) if field.kind == "duration" else _time(term, now_ms)
    read, negated = field.read, term.negated

    def test(row: Row) -> bool:
        value = read(row)
        if value is None:
            return False  # unknown: no term on it holds, negated or not
        return compare(value, bound) != negated

    return test


def _duration(term: FieldTerm) -> float:
    milliseconds = parse_duration_ms(term.value)
    if milliseconds is None:
        raise QueryError(
            f"bad duration {term.value!r}: expected e.g. 90s, 5m or 1h30m", term.value_span.start
        )
    return milliseconds


def _time(term: FieldTerm, now_ms: int) -> float:
    """`-2h` (that long before `now_ms`) or an ISO date or date and time (local time unless
    it says its offset) as epoch milliseconds."""
    value = term.value
    if value.startswith("-"):
        ago = parse_duration_ms(value[1:])
        if ago is not None:
            return now_ms - ago
    else:
        try:
            # A naive time is local; one at the ends of the calendar has no local time.
            return datetime.fromisoformat(value).timestamp() * 1000
        except (ValueError, OverflowError, OSError):
            pass
    raise QueryError(
        f"bad time {value!r}: expected a time ago such as -2h, or a date such as 2026-12-01 "
        "or 2026-12-01T09:30",
        term.value_span.start,
    )
