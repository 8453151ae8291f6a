"""Compiled queries over builds and invocations: what each operator means, what an unknown
summary does, `me`, relative times, and the errors a query that cannot apply raises."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.monitor.store import BuildEntry
from buildwatch.core.query import (
    BUILD_FIELDS,
    INVOCATION_FIELDS,
    BuildRecord,
    QueryError,
    compile_query,
)
from buildwatch.core.query.fields import Field, KeyedField, NumberField, Pairs
from buildwatch.core.query.folded import FoldedRows, positions
from buildwatch.core.query.parse import OPERATORS
from buildwatch.tui.widgets.table_model import Column, TableModel, TableRow

NOW_MS = 1_796_000_000_000
MINUTE_MS = 60_000


def build(build_id: str = "aaaabbbbcccc1", summary: bool = True, **fields: Any) -> BuildEntry:
    """A build published `age_min` minutes before NOW_MS, with a summary holding `fields`."""
    published = NOW_MS - fields.pop("age_min", 1) * MINUTE_MS
    duration_ms = fields.pop("duration_ms", 30_000)
    read = BuildSummary(
        build_id=build_id, tool_type="gradle", tool_version="8.10", published_ms=published,
        outcome=fields.pop("outcome", "success"), started_ms=0, finished_ms=duration_ms, **fields,
    )  # fmt: skip
    return BuildEntry(build_id, "gradle", "8.10", published, read if summary else None)


def holds(query: str, row: BuildEntry, **options: Any) -> bool:
    return compile_query(query, BUILD_FIELDS, now_ms=NOW_MS, **options).matches(row)


def test_colon_is_a_substring_ignoring_case() -> None:
    assert holds("project:LEDG", build(project="ledger-core"))
    assert not holds("project:ledger-x", build(project="ledger-core"))


def test_equals_is_the_whole_value_ignoring_case() -> None:
    assert holds("project=Ledger-Core", build(project="ledger-core"))
    assert not holds("project=ledger", build(project="ledger-core"))


def test_tilde_searches_a_regular_expression_ignoring_case() -> None:
    assert holds("branch~^REL/\\d+$", build(git_branch="rel/42"))
    assert not holds("branch~^rel$", build(git_branch="rel/42"))


def test_a_regular_expression_reads_the_texts_as_they_are_not_as_casefolded() -> None:
    # Casefolding makes ß ss, which `straße` does not match.
    assert holds("branch~straße", build(git_branch="Straße"))
    assert holds("tag~^straße$", build(tags=("x", "STRAßE")))
    assert not holds("branch~strasse", build(git_branch="Straße"))


def test_a_negated_term_holds_where_the_term_does_not() -> None:
    assert holds("-user:ci", build(user="alice"))
    assert not holds("!user:ci", build(user="ci"))


def test_every_term_must_hold() -> None:
    row = build(project="ledger-core", user="ci")
    assert holds("project:ledger user=ci", row)
    assert not holds("project:ledger user=alice", row)


def test_a_field_of_several_values_holds_when_any_does() -> None:
    row = build(tags=("CI", "main"), requested=("clean", "build"))
    assert holds("tag=main requested=build", row)
    assert not holds("-tag=ci", row)


def test_outcome_success_reads_as_succeeded_too() -> None:
    assert holds("outcome=succeeded outcome=success", build(outcome="success"))


def test_a_custom_value_is_found_by_its_name_ignoring_case() -> None:
    row = build(custom_values=(("CI job", "nightly-main"), ("Other", None)))
    assert holds('value:"ci job"=nightly-main', row)
    assert holds('value:"CI job":nightly', row)
    assert not holds('value:"CI job"=nightly', row)
    assert holds("-value:Missing:x", row)


def test_a_custom_value_named_twice_is_either_and_a_value_alike_a_name_is_no_name() -> None:
    twice = build(custom_values=(("Job", "a"), ("JOB", "b"), ("Other", "job")))
    assert holds("value:job=a", twice)
    assert holds("value:job=b", twice)
    assert not holds("value:job=job", twice)
    assert not holds("value:job:x", build(custom_values=(("Other", "job"),)))
    assert holds("value:job=x", build(custom_values=(("Other", "job"), ("job", "x"))))


def test_a_field_the_summary_lacks_reads_as_empty_so_its_negation_holds() -> None:
    row = build(git_branch=None)
    assert holds("-branch:main", row)
    assert holds('branch=""', row)


def test_before_its_summary_a_build_matches_no_term_on_the_summary_negated_or_not() -> None:
    row = build(summary=False)
    assert not holds("outcome:failed", row)
    assert not holds("-outcome:failed", row)
    assert not holds("duration<1h", row)


def test_before_its_summary_a_build_matches_on_its_listing() -> None:
    row = build("xyz0000000001", summary=False, age_min=5)
    assert holds("id:xyz tool=gradle published>-10m", row)


def test_durations_compare_in_any_unit() -> None:
    row = build(duration_ms=6 * MINUTE_MS)
    assert holds("duration>5m duration<=360s duration<1h", row)
    assert not holds("duration>6m", row)


def test_a_relative_time_counts_back_from_now() -> None:
    assert holds("published>-2h", build(age_min=90))
    assert not holds("published>-1h", build(age_min=90))
    assert holds("published<-1h", build(age_min=90))


def test_an_absolute_time_is_a_local_date_or_time_unless_it_gives_its_offset() -> None:
    published = datetime.fromtimestamp((NOW_MS - MINUTE_MS) / 1000)  # local time, as typed
    row = build(age_min=1)
    assert holds(f"published>{published.date().isoformat()}", row)
    assert not holds(f"published<{published.replace(second=0, microsecond=0).isoformat()}", row)
    assert holds("published<2099-01-01T00:00Z", row)


def test_me_means_any_of_the_configured_names() -> None:
    me = ("alice", "alice.smith")
    assert holds("user:me", build(user="Alice.Smith"), me=me)
    assert holds("user=me", build(user="alice"), me=me)
    assert not holds("user=me", build(user="bob"), me=me)


def test_a_bare_word_searches_the_haystack_given() -> None:
    compiled = compile_query("ledger -flaky", BUILD_FIELDS, now_ms=NOW_MS)
    assert compiled.matches(build(), "ok\nledger-core")
    assert not compiled.matches(build(), "ledger\nflaky")


def test_without_a_haystack_a_bare_word_searches_the_text_fields() -> None:
    assert holds("LEDGER", build(project="ledger-core"))
    assert not holds("ledger", build(project="billing"))


def test_a_bare_word_shows_the_rows_the_tables_filter_shows() -> None:
    table = TableModel((Column("a", "A"), Column("b", "B")))
    cells = [("✓ succeeded", "Ledger-core"), ("✗ FAILED", "billing"), ("x", "LEDGER\u00e9")]
    table.upsert((TableRow(str(key), row) for key, row in enumerate(cells)), now=0.0)
    for word in ("ledger", "!ledger", "✗", "ger-C"):
        table.set_filter(word)
        shown = {table.key_at(index) for index in range(table.shown)}
        compiled = compile_query(word, BUILD_FIELDS)
        matched = {key for key in map(str, range(3)) if compiled.matches(build(), table.record(key).haystack)}
        assert matched == shown, word


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("projct:x", "unknown field 'projct': did you mean 'project'?", 1),
        ("x zzz:1", "unknown field 'zzz': fields are outcome, id, project, tool, user, host, "
         "branch, commit, tag, requested, value, duration, published", 3),
        ("duration>5x", "bad duration '5x': expected e.g. 90s, 5m or 1h30m", 10),
        ("duration:5m", "duration compares with > < >= or <= (e.g. duration>5m), not :", 9),
        ("published>yesterday", "bad time 'yesterday': expected a time ago such as -2h, or a "
         "date such as 2026-12-01 or 2026-12-01T09:30", 11),
        ("project>a", "project takes : (contains), = (equals) or ~ (regular expression), not >", 8),
        ("branch~(main", "bad regular expression: missing ), unterminated subpattern", 8),
        ('branch~"a[b"', "bad regular expression: unterminated character set", 10),
        ("value=x", "value needs a custom value's name: value:\"CI job\"=nightly", 1),
        ("user:me", "`me` needs your user names: set `me` in the profile's [ui] table", 6),
    ],
)  # fmt: skip
def test_a_query_that_cannot_apply_says_why_and_where(query: str, message: str, column: int) -> None:
    with pytest.raises(QueryError) as raised:
        compile_query(query, BUILD_FIELDS)
    assert (raised.value.message, raised.value.column) == (message, column)


_QUERYISH = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["-", "", "!"]), st.sampled_from([*BUILD_FIELDS, "value:k"]),
                  st.sampled_from(OPERATORS), st.text(max_size=12)).map("".join),
        st.text(max_size=8),
    ),
    max_size=4,
).map(" ".join)  # fmt: skip


@given(_QUERYISH)
def test_any_query_compiles_and_matches_or_raises_a_query_error(text: str) -> None:
    try:
        compiled = compile_query(text, BUILD_FIELDS, me=("alice",), now_ms=NOW_MS)
    except QueryError as error:
        assert 0 <= error.position <= len(text)
    else:
        assert compiled.matches(build()) in (True, False)
        assert compiled.matches(build(summary=False)) in (True, False)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("published>0001-01-01", "bad time '0001-01-01'"),
        ("branch~a{99999999999}", "bad regular expression: the repetition number is too large"),
    ],
)
def test_a_value_at_the_limits_of_times_and_regular_expressions_is_a_query_error(
    query: str, message: str
) -> None:
    with pytest.raises(QueryError, match=re.escape(message)):
        compile_query(query, BUILD_FIELDS)


def test_needs_summary_says_whether_a_query_reads_the_summary() -> None:
    assert not compile_query("id:x published>-1h", BUILD_FIELDS).needs_summary
    assert compile_query("id:x branch:main", BUILD_FIELDS).needs_summary
    assert compile_query("word", BUILD_FIELDS).needs_summary


# Invocations, read from GetInvocation's JSON.


def invocation(**fields: Any) -> Invocation:
    data = {
        "id": {"invocationId": "3f1b9c2e-0000-4000-8000-000000000001"},
        "invocationStatus": "COMPLETE_INVOCATION_STATUS", "success": True,
        "bazelExitCode": "SUCCESS", "user": "alice", "host": "ci-runner-7", "command": "test",
        "pattern": "//payments/...", "role": "CI", "repoUrl": "https://github.com/acme/monorepo",
        "commitSha": "0123456789abcdef", "branchName": "main", "actionCount": "12",
        "createdAtUsec": str((NOW_MS - 30 * MINUTE_MS) * 1000), "durationUsec": "125000000",
    }  # fmt: skip
    return Invocation.from_json({**data, **fields})


def matches_invocation(query: str, row: Invocation) -> bool:
    return compile_query(query, INVOCATION_FIELDS, now_ms=NOW_MS, me=("alice",)).matches(row)


@pytest.mark.parametrize(
    "query",
    [
        "status=succeeded", "id:3f1b9c2e", "command=test", "pattern:payments", "user=me",
        "host~^ci-runner", "role=ci", "commit:01234", "branch=main", "repo:acme/monorepo",
        "duration>2m duration<3m", "created>-1h created<-29m",
    ],
)  # fmt: skip
def test_each_invocation_field_reads_the_invocation(query: str) -> None:
    row = invocation()
    assert matches_invocation(query, row)
    assert not matches_invocation(f"-{query.split()[0]}", row)


def test_a_failed_invocations_status_reads_failed() -> None:
    row = invocation(success=False, bazelExitCode="BUILD_FAILURE")
    assert matches_invocation("status:failed", row)


def test_an_invocation_without_a_duration_matches_no_duration_term() -> None:
    row = invocation(durationUsec="0")
    assert not matches_invocation("duration>0s", row)
    assert not matches_invocation("-duration>0s", row)


def test_invocation_fields_are_their_own() -> None:
    with pytest.raises(QueryError, match="unknown field 'outcome'"):
        compile_query("outcome:failed", INVOCATION_FIELDS)


@pytest.mark.parametrize(("query", "relative"), [
    ("published>-2h", True), ("-published<-1d outcome:failed", True),
    ("published>2026-12-01", False), ("duration>5m", False), ("ledger", False),
])  # fmt: skip
def test_a_query_says_whether_it_holds_a_time_ago(query: str, relative: bool) -> None:
    assert compile_query(query, BUILD_FIELDS, now_ms=NOW_MS).relative is relative


def folded(*rows: BuildEntry) -> FoldedRows[BuildRecord]:
    table = FoldedRows(BUILD_FIELDS, attrgetter("build_id"))
    for row in rows:
        table.note(row)
    return table


def test_by_key_tests_the_row_under_a_key_as_matches_does_and_a_missing_key_fails() -> None:
    rows = folded(build("a", project="ledger"), build("b", project="billing"))
    test = compile_query("project:l -flaky", BUILD_FIELDS, now_ms=NOW_MS).by_key(rows)
    assert test("a", "ledger")
    assert test("b", "billing")
    assert not test("a", "ledger\nflaky")
    assert not test("c", "ledger")
    assert not compile_query("project=ledger", BUILD_FIELDS, now_ms=NOW_MS).by_key(rows)("b", "")


def test_a_row_noted_before_its_summary_matches_a_summary_term_once_noted_with_it() -> None:
    listed = build("a", summary=False)
    rows = folded(listed)
    test = compile_query("project=ledger", BUILD_FIELDS, now_ms=NOW_MS).by_key(rows)
    assert not test("a", "")
    rows.note(replace(listed, summary=build("a", project="ledger").summary))
    assert test("a", "")


def test_a_changed_row_is_folded_again_and_the_same_row_is_not() -> None:
    first = build("a", project="ledger", tags=("CI",))
    rows = folded(first)
    folded_first = rows.rows["a"]
    rows.note(first)
    assert rows.rows["a"] is folded_first
    rows.note(build("a", project="billing", tags=("CI",)))
    assert compile_query("project=billing tag=ci", BUILD_FIELDS).by_key(rows)("a", "")
    assert not compile_query("project:ledger", BUILD_FIELDS).by_key(rows)("a", "")


def test_passing_holds_the_keys_by_key_passes_and_nothing_for_bare_words() -> None:
    rows = folded(build("a", project="ledger", user="alice"), build("b", project="ledger"),
                  build("c", project="billing", user="alice"), build("d", summary=False))
    for query in ("project:ledger", "project=ledger user=alice", "-user=alice", "id~[ab]"):
        compiled = compile_query(query, BUILD_FIELDS, now_ms=NOW_MS)
        assert compiled.passing(rows) == {key for key in "abcd" if compiled.by_key(rows)(key, "")}
    assert compile_query("project:ledger", BUILD_FIELDS).passing(rows) == {"a", "b"}
    assert compile_query("ledger project:l", BUILD_FIELDS).passing(rows) is None


def test_builds_naming_the_same_custom_values_in_the_same_order_share_one_layout() -> None:
    table = folded(build("a", custom_values=(("CI job", "x"), ("Git branch", "main"))),
                   build("b", custom_values=(("ci JOB", "y"), ("Git branch", "dev"))),
                   build("c", custom_values=(("Git branch", "main"), ("CI job", "x"))))
    at = positions(BUILD_FIELDS)[0]["value"]
    layouts = [table.rows[key][at] for key in "abc"]
    assert layouts[0] is layouts[1]
    assert layouts[2] is not layouts[0]
    assert compile_query('value:"CI job"=y', BUILD_FIELDS).passing(table) == {"b"}


def test_a_regular_expression_on_a_custom_value_reads_only_rows_the_cheaper_terms_pass() -> None:
    reads: list[str] = []

    def pairs(row: tuple[str, int]) -> Pairs:
        reads.append(row[0])
        return () if row[0] == "d" else (("Job", f"job-{row[0]}"),)

    Row = tuple[str, int]
    fields: dict[str, Field[Row]] = {
        "value": KeyedField("value", "a custom value", pairs),
        "duration": NumberField("duration", "how long", "duration", itemgetter(1)),
    }
    table: FoldedRows[Row] = FoldedRows(fields, itemgetter(0))
    for row in (("a", 1_000), ("b", 600_000), ("c", 900_000), ("d", 900_000)):
        table.note(row)
    reads.clear()  # folding read each row once
    compiled = compile_query("value:job~^JOB-[ab] duration>5m", fields)
    assert compiled.passing(table) == {"b"}
    assert reads == ["b", "c"]  # not a, too short, nor d, which names no job


@given(_QUERYISH)
def test_a_tables_folded_rows_pass_a_query_as_the_rows_match_it(text: str) -> None:
    rows = [build("a", project="Ledger-Core", tags=("CI", "ß"), custom_values=(("k", "V"),)),
            build("b", git_branch="Straße", user="alice"), build("c", summary=False)]
    table = folded(*rows)
    try:
        compiled = compile_query(text, BUILD_FIELDS, me=("alice",), now_ms=NOW_MS)
    except QueryError:
        return
    matching = {row.build_id for row in rows if compiled.matches(row, "")}
    assert {key for key in "abc" if compiled.by_key(table)(key, "")} == matching
    assert compiled.passing(table) in (None, matching)


def narrows(query: str, previous: str | None) -> bool:
    compiled = compile_query(query, BUILD_FIELDS, now_ms=NOW_MS)
    before = None if previous is None else compile_query(previous, BUILD_FIELDS, now_ms=NOW_MS)
    return compiled.narrows(before)


def test_a_word_typed_on_or_added_narrows_the_words_before_it() -> None:
    assert narrows("fai", "fa")
    assert narrows("fail", "fai")
    assert narrows("fail service", "fail")
    assert narrows("service fail", "ai")


def test_a_letter_taken_away_or_a_word_changed_does_not_narrow() -> None:
    assert not narrows("fa", "fai")
    assert not narrows("fil", "fai")
    assert not narrows("fail", None)


def test_a_negated_word_or_a_field_never_narrows() -> None:
    assert not narrows("-fail", "-fai")
    assert not narrows("fail -x", "fail")
    assert not narrows("fail outcome:failed", "fail")
    assert not narrows("outcome:failed", "outcome:fail")


@given(st.text(alphabet="abc", min_size=1, max_size=4), st.text(alphabet="abc ", max_size=3))
def test_a_narrowing_query_passes_only_rows_its_previous_query_passes(
    word: str, more: str
) -> None:
    rows = [build(project=project) for project in ("a", "ab", "abc", "cab", "bca", "c a b")]
    before = compile_query(word, BUILD_FIELDS, now_ms=NOW_MS)
    after = compile_query(word + more, BUILD_FIELDS, now_ms=NOW_MS) if (word + more).strip() \
        else before
    assert not after.narrows(before) or all(before.matches(row) for row in rows
                                            if after.matches(row))
