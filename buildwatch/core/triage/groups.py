"""Failure groups: every run's failures gathered by signature, kept up to date run by run.

`TriageIndex.add(run, failures)` takes one build or invocation at a time, in any order (the
history gives them oldest first, the live feeds as they finish); adding a run again replaces
what it said before. `groups()` and `group(kind, name)` answer with immutable `FailureGroup`s,
and `same_commit(kind, name)` with what the other tool failed on a group's commits: a Bazel
target on BuildBuddy beside a Gradle task on Develocity, when both failed on one commit.

A group's status, from the runs the index holds:

- `flaky`: the work failed and passed on the same commit: a run of a project and work on a
  commit failed with the signature while another run of that project and work on that commit
  succeeded; or it passed on retry inside one run (`Failure.passed_on_retry`: a Gradle test
  retry, a surefire rerun, Bazel's `--flaky_test_attempts`, BuildBuddy's FLAKY status).
- `new`: for each project and work it failed in, it failed only in the newest runs that ran
  that work, after a run of that project and work that succeeded. `broken_since` is the first
  run of that streak (the earliest, across projects and works).
- `recurring`: anything else.

"The work passed" means a run of the same project, asked to do the same work (`Run.work`: the
requested tasks or goals, the Bazel command and pattern), succeeded: a successful build ran
every test and task it was asked to. One commit is often built for different work (an
`assemble` job beside a `test` job): the `assemble` build passing never ran the test that
failed in the `test` build, so it says nothing of that test. Where either run's work is not
known (a history written before runs recorded it), the project alone scopes it, as if the work
were the same: a run of unknown work may have run anything its project runs.
A run that failed without the signature says nothing about it (it may have stopped before
reaching that test), so it neither ends a streak nor starts one. A run whose outcome is unknown
(still running) is no pass either. A run that succeeded although the signature is among its
failures (a retry that passed) counts as a pass of that commit.

A failure with no successful run of its project and work before it is not known to be new: the
history may have begun after it broke, and a history's first day would otherwise call every
failure new. It is `recurring`, even when it failed once.

Cost: adding a run touches only its own signatures, its project's and its work's successes
(sorted lists, found with `bisect`) and the groups that failed on its commit (in its project,
and across projects and tools for `same_commit`); a group is assembled again only
when asked for after one of its runs changed, and its status is worked out when asked, from
per-work first failures and last successes, never by walking the history.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from buildwatch.core.triage.model import Failure, FailureKind, GroupStatus, Run, RunSource

GroupOrder = Literal["last_seen", "count"]
"""`last_seen`: the group that failed most recently first; `count`: the most failures first."""
Signature = tuple[FailureKind, str]
"""What groups failures: their kind and name."""

_RunKey = tuple[RunSource, str]
_Moment = tuple[int, RunSource, str]
"""(time_ms, source, run_id): the order of runs; ties in time are broken by source and id."""
_ProjectCommit = tuple[str | None, str]
_K = TypeVar("_K")
_Scope = tuple[str | None, str | None]
"""(project, work): the runs one of which passing says the work passed."""
_Place = tuple[str | None, str, str | None]
"""(project, commit, work): a scope on one commit."""


@dataclass(frozen=True)
class FailureGroup:
    """One signature's failures across the runs the index holds."""

    kind: FailureKind
    name: str
    count: int
    """Runs it failed in (builds and invocations)."""
    builds: tuple[str, ...]
    """Develocity build ids it failed in, newest first."""
    invocations: tuple[str, ...]
    """BuildBuddy invocation ids it failed in, newest first."""
    first_seen_ms: int
    last_seen_ms: int
    branches: tuple[str, ...]
    """Branches of the runs it failed in, sorted; likewise `users` and `projects`."""
    users: tuple[str, ...]
    projects: tuple[str, ...]
    headline: str
    """The newest failure's headline that says something ("" if none did)."""
    status: GroupStatus
    broken_since: str | None
    """For a `new` group, the build or invocation id its failing streak began with."""


@dataclass(frozen=True)
class SameCommitFailure:
    """What failed with another signature, in runs of the other tool (Develocity or
    BuildBuddy), on a commit a group failed on."""

    commit: str
    kind: FailureKind
    name: str
    builds: tuple[str, ...]
    """The Develocity build ids it failed in on that commit, newest first."""
    invocations: tuple[str, ...]
    """The BuildBuddy invocation ids it failed in on that commit, newest first."""


class _Signature:
    """What the index knows of one signature; `TriageIndex` keeps it consistent."""

    __slots__ = ("by_scope", "commits", "failures", "flaky_commits", "kind", "name", "retried",
                 "runs")

    def __init__(self, kind: FailureKind, name: str) -> None:
        self.kind = kind
        self.name = name
        self.runs: list[_Moment] = []
        """The runs it failed in, oldest first."""
        self.failures: dict[_RunKey, tuple[Run, Failure]] = {}
        self.by_scope: dict[_Scope, list[_Moment]] = {}
        """Per project and work, the runs it failed in, oldest first."""
        self.commits: dict[_Place, int] = {}
        """How many of its failing runs each (project, commit, work) had."""
        self.flaky_commits = 0
        """How many of `commits` have a successful run of their work: kept by the index as
        either changes."""
        self.retried = 0
        """Runs in which it passed on retry."""


class TriageIndex:
    """Failure groups of the runs added so far, updated one run at a time."""

    def __init__(self) -> None:
        # Runs by source, then id, and the failures of those that have some apart: most runs
        # pass, and 100,000 of them each with a key tuple and a (run, ()) pair cost 11 MB.
        self._runs: dict[RunSource, dict[str, Run]] = {}
        self._failed: dict[_RunKey, tuple[Failure, ...]] = {}
        self._signatures: dict[Signature, _Signature] = {}
        self._successes: dict[str | None, list[_Moment]] = {}
        """Per project, its successful runs of any work, oldest first."""
        self._successes_of: dict[_Scope, list[_Moment]] = {}
        """Per project and work, its successful runs, oldest first."""
        self._successes_on: dict[_Place, int] = {}
        self._successes_on_commit: dict[_ProjectCommit, int] = {}
        """Per project and commit, its successful runs of any work."""
        self._failing_on: dict[_ProjectCommit, dict[str | None, set[_Signature]]] = {}
        """Per project and commit, the signatures that failed there, by the work they failed
        in."""
        self._on_commit: dict[str, dict[_Signature, list[_Moment]]] = {}
        """Per commit, in any project, each signature that failed on it and the runs it failed
        in there, oldest first."""
        self._assembled: dict[Signature, FailureGroup] = {}
        """Groups as last assembled, status aside; dropped when one of their runs changes."""

    def __len__(self) -> int:
        """How many groups there are."""
        return len(self._signatures)

    @property
    def run_count(self) -> int:
        """How many runs were added (each once, however often it was added)."""
        return sum(len(runs) for runs in self._runs.values())

    def add(self, run: Run, failures: Iterable[Failure]) -> None:
        """Take `run` and what failed in it into account, replacing what an earlier `add` of
        the same run (same source and id) said. A failure named twice in one run counts once
        (it passed on retry if either did)."""
        runs = self._runs.setdefault(run.source, {})
        previous = runs.get(run.run_id)
        if previous is not None:
            self._forget(previous, self._failed.pop((run.source, run.run_id), ()))
        named = tuple(failures)
        merged = named if len(named) < 2 else _merged(named)
        runs[run.run_id] = run
        if merged:
            self._failed[(run.source, run.run_id)] = merged
        moment = (run.time_ms, run.source, run.run_id)
        if run.succeeded:
            self._add_success(run, moment)
        for failure in merged:
            self._add_failure(run, moment, failure)

    def group(self, kind: FailureKind, name: str) -> FailureGroup | None:
        """The group of this signature, None if nothing failed with it."""
        signature = self._signatures.get((kind, name))
        return None if signature is None else self._group(signature)

    def run(self, source: RunSource, run_id: str) -> Run | None:
        """The run of this source and id, as last added (None if it never was)."""
        return self._runs.get(source, {}).get(run_id)

    def same_commit(self, kind: FailureKind, name: str) -> tuple[SameCommitFailure, ...]:
        """What the other tool failed on each commit this signature failed on: on a commit it
        failed on in Develocity builds alone, what failed in BuildBuddy invocations there, and
        the other way round (on a commit it failed on in both, what failed in either). Its
        commits come most recently failed on first, each one's failures by kind and name."""
        signature = self._signatures.get((kind, name))
        if signature is None:
            return ()
        commits = {commit for _, commit, _ in signature.commits}
        found: list[tuple[_Moment, str, SameCommitFailure]] = []
        for commit in commits:
            failing = self._on_commit[commit]
            own = failing[signature]
            sources = {source for _, source, _ in own}
            for other, moments in failing.items():
                theirs = [moment for moment in moments
                          if other is not signature and (len(sources) > 1
                                                         or moment[1] not in sources)]
                if theirs:
                    found.append((own[-1], commit, SameCommitFailure(
                        commit, other.kind, other.name,
                        builds=_ids(theirs, "develocity"), invocations=_ids(theirs, "buildbuddy"),
                    )))
        found.sort(key=lambda entry: (-entry[0][0], entry[1], entry[2].kind, entry[2].name))
        return tuple(failure for _, _, failure in found)

    def groups(self, order: GroupOrder = "last_seen") -> list[FailureGroup]:
        """Every group, most recently failed first (`last_seen`) or most often failed first
        (`count`); ties go to the other criterion, then to the name."""
        found = [self._group(signature) for signature in self._signatures.values()]
        if order == "count":
            found.sort(key=lambda group: (-group.count, -group.last_seen_ms, group.kind, group.name))
        else:
            found.sort(key=lambda group: (-group.last_seen_ms, -group.count, group.kind, group.name))
        return found

    # --- keeping the index consistent --------------------------------------------------

    def _add_success(self, run: Run, moment: _Moment) -> None:
        _insert_into(self._successes, run.project, moment)
        _insert_into(self._successes_of, (run.project, run.work), moment)
        if run.commit is not None:
            self._count_success_on(run.project, run.commit, run.work, 1)

    def _count_success_on(self, project: str | None, commit: str, work: str | None,
                          change: int) -> None:
        """Count one more (`change` 1) or one fewer (-1) success of `work` on the commit, and
        move the flaky counts of the signatures whose failure there it matches or matched."""
        failing = self._failing_on.get((project, commit))
        if failing is None:
            # Nothing failed there (most commits): no flaky count can move.
            self._count_successes(project, commit, work, change)
            return
        # A success of unknown work may be a pass of any work; one of known work, of that work
        # and of the failures whose work is unknown.
        affected = list(failing) if work is None else [w for w in (work, None) if w in failing]
        before = [self._passed_on((project, commit, w)) for w in affected]
        self._count_successes(project, commit, work, change)
        for failing_work, was in zip(affected, before, strict=True):
            moved = self._passed_on((project, commit, failing_work)) - was
            if moved:
                for signature in failing[failing_work]:
                    signature.flaky_commits += moved

    def _count_successes(self, project: str | None, commit: str, work: str | None,
                         change: int) -> None:
        _count(self._successes_on, (project, commit, work), change)
        _count(self._successes_on_commit, (project, commit), change)

    def _passed_on(self, place: _Place) -> bool:
        """Whether a run of the place's project and work succeeded on its commit (of any work
        where either side's work is unknown)."""
        project, commit, work = place
        if work is None:
            return (project, commit) in self._successes_on_commit
        return place in self._successes_on or (project, commit, None) in self._successes_on

    def _add_failure(self, run: Run, moment: _Moment, failure: Failure) -> None:
        identity = (failure.kind, failure.name)
        signature = self._signatures.get(identity)
        if signature is None:
            signature = self._signatures[identity] = _Signature(failure.kind, failure.name)
        self._assembled.pop(identity, None)
        _insert(signature.runs, moment)
        _insert_into(signature.by_scope, (run.project, run.work), moment)
        signature.failures[(run.source, run.run_id)] = (run, failure)
        signature.retried += failure.passed_on_retry
        if run.commit is not None:
            _insert_into(self._on_commit.setdefault(run.commit, {}), signature, moment)
            place = (run.project, run.commit, run.work)
            failed_on = signature.commits.get(place, 0) + 1
            signature.commits[place] = failed_on
            if failed_on == 1:
                failing = self._failing_on.setdefault((run.project, run.commit), {})
                failing.setdefault(run.work, set()).add(signature)
                signature.flaky_commits += self._passed_on(place)

    def _forget(self, run: Run, failures: tuple[Failure, ...]) -> None:
        """Undo what adding `run` with `failures` did."""
        moment = (run.time_ms, run.source, run.run_id)
        for failure in failures:
            self._forget_failure(run, moment, failure)
        if run.succeeded:
            self._forget_success(run, moment)

    def _forget_success(self, run: Run, moment: _Moment) -> None:
        _remove_from(self._successes, run.project, moment)
        _remove_from(self._successes_of, (run.project, run.work), moment)
        if run.commit is not None:
            self._count_success_on(run.project, run.commit, run.work, -1)

    def _forget_failure(self, run: Run, moment: _Moment, failure: Failure) -> None:
        identity = (failure.kind, failure.name)
        signature = self._signatures[identity]
        self._assembled.pop(identity, None)
        if len(signature.runs) == 1:
            # Its only failure: forget the signature, and that it failed on this commit.
            del self._signatures[identity]
            if run.commit is not None:
                self._unfail_on((run.project, run.commit, run.work), signature)
                self._unfail_on_commit(run.commit, signature, moment)
            return
        _remove(signature.runs, moment)
        _remove_from(signature.by_scope, (run.project, run.work), moment)
        del signature.failures[(run.source, run.run_id)]
        signature.retried -= failure.passed_on_retry
        if run.commit is not None:
            self._unfail_on_commit(run.commit, signature, moment)
            place = (run.project, run.commit, run.work)
            signature.commits[place] -= 1
            if signature.commits[place] == 0:
                del signature.commits[place]
                signature.flaky_commits -= self._passed_on(place)
                self._unfail_on(place, signature)

    def _unfail_on(self, place: _Place, signature: _Signature) -> None:
        project, commit, work = place
        on_commit = self._failing_on[(project, commit)]
        failing = on_commit[work]
        failing.discard(signature)
        if not failing:
            del on_commit[work]
            if not on_commit:
                del self._failing_on[(project, commit)]

    def _unfail_on_commit(self, commit: str, signature: _Signature, moment: _Moment) -> None:
        on_commit = self._on_commit[commit]
        moments = on_commit[signature]
        _remove(moments, moment)
        if not moments:
            del on_commit[signature]
            if not on_commit:
                del self._on_commit[commit]

    # --- answering -------------------------------------------------------------------

    def _group(self, signature: _Signature) -> FailureGroup:
        identity = (signature.kind, signature.name)
        assembled = self._assembled.get(identity)
        if assembled is None:
            assembled = self._assembled[identity] = _assemble(signature)
        status, broken_since = self._status(signature)
        if (status, broken_since) == (assembled.status, assembled.broken_since):
            return assembled
        return replace(assembled, status=status, broken_since=broken_since)

    def _status(self, signature: _Signature) -> tuple[GroupStatus, str | None]:
        if signature.retried or signature.flaky_commits:
            return "flaky", None
        streak_starts = []
        for scope, failed in signature.by_scope.items():
            last_pass = self._last_pass(scope)
            if last_pass is None or last_pass > failed[0]:
                return "recurring", None
            streak_starts.append(failed[0])
        return "new", min(streak_starts)[2]

    def _last_pass(self, scope: _Scope) -> _Moment | None:
        """The newest success of the scope's project and work (of any work where either
        side's work is unknown)."""
        project, work = scope
        if work is None:
            passes = [self._successes.get(project)]
        else:
            passes = [self._successes_of.get(scope), self._successes_of.get((project, None))]
        return max((moments[-1] for moments in passes if moments), default=None)


def _assemble(signature: _Signature) -> FailureGroup:
    """The group's fields that depend on its own runs alone; status `recurring` until
    `TriageIndex._status` says otherwise."""
    newest_first = signature.runs[::-1]
    headline = ""
    for _, source, run_id in newest_first:
        headline = signature.failures[(source, run_id)][1].headline
        if headline:
            break
    runs = [run for run, _ in signature.failures.values()]
    return FailureGroup(
        kind=signature.kind,
        name=signature.name,
        count=len(newest_first),
        builds=tuple(run_id for _, source, run_id in newest_first if source == "develocity"),
        invocations=tuple(
            run_id for _, source, run_id in newest_first if source == "buildbuddy"
        ),
        first_seen_ms=signature.runs[0][0],
        last_seen_ms=signature.runs[-1][0],
        branches=_sorted_values(run.branch for run in runs),
        users=_sorted_values(run.user for run in runs),
        projects=_sorted_values(run.project for run in runs),
        headline=headline,
        status="recurring",
        broken_since=None,
    )


def _merged(failures: Iterable[Failure]) -> tuple[Failure, ...]:
    """One failure per signature, in the order first named: passed on retry if any was, with
    the first headline that says something."""
    by_signature: dict[Signature, Failure] = {}
    for failure in failures:
        identity = (failure.kind, failure.name)
        known = by_signature.get(identity)
        by_signature[identity] = failure if known is None else replace(
            known,
            headline=known.headline or failure.headline,
            passed_on_retry=known.passed_on_retry or failure.passed_on_retry,
        )
    return tuple(by_signature.values())


def _sorted_values(values: Iterable[str | None]) -> tuple[str, ...]:
    """The distinct values that are not None, sorted."""
    return tuple(sorted({value for value in values if value is not None}))


def _insert(moments: list[_Moment], moment: _Moment) -> None:
    """Insert `moment` in order; runs mostly arrive in order, so first try the end."""
    if not moments or moments[-1] <= moment:
        moments.append(moment)
    else:
        bisect.insort(moments, moment)


def _insert_into(lists: dict[_K, list[_Moment]], key: _K, moment: _Moment) -> None:
    """Insert `moment` in order into the list under `key`, a new one if none is."""
    moments = lists.get(key)
    if moments is None:
        lists[key] = [moment]
    else:
        _insert(moments, moment)


def _ids(moments: list[_Moment], source: RunSource) -> tuple[str, ...]:
    """The ids of the runs of `source` among `moments` (oldest first), newest first."""
    return tuple(run_id for _, of, run_id in reversed(moments) if of == source)


def _remove(moments: list[_Moment], moment: _Moment) -> None:
    del moments[bisect.bisect_left(moments, moment)]


def _remove_from(lists: dict[_K, list[_Moment]], key: _K, moment: _Moment) -> None:
    """Remove `moment` from the list under `key`, and the list once empty."""
    moments = lists[key]
    _remove(moments, moment)
    if not moments:
        del lists[key]


def _count(counts: dict[_K, int], key: _K, change: int) -> None:
    """Move the count under `key` by `change`, keeping no zero counts."""
    count = counts.get(key, 0) + change
    if count:
        counts[key] = count
    else:
        del counts[key]
