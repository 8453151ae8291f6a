"""What triage reads and what it answers, independent of where the runs came from.

A `Run` is one Develocity build or one BuildBuddy invocation, reduced to what grouping needs.
A `Failure` is one thing that failed in a run, named by its signature (`kind`, `name`). The
history stores both; the grouping in `groups.py` reads them and answers with `FailureGroup`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from buildwatch.core.sanitize import sanitize_line

RunSource = Literal["develocity", "buildbuddy"]
FailureKind = Literal["test", "task", "goal", "target", "build"]
"""`test` a test case; `task` a Gradle task path; `goal` a Maven goal; `target` a Bazel or
BuildBuddy target label; `build` the build's own failure, when nothing finer is known (named by
its exception class and normalised message)."""
GroupStatus = Literal["new", "flaky", "recurring"]
STATUSES: tuple[GroupStatus, ...] = ("new", "flaky", "recurring")
"""Every status, the ones to act on first."""
STATUS_WORDS: dict[GroupStatus, str] = {"new": "NEW", "flaky": "FLAKY", "recurring": "recurring"}
"""Each status as screens and tables show it: the two that call for action stand out."""


@dataclass(frozen=True, slots=True)
class Run:
    """One build or invocation, as far as grouping needs it."""

    source: RunSource
    run_id: str
    """The build id (Develocity) or the invocation id (BuildBuddy)."""
    time_ms: int
    """When it was published (Develocity) or last updated (BuildBuddy), epoch ms."""
    succeeded: bool | None
    """None while it runs or when its outcome is not known."""
    project: str | None = None
    """The root project (Develocity) or the repository (BuildBuddy)."""
    branch: str | None = None
    commit: str | None = None
    user: str | None = None
    work: str | None = None
    """What it was asked to do, as `work.py` reads it (`assemble`, `test //...`); None when not
    known. With `project`, which runs ran the same work, so that one passing says the work
    passed."""


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed test, task, goal, target, or the build itself, in one run."""

    kind: FailureKind
    name: str
    """Sanitised display name, as `signature_name` gives it."""
    headline: str = ""
    """Sanitised, normalised first line of what went wrong, if known."""
    passed_on_retry: bool = False
    """It failed, then passed within the same run (a test retry, a surefire rerun, Bazel's
    `--flaky_test_attempts`, BuildBuddy's FLAKY status)."""


TriageRecord = tuple[Run, tuple[Failure, ...]]
"""A run and its failures (none for a run that passed cleanly), as the history stores them."""


def signature_name(kind: FailureKind, name: str, project: str | None) -> str:
    """The name a failure of `kind`, named `name` by its tool, is grouped under when it failed in
    a run of `project`: every failure is named here.

    A task or goal is named by its project too (`billing-service :core:test`): the same path in
    two projects is other work, and one project's flaky run says nothing of the other's. A test
    keeps `Class.method` (its class qualifies it), a target its label, a build failure its
    exception class and normalised message.
    """
    if kind in ("task", "goal"):
        return f"{work_prefix(project)}{name}"
    return name


def work_prefix(project: str | None) -> str:
    """What `signature_name` puts before a task or goal of a run of `project` (nothing
    without a project)."""
    return f"{sanitize_line(project)} " if project else ""
