"""Which finished builds and invocations notify, and how: the notification filter, quiet mode and
the kinds of notification a profile asks for.

The store queues a `Notice` for each run that finishes while the monitor runs (never for the
backfill or the history). The notifier keeps those the profile's queries match
(`notify_builds_when`, `notify_invocations_when`; `notify_only_watched` keeps only the commits
you named), holds them back while quiet, and makes each a `Notification` whose text is sanitised
once, here, for the toast and every escape sequence alike. The app shows the toast, rings the
bell and writes `terminal_sequence()`: the one part that needs Textual.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import count

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.buildbuddy.triage import invocation_result
from buildwatch.core.config import NotifyKind, UiPreferences
from buildwatch.core.monitor.store import BuildEntry, Notice
from buildwatch.core.terminal_sequences import (
    BODY_CHARACTERS,
    TITLE_CHARACTERS,
    for_terminal,
    notification_field,
    osc9,
    osc99,
    osc777,
)

_BUILD_OUTCOMES = {"success": "succeeded", "failed": "failed", "unknown": "ended, outcome unknown"}


@dataclass(frozen=True)
class Notification:
    """One notification, its title and body already safe for a toast and an escape sequence."""

    title: str
    body: str
    failed: bool
    """Whether the run failed: the toast shows as an error."""
    kinds: frozenset[NotifyKind]
    identifier: str
    """kitty's id for the notification (OSC 99's `i`): unique to this process."""

    def terminal_sequence(self, environment: Mapping[str, str]) -> str:
        """The desktop notification sequences asked for, each wrapped for tmux when inside it
        (the bell and the toast are not sequences: the app gives those)."""
        sequences = []
        if "osc9" in self.kinds:
            # OSC 9 has one text; it starts with a word, never a digit that Windows Terminal and
            # ConEmu would read as one of their OSC 9 subcommands.
            sequences.append(osc9(f"{self.title} — {self.body}"))
        if "osc777" in self.kinds:
            sequences.append(osc777(self.title, self.body))
        if "osc99" in self.kinds:
            sequences.append(osc99(self.title, self.body, self.identifier))
        return "".join(for_terminal(sequence, environment) for sequence in sequences)


class Notifier:
    """Turns the store's notices into notifications, as a profile's `[ui]` table asks.

    `named` says whether a commit is one you named (`MonitorStore.named`), for
    `notify_only_watched`; `now_ms` is what relative times in the queries count back from.
    """

    def __init__(
        self, ui: UiPreferences, named: Callable[[str | None], bool], now_ms: int | None = None
    ) -> None:
        self.kinds = frozenset(ui.notify)
        self.quiet = ui.quiet
        """Whether notifications are held back (`m` toggles it)."""
        self.missed = 0
        """How many notifications quiet mode held back since it was last turned on."""
        self._builds = ui.build_notifications(now_ms)
        self._invocations = ui.invocation_notifications(now_ms)
        self._only_named = ui.notify_only_watched
        self._named = named
        self._numbers = count(1)
        self._process = os.getpid()

    def toggle_quiet(self) -> bool:
        """Turn quiet mode on or off; returns whether it is now on. Turning it on starts the
        count of what it holds back afresh."""
        self.quiet = not self.quiet
        if self.quiet:
            self.missed = 0
        return self.quiet

    def notification(self, notice: Notice) -> Notification | None:
        """The notification `notice` raises, or None: the filter does not match it, quiet mode
        holds it back (and counts it), or no kind of notification is asked for."""
        if not self.kinds or not self._matches(notice.run):
            return None
        if self.quiet:
            self.missed += 1
            return None
        title, body, failed = _texts(notice.run)
        return Notification(
            notification_field(title, TITLE_CHARACTERS), notification_field(body, BODY_CHARACTERS),
            failed, self.kinds, f"buildwatch-{self._process}-{next(self._numbers)}",
        )

    def _matches(self, run: BuildEntry | Invocation) -> bool:
        if isinstance(run, BuildEntry):
            commit = run.summary.git_commit if run.summary is not None else None
            wanted = self._builds is not None and self._builds.matches(run)
        else:
            commit = run.commit_sha
            wanted = self._invocations is not None and self._invocations.matches(run)
        return wanted and (not self._only_named or self._named(commit))


def _texts(run: BuildEntry | Invocation) -> tuple[str, str, bool]:
    """A run's notification title and body, as the server wrote them, and whether it failed."""
    if isinstance(run, BuildEntry):
        summary = run.summary
        if summary is None:  # the store queues a build once its summary is read
            return f"Build {run.build_id}", run.build_id, False
        outcome = _BUILD_OUTCOMES.get(summary.outcome, summary.outcome)
        project = summary.project or summary.tool_type or run.build_id
        return (f"Build {outcome}: {project}", " ".join(summary.requested) or run.build_id,
                summary.outcome == "failed")
    result = invocation_result(run)
    return (f"Invocation {result}: {run.command or 'bazel'}", run.pattern or run.invocation_id,
            result == "failed")
