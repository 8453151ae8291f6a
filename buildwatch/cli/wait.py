"""`buildwatch wait`: block until a build, or every run of a commit, has finished; exit by the outcome.

Scripts and agents rely on this contract:

    buildwatch wait (--build ID | --commit SHA [--tool develocity|buildbuddy|both]) [--timeout DURATION] [--json]

The exit code says how it ended (`EXIT_CODES`), never confusing a server that is briefly
failing with a build that failed: transient errors are retried within the clients' budgets, one
sanitised line on stderr each. With `--json`, stdout holds one line per change (a run appeared,
a run finished) and a last summary line, however the command ends. The clients and asyncio are
imported in the handler, so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import TYPE_CHECKING, Any, Literal

from buildwatch.cli.common import (
    add_buildbuddy_arguments,
    add_develocity_arguments,
    overrides_from_args,
    profile_from_args,
    report_retry,
    say,
    warn,
)
from buildwatch.cli.signals import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, run_headless
from buildwatch.core.durations import parse_duration_ms
from buildwatch.core.errors import BuildwatchError, ConfigError
from buildwatch.core.sanitize import sanitize_line
from buildwatch.core.wait_runs import Change, Run, RunTracker

if TYPE_CHECKING:
    import asyncio

    from buildwatch.core.backoff import Backoff
    from buildwatch.core.buildbuddy.client import BuildBuddyClient
    from buildwatch.core.config import Profile
    from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
    from buildwatch.core.develocity.client import DevelocityClient
    from buildwatch.core.wait_sources import Source

EXIT_TIMEOUT = 124
"""What `timeout(1)` exits with, so scripts that know it need nothing new."""
USAGE = (
    "buildwatch wait (--build ID | --commit SHA [--tool develocity|buildbuddy|both]) "
    "[--timeout DURATION] [--json]"
)
EXIT_CODES = """\
exit codes:
  0    every build and invocation succeeded
  1    one failed, was cancelled, lost its events or has no known outcome
  2    a wrong option, configuration or id
  3    a server refused the credentials
  4    the build is not known (still, 10 s after the first answer)
  5    a server kept failing past the retry budget
  124  --timeout passed first
  130  interrupted by Ctrl-C (143: SIGTERM)
"""
_COMMIT = re.compile(r"[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_NOW_MARGIN_MS = 60_000
"""The listing starts at least this long ago: the server's clock may be behind this one."""

Reason = Literal["finished", "timeout", "error", "interrupted"]
ToolChoice = Literal["develocity", "buildbuddy"]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `wait`."""
    wait = subparsers.add_parser(
        "wait",
        help="wait until a build, or every build and invocation of a commit, has finished",
        description="Wait until a Develocity build is published and readable, or until every\n"
        "build and invocation of a commit that has appeared has finished (at least one\n"
        "having appeared); exit by the worst outcome.",
        usage=USAGE,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    target = wait.add_mutually_exclusive_group(required=True)
    target.add_argument("--build", metavar="ID", help="a Develocity build id")
    target.add_argument("--commit", metavar="SHA", help="a full commit SHA (40 or 64 hex digits)")
    wait.add_argument(
        "--tool",
        choices=("develocity", "buildbuddy", "both"),
        help="with --commit, the servers to ask (default: the ones configured)",
    )
    wait.add_argument(
        "--timeout",
        metavar="DURATION",
        help=f"give up after this long, such as 90s, 30m or 1h30m, and exit {EXIT_TIMEOUT}",
    )
    wait.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line: each run appearing and finishing, then a summary",
    )
    add_develocity_arguments(wait)
    add_buildbuddy_arguments(wait)
    wait.set_defaults(handler=_wait)


def _wait(args: argparse.Namespace) -> int:
    if args.build is not None and args.tool is not None:
        raise ConfigError("--tool goes with --commit: --build waits for a Develocity build")
    timeout_s = _timeout_seconds(args.timeout)
    commit = _checked_commit(args.commit) if args.commit is not None else None
    report = _Report(as_json=args.json)
    tracker = RunTracker(report.change)
    try:
        profile = profile_from_args(args)
        tools: tuple[ToolChoice, ...] = ("develocity",) if commit is None else _tools(args, profile)
        _run(args, profile, tools, commit, tracker, timeout_s)
    except TimeoutError:
        report.summary(tracker, "timeout", EXIT_TIMEOUT)
        running = sum(run.outcome is None for run in tracker.runs)
        say(f"timed out after {args.timeout}" + (f"; {running} still running" if running else ""))
        return EXIT_TIMEOUT
    except BuildwatchError as error:
        report.summary(tracker, "error", error.exit_code, str(error))
        raise
    except KeyboardInterrupt as interrupt:
        terminated = isinstance(interrupt, Terminated)
        report.summary(tracker, "interrupted", EXIT_TERMINATED if terminated else EXIT_INTERRUPTED)
        raise
    code = 0 if tracker.worst_outcome() == "succeeded" else 1
    report.summary(tracker, "finished", code)
    return code


def _run(
    args: argparse.Namespace,
    profile: Profile,
    tools: tuple[ToolChoice, ...],
    commit: str | None,
    tracker: RunTracker,
    timeout_s: float | None,
) -> None:
    """Connect to the chosen servers and wait until the runs settle (or `timeout_s` passes)."""
    import asyncio
    from contextlib import AsyncExitStack

    from buildwatch.cli.common import (
        buildbuddy_connection_from_args,
        develocity_connection_from_args,
    )
    from buildwatch.core.backoff import Backoff
    from buildwatch.core.buildbuddy.client import BuildBuddyClient
    from buildwatch.core.develocity.client import DevelocityClient, plain_http_warning
    from buildwatch.core.wait_sources import wait_until_settled

    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    develocity = develocity_connection_from_args(args) if "develocity" in tools else None
    buildbuddy = buildbuddy_connection_from_args(args) if "buildbuddy" in tools else None
    if develocity is not None and (problem := plain_http_warning(develocity)):
        warn(problem)
    cap = profile.ui.retry_max_seconds

    def backoff() -> Backoff:
        # The profile's longest wait between attempts bounds every retry, as in the monitor.
        return Backoff(base_s=min(1.0, cap), cap_s=cap)

    async def main() -> None:
        changed = asyncio.Event()
        async with AsyncExitStack() as stack:
            sources: list[Source] = []
            if develocity is not None:
                client = await stack.enter_async_context(
                    DevelocityClient(develocity, backoff=backoff, on_retry=report_retry)
                )
                sources.append(_develocity_source(
                    client, develocity, args.build, commit, profile, tracker, changed, backoff()
                ))
            if buildbuddy is not None and commit is not None:
                sources.append(_buildbuddy_source(
                    await stack.enter_async_context(
                        BuildBuddyClient(buildbuddy, backoff=backoff, on_retry=report_retry)
                    ),
                    buildbuddy, commit, profile, tracker, changed,
                ))
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            async with asyncio.timeout(left):
                await wait_until_settled(sources, tracker, changed)

    run_headless(main())


def _develocity_source(
    client: DevelocityClient,
    connection: DevelocityConnection,
    build_id: str | None,
    commit: str | None,
    profile: Profile,
    tracker: RunTracker,
    changed: asyncio.Event,
    backoff: Backoff,
) -> Source:
    from buildwatch.core.wait_sources import DevelocityBuild, DevelocityCommit

    git_names = profile.git_value_names
    if build_id is not None:
        return DevelocityBuild(
            client, build_id, tracker, changed, git_names=git_names,
            web_url=connection.base_url, backoff=backoff, on_retry=report_retry,
        )
    assert commit is not None
    lookback_ms = max(profile.ui.backfill_minutes * 60_000, _NOW_MARGIN_MS)
    return DevelocityCommit(
        client, commit, tracker, changed,
        since_ms=max(0, int(time.time() * 1000) - lookback_ms),
        interval_s=profile.ui.poll_interval_seconds, git_names=git_names,
        web_url=connection.base_url, warn=warn, on_retry=report_retry,
    )


def _buildbuddy_source(
    client: BuildBuddyClient,
    connection: BuildBuddyConnection,
    commit: str,
    profile: Profile,
    tracker: RunTracker,
    changed: asyncio.Event,
) -> Source:
    from buildwatch.core.wait_sources import BuildBuddyCommit

    return BuildBuddyCommit(
        client, commit, tracker, changed,
        interval_s=profile.ui.poll_interval_seconds, web_url=connection.base_url,
    )


def _tools(args: argparse.Namespace, profile: Profile) -> tuple[ToolChoice, ...]:
    """The servers `--tool` names, by default those configured (a Develocity URL; a BuildBuddy
    URL or API key)."""
    if args.tool == "both":
        return ("develocity", "buildbuddy")
    if args.tool is not None:
        chosen: ToolChoice = args.tool
        return (chosen,)
    import os

    from buildwatch.core.credentials import (
        BUILDBUDDY_URL_ENV,
        buildbuddy_url,
        develocity_url,
        resolve_credential,
    )

    overrides = overrides_from_args(args)
    tools: list[ToolChoice] = []
    try:
        develocity_url(profile, overrides)
        tools.append("develocity")
    except ConfigError:
        pass  # no Develocity server anywhere: it is not asked
    # The public BuildBuddy is the default URL of every profile: it counts only with a key.
    url_given = overrides.buildbuddy_url or os.environ.get(BUILDBUDDY_URL_ENV) or profile.buildbuddy.url
    if url_given or resolve_credential("buildbuddy", buildbuddy_url(profile, overrides))[0]:
        tools.append("buildbuddy")
    if not tools:
        raise ConfigError(
            "no server to ask: configure Develocity or BuildBuddy (`buildwatch auth login`), "
            "or name one with --tool"
        )
    return tuple(tools)


def _timeout_seconds(raw: str | None) -> float | None:
    if raw is None:
        return None
    ms = parse_duration_ms(raw)
    if ms is None:
        raise ConfigError(f"--timeout {raw!r}: expected a duration like 90s, 30m or 1h30m")
    if ms == 0:
        raise ConfigError("--timeout must be longer than 0")
    return ms / 1000


def _checked_commit(raw: str) -> str:
    sha = raw.strip()
    if not _COMMIT.fullmatch(sha):
        raise ConfigError(
            f"--commit {raw!r}: expected a full commit SHA, 40 hex digits (`git rev-parse HEAD`)"
        )
    return sha.lower()


class _Report:
    """What stdout says: a line per change and a last line, as JSON or for people."""

    def __init__(self, *, as_json: bool) -> None:
        self._json = as_json

    def change(self, change: Change) -> None:
        """A run appeared or finished."""
        run = change.run
        if self._json:
            self._write_json({"event": change.kind, **_run_fields(run)})
            return
        fields = (change.kind, f"{run.tool:<10}", run.run_id, run.outcome or "", run.url)
        self._write(sanitize_line("  ".join(field for field in fields if field)))

    def summary(
        self, tracker: RunTracker, reason: Reason, exit_code: int, error: str | None = None
    ) -> None:
        """The last line: why the wait ended, its exit code, the worst outcome and every run."""
        outcome = tracker.worst_outcome()
        if self._json:
            self._write_json({
                "event": "summary",
                "reason": reason,
                "exitCode": exit_code,
                "outcome": outcome,
                "error": sanitize_line(error) if error is not None else None,
                "runs": [_run_fields(run) for run in tracker.runs],
            })
        elif reason == "finished":
            self._write(f"{outcome}: {_counts(tracker)}")

    def _write_json(self, fields: dict[str, Any]) -> None:
        self._write(json.dumps(fields, separators=(",", ":"), ensure_ascii=True))

    @staticmethod
    def _write(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _run_fields(run: Run) -> dict[str, Any]:
    return {
        "tool": run.tool,
        "id": run.run_id,
        "commit": run.commit,
        "outcome": run.outcome,
        "url": run.url,
    }


def _counts(tracker: RunTracker) -> str:
    counted: dict[str, int] = {}
    for run in tracker.runs:
        key = run.outcome or "running"
        counted[key] = counted.get(key, 0) + 1
    return ", ".join(f"{count} {outcome}" for outcome, count in counted.items())
