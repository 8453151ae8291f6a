"""Builds the listing brought as malformed JSON: counted in the status line, listed with why."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from drilldown_app import screen_text
from tui_harness import app_on, sim_config, wait_for

from buildwatch.core.develocity.models import SkippedMessage
from buildwatch.core.monitor.store import MonitorStore, SourceStatus
from buildwatch.sim import FaultSpec, SimulatorThread
from buildwatch.tui.screens.skipped import SkippedScreen
from buildwatch.tui.widgets.status_bar import StatusBar, status_text

pytestmark = pytest.mark.timeout(60)

SIZE = (80, 24)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config(builds=30, faults=FaultSpec(bad_json=0.2))) as running:
        yield running


def test_a_live_source_that_skipped_messages_says_how_many() -> None:
    status = SourceStatus("Develocity", state="live", detail="", count=12, skipped=3)

    line = status_text(status, "build", now=0.0).plain

    assert line.startswith("● Develocity live · 12 builds")
    assert " · 3 skipped" in line


def test_the_store_keeps_each_skipped_build_with_its_reason_and_first_bytes() -> None:
    store = MonitorStore()
    data = b'{"buildId":"abc' + b"x" * 500

    store.skip_builds([SkippedMessage("Build", data, "abc", "malformed JSON: truncated")])

    (kept,) = store.skipped_builds
    assert (kept.message_id, kept.reason) == ("abc", "malformed JSON: truncated")
    assert kept.start.startswith('{"buildId":"abc') and len(kept.start) == 120
    assert store.develocity.skipped == 1


async def test_builds_with_malformed_json_are_counted_and_listed_from_the_palette(
    sim: SimulatorThread,
) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        status = app.store.develocity
        await wait_for(pilot, lambda: status.skipped > 0 and status.state == "live")
        await wait_for(pilot, lambda: "skipped" in str(app.screen.query_one(StatusBar).render()))
        assert f" · {status.skipped} skipped" in str(app.screen.query_one(StatusBar).render())
        assert status.skipped + len(app.store.builds) == 30

        await pilot.press("ctrl+p", *"Skipped builds")
        await wait_for(pilot, lambda: "could not be read, and why" in screen_text(app))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SkippedScreen))
        shown = screen_text(app)
        assert f"Skipped builds: {status.skipped}" in shown
        assert "malformed JSON" in shown
        for entry in app.store.skipped_builds:
            assert entry.message_id in shown
        await pilot.press("escape")
        assert not isinstance(app.screen, SkippedScreen)
