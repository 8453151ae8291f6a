"""The work a run was asked to do: what makes two runs of one project comparable.

A Develocity build's requested tasks or goals, joined with spaces (`assemble`, `clean test`); a
BuildBuddy invocation's command and pattern (`test //...`). One commit is often built several
times for different work (an `assemble` job beside a `test` job), and only a run of the same work
says how that work went: triage scopes "the work passed" by it, and typical durations are kept
per work. Both read it here, so that they agree on what one work is.
"""

from __future__ import annotations

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.develocity.summary import BuildSummary


def build_requested(summary: BuildSummary) -> str | None:
    """The tasks or goals the build was asked to run, joined with spaces; None when its events
    named none (the work is then unknown)."""
    return " ".join(summary.requested) or None


def invocation_requested(invocation: Invocation) -> str | None:
    """The invocation's command and pattern (`test //...`); None without a command."""
    if not invocation.command:
        return None
    return " ".join(part for part in (invocation.command, invocation.pattern) if part)
