"""Typed views of the BuildBuddy API's JSON, tolerant the way the server's encoding requires.

The server writes Go protojson: lowerCamelCase names, int64 as strings (older hand-written
examples show numbers, so both are read), enums by name, zero values and empty lists left out,
Timestamps as RFC 3339 and Durations as `"12.500s"`. Newer servers add fields and enum values:
unknown fields are kept in `raw` (what `--json` prints) and unknown enum values parse to
`UNRECOGNIZED` with the server's name kept beside them. A value of the wrong JSON type is not
something the API sends, so it raises `MalformedResponseError` naming the field.
"""

from __future__ import annotations

import base64
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from buildwatch.core.buildbuddy.errors import MalformedResponseError

Json = Mapping[str, Any]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DURATION = re.compile(r"^(-?)(\d+)(?:\.(\d{1,9}))?s$")
_E = TypeVar("_E", bound="ProtoEnum")


class ProtoEnum(enum.Enum):
    """A proto enum read by name (or number) that never fails on a value it does not know."""

    @classmethod
    def parse(cls: type[_E], raw: object, where: str) -> tuple[_E, str]:
        """The member for `raw` and the name to show (the server's own for unknown values).

        An absent value is the proto default, the member numbered 0.
        """
        if raw is None:
            default = cls(0)
            return default, default.name
        if isinstance(raw, str):
            member = cls.__members__.get(raw)
            return (member, raw) if member is not None else (cls["UNRECOGNIZED"], raw)
        if isinstance(raw, int) and not isinstance(raw, bool):
            try:
                member = cls(raw)
            except ValueError:
                return cls["UNRECOGNIZED"], str(raw)
            return member, member.name
        raise MalformedResponseError(f"BuildBuddy sent a non-enum {where}: {raw!r:.40}")


class TargetStatus(ProtoEnum):
    """A target's aggregate status (`common.proto` `Status`)."""

    STATUS_UNSPECIFIED = 0
    BUILDING = 1
    BUILT = 2
    FAILED_TO_BUILD = 3
    TESTING = 4
    PASSED = 5
    FAILED = 6
    TIMED_OUT = 7
    CANCELLED = 8
    TOOL_FAILED = 9
    INCOMPLETE = 10
    FLAKY = 11
    UNKNOWN = 12
    SKIPPED = 13
    UNRECOGNIZED = -1


class InvocationStatus(ProtoEnum):
    """Whether an invocation is still running, finished, or lost its event stream."""

    UNKNOWN_INVOCATION_STATUS = 0
    COMPLETE_INVOCATION_STATUS = 1
    PARTIAL_INVOCATION_STATUS = 2
    DISCONNECTED_INVOCATION_STATUS = 3
    UNRECOGNIZED = -1


TRIAGE_ORDER: tuple[TargetStatus, ...] = (
    TargetStatus.FAILED,
    TargetStatus.FAILED_TO_BUILD,
    TargetStatus.TIMED_OUT,
    TargetStatus.FLAKY,
    TargetStatus.TOOL_FAILED,
    TargetStatus.INCOMPLETE,
    TargetStatus.CANCELLED,
    TargetStatus.UNRECOGNIZED,
    TargetStatus.BUILDING,
    TargetStatus.TESTING,
    TargetStatus.PASSED,
    TargetStatus.BUILT,
    TargetStatus.SKIPPED,
    TargetStatus.UNKNOWN,
    TargetStatus.STATUS_UNSPECIFIED,
)
"""Failures first, as the web UI orders its target cards; a status we do not know comes right
after them, since a newer server may have added a new kind of failure."""


def _str(data: Json, key: str, where: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedResponseError(f"BuildBuddy sent a non-string {where}.{key}: {value!r:.40}")
    return value


def _int64(data: Json, key: str, where: str) -> int:
    value = data.get(key)
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,19}", value):
        return int(value)
    raise MalformedResponseError(f"BuildBuddy sent a non-integer {where}.{key}: {value!r:.40}")


def _bool(data: Json, key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise MalformedResponseError(f"BuildBuddy sent a non-boolean {where}.{key}: {value!r:.40}")
    return value


def _message(data: Json, key: str, where: str) -> Json:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedResponseError(f"BuildBuddy sent a non-object {where}.{key}: {value!r:.40}")
    return value


def messages(data: Json, key: str, where: str) -> list[Json]:
    """A repeated message field: absent means empty; anything but a list of objects is refused."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise MalformedResponseError(f"BuildBuddy sent a malformed list {where}.{key}")
    return value


def _strings(data: Json, key: str, where: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedResponseError(f"BuildBuddy sent a malformed list {where}.{key}")
    return tuple(value)


def _usec_time(data: Json, key: str, where: str) -> datetime | None:
    usec = _int64(data, key, where)
    return _EPOCH + timedelta(microseconds=usec) if usec else None


def parse_timestamp(value: object, where: str) -> datetime | None:
    """A JSON `google.protobuf.Timestamp` (RFC 3339, 0-9 fractional digits) as an aware UTC time."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
    raise MalformedResponseError(f"BuildBuddy sent a malformed timestamp {where}: {value!r:.40}")


def parse_duration(value: object, where: str) -> timedelta | None:
    """A JSON `google.protobuf.Duration` (`"12.500s"`, `"-3s"`), exact to the microsecond."""
    if value is None:
        return None
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise MalformedResponseError(f"BuildBuddy sent a malformed duration {where}: {value!r:.40}")
    sign, seconds, fraction = match.groups()
    micros = int(seconds) * 1_000_000 + int((fraction or "").ljust(6, "0")[:6])
    return timedelta(microseconds=-micros if sign else micros)


_ID_PREFIX = "id::v1::"


def decoded_id(value: str) -> str | None:
    """What an encoded id names, or None when `value` is not one.

    Action ids, and the target ids of servers before mid-2022, are unpadded base64url of
    `id::v1::<name>`: `aWQ6OnYxOjpidWlsZA` is the action `build`, and
    `aWQ6OnYxOjovLzpzdGF0aWM` the target `//:static`. Newer servers send a target's label as
    its id, which is not such an encoding.
    """
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return text.removeprefix(_ID_PREFIX) if text.startswith(_ID_PREFIX) else None


def label_of(target_id: str) -> str:
    """The label a target id stands for: the id itself on servers since mid-2022, decoded on
    older ones (whose targets and actions may carry no label of their own)."""
    return decoded_id(target_id) or target_id


@dataclass(frozen=True)
class File:
    """A file an action or invocation produced, and the URI GetFile fetches it by."""

    name: str
    uri: str
    hash: str
    size_bytes: int
    raw: Json = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: Json) -> File:
        """Read a `File` message."""
        return cls(
            name=_str(data, "name", "file"),
            uri=_str(data, "uri", "file"),
            hash=_str(data, "hash", "file"),
            size_bytes=_int64(data, "sizeBytes", "file"),
            raw=data,
        )


@dataclass(frozen=True)
class Invocation:
    """One Bazel (or workflow runner) invocation as GetInvocation describes it."""

    invocation_id: str
    status: InvocationStatus
    status_name: str
    success: bool
    bazel_exit_code: str
    user: str
    host: str
    command: str
    pattern: str
    role: str
    repo_url: str
    commit_sha: str
    branch_name: str
    action_count: int
    created_at: datetime | None
    updated_at: datetime | None
    duration: timedelta | None
    raw: Json = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: Json) -> Invocation:
        """Read an `Invocation` message."""
        where = "invocation"
        status, status_name = InvocationStatus.parse(
            data.get("invocationStatus"), f"{where}.invocationStatus"
        )
        duration_usec = _int64(data, "durationUsec", where)
        return cls(
            invocation_id=_str(_message(data, "id", where), "invocationId", f"{where}.id"),
            status=status,
            status_name=status_name,
            success=_bool(data, "success", where),
            bazel_exit_code=_str(data, "bazelExitCode", where),
            user=_str(data, "user", where),
            host=_str(data, "host", where),
            command=_str(data, "command", where),
            pattern=_str(data, "pattern", where),
            role=_str(data, "role", where),
            repo_url=_str(data, "repoUrl", where),
            commit_sha=_str(data, "commitSha", where),
            branch_name=_str(data, "branchName", where),
            action_count=_int64(data, "actionCount", where),
            created_at=_usec_time(data, "createdAtUsec", where),
            updated_at=_usec_time(data, "updatedAtUsec", where),
            duration=timedelta(microseconds=duration_usec) if duration_usec else None,
            raw=data,
        )


@dataclass(frozen=True)
class Timing:
    """When a test target started and how long its runs took in total."""

    start: datetime | None
    duration: timedelta | None

    @classmethod
    def from_json(cls, data: Json, where: str) -> Timing:
        """Read a `Timing` message."""
        return cls(
            start=parse_timestamp(data.get("startTime"), f"{where}.startTime"),
            duration=parse_duration(data.get("duration"), f"{where}.duration"),
        )


@dataclass(frozen=True)
class Target:
    """A configured target of one invocation and its aggregate status."""

    invocation_id: str
    target_id: str
    label: str
    """The server's `label`, else what `target_id` names (see `label_of`)."""
    status: TargetStatus
    status_name: str
    timing: Timing | None
    rule_type: str
    tags: tuple[str, ...]
    language: str
    raw: Json = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: Json) -> Target:
        """Read a `Target` message."""
        where = "target"
        ident = _message(data, "id", where)
        status, status_name = TargetStatus.parse(data.get("status"), f"{where}.status")
        timing = _message(data, "timing", where)
        target_id = _str(ident, "targetId", f"{where}.id")
        return cls(
            invocation_id=_str(ident, "invocationId", f"{where}.id"),
            target_id=target_id,
            label=_str(data, "label", where) or label_of(target_id),
            status=status,
            status_name=status_name,
            timing=Timing.from_json(timing, f"{where}.timing") if timing else None,
            rule_type=_str(data, "ruleType", where),
            tags=_strings(data, "tag", where),
            language=_str(data, "language", where),
            raw=data,
        )

    @property
    def triage_rank(self) -> int:
        """Position in the triage order: failures first."""
        return TRIAGE_ORDER.index(self.status)


@dataclass(frozen=True)
class Action:
    """A build action, failed action or test attempt of a target, with the files it left."""

    invocation_id: str
    target_id: str
    configuration_id: str
    action_id: str
    target_label: str
    """The server's `targetLabel`, else what `target_id` names (see `label_of`)."""
    shard: int
    run: int
    attempt: int
    files: tuple[File, ...]
    raw: Json = field(repr=False, compare=False, hash=False)

    @classmethod
    def from_json(cls, data: Json) -> Action:
        """Read an `Action` message."""
        where = "action"
        ident = _message(data, "id", where)
        target_id = _str(ident, "targetId", f"{where}.id")
        return cls(
            invocation_id=_str(ident, "invocationId", f"{where}.id"),
            target_id=target_id,
            configuration_id=_str(ident, "configurationId", f"{where}.id"),
            action_id=_str(ident, "actionId", f"{where}.id"),
            target_label=_str(data, "targetLabel", where) or label_of(target_id),
            shard=_int64(data, "shard", where),
            run=_int64(data, "run", where),
            attempt=_int64(data, "attempt", where),
            files=tuple(File.from_json(item) for item in messages(data, "file", where)),
            raw=data,
        )

    @property
    def kind(self) -> str:
        """What the action id encodes, e.g. `build` or `test-S_0-R_1-A_2` (else the id itself)."""
        return decoded_id(self.action_id) or self.action_id


@dataclass(frozen=True)
class LogChunk:
    """One GetLog page: the chunk asked for by `page_token` and the token after it.

    A chunk whose next token equals its own is the live chunk of a running invocation: it
    replaces the previous snapshot of the same chunk. No next token means the log has ended.
    """

    page_token: str
    contents: str
    next_page_token: str

    @classmethod
    def from_json(cls, page_token: str, data: Json) -> LogChunk:
        """Read a `GetLogResponse` for the page asked for with `page_token`."""
        log = _message(data, "log", "response")
        return cls(
            page_token=page_token,
            contents=_str(log, "contents", "log"),
            next_page_token=_str(data, "nextPageToken", "response"),
        )

    @property
    def live(self) -> bool:
        """Whether this chunk is still growing (poll the same token again)."""
        return self.next_page_token == self.page_token

    @property
    def last(self) -> bool:
        """Whether the log ends with this chunk."""
        return not self.next_page_token
