"""A query compiled, once, into a test of rows.

    compiled = compile_query("branch:main outcome:failed", BUILD_FIELDS, me=("alice",))
    shown = [entry for entry in entries if compiled.matches(entry, haystack_of(entry))]

A table tests its rows folded instead (`compiled.by_key(folded_rows)`, see `folded.py`): what
each field reads, casefolded once per row rather than by every query.

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
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Generic

from buildwatch.core.durations import parse_duration_ms
from buildwatch.core.query.fields import (
    Fields,
    KeyedField,
    NumberField,
    Row,
    TextField,
    text_of,
)
from buildwatch.core.query.folded import (
    FoldedRow,
    FoldedRows,
    FoldedTexts,
    Layout,
    fold,
    positions,
)
from buildwatch.core.query.haystack import one_byte
from buildwatch.core.query.parse import FieldTerm, Query, QueryError, Word, parse

Test = Callable[[FoldedRow], bool]
Hit = Callable[[str], object]
"""Whether a text is what a term looks for: true or false as Python reads it (a regular
expression's `search` is one, with no call of ours around it)."""

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le,
}  # fmt: skip
_ME = "me"


class CompiledQuery(Generic[Row]):
    """A query ready to test rows: `matches(row, haystack)`, or a table's rows folded
    (`by_key`)."""

    def __init__(
        self,
        query: Query,
        tests: Sequence[Test],
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
        self._haystack_words = tuple((one_byte(needle), negated) for needle, negated in words)
        """The words as a table's haystack holds text (`haystack.one_byte`)."""
        self._fields = fields

    def matches(self, row: Row, haystack: str | None = None) -> bool:
        """Whether `row` passes every term. Bare words search `haystack` (casefolded, in the
        form a table keeps it: `haystack.one_byte`), or, without one, the row's text fields
        (`text_of`)."""
        if self._words:
            if haystack is None:
                text, words = text_of(row, self._fields), self._words
            else:
                text, words = haystack, self._haystack_words
            for needle, negated in words:
                if (needle in text) == negated:
                    return False
        if self._tests:
            folded = fold(row, self._fields)
            for test in self._tests:
                if not test(folded):
                    return False
        return True

    def narrows(self, previous: CompiledQuery[Row] | None) -> bool:
        """Whether every row this query passes is one that `previous` passes, as the words
        alone tell: both queries are bare words, none negated, and each word of `previous` lies
        within a word of this one. So it is when a word is typed on, or another one added: a
        table need only test the rows it shows."""
        if previous is None or self._tests or previous._tests or not previous._words:
            return False
        if any(negated for _, negated in (*self._words, *previous._words)):
            return False
        return all(any(old in new for new, _ in self._words) for old, _ in previous._words)

    def by_key(self, rows: FoldedRows[Row]) -> Callable[[str, str], bool]:
        """`matches` of the row folded under a key, with that key's haystack as a table keeps
        it (`haystack.one_byte`): a table's row test. A key `rows` lacks fails a field term;
        bare words read the haystack alone."""
        if rows.fields is not self._fields:
            raise ValueError("the rows are folded over other fields than the query's")
        get, tests, words = rows.rows.get, self._tests, self._haystack_words

        def test(key: str, haystack: str) -> bool:
            # Words first: they need no row, and a row failing one is not fetched.
            for needle, negated in words:
                if (needle in haystack) == negated:
                    return False
            if tests:
                row = get(key)
                if row is None:
                    return False
                for term_test in tests:
                    if not term_test(row):
                        return False
            return True

        return test

    def passing(self, rows: FoldedRows[Row]) -> set[str] | None:
        """The keys of the rows `rows` holds that pass, tested all at once in the order they
        were folded (the order they lie in memory), a call fewer per row than `by_key`. None
        for a query with bare words, which read a table's cells."""
        if self._words:
            return None
        if rows.fields is not self._fields:
            raise ValueError("the rows are folded over other fields than the query's")
        tests = self._tests
        if len(tests) == 1:
            (passes,) = tests
        else:

            def passes(row: FoldedRow) -> bool:
                for test in tests:  # noqa: SIM110 (a loop, not a generator: once per row)
                    if not test(row):
                        return False
                return True

        # Nothing is made per row but the set's entries: 100,000 new tuples would wake the
        # garbage collector over the whole heap, several times.
        return {key for key, row in rows.rows.items() if passes(row)}


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
    folded_at, own_at = positions(fields)
    tests: list[tuple[int, Test]] = []
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
        position = folded_at[term.field]
        if isinstance(field, NumberField):
            tests.append((_COST_NUMBER, _number_test(term, field, position, reference_ms)))
            relative = relative or (field.kind == "time" and term.value.startswith("-"))
        else:
            test = _text_test(term, field, position, own_at.get(term.field), me)
            tests.append((_text_cost(term, field), test))
    # Every term must hold, in any order: the cheap first, so the dear see only what they pass.
    ordered = [test for _, test in sorted(tests, key=operator.itemgetter(0))]
    return CompiledQuery(parsed, ordered, words, fields, needs_summary, relative)


_COST_NUMBER = 0
"""How dear a term's test is, row for row (`_text_cost`): a number's is a comparison."""


def _text_cost(term: FieldTerm, field: TextField[Row] | KeyedField[Row]) -> int:
    """How dear the test of a text field's term is, row for row, beside a number's: a text
    found in C, then a custom value found by its name, then a regular expression, dearest on a
    custom value, which reads the row's own values."""
    if term.operator == "~":
        return 4 if isinstance(field, KeyedField) else 3
    return 2 if isinstance(field, KeyedField) else 1


def _unknown_field(name: str, fields: Fields[Row]) -> str:
    near = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6)
    if near:
        return f"unknown field {name!r}: did you mean {near[0]!r}?"
    return f"unknown field {name!r}: fields are {', '.join(fields)}"


def _operator_position(term: FieldTerm) -> int:
    return term.value_span.start - len(term.operator)


def _text_test(
    term: FieldTerm,
    field: TextField[Row] | KeyedField[Row],
    position: int,
    own_position: int | None,
    me: Sequence[str],
) -> Test:
    """The test of a text field's term, on the field's folded texts (`position` in the folded
    row), or for `~` on the row's own texts (a text field's at `own_position` where folding
    changed them). The commonest, a text field containing one text or equal to some, have loops
    of their own, reading the folded row directly: a call fewer per row of a table."""
    if term.operator in _COMPARISONS:
        raise QueryError(
            f"{term.field} takes : (contains), = (equals) or ~ (regular expression), "
            f"not {term.operator}",
            _operator_position(term),
        )
    negated = term.negated
    if term.operator == "~":
        if isinstance(field, KeyedField):
            key = sys.intern(_custom_key(field, term))
            return _keyed_regex_test(field, position, key, _regex_hit(term), negated)
        assert own_position is not None  # `positions` gives every text field one
        return _any_text_test(position, own_position, _regex_hit(term), negated)
    needles = _needles(term, me)
    if not isinstance(field, KeyedField) and term.operator == "=":
        return _equals_test(position, frozenset(needles), negated)
    if not isinstance(field, KeyedField) and len(needles) == 1:
        return _contains_test(position, needles[0], negated)
    # A custom value, or several names (`user:me`): a test of each text, in C.
    hit = (frozenset(needles).__contains__ if term.operator == "=" else
           re.compile("|".join(map(re.escape, needles))).search)
    if isinstance(field, KeyedField):
        key = sys.intern(_custom_key(field, term))  # as the folded names are: found by identity
        return _keyed_test(position, key, hit, negated)
    return _any_text_test(position, position, hit, negated)


def _custom_key(field: KeyedField[Row], term: FieldTerm) -> str:
    if term.key is None:
        raise QueryError(
            f'{field.name} needs a custom value\'s name: {field.name}:"CI job"=nightly',
            term.field_span.start,
        )
    return term.key.casefold()


def _keyed_test(position: int, key: str, hit: Hit, negated: bool) -> Test:
    """The test that `hit` holds for some value named `key` of the keyed field at `position`
    (folded: its layout, then its values)."""
    values_at = position + 1

    def test(row: FoldedRow) -> bool:
        layout: Layout | None = row[position]
        if layout is None:
            return False
        # One lookup in the layout the rows share: a build usually has one value of the name.
        for at in layout.get(key, ()):
            if hit(row[values_at][at]):
                return not negated
        return negated

    return test


def _keyed_regex_test(
    field: KeyedField[Row], position: int, key: str, hit: Hit, negated: bool
) -> Test:
    """The test that `hit` holds for some value named `key` of `field` as the row holds it (a
    regular expression ignores case by itself, and casefolding changes letters): the folded
    layout at `position` says whether the row names `key` at all, and where."""
    read = field.pairs

    def test(row: FoldedRow) -> bool:
        layout: Layout | None = row[position]
        if layout is None:
            return False
        places = layout.get(key)
        if places is None:
            return negated  # not named: the row's own values need no reading
        pairs = read(row[0])
        if pairs is None:
            return False
        for at in places:
            if hit(pairs[at][1] or ""):
                return not negated
        return negated

    return test


def _any_text_test(position: int, own_position: int, hit: Hit, negated: bool) -> Test:
    """The test that `hit` holds for some text of the text field at `position` (negated: for
    none), read at `own_position` where that holds texts, else at `position`: a regular
    expression reads the field's own texts, kept at `own_position` where folding changed them;
    a test of folded texts gives `position` twice."""

    def test(row: FoldedRow) -> bool:
        # Own texts, where kept, are never empty: a tuple of none is folded as itself.
        values: FoldedTexts | None = row[own_position] or row[position]
        if values is None:
            return False
        if isinstance(values, str):
            return bool(hit(values)) != negated
        for value in values:
            if hit(value):
                return not negated
        return negated

    return test


def _contains_test(position: int, needle: str, negated: bool) -> Test:
    """The test that the text field at `position` contains `needle`."""

    def contains(row: FoldedRow) -> bool:
        values: FoldedTexts | None = row[position]
        if values is None:
            return False  # unknown: no term on it holds, negated or not
        if isinstance(values, str):
            return (needle in values) != negated
        for value in values:
            if needle in value:
                return not negated
        return negated

    return contains


def _equals_test(position: int, exact: frozenset[str], negated: bool) -> Test:
    """The test that the text field at `position` is one of `exact`."""

    def equals(row: FoldedRow) -> bool:
        values: FoldedTexts | None = row[position]
        if values is None:
            return False
        if isinstance(values, str):
            return (values in exact) != negated
        for value in values:
            if value in exact:
                return not negated
        return negated

    return equals


def _regex_hit(term: FieldTerm) -> Hit:
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
    return pattern.search


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


def _number_test(term: FieldTerm, field: NumberField[Row], position: int, now_ms: int) -> Test:
    compare = _COMPARISONS.get(term.operator)
    if compare is None:
        example = "duration>5m" if field.kind == "duration" else f"{field.name}>-2h"
        raise QueryError(
            f"{field.name} compares with > < >= or <= (e.g. {example}), not {term.operator}",
            _operator_position(term),
        )
    bound = _duration(term) if field.kind == "duration" else _time(term, now_ms)
    negated = term.negated

    def test(row: FoldedRow) -> bool:
        value: float | None = row[position]
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
