"""What the Export API sends: `Build` and `BuildEvent` messages, kept whole.

A message keeps its exact bytes (`source`) and the JSON object they hold (`raw`), so no field is
ever lost, whatever the server's version. The typed properties read from `raw` and are lenient:
a missing field, a null or a value of an unexpected type reads as None (or empty), never as an
error. Event types this client knows nothing about are carried like any other.

Arriving messages are only checked to be a JSON object (msgspec validates the whole text but
builds only the top level); `raw` is decoded when first read. Writing 200,000 events out as
JSON thus never pays for building 200,000 dictionaries.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import msgspec

from buildwatch.core.sse import SSEEvent

JsonObject = dict[str, Any]


class _AnyObject(msgspec.Struct, gc=False):
    """Decoding into this checks the whole text is one JSON object and builds next to nothing."""


_decoder = msgspec.json.Decoder()
_validator = msgspec.json.Decoder(_AnyObject)


class MalformedMessageError(ValueError):
    """A message's data is not a JSON object."""


def decode_object(data: bytes) -> JsonObject:
    """Decode one message's data, which must be a JSON object.

    Integers of any size are kept exact (entity ids are signed 64-bit). Invalid UTF-8 is read
    with replacement characters, as the SSE standard decodes it.
    """
    value = _decode(_decoder, data)
    if not isinstance(value, dict):
        raise MalformedMessageError(f"expected a JSON object, got {type(value).__name__}")
    return value


def check_object(data: bytes) -> None:
    """Raise MalformedMessageError unless `data` is one well-formed JSON object."""
    _decode(_validator, data)


def _decode(decoder: msgspec.json.Decoder[Any], data: bytes) -> Any:
    try:
        return decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as error:
        # msgspec up to 0.19 raised UnicodeDecodeError on invalid UTF-8, later versions a
        # DecodeError like any other: tell the two apart by the bytes, not by the exception.
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return _decode(decoder, data.decode("utf-8", "replace").encode("utf-8"))
        raise MalformedMessageError(str(error)) from None


def text_field(raw: JsonObject, *names: str) -> str | None:
    """The first of `names` that holds a string (None if none does)."""
    for name in names:
        value = raw.get(name)
        if isinstance(value, str):
            return value
    return None


def int_field(raw: JsonObject, name: str) -> int | None:
    """`raw[name]` if it is an integer (booleans are not), else None."""
    value = raw.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def object_field(raw: JsonObject, name: str) -> JsonObject:
    """`raw[name]` if it is an object, else an empty one."""
    value = raw.get(name)
    return value if isinstance(value, dict) else {}


class _Message(msgspec.Struct, gc=False, eq=False):
    """A well-formed message: its bytes, its id, and the JSON object they hold.

    A msgspec Struct because its constructor runs in C: a batch of messages is made without a
    Python frame per message.
    """

    source: bytes
    """The message's data exactly as the server sent it (UTF-8 JSON)."""
    message_id: str = ""
    """The SSE id of the message."""
    _raw: JsonObject | None = None

    @property
    def raw(self) -> JsonObject:
        """Every field the server sent, decoded on first use."""
        if self._raw is None:
            self._raw = decode_object(self.source)
        return self._raw

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source.decode('utf-8', 'replace')})"


class Build(_Message):
    """A `Build` message: a build Develocity has received and processed.

    Its `message_id` is the build id in a listing and "0" in an events stream. v1 names the
    tool's version `gradleVersion` and the agent's `pluginVersion` and has no `toolType`; it
    lists Maven builds too (`gradleVersion` then holds Maven's version, `pluginVersion` the
    extension's), so a v1 build's tool is only known from its events. The properties read both
    forms.
    """

    @property
    def build_id(self) -> str:
        """The 13-character build id ("" if the server left it out)."""
        return text_field(self.raw, "buildId") or ""

    @property
    def timestamp(self) -> int | None:
        """When Develocity finished receiving the build (epoch ms), not when it ran."""
        return int_field(self.raw, "timestamp")

    @property
    def tool_type(self) -> str | None:
        """gradle, maven, bazel, npm, or whatever a newer server names; None over v1."""
        return text_field(self.raw, "toolType") or None

    @property
    def tool_version(self) -> str | None:
        """The build tool's version."""
        return text_field(self.raw, "toolVersion", "gradleVersion")

    @property
    def agent_version(self) -> str | None:
        """The version of the Develocity plugin or extension that published the build."""
        return text_field(self.raw, "agentVersion", "pluginVersion")


class BuildEvent(_Message):
    """A `BuildEvent` message: one event of a build, of any type and version.

    Its `message_id` is its position among the build's events, from 1.
    """

    @property
    def timestamp(self) -> int | None:
        """When the event happened, by the build machine's clock (epoch ms)."""
        return int_field(self.raw, "timestamp")

    @property
    def event_type(self) -> str:
        """The unversioned event type, e.g. `TaskFinished` ("" if the server left it out)."""
        # Read for every event several times over (summary, failure details): inlined.
        kind = self.raw.get("type")
        name = kind.get("eventType") if isinstance(kind, dict) else None
        return name if isinstance(name, str) else ""

    @property
    def version(self) -> tuple[int | None, int | None]:
        """(major, minor) version of the event type."""
        kind = object_field(self.raw, "type")
        return int_field(kind, "majorVersion"), int_field(kind, "minorVersion")

    @property
    def data(self) -> JsonObject:
        """The event's own fields (empty for event types that have none)."""
        return object_field(self.raw, "data")


class SkippedMessage:
    """A message that could not be read as what its stream carries; reported, never dropped."""

    __slots__ = ("event", "message_id", "reason", "source")

    def __init__(self, event: str, source: bytes, message_id: str, reason: str) -> None:
        self.event = event
        """The SSE event name the server gave it."""
        self.source = source
        """Its data as the server sent it."""
        self.message_id = message_id
        self.reason = reason
        """Why it was skipped, in a few words."""

    def __repr__(self) -> str:
        return f"SkippedMessage(id={self.message_id!r}, reason={self.reason!r})"


Message = Build | BuildEvent | SkippedMessage
"""What a stream yields: a build, an event, or a message that could not be read."""

_KINDS: dict[str, type[Build] | type[BuildEvent]] = {"Build": Build, "BuildEvent": BuildEvent}
_event_name, _event_data, _event_id = attrgetter("event"), attrgetter("data"), attrgetter("id")


def message_from(event: SSEEvent) -> Message:
    """The model for one SSE message, chosen by its event name (`Build` or `BuildEvent`)."""
    kind = _KINDS.get(event.event)
    if kind is None:
        return SkippedMessage(
            event.event, event.data, event.id, f"unexpected {event.event!r} message"
        )
    try:
        _validator.decode(event.data)
    except (msgspec.DecodeError, UnicodeDecodeError):
        # The slow path tells invalid UTF-8 (read with replacement) from malformed JSON.
        try:
            check_object(event.data)
        except MalformedMessageError as error:
            return SkippedMessage(event.event, event.data, event.id, f"malformed JSON: {error}")
    return kind(event.data, event.id)


def messages_from(events: list[SSEEvent]) -> list[Message]:
    """`message_from` for each event, made by C loops when all are well-formed and of one kind."""
    names = set(map(_event_name, events))
    kind = _KINDS.get(names.pop()) if len(names) == 1 else None
    if kind is not None:
        sources = list(map(_event_data, events))
        try:
            deque(map(_validator.decode, sources), maxlen=0)
        except (msgspec.DecodeError, UnicodeDecodeError):
            pass
        else:
            return list(map(kind, sources, map(_event_id, events)))
    return list(map(message_from, events))


# Typed views of the events a build's summary is made of. Each tool names them differently
# (`BuildAgent`, `MvnBuildAgent`, `NpmBuildAgent`); `fact_of` maps them to one shape. They are
# msgspec Structs, which cost next to nothing to define: headless commands start faster.


class BuildStarted(msgspec.Struct, frozen=True, gc=False):
    """The build started (Bazel also says which command it ran, and where)."""

    timestamp: int | None
    command: str | None = None
    workspace: str | None = None


class BuildFinished(msgspec.Struct, frozen=True, gc=False):
    """The build finished; `failed` is None when the event does not say."""

    timestamp: int | None
    failed: bool | None
    failure_ids: tuple[int, ...] = ()
    exit_code: int | None = None
    exit_message: str | None = None


class BuildAgent(msgspec.Struct, frozen=True, gc=False):
    """Who ran the build, and on which machine."""

    username: str | None
    hostname: str | None


class RequestedWork(msgspec.Struct, frozen=True, gc=False):
    """What was asked for: Gradle tasks, Maven goals, an npm or Bazel command."""

    items: tuple[str, ...]


class ProjectName(msgspec.Struct, frozen=True, gc=False):
    """The name of the project that was built (root project, top-level module, package)."""

    name: str
    root: bool | None = None
    """Whether it is the root build's (build path ":"), where the event tells: a Gradle build
    with buildSrc or included builds sends one ProjectStructure per build."""


class UserTag(msgspec.Struct, frozen=True, gc=False):
    """A tag set on the build (`CI`, a branch, `Dirty`, ...)."""

    tag: str


class NamedValue(msgspec.Struct, frozen=True, gc=False):
    """A custom value (`Git commit id`, ...) or a Bazel metadata or workspace-status item."""

    key: str
    value: str | None


class UserLink(msgspec.Struct, frozen=True, gc=False):
    """A link set on the build."""

    label: str | None
    url: str | None


class FailureInfo(msgspec.Struct, frozen=True, gc=False):
    """One failure: its id (where the event model has one), exception class and message."""

    failure_id: int | None
    class_name: str | None
    message: str | None


class Failures(msgspec.Struct, frozen=True, gc=False):
    """The failures recorded for a build (ExceptionData or npm's failure event)."""

    failures: tuple[FailureInfo, ...]


Fact = (
    BuildStarted
    | BuildFinished
    | BuildAgent
    | RequestedWork
    | ProjectName
    | UserTag
    | NamedValue
    | UserLink
    | Failures
)


def _strings(value: object) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


def _ids(value: object) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, int) and not isinstance(item, bool))


def _bool(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _started(event: BuildEvent, data: JsonObject) -> Fact:
    return BuildStarted(
        event.timestamp, text_field(data, "command"), text_field(data, "workspaceDirectory")
    )


def _gradle_finished(event: BuildEvent, data: JsonObject) -> Fact:
    failure_id = int_field(data, "failureId")
    failed = failure_id is not None or data.get("failure") is not None
    return BuildFinished(event.timestamp, failed, () if failure_id is None else (failure_id,))


def _maven_finished(event: BuildEvent, data: JsonObject) -> Fact:
    failure_ids = _ids(data.get("failureIds"))
    failed = _bool(data.get("failed"))
    # With --fail-never Maven reports failed=false while listing failures: they still count.
    return BuildFinished(
        event.timestamp, bool(failed or failure_ids) if failed is not None else None, failure_ids
    )


def _bazel_finished(event: BuildEvent, data: JsonObject) -> Fact:
    exit_code = object_field(data, "exitCode")
    code = int_field(exit_code, "exitCode")
    failed = _bool(data.get("failed"))
    if failed is None and code is not None:
        failed = code != 0
    return BuildFinished(
        event.timestamp, failed, (), code, text_field(exit_code, "exitCodeMessage")
    )


def _npm_finished(event: BuildEvent, data: JsonObject) -> Fact:
    code = int_field(data, "exitCode")
    signal = text_field(data, "signal")
    # A null exit code means the process was killed (by `signal`).
    failed = code != 0 if code is not None else True if signal else None
    return BuildFinished(event.timestamp, failed, (), code, signal)


def _agent(_: BuildEvent, data: JsonObject) -> Fact:
    return BuildAgent(
        text_field(data, "username"), text_field(data, "publicHostname", "localHostname")
    )


def _gradle_requested(_: BuildEvent, data: JsonObject) -> Fact:
    return RequestedWork(_strings(data.get("requested")))


def _maven_requested(_: BuildEvent, data: JsonObject) -> Fact:
    return RequestedWork(_strings(data.get("goals")))


def _npm_requested(_: BuildEvent, data: JsonObject) -> Fact:
    command = text_field(data, "command")
    return RequestedWork(((command,) if command else ()) + _strings(data.get("args")))


def _project(_: BuildEvent, data: JsonObject) -> Fact | None:
    name = text_field(data, "rootProjectName", "topLevelProjectName", "name")
    if not name:
        return None
    projects = data.get("projects")
    paths = [
        project.get("buildPath")
        for project in (projects if isinstance(projects, list) else ())
        if isinstance(project, dict) and isinstance(project.get("buildPath"), str)
    ]
    return ProjectName(name, ":" in paths if paths else None)


def _tag(_: BuildEvent, data: JsonObject) -> Fact | None:
    tag = text_field(data, "tag")
    return UserTag(tag) if tag is not None else None


def _named_value(_: BuildEvent, data: JsonObject) -> Fact | None:
    key = text_field(data, "key")
    return NamedValue(key, text_field(data, "value")) if key is not None else None


def _link(_: BuildEvent, data: JsonObject) -> Fact:
    return UserLink(text_field(data, "label"), text_field(data, "url"))


def _exception_data(_: BuildEvent, data: JsonObject) -> Fact:
    failures = []
    for key, exception in object_field(data, "exceptions").items():
        if isinstance(exception, dict):
            failure_id = int(key) if key.lstrip("-").isdigit() else None
            failures.append(
                FailureInfo(
                    failure_id, text_field(exception, "className"), text_field(exception, "message")
                )
            )
    return Failures(tuple(failures))


def _npm_failure(_: BuildEvent, data: JsonObject) -> Fact:
    return Failures((FailureInfo(None, None, text_field(data, "message")),))


_FACTS: dict[str, Callable[[BuildEvent, JsonObject], Fact | None]] = {
    "BuildStarted": _started,
    "MvnBuildStarted": _started,
    "BzlBuildStarted": _started,
    "NpmBuildStarted": _started,
    "BuildFinished": _gradle_finished,
    "MvnBuildFinished": _maven_finished,
    "BzlBuildFinished": _bazel_finished,
    "NpmBuildFinished": _npm_finished,
    "BuildAgent": _agent,
    "MvnBuildAgent": _agent,
    "NpmBuildAgent": _agent,
    "BuildRequestedTasks": _gradle_requested,
    "MvnBuildRequestedGoals": _maven_requested,
    "NpmRequestedCommand": _npm_requested,
    "ProjectStructure": _project,
    "MvnProjectStructure": _project,
    "NpmPackage": _project,
    "UserTag": _tag,
    "MvnUserTag": _tag,
    "NpmUserTag": _tag,
    "UserNamedValue": _named_value,
    "MvnUserNamedValue": _named_value,
    "NpmUserNamedValue": _named_value,
    "BzlBuildMetadataItem": _named_value,
    "BzlWorkspaceStatusItem": _named_value,
    "UserLink": _link,
    "MvnUserLink": _link,
    "NpmUserLink": _link,
    "ExceptionData": _exception_data,
    "MvnExceptionData": _exception_data,
    "BzlExceptionData": _exception_data,
    "NpmFailure": _npm_failure,
}

SUMMARY_EVENT_TYPES = frozenset(_FACTS)
"""Every event type `fact_of` understands, whatever the tool."""


def fact_of(event: BuildEvent) -> Fact | None:
    """The typed view of a summary-relevant event; None for every other event type."""
    reader = _FACTS.get(event.event_type)
    return None if reader is None else reader(event, event.data)
