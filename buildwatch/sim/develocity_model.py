"""What every simulated Develocity build is made of, whatever its build tool.

A `BuildSummary` is the cheap, listed part of a build (the `Build` message and the plan its
events follow). `Event` is one `BuildEvent` of the Develocity event model. The helpers here are
the pieces the tool-specific generators share: a build clock, 64-bit entity ids, Git user data
and exception data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from buildwatch.sim.develocity_git import COMMON_CUSTOM_USER_DATA, branch_value, git_naming
from buildwatch.sim.world import Commit, World

ToolType = Literal["gradle", "maven", "bazel", "npm"]
JsonObject = Mapping[str, Any]


@dataclass(frozen=True)
class BuildSummary:
    """A published build: what the listing says about it and what its events will show."""

    build_id: str
    index: int
    """Position in publication order."""
    timestamp: int
    """When Develocity finished receiving it (epoch ms); its events happen before."""
    tool_type: ToolType
    tool_version: str
    agent_version: str
    project: str
    user: str
    host: str
    commit: Commit
    failed: bool
    duration_ms: int
    target_events: int
    """For a big build, exactly how many events it has (padded with log lines); else 0."""
    exotic: bool
    """Carries event types and fields from a newer event model (the `unknown` fault)."""
    script: BuildScript | None = None
    """What fails in it, when a scenario decides (the triage world); else chance does."""

    @property
    def started_ms(self) -> int:
        """When the build started on its machine (the upload takes a moment after it ends)."""
        return self.timestamp - self.duration_ms - 1500

    @property
    def on_ci(self) -> bool:
        """Whether a CI agent ran it rather than a developer."""
        return self.user == "ci"

    def listing_data(self, api_version: int) -> dict[str, Any]:
        """The `data` of this build's `Build` message in Export API v1 or v2."""
        if api_version == 1:
            return {
                "buildId": self.build_id,
                "timestamp": self.timestamp,
                "gradleVersion": self.tool_version,
                "pluginVersion": self.agent_version,
            }
        return {
            "buildId": self.build_id,
            "timestamp": self.timestamp,
            "toolType": self.tool_type,
            "toolVersion": self.tool_version,
            "agentVersion": self.agent_version,
        }


@dataclass(frozen=True)
class BuildScript:
    """What fails in a scripted build. Tests are (class, method) pairs, run by the first
    subproject (Gradle) or module (Maven), or (suite, case) pairs in a Bazel build, the suite
    naming its test target."""

    failing_tests: tuple[tuple[str, str], ...] = ()
    """Fail every time they run: the build fails."""
    retried_tests: tuple[tuple[str, str], ...] = ()
    """Fail, then pass when run again in the same build (Gradle's test retry, surefire's
    reruns); in a Bazel build, their targets' first attempt fails and the second passes."""
    failing_work: str | None = None
    """A Gradle task name: the last subproject's fails, and with it the build."""
    failure_message: str | None = None
    """The failure an npm build reports."""

    @property
    def fails(self) -> bool:
        """Whether the build fails."""
        return bool(self.failing_tests or self.failing_work or self.failure_message)


class RawJson(str):
    """Event data already encoded as JSON, for the bulk events of huge builds."""


class Event(NamedTuple):
    """One BuildEvent: when, which event type and version, and its data."""

    timestamp: int
    event_type: str
    major: int
    minor: int
    data: JsonObject | RawJson


class Skipped(NamedTuple):
    """`size` events in a row that a filtered generation drew from the random stream without
    making, as nobody asked for their type; they still take their ids."""

    size: int


class Clock:
    """The build machine's clock as a build runs: it only moves forward, and stops short of the
    moment the build was published, however long the generated work would take."""

    def __init__(self, summary: BuildSummary, rng: random.Random) -> None:
        self.ms = summary.started_ms
        self._end = summary.timestamp - 1000
        self._rng = rng

    def event(self, event_type: str, minor: int, data: JsonObject, *, advance: int = 1) -> Event:
        """An event of `event_type` 1.`minor` now, then move on by up to `advance` ms."""
        event = Event(self.ms, event_type, 1, minor, data)
        if advance:
            self.wait(0, advance)
        return event

    def wait(self, at_least: int, at_most: int) -> None:
        """Let time pass, as running a task or a test does."""
        self.ms = min(self.ms + self._rng.randint(at_least, at_most), self._end)

    def pass_events(self, count: int) -> None:
        """Let time pass as `count` events would, drawing what they draw from the random stream:
        a variant with fewer events leaves the rest of the build as it was."""
        for _ in range(count):
            self.wait(0, 1)


def long_id(rng: random.Random) -> int:
    """A signed 64-bit entity id, as the event model uses for tasks, tests and failures."""
    return rng.getrandbits(64) - 2**63


def os_of(summary: BuildSummary) -> tuple[str, str, str, str]:
    """(family, name, version, arch) of the machine that ran the build."""
    if summary.host.endswith("mbp"):
        return ("mac", "Mac OS X", "14.6.1", "aarch64")
    return ("linux", "Linux", "6.8.0-45-generic", "amd64")


def user_data(clock: Clock, summary: BuildSummary, world: World, prefix: str) -> Iterator[Event]:
    """Tags, links and custom values as the Common Custom User Data plugin writes them, the
    Git values under one of the names real builds use (`git_naming`).

    `prefix` is the tool's event-name prefix: "" for Gradle, "Mvn" for Maven, "Npm" for npm.
    """
    commit = summary.commit
    tags = ["CI" if summary.on_ci else "LOCAL", commit.branch, os_of(summary)[1]]
    if not summary.on_ci and summary.index % 3 == 0:
        tags.append("Dirty")
    for tag in tags:
        yield clock.event(f"{prefix}UserTag", 0, {"tag": tag})
    naming = git_naming(world.seed, summary.index)
    git = (
        (naming.repository, world.repo_url),
        (naming.branch, branch_value(naming, commit.branch)),
        (naming.commit, commit.sha),
    )
    values = [(key, value) for key, value in git if key is not None]
    if naming == COMMON_CUSTOM_USER_DATA:
        values.append(("Git commit id short", commit.sha[:7]))
    # The same draws from the build's random stream as the plugin's four values take.
    clock.pass_events(4 - len(values))
    if summary.on_ci:
        values.append(("CI provider", "GitHub Actions"))
        values.append(("CI run", str(40_000 + summary.index)))
    for key, value in values:
        yield clock.event(f"{prefix}UserNamedValue", 0, {"key": key, "value": value})
    yield clock.event(
        f"{prefix}UserLink",
        0,
        {"label": "Git commit", "url": f"{world.repo_url}/commit/{commit.sha}"},
    )
    if summary.on_ci:
        url = f"{world.repo_url}/actions/runs/{9_100_000_000 + summary.index}"
        yield clock.event(f"{prefix}UserLink", 0, {"label": "GitHub Actions build", "url": url})


@dataclass(frozen=True)
class Failure:
    """An exception as ExceptionData records it: class, message and the frames it came from."""

    class_name: str
    message: str
    frames: tuple[tuple[str, str, str, int], ...]
    """(declaring class, method, file, line) from innermost out."""
    cause: Failure | None = None


def exception_data(
    clock: Clock, event_type: str, failures: Mapping[int, Failure], rng: random.Random
) -> Event:
    """One ExceptionData event holding every failure of the build, keyed by failure id.

    Exceptions, stack traces and frames are stored in tables referring to each other by id, as
    the event model does (map keys are JSON strings).
    """
    exceptions: dict[str, Any] = {}
    stack_traces: dict[str, Any] = {}
    frames: dict[str, Any] = {}
    frame_ids: dict[tuple[str, str, str, int], str] = {}

    def add(failure: Failure, failure_id: int) -> None:
        trace = []
        for frame in failure.frames:
            if frame not in frame_ids:
                frame_ids[frame] = str(long_id(rng))
                declaring, method, file_name, line = frame
                frames[frame_ids[frame]] = {
                    "declaringClass": declaring,
                    "methodName": method,
                    "fileName": file_name,
                    "lineNumber": line,
                    "fileRef": None,
                    "classLoaderName": "app",
                    "moduleName": None,
                    "moduleVersion": None,
                }
            trace.append(frame_ids[frame])
        trace_id = str(long_id(rng))
        stack_traces[trace_id] = {"stackFrames": trace}
        causes = []
        if failure.cause is not None:
            cause_id = long_id(rng)
            add(failure.cause, cause_id)
            causes.append(str(cause_id))
        exceptions[str(failure_id)] = {
            "className": failure.class_name,
            "message": failure.message,
            "stackTrace": trace_id,
            "causes": causes,
            "metadata": {},
            "classLevelAnnotations": [],
        }

    for failure_id, failure in failures.items():
        add(failure, failure_id)
    return clock.event(
        event_type,
        1,
        {"exceptions": exceptions, "stackTraces": stack_traces, "stackFrames": frames},
    )
