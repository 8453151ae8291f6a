"""Everything the live monitor knows: builds, invocations, watched commits, failure groups,
typical durations and each source's health.

The feeds write here as fast as data arrives; the screen reads `drain()` on a timer, so the
arrival rate never drives the repaint rate. Nothing here knows about Textual or the network.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Literal

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.buildbuddy.triage import is_running
from buildwatch.core.develocity.models import Build, SkippedMessage
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.monitor.failures import FailureGroups
from buildwatch.core.shared_values import shared
from buildwatch.core.triage.typical_durations import TypicalDurations

SourceName = Literal["develocity", "buildbuddy"]
SourceState = Literal["connecting", "live", "reconnecting", "auth_failed", "offline"]
WatchOrigin = Literal["command line", "config", "develocity", "git", "you"]

RATE_WINDOW_S = 10.0
"""Messages per second are averaged over this window."""
HISTORY_SHOWN = "showing history"
"""How a source is marked while its pane shows only what the local history holds."""
OFFLINE_CHOSEN = "not connecting (--offline)"
"""Why a source is offline when the user asked to browse the history only."""
AUTO_WATCHED_COMMITS = 20
"""Commits picked up from builds' `Git commit id` that stay watched (the most recent ones)."""
SKIPPED_KEPT = 500
"""Skipped listing messages kept for the user to look at (the most recent ones); all are counted."""
SKIPPED_START_BYTES = 120
"""How much of a skipped message's data is kept to show."""

_COMMIT = re.compile(r"[0-9a-f]{7,64}")


def normalize_commit(text: str) -> str | None:
    """A commit SHA in canonical (lowercase) form, or None if `text` is not one."""
    candidate = text.strip().lower()
    return candidate if _COMMIT.fullmatch(candidate) else None


@dataclass
class SourceStatus:
    """The health of one server as the status bar shows it."""

    title: str
    state: SourceState = "offline"
    detail: str = "not configured"
    retry_at: float | None = None
    """When the next attempt starts (monotonic seconds), while reconnecting."""
    attempt: int = 0
    count: int = 0
    """Builds or invocations known from this source."""
    last_message_at: float | None = None
    arrivals: deque[tuple[float, int]] = field(default_factory=deque)
    showing_history: bool = False
    """The pane holds only what the local history had: the server has not answered since."""
    skipped: int = 0
    """Messages from this source that could not be read (malformed JSON, ...) and were left out."""
    git_problem: str = ""
    """Why a watched git branch could not be read at the last look; empty when all were."""

    def rate(self, now: float) -> float:
        """Messages per second over the last `RATE_WINDOW_S`."""
        while self.arrivals and self.arrivals[0][0] < now - RATE_WINDOW_S:
            self.arrivals.popleft()
        return sum(count for _, count in self.arrivals) / RATE_WINDOW_S

    def state_text(self, now: float) -> str:
        """The connection state in words: `live`, `reconnecting in 3s (attempt 2)`, ..."""
        if self.state == "reconnecting" and self.retry_at is not None:
            if now < self.retry_at:
                return f"reconnecting in {max(1, round(self.retry_at - now))}s (attempt {self.attempt})"
            return f"reconnecting (attempt {self.attempt})"
        return {
            "connecting": "connecting",
            "live": "live",
            "auth_failed": "auth failed",
            "offline": "offline",
        }.get(self.state, self.state)

    def age_text(self, now: float) -> str | None:
        """How long ago the last message arrived: `4s ago`, or None before the first."""
        if self.last_message_at is None:
            return None
        return f"{relative_seconds(now - self.last_message_at)} ago"


@dataclass(frozen=True, slots=True)
class BuildEntry:
    """A published build: what the listing says, then its summary once enrichment is done."""

    build_id: str
    tool_type: str | None
    """What the listing says (nothing over v1: the summary's `tool_type` tells)."""
    tool_version: str | None
    published_ms: int | None
    summary: BuildSummary | None = None
    problem: str | None = None
    """Why the summary could not be read, if it could not."""
    retrying: bool = False
    """Whether the read failed only for now and is tried again later (`problem` says why)."""


@dataclass(frozen=True)
class SkippedBuild:
    """A listing message that could not be read as a build, kept to show the user why.

    Both texts are the server's, unsanitised: whoever shows them sanitises them.
    """

    message_id: str
    reason: str
    start: str
    """The first `SKIPPED_START_BYTES` of its data, decoded with replacement characters."""


@dataclass(frozen=True)
class Notice:
    """News of a run that finished while the monitor ran: a build published since it started
    (with its summary), or an invocation seen finishing. Whether it notifies is the notifier's
    choice (`buildwatch.core.monitor.notifier`)."""

    run: BuildEntry | Invocation


@dataclass
class Changes:
    """What changed since the last `drain()`."""

    builds: list[BuildEntry]
    invocations: list[Invocation]
    notices: list[Notice]
    from_history: frozenset[str] = frozenset()
    """Keys of the builds and invocations above that come from the local history: seen in an
    earlier run, so not news to mark."""

    def __bool__(self) -> bool:
        return bool(self.builds or self.invocations or self.notices)


def relative_seconds(seconds: float) -> str:
    """A duration in its largest unit: `42s`, `5m`, `3h`, `2d`."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class MonitorStore:
    """Builds and invocations keyed by id, watched commits, source health, and a changes queue.

    `clock` is monotonic seconds (status ages and rates). Builds published, and invocations
    finished, before `notify_after_ms` (epoch ms) never raise a notice: the backfill is history.
    """

    def __init__(
        self,
        *,
        notify_after_ms: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.builds: dict[str, BuildEntry] = {}
        self.invocations: dict[str, Invocation] = {}
        self.develocity = SourceStatus("Develocity")
        self.buildbuddy = SourceStatus("BuildBuddy")
        self.clock = clock
        self._notify_after_ms = (
            int(time.time() * 1000) if notify_after_ms is None else notify_after_ms
        )
        self._watched: OrderedDict[str, WatchOrigin] = OrderedDict()
        self._dirty_builds: dict[str, None] = {}
        self._dirty_invocations: dict[str, None] = {}
        self._from_history: set[str] = set()
        self._notices: list[Notice] = []
        self.on_watch: Callable[[str], None] | None = None
        """Told each commit that becomes watched (the poller polls it at once)."""
        self.skipped_builds: deque[SkippedBuild] = deque(maxlen=SKIPPED_KEPT)
        """The most recent listing messages left out, oldest first; `develocity.skipped` counts all."""
        self.failures = FailureGroups()
        """The failure groups of the runs whose failures were recorded."""
        self.timings = TypicalDurations()
        """How long each project's requested work and each command and pattern usually take."""

    def status(self, source: SourceName) -> SourceStatus:
        """The health record of `source`."""
        return self.develocity if source == "develocity" else self.buildbuddy

    def set_state(self, source: SourceName, state: SourceState, detail: str = "") -> None:
        """Record a state that needs no retry schedule (connecting, live, auth failed, offline)."""
        status = self.status(source)
        status.state, status.detail, status.retry_at = state, detail, None
        if state == "live":
            status.attempt = 0
            status.showing_history = False

    def mark_live(self, source: SourceName) -> None:
        """The server answered: show `source` live (one already live keeps its detail)."""
        if self.status(source).state != "live":
            self.set_state(source, "live")

    def retrying(self, source: SourceName, cause: str, delay_s: float, attempt: int) -> None:
        """Record a failed attempt; the next one starts in `delay_s`."""
        status = self.status(source)
        status.state, status.detail = "reconnecting", cause
        status.retry_at = self.clock() + delay_s
        status.attempt = attempt

    def add_builds(self, builds: Iterable[Build]) -> int:
        """Take builds from the listing; returns how many were new."""
        status = self.develocity
        known, dirty = self.builds, self._dirty_builds
        added = 0
        for build in builds:
            # Each property reads the message's JSON: a backfill brings 100,000 builds.
            build_id = build.build_id
            if build_id in known:
                continue
            known[build_id] = BuildEntry(build_id, shared(build.tool_type),
                                         shared(build.tool_version),
                                         build.timestamp)
            dirty[build_id] = None
            added += 1
        self._arrived(status, added)
        status.count = len(self.builds)
        self.mark_live("develocity")
        return added

    def skip_builds(self, messages: Iterable[SkippedMessage]) -> None:
        """Count and keep listing messages that could not be read as builds."""
        for message in messages:
            start = message.source[:SKIPPED_START_BYTES].decode("utf-8", "replace")
            self.skipped_builds.append(SkippedBuild(message.message_id, message.reason, start))
            self.develocity.skipped += 1

    def load_history(
        self, builds: Iterable[tuple[Build, BuildSummary | None]], invocations: Iterable[Invocation]
    ) -> None:
        """Take builds and invocations from the local history.

        They are what was seen before, not news: no source becomes live, no commit is watched
        and no notice is raised. Builds already known keep what they have.
        """
        for build, summary in builds:
            build_id = build.build_id
            if build_id in self.builds:
                continue
            if summary is not None and summary.build_id == build_id:
                build_id = summary.build_id  # one copy of the id for both
            self.builds[build_id] = BuildEntry(
                build_id, shared(build.tool_type), shared(build.tool_version),
                build.timestamp, summary,
            )
            self._dirty_builds[build_id] = None
            self._from_history.add(build_id)
            if summary is not None:
                self.timings.add_build(summary)
        for invocation in invocations:
            key = invocation.invocation_id
            if key not in self.invocations:
                self.invocations[key] = invocation
                self._dirty_invocations[key] = None
                self._from_history.add(key)
                self.timings.add_invocation(invocation)
        for status, known in ((self.develocity, self.builds), (self.buildbuddy, self.invocations)):
            status.count = len(known)
            # A source already live has shown the server's data: the history only adds to it.
            status.showing_history = bool(known) and status.state != "live"

    def enrich(self, summary: BuildSummary) -> bool:
        """Attach a build's summary; watch its commit; queue a notice if it is news.

        Returns whether the summary was new or changed (a build the store does not hold, or
        the same summary read again, changes nothing).
        """
        entry = self.builds.get(summary.build_id)
        if entry is None or (entry.summary == summary and entry.problem is None):
            return False
        self.builds[summary.build_id] = replace(entry, summary=summary, problem=None,
                                                retrying=False)
        self._dirty_builds[summary.build_id] = None
        self.timings.add_build(summary)
        if summary.git_commit:
            self.watch(summary.git_commit, "develocity")
        if (summary.published_ms or 0) >= self._notify_after_ms:
            self._notices.append(Notice(self.builds[summary.build_id]))
        return True

    def enrichment_failed(self, build_id: str, problem: str, *, retrying: bool = False) -> None:
        """Record why a build's summary could not be read, and whether it is tried again."""
        entry = self.builds.get(build_id)
        if entry is not None:
            self.builds[build_id] = replace(entry, problem=problem, retrying=retrying)
            self._dirty_builds[build_id] = None

    def upsert_invocations(self, invocations: Iterable[Invocation]) -> int:
        """Take invocations from a poll; returns how many were new or changed."""
        status = self.buildbuddy
        changed = 0
        for invocation in invocations:
            key = invocation.invocation_id
            before = self.invocations.get(key)
            if before == invocation:
                continue
            self.invocations[key] = invocation
            self._dirty_invocations[key] = None
            self.timings.add_invocation(invocation)
            changed += 1
            if not is_running(invocation) and self._is_news(before, invocation):
                self._notices.append(Notice(invocation))
        self._arrived(status, changed)
        status.count = len(self.invocations)
        self.mark_live("buildbuddy")
        return changed

    def watch(self, commit: str, origin: WatchOrigin) -> bool:
        """Watch a commit's invocations; returns whether it was not watched before.

        Commits picked up from builds are kept to the `AUTO_WATCHED_COMMITS` most recent; the
        ones the user named stay watched.
        """
        sha = normalize_commit(commit)
        if sha is None:
            return False
        known = self._watched.get(sha)
        if known is not None:
            if known == "develocity":
                self._watched.move_to_end(sha)
                if origin != "develocity":
                    self._watched[sha] = origin
            return False
        self._watched[sha] = origin
        automatic = [sha for sha, how in self._watched.items() if how == "develocity"]
        for stale in automatic[:-AUTO_WATCHED_COMMITS]:
            del self._watched[stale]
        if self.on_watch is not None:
            self.on_watch(sha)
        return True

    def unwatch_git(self, commit: str) -> None:
        """Stop watching a commit that only a git branch brought in (it left the branch's newest
        commits); one watched for another reason stays."""
        if self._watched.get(commit) == "git":
            del self._watched[commit]

    def named(self, commit: str | None) -> bool:
        """Whether `commit` is watched because you named it (on the command line, in the
        configuration or with `w`), not only because a build brought it in."""
        sha = normalize_commit(commit or "")
        return sha is not None and self._watched.get(sha) not in (None, "develocity")

    def watched_commits(self) -> list[str]:
        """The commits to poll, the ones the user named first."""
        named = [sha for sha, how in self._watched.items() if how != "develocity"]
        automatic = [sha for sha, how in self._watched.items() if how == "develocity"]
        return named + automatic[::-1]

    @property
    def has_changes(self) -> bool:
        """Whether `drain()` would hand anything over."""
        return bool(self._dirty_builds or self._dirty_invocations or self._notices)

    @property
    def queued_rows(self) -> int:
        """Builds and invocations changed since they were last handed over by `drain()`."""
        return len(self._dirty_builds) + len(self._dirty_invocations)

    def drain(self, max_rows: int | None = None) -> Changes:
        """What changed since the last call, each row once, in order of change.

        With `max_rows`, at most that many builds and that many invocations; the rest stay
        queued for the next call.
        """
        builds = self._take(self._dirty_builds, max_rows)
        invocations = self._take(self._dirty_invocations, max_rows)
        from_history: frozenset[str] = frozenset()
        if self._from_history:
            from_history = frozenset(self._from_history.intersection([*builds, *invocations]))
            self._from_history -= from_history
            if not self._from_history:
                # A set keeps its table as it empties: 100,000 builds' worth, 4 MB.
                self._from_history = set()
        changes = Changes(
            [self.builds[key] for key in builds],
            [self.invocations[key] for key in invocations],
            self._notices,
            from_history,
        )
        self._notices = []
        return changes

    @staticmethod
    def _take(dirty: dict[str, None], max_rows: int | None) -> list[str]:
        if max_rows is None or len(dirty) <= max_rows:
            keys = list(dirty)
            dirty.clear()
            return keys
        keys = list(islice(dirty, max_rows))
        for key in keys:
            del dirty[key]
        return keys

    def _arrived(self, status: SourceStatus, count: int) -> None:
        now = self.clock()
        status.last_message_at = now
        if count:
            status.arrivals.append((now, count))

    def _is_news(self, before: Invocation | None, after: Invocation) -> bool:
        """Whether a finished invocation's end is news: once, as it is first seen finished, if
        it finished after the start (its creation plus its duration; a run the history held as
        running that ended while the monitor was closed is not news). Without a duration: if it
        was seen running, or was created after the start."""
        if before is not None and not is_running(before):
            return False
        created = after.created_at
        if created is not None and after.duration is not None:
            return (created + after.duration).timestamp() * 1000 >= self._notify_after_ms
        if before is not None:
            return True
        return created is not None and created.timestamp() * 1000 >= self._notify_after_ms
