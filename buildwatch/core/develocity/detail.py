"""A build's drill-down: its tasks, goals or targets, its tests, failures and console output.

`BuildDetail` takes the build's messages in batches as they stream in (Gradle, Maven, Bazel and
npm alike) and keeps only what the screens show: the work items joined from their start and
finish events, the leaf tests, the exception data, and the raw events in an `EventLog`. Console
text is handed out as it arrives (`take_console`), not kept, since the log viewer stores it.
Every string meant for display is sanitised here, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from buildwatch.core.develocity.event_log import EventLog
from buildwatch.core.develocity.failures import ExceptionTable, FailureChain
from buildwatch.core.develocity.git_values import DEFAULT_GIT_VALUE_NAMES, GitValueNames
from buildwatch.core.develocity.models import (
    Build,
    BuildEvent,
    BuildFinished,
    JsonObject,
    Message,
    fact_of,
    int_field,
    object_field,
    text_field,
)
from buildwatch.core.develocity.summary import BuildSummary, SummaryBuilder
from buildwatch.core.sanitize import sanitize, sanitize_line

WorkKind = Literal["task", "goal", "target"]

OUTCOME_ORDER = ("failed", "running", "success", "from_cache", "up_to_date", "no_source",
                 "skipped")
"""Failures first, then what has not finished, then the rest by how much work it did."""

TEST_OUTCOME_ORDER = ("failed", "skipped", "running", "passed")
"""Failed and skipped tests first."""

_TEST_OUTPUT_LIMIT = 64 * 1024
# The colour each console style gets; the text itself is sanitised before it is wrapped.
_STYLE_SGR = {
    "Failure": "\x1b[31m", "FailureHeader": "\x1b[1;31m", "Header": "\x1b[1m",
    "SuccessHeader": "\x1b[1;32m", "Success": "\x1b[32m", "Warning": "\x1b[33m",
    "Identifier": "\x1b[36m", "Description": "\x1b[2m", "ProgressStatus": "\x1b[33m",
}
_LEVEL_SGR = {"ERROR": "\x1b[31m", "WARN": "\x1b[33m", "QUIET": "\x1b[2m"}
_TEAMCITY = "##teamcity["


def outcome_rank(outcome: str, order: tuple[str, ...] = OUTCOME_ORDER) -> int:
    """Where an outcome sorts; one this module does not know comes right after failures."""
    return order.index(outcome) if outcome in order else 1


@dataclass(slots=True)
class WorkItem:
    """A Gradle task, a Maven goal execution or a Bazel target."""

    key: str
    kind: WorkKind
    path: str
    outcome: str = "running"
    started_ms: int | None = None
    finished_ms: int | None = None
    cacheable: bool | None = None
    from_cache: bool = False
    failure_id: int | None = None
    detail: str = ""
    """The task class, the goal's mojo or the target's rule kind."""

    @property
    def duration_ms(self) -> int | None:
        """Finish minus start, when both are known."""
        if self.started_ms is None or self.finished_ms is None:
            return None
        return max(0, self.finished_ms - self.started_ms)


@dataclass(slots=True)
class TestResult:
    """One test case (suites and classes are not listed)."""

    key: str
    class_name: str
    name: str
    owner: str
    """The task, goal or target that ran it."""
    outcome: str = "running"
    started_ms: int | None = None
    finished_ms: int | None = None
    failure_id: int | None = None
    output: list[str] = field(default_factory=list)

    @property
    def duration_ms(self) -> int | None:
        """Finish minus start, when both are known."""
        if self.started_ms is None or self.finished_ms is None:
            return None
        return max(0, self.finished_ms - self.started_ms)


class BuildDetail:
    """Reduces a build's message stream, batch by batch, into what its screen shows."""

    def __init__(
        self, git_names: GitValueNames = DEFAULT_GIT_VALUE_NAMES, *, work_only: bool = False
    ) -> None:
        self.git_names = git_names
        """Which custom values name the Git commit, branch and repository."""
        self.work_only = work_only
        """Keep only the work items, tests and exceptions: no event log and no summary (for
        readers of what failed, which show neither and read thousands of test events)."""
        self.events = EventLog()
        self.work: dict[str, WorkItem] = {}
        self.tests: dict[str, TestResult] = {}
        self.exceptions = ExceptionTable()
        self._summary: SummaryBuilder | None = None
        self._console: list[str] = []
        self._changed_work: dict[str, None] = {}
        self._changed_tests: dict[str, None] = {}
        self._labels: dict[int, str] = {}
        self._attempts: dict[int, str] = {}
        self._goal_projects: dict[int, str] = {}
        self._bazel_suites: dict[int, str] = {}
        self._decisive: frozenset[int] = frozenset()

    @property
    def tool_type(self) -> str | None:
        """The build tool, once the `Build` message (v2) or the first event (v1) told."""
        return self._summary.tool_type if self._summary else None

    def summary(self) -> BuildSummary | None:
        """The build's summary so far (None before the `Build` message)."""
        return self._summary.result() if self._summary else None

    def add(self, messages: Iterable[Message]) -> None:
        """Take a batch of the build's messages into account."""
        for message in messages:
            if isinstance(message, Build):
                if self.work_only:
                    continue
                self._summary = self._summary or SummaryBuilder(message, self.git_names)
                self.events.add("Build", message.timestamp, message.source)
            elif isinstance(message, BuildEvent):
                self._add_event(message)

    def take_console(self) -> str:
        """The console text that arrived since the last call, with colour sequences."""
        text = "".join(self._console)
        self._console.clear()
        return text

    def take_changed_work(self) -> list[WorkItem]:
        """Work items added or changed since the last call."""
        changed = [self.work[key] for key in self._changed_work]
        self._changed_work.clear()
        return changed

    def take_changed_tests(self) -> list[TestResult]:
        """Tests added or changed since the last call."""
        changed = [self.tests[key] for key in self._changed_tests]
        self._changed_tests.clear()
        return changed

    def failure(self, failure_id: int | None) -> FailureChain | None:
        """The exception chain of a failure, once the build's exception data arrived."""
        return None if failure_id is None else self.exceptions.chain(failure_id)

    def build_failures(self) -> list[FailureChain]:
        """The failures that failed the build, with their exception chains.

        Those the finish event names, when it names any; else every recorded exception that is
        not the cause of another (a cause is shown within its chain).
        """
        summary = self.summary()
        chains = []
        causes = self.exceptions.causes()
        for info in summary.failures if summary else ():
            if self._decisive and info.failure_id not in self._decisive:
                continue
            if not self._decisive and info.failure_id in causes:
                continue
            chain = self.failure(info.failure_id)
            chains.append(chain or FailureChain.from_info(info))
        return chains

    def failed_work(self) -> list[WorkItem]:
        """Failed tasks, goals or targets in the order they ran."""
        return [item for item in self.work.values() if item.outcome == "failed"]

    def failed_tests(self) -> list[TestResult]:
        """Failed tests in the order they ran."""
        return [test for test in self.tests.values() if test.outcome == "failed"]

    def _add_event(self, event: BuildEvent) -> None:
        kind = event.event_type
        if not self.work_only:
            self.events.add(kind, event.timestamp, event.source)
        if self._summary is not None:
            self._summary.add(event)
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, event.data, event.timestamp)
        elif kind.endswith("ExceptionData"):
            self.exceptions.add(event.data)
        elif kind.endswith("BuildFinished"):
            fact = fact_of(event)
            if isinstance(fact, BuildFinished):
                self._decisive = frozenset(fact.failure_ids)

    def _work(self, key: str, kind: WorkKind) -> WorkItem:
        item = self.work.get(key)
        if item is None:
            item = self.work[key] = WorkItem(key, kind, key)
        self._changed_work[key] = None
        return item

    def _test(self, key: str) -> TestResult | None:
        test = self.tests.get(key)
        if test is not None:
            self._changed_tests[key] = None
        return test

    def _new_test(self, key: str, class_name: str | None, name: str | None, owner: str,
                  timestamp: int | None) -> None:
        self.tests[key] = TestResult(key, sanitize_line(class_name or ""),
                                     sanitize_line(name or ""), owner, started_ms=timestamp)
        self._changed_tests[key] = None

    # Gradle

    def _task_started(self, data: JsonObject, timestamp: int | None) -> None:
        item = self._work(f"task:{int_field(data, 'id')}", "task")
        item.path = sanitize_line(text_field(data, "path") or item.path)
        item.detail = sanitize_line(text_field(data, "className") or "")
        item.started_ms = timestamp

    def _task_finished(self, data: JsonObject, timestamp: int | None) -> None:
        item = self._work(f"task:{int_field(data, 'id')}", "task")
        item.path = sanitize_line(text_field(data, "path") or item.path)
        item.outcome = sanitize_line(text_field(data, "outcome") or "unknown").lower()
        item.finished_ms = timestamp
        cacheable = data.get("cacheable")
        item.cacheable = cacheable if isinstance(cacheable, bool) else None
        item.from_cache = item.outcome == "from_cache"

    def _gradle_test_started(self, data: JsonObject, timestamp: int | None) -> None:
        if data.get("suite") is True:
            return
        task_id = int_field(data, "task")
        task = self.work.get(f"task:{task_id}")
        self._new_test(f"{task_id}:{int_field(data, 'id')}", text_field(data, "className"),
                       text_field(data, "name"), task.path if task else "", timestamp)

    def _gradle_test_finished(self, data: JsonObject, timestamp: int | None) -> None:
        test = self._test(f"{int_field(data, 'task')}:{int_field(data, 'id')}")
        if test is None:
            return
        test.finished_ms = timestamp
        test.failure_id = int_field(data, "failureId")
        failed = data.get("failed") is True or data.get("failure") is not None
        test.outcome = "failed" if failed else "skipped" if data.get("skipped") is True else "passed"

    def _gradle_test_output(self, data: JsonObject, _: int | None) -> None:
        test = self._test(f"{int_field(data, 'task')}:{int_field(data, 'test')}")
        text = text_field(data, "output", "message")
        if test is not None and text and sum(map(len, test.output)) < _TEST_OUTPUT_LIMIT:
            test.output.append(sanitize(text))

    # Maven

    def _goal_started(self, data: JsonObject, timestamp: int | None) -> None:
        item = self._work(f"goal:{int_field(data, 'id')}", "goal")
        # A plugin id is group:artifact[:version]; `maven-surefire-plugin` reads as `surefire`.
        parts = (text_field(data, "pluginId") or "").split(":")
        plugin = parts[1] if len(parts) > 1 else parts[0]
        plugin = plugin.removeprefix("maven-").removesuffix("-plugin")
        execution = text_field(data, "executionId")
        name = f"{plugin}:{text_field(data, 'name') or '?'}" + (f" ({execution})" if execution else "")
        project = self._project_name(int_field(data, "projectId"))
        item.path = sanitize_line(f"{project} {name}" if project else name)
        item.detail = sanitize_line(text_field(data, "mojoClassName") or "")
        item.started_ms = timestamp

    def _goal_finished(self, data: JsonObject, timestamp: int | None) -> None:
        item = self._work(f"goal:{int_field(data, 'id')}", "goal")
        item.outcome = sanitize_line(text_field(data, "outcome") or "unknown").lower()
        item.finished_ms = timestamp
        item.failure_id = int_field(data, "failureId")
        item.from_cache = item.outcome == "from_cache"
        reason = data.get("nonCacheableReason") or data.get("cachingDisabledReasonCategory")
        item.cacheable = None if "storeEnabled" not in data else reason is None

    def _project_structure(self, data: JsonObject, _: int | None) -> None:
        projects = data.get("projects")
        for project in projects if isinstance(projects, list) else ():
            if isinstance(project, dict):
                project_id = int_field(project, "id")
                name = text_field(project, "artifactId", "name")
                if project_id is not None and name:
                    self._goal_projects[project_id] = sanitize_line(name)

    def _project_name(self, project_id: int | None) -> str:
        return self._goal_projects.get(project_id or 0, "")

    def _maven_test_started(self, data: JsonObject, timestamp: int | None) -> None:
        if data.get("parent") is None:
            return
        goal = self.work.get(f"goal:{int_field(data, 'goalId')}")
        self._new_test(f"{int_field(data, 'goalId')}:{int_field(data, 'id')}",
                       text_field(data, "className"), text_field(data, "name"),
                       goal.path if goal else "", timestamp)

    def _maven_test_finished(self, data: JsonObject, timestamp: int | None) -> None:
        test = self._test(f"{int_field(data, 'goalId')}:{int_field(data, 'id')}")
        if test is not None:
            outcome = (text_field(data, "outcome") or "").lower()
            test.outcome = {"success": "passed", "": "passed"}.get(outcome, sanitize_line(outcome))
            test.failure_id = int_field(data, "failureId")
            test.finished_ms = timestamp

    # Bazel

    def _bazel_target(self, data: JsonObject, _: int | None) -> None:
        target_id = int_field(data, "id") or 0
        label = sanitize_line(text_field(data, "label") or str(target_id))
        self._labels[target_id] = label
        self._work(f"target:{target_id}", "target").path = label

    def _bazel_configured(self, data: JsonObject, timestamp: int | None) -> None:
        item = self._work(f"target:{int_field(data, 'id')}", "target")
        item.detail = sanitize_line(text_field(data, "targetKind") or "").removesuffix(" rule")
        item.started_ms = timestamp

    def _bazel_completed(self, data: JsonObject, timestamp: int | None) -> None:
        item = self._work(f"target:{int_field(data, 'id')}", "target")
        item.outcome = "success" if data.get("success") is True else "failed"
        item.failure_id = int_field(data, "failureId")
        item.finished_ms = timestamp

    def _bazel_attempt(self, data: JsonObject, _: int | None) -> None:
        target = self._labels.get(int_field(data, "targetId") or 0, "")
        self._attempts[int_field(data, "id") or 0] = target

    def _bazel_test_started(self, data: JsonObject, timestamp: int | None) -> None:
        test_id = int_field(data, "id") or 0
        name = text_field(data, "name")
        if data.get("isSuite") is True:
            self._bazel_suites[test_id] = name or ""
            return
        suite = self._bazel_suites.get(int_field(data, "parentId") or 0)
        owner = self._attempts.get(int_field(data, "testTargetAttemptId") or 0, "")
        self._new_test(f"bazel:{test_id}", suite, name, owner, timestamp)

    def _bazel_test_finished(self, data: JsonObject, timestamp: int | None) -> None:
        test = self._test(f"bazel:{int_field(data, 'id')}")
        if test is not None:
            outcome = sanitize_line(text_field(data, "outcome") or "passed").lower()
            test.outcome = outcome
            test.failure_id = int_field(data, "failureId")
            test.finished_ms = timestamp

    # Console

    def _styled_text(self, data: JsonObject, _: int | None) -> None:
        spans = data.get("spans")
        for span in spans if isinstance(spans, list) else ():
            if isinstance(span, dict):
                text = text_field(span, "text")
                if text and not text.startswith(_TEAMCITY):
                    self._write(text, _STYLE_SGR.get(text_field(span, "style") or ""))

    def _log_event(self, data: JsonObject, _: int | None) -> None:
        message = text_field(data, "message")
        if message and not message.startswith(_TEAMCITY):
            level = text_field(object_field(data, "common"), "logLevel") or ""
            self._write(message if message.endswith("\n") else message + "\n",
                        _LEVEL_SGR.get(level))

    def _write(self, text: str, colour: str | None) -> None:
        clean = sanitize(text)
        if colour is None:
            self._console.append(clean)
            return
        # Colour each line on its own, so a search or a cut line never inherits a stray style.
        body, newline, rest = clean.rpartition("\n") if clean.endswith("\n") else (clean, "", "")
        coloured = "\n".join(f"{colour}{line}\x1b[0m" if line else line
                             for line in body.split("\n"))
        self._console.append(coloured + newline + rest)


_HANDLERS = {
    "TaskStarted": BuildDetail._task_started,
    "TaskFinished": BuildDetail._task_finished,
    "TestStarted": BuildDetail._gradle_test_started,
    "TestFinished": BuildDetail._gradle_test_finished,
    "TestOutput": BuildDetail._gradle_test_output,
    "MvnProjectStructure": BuildDetail._project_structure,
    "MvnGoalExecutionStarted": BuildDetail._goal_started,
    "MvnGoalExecutionFinished": BuildDetail._goal_finished,
    "MvnTestStarted": BuildDetail._maven_test_started,
    "MvnTestFinished": BuildDetail._maven_test_finished,
    "BzlTarget": BuildDetail._bazel_target,
    "BzlTargetConfigured": BuildDetail._bazel_configured,
    "BzlTargetCompleted": BuildDetail._bazel_completed,
    "BzlTestTargetAttemptStarted": BuildDetail._bazel_attempt,
    "BzlTestStarted": BuildDetail._bazel_test_started,
    "BzlTestFinished": BuildDetail._bazel_test_finished,
    "OutputStyledTextEvent": BuildDetail._styled_text,
    "MvnOutputStyledText": BuildDetail._styled_text,
    "NpmOutputStyledText": BuildDetail._styled_text,
    "OutputLogEvent": BuildDetail._log_event,
    "MvnOutputLogEvent": BuildDetail._log_event,
}
