"""Pictures of the main screen's filter line holding a query, and of saved views, at 80x24 and at a
large size."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_harness import all_enriched, make_app, sim_config, wait_for

from buildwatch.core.config import UiPreferences, View
from buildwatch.sim import SimulatorThread

pytestmark = pytest.mark.timeout(90)
BUILDS = 12
QUIET = UiPreferences(notify=())
SIZES = [(80, 24), (160, 48)]

SnapCompare = Callable[..., bool]


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config(builds=BUILDS)) as running:
        yield running


async def summarised(pilot: Pilot[Any]) -> None:
    app = pilot.app
    await wait_for(pilot, all_enriched(app, BUILDS))  # type: ignore[arg-type]
    await wait_for(pilot, lambda: not app.store.has_changes)  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
def test_a_query_error_at_its_column(snap_compare: SnapCompare, sim: SimulatorThread,
                                     size: tuple[int, int]) -> None:
    app = make_app(sim.develocity_url, frozen=True, ui=QUIET)
    assert snap_compare(app, terminal_size=size, run_before=summarised,
                        press=["slash", *"duration>1m", "left", "x"])


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
def test_a_saved_view(snap_compare: SnapCompare, sim: SimulatorThread,
                      size: tuple[int, int]) -> None:
    views = (View(name="All"), View(name="Over a minute", query="duration>1m"))
    app = make_app(sim.develocity_url, frozen=True, ui=UiPreferences(notify=(), views=views))
    assert snap_compare(app, terminal_size=size, run_before=summarised, press=["2"])


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
def test_a_view_with_columns_of_its_own(snap_compare: SnapCompare, sim: SimulatorThread,
                                        size: tuple[int, int]) -> None:
    views = (View(name="All"),
             View(name="Commits", columns=("outcome", "id", "project", "value:Git commit id",
                                           "branch", "duration"), sort="duration desc"))
    app = make_app(sim.develocity_url, frozen=True, ui=UiPreferences(notify=(), views=views))
    assert snap_compare(app, terminal_size=size, run_before=summarised, press=["2"])
