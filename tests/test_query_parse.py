"""The query grammar: terms and their positions, quoting, errors with their column, and the
properties hypothesis checks over generated queries and arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from buildwatch.core.query import (
    FieldTerm,
    Query,
    QueryError,
    Span,
    Word,
    completion_at,
    format_key,
    format_query,
    format_value,
    parse,
)
from buildwatch.core.query.parse import OPERATORS


def test_a_field_term_holds_its_field_operator_and_value() -> None:
    assert parse("branch:main").terms == (FieldTerm("branch", ":", "main"),)


def test_field_names_ignore_case() -> None:
    assert parse("Outcome=failed").terms == (FieldTerm("outcome", "=", "failed"),)


@pytest.mark.parametrize("operator", OPERATORS)
def test_every_operator_is_read(operator: str) -> None:
    assert parse(f"duration{operator}5m").terms == (FieldTerm("duration", operator, "5m"),)


def test_a_quoted_value_keeps_its_spaces_and_escaped_quotes() -> None:
    assert parse(r'project:"my \"big\" app"').terms == (FieldTerm("project", ":", 'my "big" app'),)


def test_a_backslash_before_anything_but_a_quote_or_backslash_is_kept() -> None:
    assert parse(r'command~"a\d+"').terms == (FieldTerm("command", "~", r"a\d+"),)


def test_a_custom_value_names_its_key_before_the_operator() -> None:
    term = FieldTerm("value", "=", "nightly", key="CI job")
    assert parse('value:"CI job"=nightly').terms == (term,)


@pytest.mark.parametrize("sign", ["-", "!"])
def test_a_minus_or_bang_negates_a_field_term_or_a_word(sign: str) -> None:
    query = parse(f"{sign}user:ci {sign}flaky")
    assert query.terms == (FieldTerm("user", ":", "ci", negated=True), Word("flaky", negated=True))


def test_several_terms_are_kept_in_order() -> None:
    query = parse("  outcome:failed   main \t tag=CI ")
    assert query.terms == (FieldTerm("outcome", ":", "failed"), Word("main"), FieldTerm("tag", "=", "CI"))


def test_a_word_that_does_not_start_with_a_name_and_operator_is_a_bare_word() -> None:
    assert parse("12:30 a\"b").terms == (Word("12:30"), Word('a"b'))


def test_a_quoted_word_may_look_like_a_field_term() -> None:
    assert parse('"http://example"').terms == (Word("http://example"),)


def test_the_empty_query_has_no_terms() -> None:
    assert parse(" ").terms == ()


def test_spans_locate_the_term_its_field_and_its_value() -> None:
    (term,) = parse('  -value:"CI job"="night ly"').terms
    assert isinstance(term, FieldTerm)
    assert (term.span, term.field_span, term.value_span) == (Span(2, 28), Span(3, 8), Span(18, 28))


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ('user:"alice', "unclosed quote", 6),
        ('"a"b', "expected a space after the closing quote", 4),
        ("branch: x", "expected a value after branch:", 8),
        ("x -", "'-' negates nothing: put a term after it", 3),
        ('value:"CI job"', 'value:"CI job" needs a comparison, e.g. value:"CI job"=nightly', 7),
    ],
)
def test_a_malformed_query_says_what_and_at_which_column(text: str, message: str, column: int) -> None:
    with pytest.raises(QueryError) as raised:
        parse(text)
    assert (raised.value.message, raised.value.column) == (message, column)
    assert str(raised.value) == f"query: {message} at column {column}"


def test_formatting_quotes_only_what_needs_it() -> None:
    query = Query((
        FieldTerm("value", "=", "a b", key="CI job", negated=True), Word("-x"), Word("a:b"),
        FieldTerm("branch", ":", "main"),
    ))  # fmt: skip
    assert format_query(query) == '-value:"CI job"="a b" "-x" "a:b" branch:main'


def test_a_completion_value_is_quoted_only_when_it_must_be() -> None:
    assert [format_value(value) for value in ("main", "a:b", "CI job", "", '"x')] == [
        "main", "a:b", '"CI job"', '""', r'"\"x"'
    ]


def test_a_custom_value_name_is_quoted_also_when_it_holds_an_operator() -> None:
    assert [format_key(key) for key in ("GIT_BRANCH", "a:b", "x>1", "CI job")] == [
        "GIT_BRANCH", '"a:b"', '"x>1"', '"CI job"'
    ]


# Completion: what the cursor is in the middle of.


def test_completing_at_the_start_offers_field_names() -> None:
    completion = completion_at("outcome:failed pro", 18)
    assert completion is not None
    assert (completion.kind, completion.prefix, completion.start) == ("field", "pro", 15)


def test_completing_after_an_operator_offers_that_fields_values() -> None:
    completion = completion_at('-branch="ma', 11)
    assert completion is not None
    assert (completion.kind, completion.field, completion.prefix, completion.start) == (
        "value", "branch", "ma", 8
    )


def test_completing_after_value_colon_offers_custom_value_names() -> None:
    completion = completion_at('value:"CI j', 11)
    assert completion is not None
    assert (completion.kind, completion.prefix, completion.start) == ("key", "CI j", 6)


def test_completing_a_custom_values_value_names_its_key() -> None:
    completion = completion_at('value:"CI job"=ni tag:x', 17)
    assert completion is not None
    assert (completion.kind, completion.field, completion.key, completion.prefix) == (
        "value", "value", "CI job", "ni"
    )


def test_completing_inside_a_quoted_bare_word_offers_nothing() -> None:
    assert completion_at('"two words', 10) is None


# Properties.

_NAMES = st.sampled_from(["outcome", "user", "branch", "duration", "value", "tag", "x_1"])
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@st.composite
def _terms(draw: st.DrawFn) -> FieldTerm | Word:
    negated = draw(st.booleans())
    if draw(st.booleans()):
        return Word(draw(_TEXT), negated)
    name = draw(_NAMES)
    key = draw(_TEXT) if name == "value" and draw(st.booleans()) else None
    # `value` with an operator other than `:` and no key is a term like any other.
    operator = draw(st.sampled_from(OPERATORS if key is not None or name != "value" else ("=", "~")))
    return FieldTerm(name, operator, draw(_TEXT), key, negated)


@given(st.lists(_terms(), max_size=5))
def test_a_formatted_query_parses_back_to_the_same_terms(terms: list[FieldTerm | Word]) -> None:
    query = Query(tuple(terms))
    assert parse(format_query(query)) == query


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_a_query_error_within_the_text(text: str) -> None:
    try:
        query = parse(text)
    except QueryError as error:
        assert 0 <= error.position <= len(text)
    else:
        assert all(0 <= term.span.start < term.span.end <= len(text) for term in query.terms)


@given(st.text(max_size=30), st.data())
def test_completion_never_fails_and_starts_within_the_typed_text(text: str, data: st.DataObject) -> None:
    cursor = data.draw(st.integers(0, len(text)))
    completion = completion_at(text, cursor)
    assert completion is None or 0 <= completion.start <= cursor
