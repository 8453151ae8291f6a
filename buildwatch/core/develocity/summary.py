"""A build in one line: who built what, where, from which commit, how it ended and how long it took.

The summary is made from a handful of event types (`summary_event_types` names them per tool, for
a cheap `eventTypes`-filtered request); reducing is idempotent, so an event delivered twice
changes nothing.

The build tool is what the listing says (v2's `toolType`) or, when it says nothing (v1 lists
Maven builds as it lists Gradle ones, with no `toolType`), what the events say: their type
names are the tool's own (`MvnBuildStarted`, `BzlBuildStarted`, `BuildStarted`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from buildwatch.core.develocity.git_values import DEFAULT_GIT_VALUE_NAMES, GitValueNames
from buildwatch.core.develocity.models import (
    SUMMARY_EVENT_TYPES,
    Build,
    BuildAgent,
    BuildEvent,
    BuildFinished,
    BuildStarted,
    FailureInfo,
    Failures,
    NamedValue,
    ProjectName,
    RequestedWork,
    UserLink,
    UserTag,
    fact_of,
)
from buildwatch.core.shared_values import shared

Outcome = Literal["success", "failed", "unknown"]

_SUMMARY_EVENT_TYPES_BY_TOOL: dict[str, tuple[str, ...]] = {
    "gradle": (
        "BuildStarted",
        "BuildFinished",
        "BuildAgent",
        "ProjectStructure",
        "BuildRequestedTasks",
        "UserTag",
        "UserNamedValue",
        "UserLink",
        "ExceptionData",
    ),
    "maven": (
        "MvnBuildStarted",
        "MvnBuildFinished",
        "MvnBuildAgent",
        "MvnProjectStructure",
        "MvnBuildRequestedGoals",
        "MvnUserTag",
        "MvnUserNamedValue",
        "MvnUserLink",
        "MvnExceptionData",
    ),
    "bazel": (
        "BzlBuildStarted",
        "BzlBuildFinished",
        "BzlBuildMetadataItem",
        "BzlWorkspaceStatusItem",
        "BzlExceptionData",
    ),
    "npm": (
        "NpmBuildStarted",
        "NpmBuildFinished",
        "NpmBuildAgent",
        "NpmPackage",
        "NpmRequestedCommand",
        "NpmUserTag",
        "NpmUserNamedValue",
        "NpmUserLink",
        "NpmFailure",
    ),
}

TOOLS = tuple(_SUMMARY_EVENT_TYPES_BY_TOOL)
"""The build tools whose events this client knows, in the order a v1 build is tried."""
_TOOL_PREFIXES = (("Mvn", "maven"), ("Bzl", "bazel"), ("Npm", "npm"))
_GRADLE_TYPES = frozenset(_SUMMARY_EVENT_TYPES_BY_TOOL["gradle"])
# Bazel's `--build_metadata` / workspace status conventionally name who built where these ways.
_USER_KEYS = ("BUILD_USER",)
_HOST_KEYS = ("BUILD_HOST",)


def summary_event_types(tool_type: str) -> tuple[str, ...]:
    """The event types a summary of a `tool_type` build needs (all known ones for a new tool)."""
    return _SUMMARY_EVENT_TYPES_BY_TOOL.get(tool_type) or tuple(sorted(SUMMARY_EVENT_TYPES))


def summary_passes(tool_type: str | None) -> tuple[tuple[str, ...], ...]:
    """The `eventTypes` filters to ask in turn for a build's summary, until its tool is known.

    A build whose listing names its tool needs one; a v1 build (no `toolType`) is asked for
    Gradle's types first, and only when none came back for the next tool's, and so on: a
    server answers a filter of another tool's types with no events at all.
    """
    if tool_type is not None:
        return (summary_event_types(tool_type),)
    return tuple(summary_event_types(tool) for tool in TOOLS)


def tool_of_event(event_type: str) -> str | None:
    """The build tool an event type belongs to (None for one that does not tell)."""
    for prefix, tool in _TOOL_PREFIXES:
        if event_type.startswith(prefix):
            return tool
    return "gradle" if event_type in _GRADLE_TYPES else None


@dataclass(frozen=True, slots=True)
class BuildSummary:
    """What the build's summary events say about it.

    Slotted, and its repeated values shared with other builds' (`shared_values`), however it
    is made (read from a server or decoded from the history): the monitor holds 100,000.
    """

    build_id: str
    tool_type: str | None
    """What the listing or, failing that, the events say; None while neither has."""
    tool_version: str | None
    published_ms: int | None
    """When Develocity received the build (epoch ms)."""
    outcome: Outcome
    """`unknown` when no finish event arrived (the build's data is incomplete)."""
    project: str | None = None
    requested: tuple[str, ...] = ()
    """Requested tasks (Gradle), goals (Maven) or command (npm, Bazel)."""
    user: str | None = None
    host: str | None = None
    tags: tuple[str, ...] = ()
    custom_values: tuple[tuple[str, str | None], ...] = ()
    links: tuple[tuple[str | None, str | None], ...] = ()
    git_commit: str | None = None
    git_branch: str | None = None
    git_repository: str | None = None
    started_ms: int | None = None
    finished_ms: int | None = None
    exit_code: int | None = None
    failures: tuple[FailureInfo, ...] = ()
    """The build's failures, the one that failed the build first."""

    def __post_init__(self) -> None:
        for name in _SHARED_TEXTS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, shared(value))
        object.__setattr__(self, "requested", _shared_texts(self.requested))
        object.__setattr__(self, "tags", _shared_texts(self.tags))
        object.__setattr__(self, "custom_values", _shared_pairs(self.custom_values))
        object.__setattr__(self, "links", _shared_pairs(self.links))

    @property
    def duration_ms(self) -> int | None:
        """Finish minus start by the build machine's clock, if both are known."""
        if self.started_ms is None or self.finished_ms is None:
            return None
        return max(0, self.finished_ms - self.started_ms)

    @property
    def failure(self) -> FailureInfo | None:
        """The failure that failed the build, if any is known."""
        return self.failures[0] if self.failures else None


_SHARED_TEXTS = ("tool_type", "tool_version", "project", "user", "host", "git_commit",
                 "git_branch", "git_repository")
"""The fields of one text that builds repeat (the build id alone is each build's own)."""


def _shared_texts(texts: tuple[str, ...]) -> tuple[str, ...]:
    return shared(tuple([shared(text) for text in texts])) if texts else texts


def _shared_pairs(pairs: tuple[tuple[Any, Any], ...]) -> tuple[tuple[Any, Any], ...]:
    if not pairs:
        return pairs
    return shared(tuple([shared((shared(first), shared(second))) for first, second in pairs]))


@dataclass
class SummaryBuilder:
    """Reduces a build's events, in any number of steps, into a `BuildSummary`."""

    build: Build
    git_names: GitValueNames = DEFAULT_GIT_VALUE_NAMES
    """Which custom values name the Git commit, branch and repository."""
    _tool: str | None = None
    _started: BuildStarted | None = None
    _finished: BuildFinished | None = None
    _agent: BuildAgent | None = None
    _project: str | None = None
    _project_is_root = False
    _requested: tuple[str, ...] = ()
    _tags: dict[str, None] = field(default_factory=dict)
    _values: dict[tuple[str, str | None], None] = field(default_factory=dict)
    _links: dict[tuple[str | None, str | None], None] = field(default_factory=dict)
    _failures: dict[tuple[int | None, str | None, str | None], FailureInfo] = field(
        default_factory=dict
    )

    @property
    def tool_type(self) -> str | None:
        """The build tool, from the listing or else from the first event that tells."""
        return self.build.tool_type or self._tool

    def add(self, event: BuildEvent) -> None:
        """Take one event into account; events that say nothing about the summary are ignored."""
        if self._tool is None:
            self._tool = tool_of_event(event.event_type)
        fact = fact_of(event)
        if isinstance(fact, BuildStarted):
            self._started = fact
        elif isinstance(fact, BuildFinished):
            self._finished = fact
        elif isinstance(fact, BuildAgent):
            self._agent = fact
        elif isinstance(fact, ProjectName):
            # buildSrc and included builds bring their own ProjectStructure, before or after the
            # root build's; without a build path (before ProjectStructure 1.2) the first is it.
            if not self._project_is_root and (fact.root or self._project is None):
                self._project, self._project_is_root = fact.name, bool(fact.root)
        elif isinstance(fact, RequestedWork):
            self._requested = fact.items
        elif isinstance(fact, UserTag):
            self._tags[fact.tag] = None
        elif isinstance(fact, NamedValue):
            self._values[(fact.key, fact.value)] = None
        elif isinstance(fact, UserLink):
            self._links[(fact.label, fact.url)] = None
        elif isinstance(fact, Failures):
            for failure in fact.failures:
                key = (failure.failure_id, failure.class_name, failure.message)
                self._failures[key] = failure

    def result(self) -> BuildSummary:
        """The summary of the events added so far."""
        build, finished, agent = self.build, self._finished, self._agent
        outcome: Outcome = "unknown"
        if finished is not None and finished.failed is not None:
            outcome = "failed" if finished.failed else "success"
        return BuildSummary(
            build_id=build.build_id,
            tool_type=self.tool_type,
            tool_version=build.tool_version,
            published_ms=build.timestamp,
            outcome=outcome,
            project=self._project or self._workspace_name(),
            requested=self._requested,
            user=(agent.username if agent else None) or self._value(_USER_KEYS),
            host=(agent.hostname if agent else None) or self._value(_HOST_KEYS),
            tags=tuple(self._tags),
            custom_values=tuple(self._values),
            links=tuple(self._links),
            git_commit=self.git_names.find("commit", self._values),
            git_branch=self.git_names.find("branch", self._values),
            git_repository=self.git_names.find("repository", self._values),
            started_ms=self._started.timestamp if self._started else None,
            finished_ms=finished.timestamp if finished else None,
            exit_code=finished.exit_code if finished else None,
            failures=self._ordered_failures(finished),
        )

    def _workspace_name(self) -> str | None:
        # A Bazel build names no project; its workspace directory is the next best thing.
        workspace = self._started.workspace if self._started else None
        return workspace.rstrip("/").rsplit("/", 1)[-1] or None if workspace else None

    def _value(self, keys: tuple[str, ...]) -> str | None:
        for key in keys:
            for value_key, value in self._values:
                if value_key == key and value:
                    return value
        return None

    def _ordered_failures(self, finished: BuildFinished | None) -> tuple[FailureInfo, ...]:
        failures = list(self._failures.values())
        if finished is not None and finished.failure_ids:
            decisive = set(finished.failure_ids)
            failures.sort(key=lambda failure: failure.failure_id not in decisive)
        return tuple(failures)


def summarize(
    build: Build,
    events: Iterable[BuildEvent],
    git_names: GitValueNames = DEFAULT_GIT_VALUE_NAMES,
) -> BuildSummary:
    """The summary of a build from its events (all of them, or the summary types only)."""
    builder = SummaryBuilder(build, git_names)
    for event in events:
        builder.add(event)
    return builder.result()
