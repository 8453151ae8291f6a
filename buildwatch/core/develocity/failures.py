"""Exception chains from a build's `ExceptionData`: what failed, why, and where.

The event keeps exceptions, stack traces and frames in three tables that refer to each other by
id (map keys are JSON strings). A failure id names an exception; its chain follows the first
cause, as Java prints "Caused by:".
"""

from __future__ import annotations

from dataclasses import dataclass

from buildwatch.core.develocity.models import (
    FailureInfo,
    JsonObject,
    int_field,
    object_field,
    text_field,
)
from buildwatch.core.sanitize import sanitize, sanitize_line

MAX_CAUSES = 20
"""A chain is cut here (a cycle in the data must not loop)."""
MAX_FRAMES = 40
"""Frames shown per exception."""


@dataclass(frozen=True)
class ExceptionInfo:
    """One exception of a chain, with its stack frames as Java prints them."""

    class_name: str
    message: str
    frames: tuple[str, ...] = ()
    more_frames: int = 0
    """Frames left out beyond `MAX_FRAMES`."""

    @property
    def headline(self) -> str:
        """`Class: message`, the way a stack trace starts."""
        if self.class_name and self.message:
            return f"{self.class_name}: {self.message}"
        return self.class_name or self.message or "(no message)"


@dataclass(frozen=True)
class FailureChain:
    """A failure and its causes, outermost first."""

    failure_id: int | None
    chain: tuple[ExceptionInfo, ...]

    @classmethod
    def from_info(cls, info: FailureInfo) -> FailureChain:
        """A chain of one, for a failure known only by its summary."""
        exception = ExceptionInfo(sanitize_line(info.class_name or ""), sanitize(info.message or ""))
        return cls(info.failure_id, (exception,))

    @property
    def headline(self) -> str:
        """The outermost exception's headline."""
        return self.chain[0].headline if self.chain else "(no exception data)"

    def lines(self) -> list[str]:
        """The chain as Java prints it: headline, frames, then each `Caused by:`."""
        out: list[str] = []
        for depth, exception in enumerate(self.chain):
            out.append(("Caused by: " if depth else "") + exception.headline)
            out.extend(f"    at {frame}" for frame in exception.frames)
            if exception.more_frames:
                out.append(f"    ... {exception.more_frames} more")
        return out


class ExceptionTable:
    """The exceptions of a build, merged from its ExceptionData events."""

    def __init__(self) -> None:
        self._exceptions: dict[str, JsonObject] = {}
        self._traces: dict[str, JsonObject] = {}
        self._frames: dict[str, JsonObject] = {}

    def __bool__(self) -> bool:
        return bool(self._exceptions)

    def add(self, data: JsonObject) -> None:
        """Take in one ExceptionData event's data."""
        for table, name in ((self._exceptions, "exceptions"), (self._traces, "stackTraces"),
                            (self._frames, "stackFrames")):
            table.update((key, value) for key, value in object_field(data, name).items()
                         if isinstance(value, dict))

    def causes(self) -> set[int]:
        """The ids of exceptions that are the cause of another."""
        found: set[int] = set()
        for exception in self._exceptions.values():
            causes = exception.get("causes")
            for cause in causes if isinstance(causes, list) else ():
                if isinstance(cause, (str, int)) and str(cause).lstrip("-").isdigit():
                    found.add(int(cause))
        return found

    def chain(self, failure_id: int) -> FailureChain | None:
        """The chain of the exception `failure_id`, or None if the data does not have it."""
        key: str | None = str(failure_id)
        if key not in self._exceptions:
            return None
        chain: list[ExceptionInfo] = []
        seen: set[str] = set()
        while key is not None and key in self._exceptions and key not in seen and len(chain) < MAX_CAUSES:
            seen.add(key)
            exception = self._exceptions[key]
            chain.append(self._exception(exception))
            causes = exception.get("causes")
            first = causes[0] if isinstance(causes, list) and causes else None
            key = str(first) if isinstance(first, (str, int)) else None
        return FailureChain(failure_id, tuple(chain))

    def _exception(self, exception: JsonObject) -> ExceptionInfo:
        trace = self._traces.get(str(exception.get("stackTrace")), {})
        frame_ids = trace.get("stackFrames")
        frame_ids = frame_ids if isinstance(frame_ids, list) else []
        frames = tuple(self._frame(str(frame_id)) for frame_id in frame_ids[:MAX_FRAMES])
        return ExceptionInfo(
            sanitize_line(text_field(exception, "className") or ""),
            sanitize(text_field(exception, "message") or ""),
            frames,
            max(0, len(frame_ids) - MAX_FRAMES),
        )

    def _frame(self, frame_id: str) -> str:
        frame = self._frames.get(frame_id)
        if frame is None:
            return "(unknown frame)"
        where = text_field(frame, "fileName") or "Unknown Source"
        line = int_field(frame, "lineNumber")
        if line is not None and line >= 0:
            where = f"{where}:{line}"
        method = f"{text_field(frame, 'declaringClass') or '?'}.{text_field(frame, 'methodName') or '?'}"
        return sanitize_line(f"{method}({where})")
