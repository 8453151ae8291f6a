"""An invocation's targets and files become safe display rows, failures first."""

from __future__ import annotations

from buildwatch.core.buildbuddy.models import Action, Invocation, Target
from buildwatch.core.buildbuddy.triage import (
    TargetRow,
    enum_text,
    file_rows,
    invocation_header,
    invocation_result,
    target_row,
)


def target(status: str, label: str = "//a:b", **extra: object) -> Target:
    return Target.from_json({"id": {"targetId": label}, "label": label, "status": status, **extra})


def row(status: str, *, finished: bool = True) -> TargetRow:
    return target_row(target(status), invocation_finished=finished)


def test_a_failed_target_ranks_before_a_passed_one() -> None:
    assert row("FAILED").rank < row("PASSED").rank
    assert row("FAILED").failed and not row("PASSED").failed


def test_a_target_a_finished_invocation_left_building_is_not_built_among_the_skipped() -> None:
    unbuilt = row("BUILDING")
    assert (unbuilt.status, unbuilt.failed) == ("not built", False)
    assert row("BUILT").rank < unbuilt.rank == row("SKIPPED").rank


def test_a_target_of_a_running_invocation_is_still_building() -> None:
    building = row("BUILDING", finished=False)
    assert building.status == "building"
    assert row("FAILED", finished=False).rank < building.rank < row("PASSED", finished=False).rank


def test_target_labels_tags_and_durations_are_made_safe_and_readable() -> None:
    shown = target_row(target("PASSED", label="//x:\x1b]8;;https://evil\x07y", tag=["a\x1b[2Jb"],
                              timing={"duration": "75.5s"}), invocation_finished=True)
    assert (shown.label, shown.tags, shown.duration) == ("//x:y", "ab", "1m15s")


def test_a_target_without_a_label_is_named_by_its_encoded_id() -> None:
    old = Target.from_json({"id": {"targetId": "aWQ6OnYxOjovLzpzdGF0aWM"}, "status": "BUILT"})
    assert old.label == "//:static"
    assert target_row(old, invocation_finished=True).label == "//:static"


def test_an_action_without_a_target_label_is_named_by_its_encoded_target_id() -> None:
    old = Action.from_json({"id": {"targetId": "aWQ6OnYxOjovLzpzdGF0aWM",
                                   "actionId": "aWQ6OnYxOjpidWlsZA"}})
    assert [(row.target, row.action) for row in file_rows(old)] == [("//:static", "build")]


def test_a_plain_target_id_is_the_label_itself() -> None:
    assert Action.from_json({"id": {"targetId": "//pkg:foo_test"}}).target_label == "//pkg:foo_test"


def test_an_action_without_files_gets_one_row_and_one_with_files_a_row_per_file() -> None:
    bare = Action.from_json({"id": {"targetId": "t", "actionId": "YQ"}, "targetLabel": "//t"})
    with_files = Action.from_json({
        "id": {"targetId": "t", "actionId": "Yg"}, "targetLabel": "//t",
        "file": [{"name": "test.log", "uri": "bytestream://h/blobs/ab/3", "sizeBytes": "2048"},
                 {"name": "test.xml", "uri": "bytestream://h/blobs/cd/4"}]})
    assert [row.file for row in file_rows(bare)] == [None]
    assert [(row.name, row.size) for row in file_rows(with_files)] == [("test.log", "2.0 kB"),
                                                                       ("test.xml", "")]


def test_the_invocation_header_names_a_failure_with_its_exit_code_and_the_web_link() -> None:
    invocation = Invocation.from_json({
        "id": {"invocationId": "i1"}, "invocationStatus": "COMPLETE_INVOCATION_STATUS",
        "success": False, "bazelExitCode": "TESTS_FAILED", "command": "test", "pattern": "//...",
        "user": "ann\u202e", "actionCount": "12"})
    pairs = dict(invocation_header(invocation, "https://bb.example/invocation/i1"))
    assert pairs == {"status": "FAILED (tests failed)", "command": "bazel test //...",
                     "user": "ann", "actions": "12", "link": "https://bb.example/invocation/i1"}


def invocation(status: str, **extra: object) -> Invocation:
    return Invocation.from_json({"id": {"invocationId": "i1"}, "invocationStatus": status, **extra})


def headline(found: Invocation, *, last_seen: bool = False) -> str:
    return dict(invocation_header(found, None, last_seen=last_seen))["status"]


def test_an_interrupted_invocation_is_cancelled_not_failed_with_its_exit_code_shown() -> None:
    interrupted = invocation("COMPLETE_INVOCATION_STATUS", bazelExitCode="INTERRUPTED")
    assert invocation_result(interrupted) == "cancelled"
    assert headline(interrupted) == "CANCELLED (interrupted)"


def test_an_invocation_whose_events_stopped_before_the_end_is_disconnected_not_failed() -> None:
    disconnected = invocation("DISCONNECTED_INVOCATION_STATUS")
    assert invocation_result(disconnected) == "disconnected"
    assert headline(disconnected) == "DISCONNECTED"


def test_a_stored_running_invocation_says_it_was_running_when_last_seen() -> None:
    running = invocation("PARTIAL_INVOCATION_STATUS")
    assert headline(running) == "IN PROGRESS"
    assert headline(running, last_seen=True) == "IN PROGRESS (when last seen)"
    finished = invocation("COMPLETE_INVOCATION_STATUS", success=True)
    assert headline(finished, last_seen=True) == "SUCCESS"


def result_of(**fields: object) -> str:
    return invocation_result(Invocation.from_json({"id": {"invocationId": "i1"}, **fields}))


def test_an_invocation_with_success_and_no_status_succeeded() -> None:
    assert result_of(success=True, durationUsec="221970000") == "succeeded"


def test_an_invocation_with_a_failing_exit_code_and_no_status_failed() -> None:
    assert result_of(bazelExitCode="BUILD_FAILURE", durationUsec="5000000") == "failed"
    assert result_of(bazelExitCode="INTERRUPTED") == "cancelled"
    assert result_of(bazelExitCode="SUCCESS") == "succeeded"


def test_an_invocation_that_took_time_without_success_or_status_failed() -> None:
    assert result_of(durationUsec="5000000") == "failed"


def test_an_invocation_with_neither_status_nor_result_is_running() -> None:
    assert result_of(createdAtUsec="1623193638545989") == "running"


def test_a_complete_invocation_without_success_failed() -> None:
    assert result_of(invocationStatus="COMPLETE_INVOCATION_STATUS") == "failed"


def test_a_status_this_client_does_not_know_is_judged_by_the_result_fields() -> None:
    assert result_of(invocationStatus="ARCHIVED_INVOCATION_STATUS", success=True) == "succeeded"
    assert result_of(invocationStatus="ARCHIVED_INVOCATION_STATUS") == "unknown"


def test_target_statuses_read_as_words_never_as_enum_names() -> None:
    assert [row(status).status for status in ("FAILED_TO_BUILD", "TIMED_OUT", "PASSED")] == [
        "failed to build", "timed out", "passed"]
    unspecified = Target.from_json({"id": {"targetId": "//a:b"}})
    assert target_row(unspecified, invocation_finished=True).status == "no status"
    assert row("NEWLY_ADDED_STATUS").status == "newly added status"


def test_an_exit_code_with_an_escape_sequence_leaves_nothing_of_it_in_words() -> None:
    assert enum_text("\x1bP+q544e\x1b\\BUILD_FAILURE") == "build failure"
