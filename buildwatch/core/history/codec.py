"""How summaries and invocations are written into the history file and read back.

A stored value that no longer reads (a file written by an older buildwatch, a field whose type
changed) reads as None: the build is enriched again, the invocation polled again, nothing fails.
"""

from __future__ import annotations

import json
from datetime import datetime

import msgspec

from buildwatch.core.buildbuddy.errors import MalformedResponseError
from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.develocity.summary import BuildSummary

_summary_encoder = msgspec.json.Encoder()
_summary_decoder = msgspec.json.Decoder(BuildSummary)


def summary_to_json(summary: BuildSummary) -> bytes:
    """`summary` as a JSON object, one member per field."""
    return _summary_encoder.encode(summary)


def summary_from_json(data: bytes) -> BuildSummary | None:
    """The summary `summary_to_json` wrote, or None if `data` does not read as one."""
    try:
        return _summary_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def invocation_to_json(invocation: Invocation) -> bytes:
    """The invocation as BuildBuddy sent it."""
    return json.dumps(invocation.raw, separators=(",", ":")).encode("utf-8")


def invocation_from_json(data: bytes) -> Invocation | None:
    """The invocation `invocation_to_json` wrote, or None if it does not read as one."""
    try:
        raw = json.loads(data)
        return Invocation.from_json(raw) if isinstance(raw, dict) else None
    except (ValueError, MalformedResponseError):
        return None


def invocation_updated_ms(invocation: Invocation) -> int:
    """When the server last changed the invocation (epoch ms; 0 if it does not say)."""
    moment: datetime | None = invocation.updated_at or invocation.created_at
    return int(moment.timestamp() * 1000) if moment is not None else 0
