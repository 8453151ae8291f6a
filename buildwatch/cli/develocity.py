"""`buildwatch tail` and `buildwatch events`: the Develocity Export API from the command line.

Scripts rely on this contract: `--json` writes one line of JSON per message holding exactly the
fields the server sent (the server's own bytes where they already are one safe line); without
it the lines are for people, aligned and stripped of anything a terminal would interpret. An
error is one line on stderr and a non-zero exit, never a traceback; Ctrl-C ends a `--follow`
promptly with exit 0. The client, and asyncio, are imported inside the handlers, so `--help`
stays instant.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import json
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar, cast

from buildwatch.cli.common import add_develocity_arguments, report_retry, say, warn
from buildwatch.cli.signals import run_headless
from buildwatch.cli.store import add_store_argument
from buildwatch.core.durations import duration_text, ms_to_seconds, parse_duration_ms
from buildwatch.core.errors import ConfigError
from buildwatch.core.monitor.heap import freeze_startup
from buildwatch.core.sanitize import sanitize_line

if TYPE_CHECKING:
    import asyncio

    from buildwatch.core.develocity.client import DevelocityClient, Since
    from buildwatch.core.develocity.failure_details import FailureDetails
    from buildwatch.core.develocity.git_values import GitValueNames
    from buildwatch.core.develocity.models import Build, BuildEvent, Message
    from buildwatch.core.develocity.summary import BuildSummary
    from buildwatch.core.monitor.store import BuildEntry
    from buildwatch.core.query import BuildRecord, CompiledQuery, QueryError

Mode = Literal["json", "summary", "summary-json", "text"]
_T = TypeVar("_T")

# C1 controls (U+0080-U+009F) in UTF-8; in valid UTF-8 a 0xC2 byte always starts a character.
_C1_CONTROLS_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")
_UTF8_CHECK_BYTES = 1 << 16
IDLE_TIMEOUT_S = 60.0
"""`tail`'s default for `--idle-timeout`: reconnect after this long without a byte."""
_SUMMARY_CONCURRENCY = 4
_SUMMARY_LOOKAHEAD = 32
_JSON_OUTCOMES = {"success": "succeeded", "failed": "failed", "unknown": "unknown"}


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `tail` and `events`."""
    tail = subparsers.add_parser(
        "tail",
        help="list builds as Develocity receives them",
        description="List builds in the order Develocity received them; with --follow, keep "
        "listing new ones until interrupted.",
    )
    add_develocity_arguments(tail)
    start = tail.add_mutually_exclusive_group()
    start.add_argument(
        "--since",
        default="1h",
        metavar="WHEN",
        help="now, 0 (the beginning), epoch milliseconds, or a duration ago such as 30m, 2h "
        "or 1d12h (default: 1h)",
    )
    start.add_argument("--since-build", metavar="ID", help="start after this build")
    tail.add_argument("--follow", action="store_true", help="keep streaming new builds")
    add_store_argument(tail, "read the builds from the team store, not the server: ")
    tail.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line, as sent (with --summary: the summary's fields)",
    )
    tail.add_argument(
        "--summary",
        action="store_true",
        help="also show outcome, project, user and duration (one more request per build)",
    )
    tail.add_argument(
        "--query",
        metavar="Q",
        help="only builds matching Q, e.g. 'outcome:failed branch=main -user:ci' (the README's "
        "Queries say more); reads each build's summary when Q needs it",
    )
    _add_api_version(tail)
    tail.add_argument(
        "--idle-timeout",
        type=_positive_seconds,
        metavar="S",
        help=f"reconnect after this many seconds without a byte (default: {IDLE_TIMEOUT_S:g})",
    )
    tail.set_defaults(handler=_tail)

    events = subparsers.add_parser(
        "events",
        help="show one build's events",
        description="Show a build's Build message, then its events in order.",
    )
    add_develocity_arguments(events)
    events.add_argument("build_id", metavar="BUILD_ID")
    events.add_argument(
        "--types", metavar="T1,T2", help="only these event types, e.g. BuildStarted,BuildFinished"
    )
    events.add_argument("--json", action="store_true", help="one JSON object per line, as sent")
    _add_api_version(events)
    events.set_defaults(handler=_events)


def _add_api_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-version",
        type=int,
        choices=(1, 2),
        help="Export API version (default: the profile's, else 2)",
    )


def _positive_seconds(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {raw!r}") from None
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"expected 0 < seconds <= 86400, got {raw!r}")
    return value


def parse_since(raw: str, now_ms: int | None = None) -> Since:
    """`--since`: `now`, epoch milliseconds (0 included), or a duration ago (`90s`, `1h30m`)."""
    value = raw.strip().lower()
    if value == "now":
        return "now"
    if value.isdigit():
        return int(value)
    ago = parse_duration_ms(value)
    if ago is None:
        raise ConfigError(
            f"--since {raw!r}: expected now, 0, epoch milliseconds or a duration like 30m or 2h"
        )
    reference = int(time.time() * 1000) if now_ms is None else now_ms
    return max(0, reference - ago)


def _tail(args: argparse.Namespace) -> int:
    since = parse_since(args.since) if args.since_build is None else "now"
    mode: Mode = (
        ("summary-json" if args.json else "summary") if args.summary
        else "json" if args.json else "text"
    )
    query: CompiledQuery[BuildRecord] | None = None
    if args.query is not None:
        from buildwatch.cli.common import profile_from_args
        from buildwatch.core.query import BUILD_FIELDS, QueryError, compile_query

        try:
            query = compile_query(args.query, BUILD_FIELDS, me=profile_from_args(args).ui.me)
        except QueryError as error:
            _show_query_error(args.query, error)
            return error.exit_code
    from buildwatch.cli.store import store_from_args

    location = store_from_args(args)
    if location is not None:
        from buildwatch.cli.store_tail import tail_store

        return tail_store(args, location, mode, query)

    async def command(client: DevelocityClient, out: _Output) -> None:
        batches = client.build_batches(
            since=since, since_build=args.since_build, stream=args.follow
        )
        async with contextlib.aclosing(batches):
            if mode in ("summary", "summary-json") or (query is not None and query.needs_summary):
                from buildwatch.cli.common import profile_from_args

                git_names = profile_from_args(args).git_value_names
                await _tail_with_summaries(client, out, batches, git_names, mode, query)
                return
            async for batch in batches:
                readable = _report(batch)
                if query is not None:
                    from buildwatch.core.develocity.models import Build

                    readable = [
                        build for build in readable
                        if isinstance(build, Build) and query.matches(build_entry(build))
                    ]  # fmt: skip
                out.write(json_lines(readable) if mode == "json" else map(_build_line, readable))
                out.flush()

    idle_timeout_s = IDLE_TIMEOUT_S if args.idle_timeout is None else args.idle_timeout
    return _run(args, command, idle_timeout_s=idle_timeout_s, follows=args.follow)


def _show_query_error(query: str, error: QueryError) -> None:
    """The error in one line; on a terminal, the query under it with a caret at the fault."""
    from rich.cells import cell_len

    say(str(error))
    if sys.stderr.isatty():
        shown = sanitize_line(query)
        caret = " " * cell_len(sanitize_line(query[: error.position]))
        with contextlib.suppress(OSError):
            print(f"  {shown}\n  {caret}^", file=sys.stderr, flush=True)


def build_entry(build: Build, summary: BuildSummary | None = None) -> BuildEntry:
    """A listed build (and its summary, if read) as a query reads it."""
    from buildwatch.core.monitor.store import BuildEntry

    return BuildEntry(build.build_id, build.tool_type, build.tool_version, build.timestamp,
                      summary)  # fmt: skip


def _events(args: argparse.Namespace) -> int:
    types = None
    if args.types is not None:
        types = [name.strip() for name in args.types.split(",") if name.strip()]
        if not types:
            raise ConfigError(
                "--types needs at least one event type, e.g. BuildStarted,BuildFinished"
            )

    async def command(client: DevelocityClient, out: _Output) -> None:
        async with contextlib.aclosing(client.event_batches(args.build_id, types)) as batches:
            async for batch in batches:
                readable = _report(batch)
                out.write(json_lines(readable) if args.json else map(_event_line, readable))
                out.flush()

    return _run(args, command)


def _run(
    args: argparse.Namespace,
    command: Callable[[DevelocityClient, _Output], Awaitable[None]],
    *,
    idle_timeout_s: float = IDLE_TIMEOUT_S,
    follows: bool = False,
) -> int:
    """Connect and run `command` to its end. Interrupting a command that `follows` the
    listing is how it ends, not a failure: exit 0 (any other interruption exits 130)."""

    from buildwatch.cli.common import develocity_connection_from_args
    from buildwatch.core.develocity.client import DevelocityClient, plain_http_warning

    connection = develocity_connection_from_args(args)
    warning = plain_http_warning(connection)
    if warning:
        warn(warning)
    out = _Output(sys.stdout.buffer)
    freeze_startup()

    async def main() -> None:
        async with DevelocityClient(
            connection, idle_timeout_s=idle_timeout_s, on_retry=report_retry
        ) as client:
            await command(client, out)

    try:
        run_headless(main())
    except KeyboardInterrupt:
        if not follows:
            raise
    out.flush()
    return 0


class _Output:
    """Collects output lines and writes them in one call per batch."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lines: list[bytes] = []

    def write(self, lines: Iterable[bytes]) -> None:
        self._lines.extend(lines)

    def flush(self) -> None:
        if self._lines:
            data, self._lines = b"".join(self._lines), []
            self._stream.write(data)
        self._stream.flush()


def _report(batch: list[Message]) -> list[Build | BuildEvent]:
    """The readable messages of a batch; the others are reported on stderr and skipped."""
    from buildwatch.core.develocity.models import SkippedMessage

    if SkippedMessage not in set(map(type, batch)):
        return cast("list[Build | BuildEvent]", batch)
    readable: list[Build | BuildEvent] = []
    for message in batch:
        if isinstance(message, SkippedMessage):
            print(
                f"buildwatch: warning: skipped message {sanitize_line(message.message_id)[:40]!r}: "
                f"{sanitize_line(message.reason)[:160]}",
                file=sys.stderr,
            )
        else:
            readable.append(message)
    return readable


def json_lines(messages: list[Build | BuildEvent]) -> list[bytes]:
    """Each message's JSON as one line: the server's own bytes when they are one safe line.

    The checks run over the joined batch at once, in C; a batch that fails them is halved until
    the messages at fault are found, so one odd message costs a few passes over its batch, not a
    Python loop over every message.
    """
    if not messages:
        return []
    sources = [message.source for message in messages]
    sources.append(b"")  # the last line's end, so the batch is joined and written in one piece
    joined = b"\n".join(sources)
    if joined.count(b"\n") == len(messages) and _is_safe_text(joined):
        return [joined]
    if len(messages) == 1:
        return [_json_line(messages[0])]
    middle = len(messages) // 2
    return json_lines(messages[:middle]) + json_lines(messages[middle:])


def _is_safe_text(data: bytes) -> bool:
    """Whether `data` is valid UTF-8 free of C1 controls.

    C0 controls need no search: a message is checked to be JSON, which holds none raw outside
    its whitespace, and the SSE parser leaves no CR. C1 controls are legal raw in a JSON string.
    """
    if data.isascii():
        return True
    return _is_utf8(data) and _C1_CONTROLS_UTF8.search(data) is None


def _is_utf8(data: bytes) -> bool:
    """Whether `data` is valid UTF-8, decoded a slice at a time: one string the size of a whole
    batch of CJK or emoji (up to 4 bytes per character) costs page faults, small ones do not."""
    view, start, end = memoryview(data), 0, len(data)
    try:
        while start < end:
            stop = start + _UTF8_CHECK_BYTES
            start += codecs.utf_8_decode(view[start:stop], "strict", stop >= end)[1]
    except UnicodeDecodeError:
        return False
    return True


def _json_line(message: Build | BuildEvent) -> bytes:
    """A message that is not one safe line as it came: its fields re-encoded as ASCII JSON
    (for multi-line data, invalid UTF-8 or characters a terminal obeys)."""
    return json.dumps(message.raw, separators=(",", ":")).encode("ascii") + b"\n"


def _time(epoch_ms: int | None, with_date: bool = True) -> str:
    if epoch_ms is None:
        return "?"
    moment = datetime.fromtimestamp(epoch_ms / 1000)
    if with_date:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.strftime("%H:%M:%S.") + f"{epoch_ms % 1000:03d}"


def _cell(value: object, width: int) -> str:
    text = sanitize_line(str(value)) if value is not None else "-"
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)


def _build_line(build: Build | BuildEvent, extra: str = "", tool_type: str | None = None) -> bytes:
    """A build's line; `tool_type` is the tool its events told, when its listing did not."""
    from buildwatch.core.develocity.models import Build

    if not isinstance(build, Build):
        return _event_line(build)
    tool = f"{build.tool_type or tool_type or ''} {build.tool_version or ''}".strip()
    line = f"{_cell(build.build_id, 13)}  {_time(build.timestamp)}  {_cell(tool, 16)}{extra}"
    return line.rstrip().encode() + b"\n"


def _event_line(message: Build | BuildEvent) -> bytes:
    from buildwatch.core.develocity.models import Build

    if isinstance(message, Build):
        return b"Build " + _build_line(message)
    from buildwatch.core.develocity.event_text import event_brief

    line = f"{_time(message.timestamp, with_date=False)}  {_cell(message.event_type, 28)}  "
    return (line + event_brief(message.data)).rstrip().encode() + b"\n"


async def _tail_with_summaries(
    client: DevelocityClient,
    out: _Output,
    batches: AsyncIterator[list[Message]],
    git_names: GitValueNames,
    mode: Mode,
    query: CompiledQuery[BuildRecord] | None,
) -> None:
    """Print each build (those `query` matches) in listing order, as `mode` says, reading a few
    summaries at once. A build whose summary could not be read is matched without one."""
    import asyncio

    from buildwatch.core.develocity.build_reading import read_build
    from buildwatch.core.develocity.models import Build

    limit = asyncio.Semaphore(_SUMMARY_CONCURRENCY)

    async def summary_line(build: Build) -> bytes:
        def wanted(summary: BuildSummary | None) -> bool:
            return query is None or query.matches(build_entry(build, summary))

        async with limit:
            # Only the JSON lines name failed work.
            reading = await read_build(client, build, git_names, warn, wanted=wanted,
                                       failures=mode == "summary-json")
        if not reading.wanted:
            return b""
        return build_output(build, reading.summary, mode, reading.failures)

    # Unbounded, so the end marker always fits; `lookahead` bounds the builds in flight.
    queue: asyncio.Queue[asyncio.Task[bytes] | None] = asyncio.Queue()
    lookahead = asyncio.Semaphore(_SUMMARY_LOOKAHEAD)

    async def produce() -> None:
        try:
            async for batch in batches:
                for message in _report(batch):
                    if isinstance(message, Build):
                        await lookahead.acquire()
                        queue.put_nowait(asyncio.create_task(summary_line(message)))
        finally:
            queue.put_nowait(None)

    producer = asyncio.create_task(produce())
    try:
        while (task := await queue.get()) is not None:
            out.write([await task])
            out.flush()
            lookahead.release()
        await producer
    finally:
        # Stop what is still in flight before the client closes under it.
        unfinished = [producer] + [task for task in _drain(queue) if task is not None]
        for pending in unfinished:
            pending.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)


def build_output(
    build: Build, summary: BuildSummary, mode: Mode, details: FailureDetails | None = None
) -> bytes:
    """A build's line as `mode` says, with its summary (and for `summary-json` what failed in
    it, when `details` are known)."""
    if mode == "summary-json":
        return _summary_json_line(summary, details)
    if mode == "json":
        return b"".join(json_lines([build]))
    if mode == "text":
        return _build_line(build, tool_type=summary.tool_type)
    took = duration_text(ms_to_seconds(summary.duration_ms), unknown="-")
    extra = (
        f"  {_cell(summary.outcome, 7)}  {_cell(summary.project, 20)}  "
        f"{_cell(summary.user, 12)}  {took:>8}"
    )
    return _build_line(build, extra, summary.tool_type)


def _summary_json_line(summary: BuildSummary, details: FailureDetails | None) -> bytes:
    """The summary as one line of JSON: the server's strings, every control character escaped
    (ASCII-only JSON), so the line is as safe on a terminal as in a pipe.

    `failedTasks` and `failedTests` are empty for a build that did not fail, and null for a
    failed one whose `details` are not known (an npm build, or a read that failed)."""
    failure = summary.failure
    headline = None
    if failure is not None:
        headline = ": ".join(part for part in (failure.class_name, failure.message) if part)
    fields = {
        "buildId": summary.build_id,
        "tool": summary.tool_type,
        "toolVersion": summary.tool_version,
        "outcome": _JSON_OUTCOMES[summary.outcome],
        "project": summary.project,
        "user": summary.user,
        "host": summary.host,
        "branch": summary.git_branch,
        "commit": summary.git_commit,
        "requested": list(summary.requested),
        "tags": list(summary.tags),
        "startedMs": summary.started_ms,
        "finishedMs": summary.finished_ms,
        "durationMs": summary.duration_ms,
        "failure": headline or None,
        "failedTasks": _failed(summary, details.work if details else None),
        "failedTests": _failed(summary, details.tests if details else None),
    }
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=True).encode("ascii") + b"\n"


def _failed(summary: BuildSummary, names: tuple[str, ...] | None) -> list[str] | None:
    if summary.outcome != "failed":
        return []
    return None if names is None else list(names)


def _drain(queue: asyncio.Queue[_T]) -> list[_T]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items
