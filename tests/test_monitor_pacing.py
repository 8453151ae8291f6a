"""Background work in slices that stand aside while a key is answered."""

from __future__ import annotations

import asyncio

import pytest

from buildwatch.core.monitor.pacing import Backlog, InputGate, TimeBudget


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_slice_is_spent_once_its_budget_has_run() -> None:
    clock = Clock()
    budget = TimeBudget(InputGate(clock=clock), budget_s=0.008, clock=clock)
    seen = []
    for step in (0.007, 0.001):
        clock.now += step
        seen.append(budget.spent)
    budget.restart()
    seen.append(budget.spent)
    assert seen == [False, True, False]


def test_a_key_spends_the_slice_until_the_gate_opens_again() -> None:
    clock = Clock()
    gate = InputGate(stand_aside_s=0.05, clock=clock)
    budget = TimeBudget(gate, budget_s=1.0, clock=clock)
    gate.key_pressed()
    spent, closed_for = budget.spent, gate.closed_for
    clock.now += 0.05
    assert spent
    assert closed_for == pytest.approx(0.05)
    assert (budget.spent, gate.closed_for) == (False, 0)


def test_a_second_key_keeps_the_gate_closed_from_its_own_time() -> None:
    clock = Clock()
    gate = InputGate(stand_aside_s=0.05, clock=clock)
    gate.key_pressed()
    clock.now += 0.04
    gate.key_pressed()
    clock.now += 0.04
    assert gate.closed_for > 0


def test_idle_time_counts_from_the_last_key_and_not_from_a_hold() -> None:
    clock = Clock()
    gate = InputGate(stand_aside_s=0.05, clock=clock)
    assert gate.idle_s == float("inf")
    gate.key_pressed()
    clock.now += 3.0
    gate.close_for(10.0)  # the collector's hold while its store is behind: not a key
    assert gate.idle_s == pytest.approx(3.0)


async def test_work_paused_by_a_key_goes_on_once_the_gate_opens() -> None:
    gate = InputGate(stand_aside_s=0.02)
    budget = TimeBudget(gate, budget_s=1.0)
    gate.key_pressed()
    await asyncio.wait_for(budget.pause_if_spent(), 5)
    assert gate.closed_for == 0
    assert not budget.spent


def test_a_screen_behind_by_many_rows_has_a_backlog() -> None:
    backlog = Backlog(threshold=1_000)
    backlog.waiting(1_000)
    assert backlog.flowing


def test_a_screen_with_a_few_rows_queued_has_no_backlog() -> None:
    backlog = Backlog(threshold=1_000)
    backlog.waiting(999)
    assert not backlog.flowing


async def test_waiting_for_a_backlog_returns_once_the_screen_has_caught_up() -> None:
    backlog = Backlog(threshold=1_000, poll_s=0.01)
    backlog.waiting(50_000)
    waiter = asyncio.create_task(backlog.wait_drained())
    await asyncio.sleep(0.05)
    still_waiting = not waiter.done()
    backlog.waiting(0)
    await asyncio.wait_for(waiter, 5)
    assert still_waiting
