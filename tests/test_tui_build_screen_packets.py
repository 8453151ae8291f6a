"""The build screen on a server that writes one SSE message per packet, as streaming servers do:
it loads by the clock, not by network read, so thousands of reads cost no more than a few."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator
from typing import Any

import pytest
from drilldown_app import DrillApp, pick_build, sim_config, wait_until

from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.models import Message
from buildwatch.sim import FaultSpec, SimulatorThread
from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.widgets.live_table import LiveTable

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config(faults=FaultSpec(packets=1.0))) as thread:
        yield thread


@pytest.fixture(scope="module")
def failed_gradle(sim: SimulatorThread) -> str:
    return pick_build(sim, lambda b: b["toolType"] == "gradle" and b["failed"]
                      and not b["eventCount"])


class Counts:
    """How often a build screen applied events to its widgets and paused loading for the screen."""

    def __init__(self, screen: BuildScreen) -> None:
        self.flushes = 0
        self.pauses = 0
        flush, wait_for_refresh = screen._flush, screen.wait_for_refresh

        def counted_flush() -> None:
            self.flushes += 1
            flush()

        async def counted_wait() -> bool:
            self.pauses += 1
            return await wait_for_refresh()

        screen._flush = counted_flush  # type: ignore[method-assign]
        screen.wait_for_refresh = counted_wait  # type: ignore[method-assign]


def count_reads(client: DevelocityClient) -> list[int]:
    """Make `client` count the batches its event streams deliver (one per network read)."""
    reads = [0]
    batches = client.event_batches

    async def counted(build_id: str, **options: Any) -> AsyncGenerator[list[Message], None]:
        async for batch in batches(build_id, **options):
            reads[0] += 1
            yield batch

    client.event_batches = counted  # type: ignore[method-assign,assignment]
    return reads


async def test_a_build_served_one_message_per_write_shows_its_failed_tests(
        sim: SimulatorThread, failed_gradle: str) -> None:
    async with DrillApp(sim, lambda: BuildScreen(failed_gradle)).run_test() as pilot:
        screen = pilot.app.screen
        assert isinstance(screen, BuildScreen)
        await wait_until(pilot, lambda: screen.loaded)
        await pilot.press("3")
        await pilot.pause()
        table = screen.query_one("#tests-table", LiveTable)
        failed = screen.detail.failed_tests()
        assert failed
        shown = [screen.detail.tests[table.row_key_at(row)] for row in range(len(failed))]
        assert {test.key for test in shown} == {test.key for test in failed}


async def test_loading_pauses_for_the_screen_by_the_clock_not_per_network_read(
        sim: SimulatorThread, failed_gradle: str) -> None:
    screen = BuildScreen(failed_gradle)
    counts = Counts(screen)
    app = DrillApp(sim, lambda: screen)
    assert app.services.develocity is not None
    reads = count_reads(app.services.develocity)
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: screen.loaded)
    # The events came in hundreds of reads of about one event each...
    assert reads[0] > 200 and reads[0] * 2 > len(screen.detail.events)
    # ...and the screen was updated, and loading paused for it, only a few times.
    assert (counts.pauses + counts.flushes) * 10 < reads[0]
