"""The BuildBuddy JSON API's wire format, as Go's protojson reads and writes it.

Requests are decoded as strictly as the real server does (unknown or duplicate fields, wrong
types and malformed JSON are errors; snake_case and lowerCamelCase names are both accepted).
Responses are encoded in the canonical form: lowerCamelCase names in field-number order, int64
as strings, enums by name, zero values left out, Timestamp and Duration as RFC 3339 strings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Union

import msgspec

FieldKind = Union[str, "Schema"]
"""`"string"`, `"bool"`, or the schema of a nested message."""
Schema = Mapping[str, FieldKind]
"""A request message: proto field name to kind, in field-number order."""

_INVOCATION_SELECTOR: Schema = {"invocation_id": "string", "commit_sha": "string"}
_TARGET_SELECTOR: Schema = {
    "invocation_id": "string", "target_id": "string", "tag": "string", "label": "string",
}
_ACTION_SELECTOR: Schema = {
    "invocation_id": "string", "target_id": "string", "configuration_id": "string",
    "action_id": "string", "target_label": "string",
}
_URI: Schema = {"uri": "string"}

REQUESTS: Mapping[str, Schema] = {
    "GetInvocation": {
        "selector": _INVOCATION_SELECTOR, "include_metadata": "bool", "page_token": "string",
        "include_artifacts": "bool", "include_child_invocations": "bool",
    },
    "GetLog": {"selector": {"invocation_id": "string"}, "page_token": "string"},
    "GetTarget": {"selector": _TARGET_SELECTOR, "page_token": "string"},
    "GetAction": {"selector": _ACTION_SELECTOR, "page_token": "string"},
    "GetFile": _URI,
    "DeleteFile": _URI,
}
"""The request message of every RPC the simulator serves over HTTP."""


class WireError(ValueError):
    """A request body protojson would refuse; `str()` reads like Go's error text."""


def json_name(proto_name: str) -> str:
    """The lowerCamelCase JSON name protoc derives from a snake_case field name."""
    head, *rest = proto_name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def decode_request(body: bytes, schema: Schema) -> dict[str, Any]:
    """Decode a JSON request into a dict keyed by proto field names (absent fields left out).

    Raises `WireError` for anything Go's `protojson.Unmarshal` with default options rejects.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise WireError(f"proto: syntax error: invalid UTF-8 at byte {error.start}") from None
    try:
        value = json.loads(text, object_pairs_hook=_keep_pairs)
    except json.JSONDecodeError as error:
        raise WireError(
            f"proto: syntax error (line {error.lineno}:{error.colno}): {error.msg.lower()}"
        ) from None
    if not isinstance(value, _Pairs):
        raise WireError(f"proto: syntax error (line 1:1): unexpected token {text.strip()[:20]}")
    return _decode_message(value, schema, text)


class _Pairs(list[tuple[str, Any]]):
    """A JSON object with its keys in order and duplicates kept, so they can be refused."""


def _keep_pairs(pairs: list[tuple[str, Any]]) -> _Pairs:
    return _Pairs(pairs)


def _decode_message(pairs: _Pairs, schema: Schema, text: str) -> dict[str, Any]:
    by_name = {name: name for name in schema} | {json_name(name): name for name in schema}
    decoded: dict[str, Any] = {}
    seen: set[str] = set()
    for key, raw in pairs:
        name = by_name.get(key)
        where = _position(text, key)
        if name is None:
            raise WireError(f"proto: ({where}): unknown field {json.dumps(key)}")
        if name in seen:
            raise WireError(f"proto: ({where}): duplicate field {json.dumps(key)}")
        seen.add(name)
        if raw is None:
            continue
        kind = schema[name]
        if isinstance(kind, Mapping):
            if not isinstance(raw, _Pairs):
                raise WireError(f"proto: ({where}): unexpected token {json.dumps(raw)}")
            decoded[name] = _decode_message(raw, kind, text)
        elif (kind == "bool" and isinstance(raw, bool)) or (kind == "string" and isinstance(raw, str)):
            decoded[name] = raw
        else:
            shown = json.dumps(raw if not isinstance(raw, _Pairs) else dict(raw))
            raise WireError(
                f"proto: ({where}): invalid value for {kind} field {json_name(name)}: {shown}"
            )
    return decoded


def _position(text: str, key: str) -> str:
    """Line and column of a key in the body, as Go's decoder reports positions."""
    match = re.search(re.escape(json.dumps(key)) + r"\s*:", text)
    offset = match.start() if match else 0
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}:{column}"


def encode_response(message: Mapping[str, Any]) -> bytes:
    """Serialise a response built with `put`, compactly, UTF-8, without HTML escaping.

    msgspec writes what `json.dumps(separators=(",", ":"), ensure_ascii=False)` would, in a
    sixth of the time: a 250 KB GetLog page took over a millisecond, most of the server's work.
    """
    return msgspec.json.encode(message)


def put(message: dict[str, Any], name: str, value: object) -> None:
    """Set a field unless protojson would omit it (zero value, empty list); int64 as a string.

    `name` is the JSON name. Booleans are kept as booleans; other ints are int64 fields.
    """
    if value is None or value is False or value == "" or value == 0 or value == []:
        return
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    message[name] = value


def timestamp(epoch_usec: int) -> str:
    """A `google.protobuf.Timestamp` in JSON: UTC, with 0, 3, 6 or 9 fractional digits."""
    seconds, micros = divmod(epoch_usec, 1_000_000)
    base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}{_fraction(micros)}Z"


def duration(usec: int) -> str:
    """A `google.protobuf.Duration` in JSON: seconds with 0, 3, 6 or 9 fractional digits."""
    seconds, micros = divmod(usec, 1_000_000)
    return f"{seconds}{_fraction(micros)}s"


def _fraction(micros: int) -> str:
    if micros == 0:
        return ""
    if micros % 1000 == 0:
        return f".{micros // 1000:03d}"
    return f".{micros:06d}"


class HandlerError(Exception):
    """An error an RPC handler returned; the JSON API answers it as HTTP 500 with `str(self)`.

    A gRPC status error reads `rpc error: code = <Code> desc = <message>`; a plain Go error
    (`code` None) is just its message.
    """

    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        if self.code is None:
            return self.message
        return f"rpc error: code = {self.code} desc = {self.message}"


def go_quote(text: str) -> str:
    """A string as Go's `%q` prints it (for the ASCII that URIs and tokens hold)."""
    return json.dumps(text, ensure_ascii=False).replace("\\u001b", "\\x1b")
