"""When the heap is frozen so the cycle collector never walks 100,000 builds at once."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from buildwatch.core.monitor.heap import HeapSettler, bulk_load


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_a_small_store_is_never_frozen() -> None:
    settler = HeapSettler(freeze_from=5_000, freeze_every=100)
    assert not settler.settle(rows=1_000, changed=10_000)


def test_a_large_store_freezes_once_enough_rows_changed() -> None:
    settler = HeapSettler(freeze_from=5_000, freeze_every=100)
    assert not settler.settle(rows=10_000, changed=60)
    assert settler.settle(rows=10_000, changed=60)
    assert gc.get_freeze_count() > 0
    assert not settler.settle(rows=10_000, changed=60)


def test_now_and_then_everything_is_unfrozen_and_collected() -> None:
    now = [0.0]
    settler = HeapSettler(freeze_from=1, freeze_every=1, reclaim_s=60, clock=lambda: now[0])
    settler.settle(rows=10, changed=1)
    gc.unfreeze()
    kept_alive: list[object] = [[] for _ in range(10_000)]
    kept_alive.append(kept_alive)  # a cycle, alive at the next freeze
    settler.settle(rows=10, changed=1)
    frozen = gc.get_freeze_count()
    del kept_alive
    now[0] = 61.0
    settler.settle(rows=10, changed=1)
    assert gc.get_freeze_count() < frozen - 5_000


def test_the_whole_heap_is_collected_only_once_no_key_was_pressed_for_a_while() -> None:
    now = [0.0]
    settler = HeapSettler(freeze_from=1, freeze_every=1, reclaim_s=60, reclaim_idle_s=2,
                          clock=lambda: now[0])
    settler.settle(rows=10, changed=1)
    gc.unfreeze()
    kept_alive: list[object] = [[] for _ in range(10_000)]
    kept_alive.append(kept_alive)
    settler.settle(rows=10, changed=1)
    frozen = gc.get_freeze_count()
    del kept_alive
    now[0] = 61.0

    settler.settle(rows=10, changed=1, idle_s=0.5)
    assert gc.get_freeze_count() >= frozen
    settler.settle(rows=10, changed=1, idle_s=2.5)
    assert gc.get_freeze_count() < frozen - 5_000


def test_what_a_bulk_load_made_is_kept_out_of_the_collectors_scans() -> None:
    with bulk_load():
        loaded = [[n] for n in range(1_000)]

    scanned = gc.get_objects()  # what collections walk; frozen objects are not in it
    assert not any(item is loaded or item is loaded[0] for item in scanned)


def test_the_collector_runs_again_after_a_bulk_load_that_failed() -> None:
    with pytest.raises(OSError), bulk_load():
        assert not gc.isenabled()
        raise OSError("the disk went away")

    assert gc.isenabled()
