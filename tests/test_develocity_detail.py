"""A build's drill-down is reduced from its events: work, tests, failures, console, the raw stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from drilldown_app import pick_build, sim_config

from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.detail import BuildDetail
from buildwatch.core.develocity.models import Build, BuildEvent
from buildwatch.core.develocity.report import header_pairs, summary_text
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimulatorThread

pytestmark = pytest.mark.timeout(60)


def build(tool: str = "gradle") -> Build:
    return Build(json.dumps({"buildId": "b1", "toolType": tool, "timestamp": 5}).encode(), "0")


def event(kind: str, data: dict[str, Any], timestamp: int = 1000, position: int = 1) -> BuildEvent:
    body = {"timestamp": timestamp, "type": {"eventType": kind, "majorVersion": 1,
                                             "minorVersion": 0}, "data": data}
    return BuildEvent(json.dumps(body).encode(), str(position))


def reduced(tool: str, *events: BuildEvent) -> BuildDetail:
    detail = BuildDetail()
    detail.add([build(tool), *events])
    return detail


EXCEPTIONS = {
    "exceptions": {
        "10": {"className": "org.gradle.api.tasks.TaskExecutionException",
               "message": "Execution failed for task ':app:test'.", "stackTrace": "1",
               "causes": ["11"]},
        "11": {"className": "java.lang.AssertionError", "message": "expected 3", "stackTrace": "2",
               "causes": []},
    },
    "stackTraces": {"1": {"stackFrames": ["100"]}, "2": {"stackFrames": ["101", "102"]}},
    "stackFrames": {
        "100": {"declaringClass": "org.gradle.Executer", "methodName": "run",
                "fileName": "Executer.java", "lineNumber": 12},
        "101": {"declaringClass": "com.acme.FooTest", "methodName": "adds",
                "fileName": "FooTest.java", "lineNumber": 41},
        "102": {"declaringClass": "jdk.Native", "methodName": "invoke", "fileName": None,
                "lineNumber": -2},
    },
}


def test_a_gradle_task_joins_its_start_and_finish_with_outcome_duration_and_cache() -> None:
    detail = reduced(
        "gradle",
        event("TaskStarted", {"id": 7, "path": ":app:compileJava", "className": "JavaCompile"}, 1000),
        event("TaskFinished", {"id": 7, "path": ":app:compileJava", "outcome": "from_cache",
                               "cacheable": True}, 3500),
    )
    [task] = detail.work.values()
    assert (task.path, task.outcome, task.duration_ms, task.cacheable, task.from_cache) == (
        ":app:compileJava", "from_cache", 2500, True, True)


def test_a_task_that_has_not_finished_is_running_without_a_duration() -> None:
    detail = reduced("gradle", event("TaskStarted", {"id": 1, "path": ":a"}))
    [task] = detail.work.values()
    assert (task.outcome, task.duration_ms) == ("running", None)


def test_gradle_test_suites_are_not_listed_and_a_failed_test_has_its_failure_chain() -> None:
    detail = reduced(
        "gradle",
        event("TaskStarted", {"id": 3, "path": ":app:test"}),
        event("TestStarted", {"task": 3, "id": 1, "name": "Gradle Test Run", "suite": True}),
        event("TestStarted", {"task": 3, "id": 2, "name": "adds()", "className": "com.acme.FooTest",
                              "suite": False}, 1000),
        event("TestFinished", {"task": 3, "id": 2, "failed": True, "failureId": 11}, 1250),
        event("TestFinished", {"task": 3, "id": 1, "failed": True}),
        event("ExceptionData", EXCEPTIONS),
    )
    [test] = detail.tests.values()
    assert (test.class_name, test.name, test.owner, test.outcome, test.duration_ms) == (
        "com.acme.FooTest", "adds()", ":app:test", "failed", 250)
    chain = detail.failure(test.failure_id)
    assert chain is not None and chain.headline == "java.lang.AssertionError: expected 3"


def test_a_failure_chain_follows_causes_and_prints_frames_as_java_does() -> None:
    detail = reduced("gradle", event("ExceptionData", EXCEPTIONS))
    chain = detail.failure(10)
    assert chain is not None
    assert chain.lines() == [
        "org.gradle.api.tasks.TaskExecutionException: Execution failed for task ':app:test'.",
        "    at org.gradle.Executer.run(Executer.java:12)",
        "Caused by: java.lang.AssertionError: expected 3",
        "    at com.acme.FooTest.adds(FooTest.java:41)",
        "    at jdk.Native.invoke(Unknown Source)",
    ]


def test_a_cycle_in_the_causes_ends_the_chain() -> None:
    looping = {"exceptions": {"1": {"className": "A", "causes": ["2"]},
                              "2": {"className": "B", "causes": ["1"]}}}
    chain = reduced("gradle", event("ExceptionData", looping)).failure(1)
    assert chain is not None and [e.class_name for e in chain.chain] == ["A", "B"]


def test_the_build_failure_is_the_one_the_finish_event_names() -> None:
    detail = reduced("gradle", event("ExceptionData", EXCEPTIONS),
                     event("BuildFinished", {"failureId": 11}))
    assert [chain.failure_id for chain in detail.build_failures()] == [11]


def test_without_a_finish_event_the_build_failures_leave_out_causes() -> None:
    detail = reduced("gradle", event("ExceptionData", EXCEPTIONS))
    assert [chain.failure_id for chain in detail.build_failures()] == [10]


def test_maven_goals_are_named_by_module_plugin_goal_and_execution() -> None:
    detail = reduced(
        "maven",
        event("MvnProjectStructure", {"projects": [{"id": 5, "artifactId": "ledger-core"}]}),
        event("MvnGoalExecutionStarted", {"id": 9, "name": "test", "executionId": "default-test",
                                          "projectId": 5, "pluginId":
                                          "org.apache.maven.plugins:maven-surefire-plugin:3.5.2"}),
        event("MvnGoalExecutionFinished", {"id": 9, "outcome": "failed", "failureId": 4}),
    )
    [goal] = detail.work.values()
    assert (goal.kind, goal.path, goal.outcome, goal.failure_id) == (
        "goal", "ledger-core surefire:test (default-test)", "failed", 4)


def test_bazel_tests_are_owned_by_their_target_and_classed_by_their_suite() -> None:
    detail = reduced(
        "bazel",
        event("BzlTarget", {"id": 1, "label": "//search:index_test"}),
        event("BzlTargetConfigured", {"id": 1, "targetKind": "java_test rule"}),
        event("BzlTestTargetAttemptStarted", {"id": 2, "targetId": 1}),
        event("BzlTestStarted", {"id": 3, "testTargetAttemptId": 2, "name": "IndexTest",
                                 "isSuite": True}),
        event("BzlTestStarted", {"id": 4, "testTargetAttemptId": 2, "parentId": 3,
                                 "name": "ranksExactMatch", "isSuite": False}),
        event("BzlTestFinished", {"id": 4, "outcome": "failed"}),
        event("BzlTargetCompleted", {"id": 1, "success": False, "failureId": 8}),
    )
    [target] = detail.work.values()
    [test] = detail.tests.values()
    assert (target.path, target.detail, target.outcome) == ("//search:index_test", "java_test",
                                                            "failed")
    assert (test.owner, test.class_name, test.name, test.outcome) == (
        "//search:index_test", "IndexTest", "ranksExactMatch", "failed")


def test_console_output_is_sanitised_and_coloured_by_its_style() -> None:
    detail = reduced(
        "gradle",
        event("OutputStyledTextEvent", {"spans": [
            {"text": "> Task :a\x1b]52;c;ZXZpbA==\x07\n", "style": "Header"},
            {"text": "boom [bold]x[/bold]\n", "style": "Failure"}]}),
    )
    assert detail.take_console() == "\x1b[1m> Task :a\x1b[0m\n\x1b[31mboom [bold]x[/bold]\x1b[0m\n"


def test_a_log_event_becomes_a_console_line_but_teamcity_messages_do_not() -> None:
    detail = reduced(
        "gradle",
        event("OutputLogEvent", {"message": "##teamcity[testStarted name='x']"}),
        event("OutputLogEvent", {"message": "plain line", "common": {"logLevel": "LIFECYCLE"}}),
    )
    assert detail.take_console() == "plain line\n"
    assert detail.take_console() == ""


def test_names_from_the_server_are_sanitised_once_on_the_way_in() -> None:
    detail = reduced(
        "gradle",
        event("TaskStarted", {"id": 1, "path": ":app:\x1b[2Jevil\u202e"}),
        event("TestStarted", {"task": 1, "id": 2, "name": "t\x1b]0;title\x07()",
                              "className": "C\x9b6n"}),
    )
    [task] = detail.work.values()
    [test] = detail.tests.values()
    assert (task.path, test.name, test.class_name) == (":app:evil", "t()", "C")


def test_changed_work_is_handed_out_once() -> None:
    detail = reduced("gradle", event("TaskStarted", {"id": 1, "path": ":a"}))
    assert [item.path for item in detail.take_changed_work()] == [":a"]
    assert detail.take_changed_work() == []


def test_the_event_log_keeps_every_event_and_filters_by_type() -> None:
    detail = reduced("gradle", event("TaskStarted", {"id": 1}, 10),
                     event("UserTag", {"tag": "CI"}, 20), event("TaskStarted", {"id": 2}, 30))
    log = detail.events
    assert len(log) == 4
    assert log.type_counts() == {"Build": 1, "TaskStarted": 2, "UserTag": 1}
    assert list(log.indices({"TaskStarted"})) == [1, 3]
    assert log.decoded(2)["data"] == {"tag": "CI"}
    assert log.timestamp(3) == 30


def test_a_work_only_detail_keeps_the_same_work_and_tests_without_event_log_or_summary() -> None:
    events = [
        build("gradle"),
        event("TaskStarted", {"id": 3, "path": ":app:test"}),
        event("TaskFinished", {"id": 3, "path": ":app:test", "outcome": "FAILED"}),
        event("TestStarted", {"task": 3, "id": 2, "name": "adds()", "className": "com.acme.FooTest",
                              "suite": False}, 1000),
        event("TestFinished", {"task": 3, "id": 2, "failed": True, "failureId": 11}, 1250),
    ]
    whole, work_only = BuildDetail(), BuildDetail(work_only=True)
    whole.add(events)
    work_only.add(events)
    assert work_only.failed_work() == whole.failed_work() != []
    assert list(work_only.tests.values()) == list(whole.tests.values()) != []
    assert (len(work_only.events), work_only.summary()) == (0, None)
    assert (len(whole.events), whole.summary() is not None) == (5, True)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config()) as thread:
        yield thread


async def load(sim: SimulatorThread, build_id: str) -> BuildDetail:
    detail = BuildDetail()
    connection = DevelocityConnection(sim.develocity_url, token=Secret("sim-token"))
    async with DevelocityClient(connection) as client:
        async for batch in client.event_batches(build_id):
            detail.add(batch)
    return detail


@pytest.mark.parametrize("tool", ["gradle", "maven"])
async def test_a_failed_simulated_build_shows_its_failed_work_tests_and_chain(
        sim: SimulatorThread, tool: str) -> None:
    build_id = pick_build(sim, lambda b: b["toolType"] == tool and b["failed"]
                          and not b["eventCount"])
    detail = await load(sim, build_id)
    assert detail.failed_work() and detail.failed_tests()
    text = summary_text(detail, "Tasks")
    assert text.startswith("BUILD FAILED")
    assert detail.failed_tests()[0].name in text
    assert "Caused by:" in text or "    at " in text


async def test_a_simulated_build_header_names_its_outcome_and_scan_link(
        sim: SimulatorThread) -> None:
    build_id = pick_build(sim, lambda b: b["toolType"] == "bazel")
    detail = await load(sim, build_id)
    summary = detail.summary()
    assert summary is not None
    pairs = dict(header_pairs(summary, f"https://scans.example/s/{build_id}"))
    assert pairs["outcome"] in ("SUCCESS", "FAILED")
    assert pairs["scan"] == f"https://scans.example/s/{build_id}"
    assert all(item.kind == "target" for item in detail.work.values())


async def test_an_npm_build_has_a_summary_but_no_work_items(sim: SimulatorThread) -> None:
    build_id = pick_build(sim, lambda b: b["toolType"] == "npm")
    detail = await load(sim, build_id)
    assert detail.tool_type == "npm" and detail.summary() is not None and not detail.work
