"""The monitor's failure groups: the history's recorded runs grouped at start, the feeds' records
on top, each change counted so a screen knows when to redraw."""

from __future__ import annotations

import asyncio
from pathlib import Path

from buildwatch.core.history.opening import open_history
from buildwatch.core.history.store import HistoryBatch
from buildwatch.core.monitor.failures import LOAD_SLICE, FailureGroups
from buildwatch.core.triage.model import Failure, Run, TriageRecord

T0 = 1_800_000_000_000
CART = Failure("test", "com.acme.CartTest.total", "expected: <#> but was: <#>")
CHECK = Failure("task", ":app:check")


def build(number: int, succeeded: bool) -> Run:
    return Run("develocity", f"b{number:05d}", T0 + number * 1_000, succeeded, "app", "main",
               f"c{number:05d}", "ana")


def stored(tmp_path: Path, records: list[TriageRecord]) -> Path:
    path = tmp_path / "history.sqlite3"
    store = open_history(path).store
    store.write(HistoryBatch(triage=records))
    store.close()
    return path


async def test_loading_groups_every_run_the_history_recorded(tmp_path: Path) -> None:
    records = [(build(n, n % 3 != 0), (CART,) if n % 3 == 0 else ()) for n in range(2 * LOAD_SLICE)]
    groups = FailureGroups()

    await groups.load(stored(tmp_path, records))

    cart = groups.index.group("test", CART.name)
    assert cart is not None and cart.count == len(records) // 3 + 1
    assert (groups.loading, groups.loaded, groups.to_load) == (False, len(records), len(records))
    assert groups.index.run_count == len(records)


async def test_a_run_the_feeds_record_while_the_history_loads_keeps_what_they_said(
    tmp_path: Path,
) -> None:
    history = stored(tmp_path, [(build(1, False), (CART,)), (build(2, True), ())])
    groups = FailureGroups()

    loading = asyncio.create_task(groups.load(history))
    await asyncio.sleep(0)
    assert groups.loading
    groups.record([(build(1, False), (CHECK,))])
    await loading

    assert groups.index.group("test", CART.name) is None
    check = groups.index.group("task", CHECK.name)
    assert check is not None and check.builds == ("b00001",)


async def test_each_record_moves_the_version_on(tmp_path: Path) -> None:
    groups = FailureGroups()
    before = groups.version

    groups.record([(build(1, False), (CART,))])

    assert groups.version > before
    assert groups.index.group("test", CART.name) is not None


async def test_a_history_that_cannot_be_read_says_why_and_keeps_the_groups(
    tmp_path: Path,
) -> None:
    groups = FailureGroups()
    groups.record([(build(1, False), (CART,))])
    unreadable = tmp_path / "a-directory"
    unreadable.mkdir()

    await groups.load(unreadable)

    assert groups.problem is not None and str(unreadable) in groups.problem
    assert not groups.loading
    assert groups.index.group("test", CART.name) is not None

