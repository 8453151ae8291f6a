"""Failure groups: what a group records, when it is new, flaky or recurring, and how adding a run
again, in any order, keeps every group as if the index had been built from scratch."""

from __future__ import annotations

import random

from buildwatch.core.triage.groups import FailureGroup, SameCommitFailure, TriageIndex
from buildwatch.core.triage.model import Failure, Run

T0 = 1_800_000_000_000
MINUTE = 60_000
CART = Failure("test", "com.acme.CartTest.total", "expected: <#> but was: <#>")
LEDGER = Failure("target", "//payments:ledger_test", "ledger_test FAILED in # out of #")
CHECK = Failure("task", ":app:check")


def build(
    minute: int,
    succeeded: bool | None = False,
    *,
    project: str = "app",
    commit: str | None = None,
    branch: str | None = "main",
    user: str | None = "ana",
    work: str | None = "build",
) -> Run:
    """A Develocity build published `minute` minutes after T0, named after that minute."""
    return Run(
        "develocity", f"b{minute:03d}", T0 + minute * MINUTE, succeeded, project, branch,
        commit or f"c{minute:03d}", user, work,
    )


def invocation(minute: int, succeeded: bool | None = False, **fields: str) -> Run:
    """A BuildBuddy invocation `minute` minutes after T0."""
    return Run(
        "buildbuddy", f"i{minute:03d}", T0 + minute * MINUTE, succeeded,
        fields.get("project", "app"), fields.get("branch", "main"),
        fields.get("commit", f"c{minute:03d}"), fields.get("user", "ana"),
        fields.get("work", "test //..."),
    )


def only_group(index: TriageIndex) -> FailureGroup:
    (group,) = index.groups()
    return group


def cart(index: TriageIndex) -> FailureGroup:
    group = index.group(CART.kind, CART.name)
    assert group is not None
    return group


# --- What a group records ---------------------------------------------------------------


def test_a_failure_makes_a_group_named_by_its_kind_and_name() -> None:
    index = TriageIndex()
    index.add(build(1), [CART])

    group = only_group(index)
    assert (group.kind, group.name, group.headline) == (CART.kind, CART.name, CART.headline)


def test_count_is_the_number_of_runs_it_failed_in() -> None:
    index = TriageIndex()
    for minute in range(3):
        index.add(build(minute), [CART])
    index.add(invocation(3), [CART])
    index.add(build(4), [CHECK])

    assert cart(index).count == 4


def test_builds_and_invocations_are_listed_apart_newest_first_whatever_the_order_added() -> None:
    index = TriageIndex()
    for run in (build(2), invocation(5), build(9), build(1), invocation(3)):
        index.add(run, [CART])

    group = cart(index)
    assert group.builds == ("b009", "b002", "b001")
    assert group.invocations == ("i005", "i003")


def test_first_and_last_seen_are_the_oldest_and_newest_failures() -> None:
    index = TriageIndex()
    for minute in (7, 2, 5):
        index.add(build(minute), [CART])
    index.add(build(9, succeeded=True), [])

    group = cart(index)
    assert (group.first_seen_ms, group.last_seen_ms) == (T0 + 2 * MINUTE, T0 + 7 * MINUTE)


def test_branches_users_and_projects_are_those_of_the_failing_runs_sorted_once_each() -> None:
    index = TriageIndex()
    index.add(build(1, branch="main", user="ana", project="web"), [CART])
    index.add(build(2, branch="feature/x", user="bo", project="app"), [CART])
    index.add(build(3, branch="main", user=None, project="app"), [CART])
    index.add(build(4, branch="release", user="cy", project="api"), [CHECK])

    group = cart(index)
    assert group.branches == ("feature/x", "main")
    assert group.users == ("ana", "bo")
    assert group.projects == ("app", "web")


def test_the_headline_is_the_newest_that_says_something() -> None:
    index = TriageIndex()
    index.add(build(1), [Failure("test", CART.name, "expected: <#> but was: <#>")])
    index.add(build(2), [Failure("test", CART.name, "timed out after #s")])
    index.add(build(3), [Failure("test", CART.name, "")])

    assert cart(index).headline == "timed out after #s"


def test_a_failure_named_twice_in_one_run_counts_once_and_passed_on_retry_if_either_did() -> None:
    index = TriageIndex()
    index.add(build(1), [CART, Failure("test", CART.name, "", passed_on_retry=True)])

    group = cart(index)
    assert (group.count, group.status) == (1, "flaky")


def test_the_same_name_of_another_kind_is_another_group() -> None:
    index = TriageIndex()
    index.add(build(1), [Failure("task", ":app:test"), Failure("goal", ":app:test")])

    assert sorted(group.kind for group in index.groups()) == ["goal", "task"]


def test_a_signature_that_never_failed_has_no_group() -> None:
    index = TriageIndex()
    index.add(build(1), [CART])

    assert index.group("test", "com.acme.OtherTest.x") is None
    assert index.group("task", CART.name) is None


# --- Status -----------------------------------------------------------------------------


def test_failing_and_succeeding_on_the_same_commit_is_flaky() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True), [])
    index.add(build(2, commit="abc"), [CART])
    index.add(build(3, succeeded=True, commit="abc"), [])

    assert cart(index).status == "flaky"


def test_a_success_on_the_same_commit_added_before_the_failure_makes_it_flaky_too() -> None:
    index = TriageIndex()
    index.add(build(3, succeeded=True, commit="abc"), [])
    index.add(build(2, commit="abc"), [CART])

    assert cart(index).status == "flaky"


def test_a_success_of_another_project_on_the_same_commit_does_not_make_it_flaky() -> None:
    index = TriageIndex()
    index.add(build(2, commit="abc", project="app"), [CART])
    index.add(build(3, succeeded=True, commit="abc", project="web"), [])

    assert cart(index).status != "flaky"


def test_another_work_passing_on_the_same_commit_does_not_make_it_flaky() -> None:
    """An `assemble` build never ran the test that failed in the `test` build."""
    index = TriageIndex()
    index.add(build(2, commit="abc", work="test"), [CART])
    index.add(build(3, succeeded=True, commit="abc", work="assemble"), [])

    assert cart(index).status != "flaky"


def test_the_same_requested_work_passing_on_the_same_commit_is_flaky() -> None:
    index = TriageIndex()
    index.add(build(2, commit="abc", work="test"), [CART])
    index.add(build(3, succeeded=True, commit="abc", work="assemble"), [])
    index.add(build(4, succeeded=True, commit="abc", work="test"), [])

    assert cart(index).status == "flaky"


def test_a_bazel_build_passing_where_the_bazel_test_failed_does_not_make_it_flaky() -> None:
    index = TriageIndex()
    index.add(invocation(1, commit="abc", work="test //..."), [LEDGER])
    index.add(invocation(2, True, commit="abc", work="build //..."), [])

    group = index.group(LEDGER.kind, LEDGER.name)
    assert group is not None and group.status != "flaky"


def test_a_success_of_unknown_work_on_the_commit_makes_it_flaky() -> None:
    """A run recorded before runs carried their work may have run anything its project runs."""
    index = TriageIndex()
    index.add(build(2, commit="abc", work="test"), [CART])
    index.add(build(3, succeeded=True, commit="abc", work=None), [])

    assert cart(index).status == "flaky"


def test_a_failure_of_unknown_work_is_flaky_by_any_success_of_its_project_on_the_commit() -> None:
    index = TriageIndex()
    index.add(build(2, commit="abc", work=None), [CART])
    index.add(build(3, succeeded=True, commit="abc", work="assemble"), [])

    assert cart(index).status == "flaky"


def test_forgetting_the_only_same_work_success_on_the_commit_makes_it_not_flaky() -> None:
    index = TriageIndex()
    index.add(build(2, commit="abc", work="test"), [CART])
    index.add(build(3, succeeded=True, commit="abc", work="assemble"), [])
    index.add(build(4, succeeded=True, commit="abc", work="test"), [])
    index.add(build(4, succeeded=False, commit="abc", work="test"), [])

    assert cart(index).status != "flaky"


def test_a_bazel_target_failing_and_passing_on_one_commit_in_buildbuddy_is_flaky() -> None:
    index = TriageIndex()
    index.add(invocation(1, commit="abc"), [LEDGER])
    index.add(invocation(2, True, commit="abc"), [])

    group = index.group(LEDGER.kind, LEDGER.name)
    assert group is not None and group.status == "flaky"


def test_passing_on_retry_in_any_run_is_flaky() -> None:
    index = TriageIndex()
    index.add(build(1), [CART])
    index.add(build(2, succeeded=True), [Failure("test", CART.name, passed_on_retry=True)])
    index.add(build(3), [CART])

    assert cart(index).status == "flaky"


def test_failing_only_in_the_newest_runs_after_a_success_is_new_since_the_first_of_them() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True), [])
    index.add(build(2, succeeded=True), [])
    index.add(build(3), [CART])
    index.add(build(4), [CART])

    group = cart(index)
    assert (group.status, group.broken_since) == ("new", "b003")


def test_a_failure_is_new_only_after_the_same_work_passed() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True, work="assemble"), [])
    index.add(build(2, work="test"), [CART])
    assert cart(index).status == "recurring"

    index.add(build(0, succeeded=True, work="test"), [])
    group = cart(index)
    assert (group.status, group.broken_since) == ("new", "b002")


def test_another_work_passing_after_the_failure_does_not_end_its_streak() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True, work="test"), [])
    index.add(build(2, work="test"), [CART])
    index.add(build(3, succeeded=True, work="assemble"), [])

    assert cart(index).status == "new"


def test_a_success_of_unknown_work_after_the_failure_makes_it_recurring() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True, work="test"), [])
    index.add(build(2, work="test"), [CART])
    index.add(build(3, succeeded=True, work=None), [])

    assert cart(index).status == "recurring"


def test_a_failure_of_unknown_work_is_new_after_any_success_of_its_project() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True, work="assemble"), [])
    index.add(build(2, work=None), [CART])

    assert cart(index).status == "new"


def test_a_failed_run_without_the_failure_does_not_end_its_streak() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True), [])
    index.add(build(2), [CART])
    index.add(build(3), [CHECK])

    group = cart(index)
    assert (group.status, group.broken_since) == ("new", "b002")


def test_a_success_after_the_failure_makes_it_recurring() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True), [])
    index.add(build(2), [CART])
    index.add(build(3, succeeded=True), [])

    group = cart(index)
    assert (group.status, group.broken_since) == ("recurring", None)


def test_failing_again_after_a_success_is_recurring_not_new() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True), [])
    index.add(build(2), [CART])
    index.add(build(3, succeeded=True), [])
    index.add(build(4), [CART])

    assert cart(index).status == "recurring"


def test_a_single_failure_with_no_success_before_it_is_recurring() -> None:
    index = TriageIndex()
    index.add(build(1), [CART])

    group = cart(index)
    assert (group.count, group.status, group.broken_since) == (1, "recurring", None)


def test_a_success_of_another_project_does_not_make_a_failure_new() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True, project="web"), [])
    index.add(build(2, project="app"), [CART])

    assert cart(index).status == "recurring"


def test_a_run_of_unknown_outcome_is_no_success() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=None), [])
    index.add(build(2), [CART])
    index.add(build(3, succeeded=None), [])

    assert cart(index).status == "recurring"


def test_new_in_one_project_and_recurring_in_another_is_recurring() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True, project="app"), [])
    index.add(build(2, project="app"), [CART])
    index.add(build(3, project="web"), [CART])

    assert cart(index).status == "recurring"


def test_new_in_two_projects_is_broken_since_the_earlier_streak() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True, project="app"), [])
    index.add(build(2, succeeded=True, project="web"), [])
    index.add(build(4, project="app"), [CART])
    index.add(build(3, project="web"), [CART])

    group = cart(index)
    assert (group.status, group.broken_since) == ("new", "b003")


def test_flaky_wins_over_new() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True), [])
    index.add(build(2), [Failure("test", CART.name, passed_on_retry=True)])

    assert cart(index).status == "flaky"


# --- Adding a run again -------------------------------------------------------------------


def test_adding_a_run_again_replaces_what_it_said() -> None:
    index = TriageIndex()
    index.add(build(1), [CART])
    index.add(build(1), [CHECK])

    assert [group.name for group in index.groups()] == [CHECK.name]
    assert index.run_count == 1


def test_a_run_added_again_counts_once() -> None:
    index = TriageIndex()
    index.add(build(1), [CART])
    index.add(build(1), [CART])

    assert cart(index).count == 1


def test_a_group_read_before_a_run_is_replaced_shows_the_replacement() -> None:
    index = TriageIndex()
    index.add(build(1), [CART])
    index.add(build(2), [CART])
    assert cart(index).builds == ("b002", "b001")
    index.add(build(2), [CHECK])

    assert cart(index).builds == ("b001",)


def test_a_success_replaced_by_a_failure_is_no_longer_a_pass_of_its_commit() -> None:
    index = TriageIndex()
    index.add(build(1, commit="abc"), [CART])
    index.add(build(2, succeeded=True, commit="abc"), [])
    index.add(build(2, succeeded=False, commit="abc"), [])

    assert cart(index).status == "recurring"


def test_a_success_replaced_by_a_running_state_no_longer_ends_a_streak() -> None:
    index = TriageIndex()
    index.add(build(1, succeeded=True), [])
    index.add(build(2), [CART])
    index.add(build(3, succeeded=True), [])
    index.add(build(3, succeeded=None), [])

    assert cart(index).status == "new"


def rebuilt(runs: dict[str, tuple[Run, list[Failure]]], rng: random.Random) -> TriageIndex:
    """An index of `runs` alone, added in a shuffled order."""
    index = TriageIndex()
    for run, failed in rng.sample(list(runs.values()), len(runs)):
        index.add(run, failed)
    return index


def test_an_incremental_index_agrees_with_one_built_from_its_final_runs() -> None:
    """Runs arrive mostly in order, some again (a newer state of the same run); from the 500th
    on, project `web` breaks on new commits, so every status shows up along the way."""
    rng = random.Random(7)
    failures = [CART, LEDGER, CHECK, Failure("test", "com.acme.Retried.x", passed_on_retry=True)]
    late = Failure("test", "com.acme.Late.x")
    incremental = TriageIndex()
    final: dict[str, tuple[Run, list[Failure]]] = {}
    statuses = set()
    for step in range(1, 601):
        minute = rng.randrange(max(0, step // 4 - 10), step // 4 + 1)
        project = rng.choice(["app", "web"])
        breaking = step > 500 and project == "web"
        outcome = rng.choice([False, None] if breaking else [True, True, False, None])
        commit = f"late{minute}" if breaking else rng.choice([f"c{n}" for n in range(30)])
        failed = rng.sample(failures, rng.randrange(3)) if outcome is not True else []
        if breaking and outcome is False:
            failed.append(late)
        work = rng.choice(["assemble", "test", None])
        run = build(minute, outcome, project=project, commit=commit, work=work)
        incremental.add(run, failed)
        final[run.run_id] = (run, failed)
        if step % 10 == 0:
            assert incremental.groups() == rebuilt(final, rng).groups(), f"after {step} adds"
            statuses |= {group.status for group in incremental.groups()}

    assert statuses == {"new", "flaky", "recurring"}


# --- The other tool on the same commit ------------------------------------------------------


def test_a_task_and_a_target_failing_on_one_commit_are_shown_beside_each_other() -> None:
    index = TriageIndex()
    index.add(build(1, commit="abc"), [CHECK])
    index.add(invocation(2, commit="abc", project="https://github.com/acme/app"), [LEDGER])

    assert index.same_commit(CHECK.kind, CHECK.name) == (
        SameCommitFailure("abc", LEDGER.kind, LEDGER.name, builds=(), invocations=("i002",)),
    )
    assert index.same_commit(LEDGER.kind, LEDGER.name) == (
        SameCommitFailure("abc", CHECK.kind, CHECK.name, builds=("b001",), invocations=()),
    )


def test_what_the_same_tool_failed_on_the_commit_is_not_the_other_side() -> None:
    index = TriageIndex()
    index.add(build(1, commit="abc"), [CHECK, CART])
    index.add(build(2, commit="abc", project="web"), [LEDGER])

    assert index.same_commit(CHECK.kind, CHECK.name) == ()


def test_the_other_sides_commits_come_most_recently_failed_on_first() -> None:
    index = TriageIndex()
    for minute, commit in ((1, "old"), (5, "recent")):
        index.add(build(minute, commit=commit), [CHECK])
        index.add(invocation(minute + 1, commit=commit), [LEDGER])
    index.add(invocation(3, commit="old"), [LEDGER])

    assert [(f.commit, f.invocations) for f in index.same_commit(CHECK.kind, CHECK.name)] == [
        ("recent", ("i006",)), ("old", ("i003", "i002")),
    ]


def test_an_invocation_replaced_by_its_success_leaves_the_other_side() -> None:
    index = TriageIndex()
    index.add(build(1, commit="abc"), [CHECK])
    index.add(invocation(2, commit="abc"), [LEDGER])

    index.add(invocation(2, True, commit="abc"), [])

    assert index.same_commit(CHECK.kind, CHECK.name) == ()
    assert index.same_commit(LEDGER.kind, LEDGER.name) == ()


def test_an_invocation_failing_otherwise_when_added_again_shows_its_new_failure() -> None:
    index = TriageIndex()
    index.add(build(1, commit="abc"), [CHECK])
    index.add(invocation(2, commit="abc"), [LEDGER])

    index.add(invocation(2, commit="abc"), [CART])

    assert [f.name for f in index.same_commit(CHECK.kind, CHECK.name)] == [CART.name]


# --- Order --------------------------------------------------------------------------------


def test_groups_come_most_recently_failed_first() -> None:
    index = TriageIndex()
    index.add(build(1), [CART])
    index.add(build(2), [CART])
    index.add(build(3), [CHECK])
    index.add(build(4), [LEDGER])

    assert [group.name for group in index.groups()] == [LEDGER.name, CHECK.name, CART.name]


def test_groups_by_count_come_most_often_failed_first_then_most_recent() -> None:
    index = TriageIndex()
    index.add(build(1), [CART, CHECK])
    index.add(build(2), [CART])
    index.add(build(3), [LEDGER])

    names = [group.name for group in index.groups("count")]
    assert names == [CART.name, LEDGER.name, CHECK.name]
