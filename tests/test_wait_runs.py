"""The runs `buildwatch wait` follows: each appears once, finishes once, and the worst decides."""

from __future__ import annotations

import pytest

from buildwatch.core.wait_runs import WORST_FIRST, Change, Run, RunOutcome, RunTracker


def run(outcome: RunOutcome | None, run_id: str = "a") -> Run:
    return Run("buildbuddy", run_id, "c0ffee", outcome, f"https://bb/invocation/{run_id}")


def tracked() -> tuple[RunTracker, list[tuple[str, str, RunOutcome | None]]]:
    said: list[tuple[str, str, RunOutcome | None]] = []

    def record(change: Change) -> None:
        said.append((change.kind, change.run.run_id, change.run.outcome))

    return RunTracker(record), said


def test_a_run_seen_running_then_finished_appears_then_finishes_once() -> None:
    tracker, said = tracked()
    for seen in (run(None), run(None), run("failed"), run("failed")):
        tracker.observe(seen)

    assert said == [("appeared", "a", None), ("finished", "a", "failed")]


def test_a_run_first_seen_finished_appears_without_an_outcome_then_finishes() -> None:
    tracker, said = tracked()
    tracker.observe(run("succeeded"))

    assert said == [("appeared", "a", None), ("finished", "a", "succeeded")]


def test_a_finished_run_stays_finished_whatever_a_later_answer_says() -> None:
    tracker, said = tracked()
    tracker.observe(run("succeeded"))
    tracker.observe(run(None))
    tracker.observe(run("failed"))

    assert tracker.runs == [run("succeeded")]
    assert len(said) == 2


def test_nothing_is_finished_before_a_run_appears_nor_while_one_runs() -> None:
    tracker, _ = tracked()
    assert not tracker.all_finished()
    tracker.observe(run(None, "b"))
    assert tracker.worst_outcome() is None
    tracker.observe(run("succeeded", "a"))
    assert not tracker.all_finished()
    tracker.observe(run("succeeded", "b"))
    assert tracker.all_finished()


@pytest.mark.parametrize("worst", WORST_FIRST)
def test_the_worst_outcome_wins_over_every_better_one(worst: RunOutcome) -> None:
    tracker, _ = tracked()
    better = WORST_FIRST[WORST_FIRST.index(worst):]
    for index, outcome in enumerate(reversed(better)):
        tracker.observe(run(outcome, str(index)))
    tracker.observe(run(None, "still running"))

    assert tracker.worst_outcome() == worst
