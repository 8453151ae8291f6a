"""Build and BuildEvent keep every field the server sent and read them leniently."""

from __future__ import annotations

import pytest

from buildwatch.core.develocity.models import (
    Build,
    BuildAgent,
    BuildEvent,
    BuildFinished,
    Failures,
    NamedValue,
    RequestedWork,
    SkippedMessage,
    fact_of,
    message_from,
    messages_from,
)
from buildwatch.core.sse import SSEEvent


def build(data: str) -> Build:
    message = message_from(SSEEvent("Build", data.encode(), "id"))
    assert isinstance(message, Build)
    return message


def event(event_type: str, data: str, minor: int = 0) -> BuildEvent:
    text = (
        f'{{"timestamp":1700000000123,"type":{{"majorVersion":1,"minorVersion":{minor},'
        f'"eventType":"{event_type}"}},"data":{data}}}'
    )
    message = message_from(SSEEvent("BuildEvent", text.encode(), "7"))
    assert isinstance(message, BuildEvent)
    return message


def test_a_v2_build_reads_its_fields() -> None:
    b = build(
        '{"buildId":"abc","timestamp":5,"toolType":"maven","toolVersion":"3.9","agentVersion":"2.0"}'
    )
    assert (b.build_id, b.timestamp, b.tool_type, b.tool_version, b.agent_version) == (
        "abc",
        5,
        "maven",
        "3.9",
        "2.0",
    )


def test_a_v1_build_names_no_tool_and_reads_its_v1_field_names() -> None:
    b = build('{"buildId":"abc","timestamp":5,"gradleVersion":"8.1","pluginVersion":"3.1"}')
    assert (b.tool_type, b.tool_version, b.agent_version) == (None, "8.1", "3.1")


def test_nulls_and_unexpected_types_read_as_missing() -> None:
    b = build('{"buildId":null,"timestamp":"soon","toolType":7,"toolVersion":true}')
    assert (b.build_id, b.timestamp, b.tool_type, b.tool_version) == ("", None, None, None)


def test_unknown_fields_are_kept() -> None:
    b = build('{"buildId":"abc","newField":{"nested":[1,2]}}')
    assert b.raw["newField"] == {"nested": [1, 2]}


def test_the_servers_bytes_are_kept_untouched() -> None:
    data = b'{ "buildId" : "abc" }'
    message = message_from(SSEEvent("Build", data, "abc"))
    assert message.source is data


def test_an_event_reads_its_envelope() -> None:
    e = event("TaskFinished", '{"id":1,"path":":a"}', minor=8)
    assert (e.timestamp, e.event_type, e.version, e.data) == (
        1700000000123,
        "TaskFinished",
        (1, 8),
        {"id": 1, "path": ":a"},
    )


def test_64_bit_and_larger_integers_stay_exact() -> None:
    e = event("TaskStarted", '{"id":-9223372036854775808,"huge":123456789012345678901234567890}')
    assert e.data == {"id": -9223372036854775808, "huge": 123456789012345678901234567890}


def test_an_event_without_data_has_empty_data() -> None:
    e = event("BuildStarted", "null")
    assert e.data == {}


def test_invalid_utf8_is_read_with_replacement_characters() -> None:
    message = message_from(SSEEvent("Build", b'{"buildId":"a\xffb"}', "x"))
    assert isinstance(message, Build) and message.build_id == "a\ufffdb"


@pytest.mark.parametrize("data", [b'{"buildId":"abc"', b"not json", b'["a list"]', b""])
def test_malformed_json_becomes_a_skipped_message_that_says_why(data: bytes) -> None:
    message = message_from(SSEEvent("Build", data, "9"))
    assert isinstance(message, SkippedMessage)
    assert (message.message_id, message.source) == ("9", data)
    assert message.reason.startswith("malformed JSON")


def test_an_unexpected_message_name_is_skipped_not_dropped() -> None:
    message = message_from(SSEEvent("message", b"{}", "3"))
    assert isinstance(message, SkippedMessage) and "unexpected 'message'" in message.reason


def test_a_batch_gives_the_same_messages_as_one_at_a_time() -> None:
    events = [
        SSEEvent("Build", b'{"buildId":"b"}', "0"),
        SSEEvent("BuildEvent", b'{"type":{"eventType":"X"}}', "1"),
        SSEEvent("BuildEvent", b'{"broken', "2"),
        SSEEvent("BuildEvent", b'{"type":{"eventType":"Y"}}', "3"),
    ]
    one_by_one = [message_from(e) for e in events]
    for batch in (events, events[1:2] + events[3:], events[2:3]):
        expected = [one_by_one[events.index(e)] for e in batch]
        got = messages_from(batch)
        assert [(type(m), m.message_id, m.source) for m in got] == [
            (type(m), m.message_id, m.source) for m in expected
        ]


@pytest.mark.parametrize(
    ("event_type", "data", "failed"),
    [
        ("BuildFinished", '{"failure":null,"failureId":null}', False),
        ("BuildFinished", '{"failure":null,"failureId":42}', True),
        ("BuildFinished", '{"failure":{"message":"old style"}}', True),
        ("MvnBuildFinished", '{"failed":false,"failureIds":[]}', False),
        ("MvnBuildFinished", '{"failed":false,"failureIds":[5]}', True),
        ("BzlBuildFinished", '{"failed":true,"exitCode":{"exitCode":3}}', True),
        ("BzlBuildFinished", '{"exitCode":{"exitCode":0,"exitCodeMessage":"SUCCESS"}}', False),
        ("NpmBuildFinished", '{"exitCode":0,"signal":null}', False),
        ("NpmBuildFinished", '{"exitCode":null,"signal":"SIGKILL"}', True),
        ("NpmBuildFinished", "{}", None),
    ],
)
def test_each_tools_finish_event_says_whether_the_build_failed(
    event_type: str, data: str, failed: bool | None
) -> None:
    fact = fact_of(event(event_type, data))
    assert isinstance(fact, BuildFinished) and fact.failed is failed


@pytest.mark.parametrize("event_type", ["BuildAgent", "MvnBuildAgent", "NpmBuildAgent"])
def test_each_tools_agent_event_names_user_and_host(event_type: str) -> None:
    fact = fact_of(
        event(event_type, '{"username":"ann","publicHostname":"h.example","localHostname":"h"}')
    )
    assert fact == BuildAgent("ann", "h.example")


@pytest.mark.parametrize(
    ("event_type", "data", "items"),
    [
        ("BuildRequestedTasks", '{"requested":["build"],"excluded":[]}', ("build",)),
        ("MvnBuildRequestedGoals", '{"goals":["clean","verify"]}', ("clean", "verify")),
        ("NpmRequestedCommand", '{"command":"run","args":["test"]}', ("run", "test")),
    ],
)
def test_each_tools_requested_work_is_read(
    event_type: str, data: str, items: tuple[str, ...]
) -> None:
    assert fact_of(event(event_type, data)) == RequestedWork(items)


def test_bazel_metadata_items_read_as_named_values() -> None:
    assert fact_of(
        event("BzlBuildMetadataItem", '{"key":"COMMIT_SHA","value":"abc"}')
    ) == NamedValue("COMMIT_SHA", "abc")


def test_exception_data_lists_each_failure_by_id() -> None:
    data = '{"exceptions":{"-12":{"className":"E","message":"boom"}},"stackTraces":{},"stackFrames":{}}'
    fact = fact_of(event("ExceptionData", data))
    assert isinstance(fact, Failures)
    assert [(f.failure_id, f.class_name, f.message) for f in fact.failures] == [(-12, "E", "boom")]


def test_event_types_a_summary_does_not_use_have_no_fact() -> None:
    assert fact_of(event("TaskFinished", '{"id":1}')) is None
    assert fact_of(event("SomethingFromTheFuture", '{"x":1}')) is None
