"""Reading the BuildBuddy API's JSON the way Go's protojson writes it, and newer servers extend it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from buildwatch.core.buildbuddy.errors import MalformedResponseError
from buildwatch.core.buildbuddy.models import (
    Action,
    File,
    Invocation,
    InvocationStatus,
    LogChunk,
    Target,
    TargetStatus,
    parse_duration,
    parse_timestamp,
)


def test_int64_fields_are_read_from_strings_as_the_server_writes_them() -> None:
    invocation = Invocation.from_json(
        {"id": {"invocationId": "i"}, "actionCount": "1402", "durationUsec": "221970000"}
    )
    assert invocation.action_count == 1402
    assert invocation.duration == timedelta(seconds=221.97)


def test_int64_fields_are_read_from_numbers_as_hand_written_examples_show_them() -> None:
    assert File.from_json({"name": "vet", "sizeBytes": 7029420}).size_bytes == 7029420


def test_an_int64_that_is_not_a_number_names_the_field() -> None:
    with pytest.raises(MalformedResponseError, match=r"file\.sizeBytes"):
        File.from_json({"sizeBytes": "lots"})


def test_microsecond_timestamps_become_exact_utc_times() -> None:
    invocation = Invocation.from_json({"createdAtUsec": "1623193638545989"})
    assert invocation.created_at == datetime(2021, 6, 8, 23, 7, 18, 545989, tzinfo=UTC)


def test_absent_fields_take_the_proto_defaults() -> None:
    invocation = Invocation.from_json({})
    assert (invocation.invocation_id, invocation.success, invocation.action_count) == ("", False, 0)
    assert invocation.created_at is None and invocation.duration is None
    assert invocation.status is InvocationStatus.UNKNOWN_INVOCATION_STATUS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-12-05T10:00:01Z", datetime(2025, 12, 5, 10, 0, 1, tzinfo=UTC)),
        ("2025-12-05T10:00:01.250Z", datetime(2025, 12, 5, 10, 0, 1, 250000, tzinfo=UTC)),
        ("2025-12-05T10:00:01.123456Z", datetime(2025, 12, 5, 10, 0, 1, 123456, tzinfo=UTC)),
        ("2025-12-05T10:00:01.123456789Z", datetime(2025, 12, 5, 10, 0, 1, 123456, tzinfo=UTC)),
        ("2025-12-05T11:00:01+01:00", datetime(2025, 12, 5, 10, 0, 1, tzinfo=UTC)),
    ],
)
def test_timestamps_with_0_3_6_or_9_fractional_digits_are_read(text: str, expected: datetime) -> None:
    assert parse_timestamp(text, "t") == expected


@pytest.mark.parametrize("text", ["yesterday", "2025-12-05T10:00:01", 1733392801])
def test_a_timestamp_without_a_zone_or_not_rfc3339_is_refused(text: object) -> None:
    with pytest.raises(MalformedResponseError, match="timestamp"):
        parse_timestamp(text, "t")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3s", timedelta(seconds=3)),
        ("12.500s", timedelta(seconds=12.5)),
        ("0.000001s", timedelta(microseconds=1)),
        ("1.123456789s", timedelta(seconds=1, microseconds=123456)),
        ("-1.5s", timedelta(seconds=-1.5)),
    ],
)
def test_durations_are_read_exactly(text: str, expected: timedelta) -> None:
    assert parse_duration(text, "d") == expected


@pytest.mark.parametrize("text", ["12.5", "1m", "s", "1.5 s", 12.5])
def test_a_duration_not_in_protojson_form_is_refused(text: object) -> None:
    with pytest.raises(MalformedResponseError, match="duration"):
        parse_duration(text, "d")


def test_target_timing_is_parsed_into_a_start_and_a_duration() -> None:
    target = Target.from_json(
        {"label": "//a:b_test", "status": "FAILED",
         "timing": {"startTime": "2025-12-05T10:00:01.250Z", "duration": "12.500s"}}
    )
    assert target.timing is not None
    assert target.timing.start == datetime(2025, 12, 5, 10, 0, 1, 250000, tzinfo=UTC)
    assert target.timing.duration == timedelta(seconds=12.5)


def test_enums_are_read_by_name() -> None:
    target = Target.from_json({"status": "FAILED_TO_BUILD"})
    assert target.status is TargetStatus.FAILED_TO_BUILD
    assert target.status_name == "FAILED_TO_BUILD"


def test_enums_are_also_read_by_number() -> None:
    assert Target.from_json({"status": 11}).status is TargetStatus.FLAKY


def test_an_enum_value_from_a_newer_server_is_kept_by_name_not_refused() -> None:
    target = Target.from_json({"status": "QUARANTINED"})
    assert target.status is TargetStatus.UNRECOGNIZED
    assert target.status_name == "QUARANTINED"


def test_an_absent_enum_is_the_zero_value() -> None:
    target = Target.from_json({"label": "//a:b"})
    assert target.status is TargetStatus.STATUS_UNSPECIFIED


def test_unknown_fields_are_kept_in_raw_for_json_output() -> None:
    data = {"id": {"invocationId": "i", "shard": "x"}, "newField": {"nested": [1, 2]}}
    assert Invocation.from_json(data).raw == data


def test_failures_come_first_in_triage_order_and_unknown_statuses_right_after() -> None:
    statuses = ["BUILT", "PASSED", "QUARANTINED", "FLAKY", "FAILED", "FAILED_TO_BUILD", "BUILDING"]
    ordered = sorted((Target.from_json({"status": s}) for s in statuses), key=lambda t: t.triage_rank)
    assert [t.status_name for t in ordered] == [
        "FAILED", "FAILED_TO_BUILD", "FLAKY", "QUARANTINED", "BUILDING", "PASSED", "BUILT",
    ]


def test_an_action_reads_its_files_and_test_attempt_numbers() -> None:
    action = Action.from_json({
        "id": {"targetId": "//a:t", "actionId": "aWQ6OnYxOjp0ZXN0LVNfMC1SXzEtQV8y"},
        "run": "1", "attempt": "2",
        "file": [{"name": "test.log", "uri": "bytestream://h/blobs/ab/216", "sizeBytes": "216"}],
    })
    assert (action.shard, action.run, action.attempt) == (0, 1, 2)
    assert action.files[0].size_bytes == 216
    assert action.kind == "test-S_0-R_1-A_2"


def test_an_action_id_that_is_not_the_encoded_form_is_shown_as_it_is() -> None:
    assert Action.from_json({"id": {"actionId": "opaque!"}}).kind == "opaque!"


def test_a_list_field_that_is_not_a_list_of_objects_is_refused() -> None:
    with pytest.raises(MalformedResponseError, match=r"action\.file"):
        Action.from_json({"file": "test.log"})


def test_a_log_chunk_answered_with_its_own_token_is_live() -> None:
    chunk = LogChunk.from_json("0003", {"log": {"contents": "x"}, "nextPageToken": "0003"})
    assert chunk.live and not chunk.last


def test_a_log_chunk_without_a_next_token_is_the_last() -> None:
    chunk = LogChunk.from_json("0004", {"log": {}})
    assert chunk.last and not chunk.live and chunk.contents == ""
