"""A saved view's columns and order in the main screen: what the table shows when a view is
picked, kept when switching views (coming back from a build: `test_tui_main_query.py`). Driven
with Pilot against the simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tui_harness import (
    BUILDS,
    RecordingApp,
    all_enriched,
    app_on,
    builds_table,
    invocations_table,
    sim_config,
    wait_for,
)

from buildwatch.core.columns import USUAL_COLUMNS
from buildwatch.core.config import DEFAULT_VIEWS, UiPreferences, View
from buildwatch.sim import SimulatorThread
from buildwatch.tui.pane_views import pane_views
from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.table_render import MARK_WIDTH

pytestmark = pytest.mark.timeout(60)
SIZE = (140, 40)
SPELLINGS_BUILDS = 20
"""Enough for the simulator to name a commit both ways."""
COMMIT = "value:GIT COMMIT ID"
"""The simulator's builds name their commit `Git commit id` or `Git Commit ID`."""
LOCAL = View(name="Local", query="tag:LOCAL",
             columns=("outcome", "id", COMMIT, "project", "duration"), sort="duration desc")
SORTED = View(name="Longest", columns=LOCAL.columns, sort=LOCAL.sort)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config()) as running:
        yield running


def lines(table: LiveTable) -> list[str]:
    """What the table shows, one string per line: the header, then its rows, without the
    marker column (new rows are marked `+` for a while)."""
    return [table.render_line(y).text[MARK_WIDTH:] for y in range(table.row_count + 1)]


def durations(app: RecordingApp, table: LiveTable) -> list[int]:
    summaries = [app.store.builds[table.row_key_at(index)].summary
                 for index in range(table.row_count)]
    return [summary.duration_ms or 0 for summary in summaries if summary is not None]


async def test_a_views_columns_show_in_their_order_a_custom_value_whatever_its_names_case() -> None:
    with SimulatorThread(sim_config(builds=SPELLINGS_BUILDS)) as sim:
        app = app_on(sim, ui=UiPreferences(views=(View(name="All"), SORTED)))
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, all_enriched(app, SPELLINGS_BUILDS))
            table = builds_table(app)
            await pilot.press("2")
            shown = lines(table)
    assert shown[0].split() == ["Outcome", "Build", "GIT", "COMMIT", "ID", "Project",
                                "Duration", "↓"]
    spellings = set()
    for index, line in enumerate(shown[1:]):
        key = table.row_key_at(index)
        summary = app.store.builds[key].summary
        assert summary is not None
        values = [value for name, value in summary.custom_values
                  if name.casefold() == "git commit id"]
        spellings |= {name for name, _ in summary.custom_values
                      if name.casefold() == "git commit id"}
        assert line.split()[2:3 + len(values)] == [key, *values]
    assert spellings == {"Git commit id", "Git Commit ID"}
    assert len(shown) == SPELLINGS_BUILDS + 1


async def test_a_views_sort_orders_its_rows_and_a_view_without_one_shows_newest_first(
    sim: SimulatorThread,
) -> None:
    app = app_on(sim, ui=UiPreferences(views=(View(name="All"), LOCAL)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        table = builds_table(app)
        await pilot.press("2")
        in_view = durations(app, table), table.sort_column, table.sort_descending
        await pilot.press("1")
        published = [app.store.builds[table.row_key_at(index)].published_ms or 0
                     for index in range(table.row_count)]
        assert (table.sort_column, table.sort_descending) == ("published", True)
    assert in_view == (sorted(in_view[0], reverse=True), "duration", True)
    assert 1 < len(in_view[0]) < BUILDS
    assert published == sorted(published, reverse=True)


async def test_switching_views_back_and_forth_keeps_each_views_filter_and_columns(
    sim: SimulatorThread,
) -> None:
    red = View(name="Red", query="outcome:failed", columns=("outcome", "id", "branch"))
    app = app_on(sim, ui=UiPreferences(views=(red, LOCAL)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        table = builds_table(app)
        seen = []
        for key in ("1", "2", "1", "v"):
            await pilot.press(key)
            seen.append((table.filter_text, table.shown_columns, table.row_count))
    local = ("tag:LOCAL", ("outcome", "id", "value:git commit id", "project", "duration"))
    assert [shown[:2] for shown in seen] == [
        ("outcome:failed", ("outcome", "id", "branch")), local,
        ("outcome:failed", ("outcome", "id", "branch")), local]
    assert seen[0] == seen[2] and seen[1] == seen[3]


async def test_an_invocations_view_shows_its_panes_own_columns(sim: SimulatorThread) -> None:
    views = (View(name="Repos", pane="invocations", columns=("status", "branch", "repo")),)
    app = app_on(sim, ui=UiPreferences(views=views))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: invocations_table(app).row_count > 0)
        await pilot.press("tab", "1")
        table = invocations_table(app)
        shown = lines(table)
        first = app.store.invocations[table.row_key_at(0)]
    assert shown[0].split() == ["Status", "Branch", "Repository"]
    assert first.repo_url and first.repo_url[:20] in shown[1]
    assert first.branch_name in shown[1]


def test_the_default_views_show_the_usual_columns_slow_ones_longest_first() -> None:
    builds, invocations = pane_views("builds", DEFAULT_VIEWS), pane_views("invocations", DEFAULT_VIEWS)
    assert {item.view.name: (item.sort.column, item.sort.descending) for item in builds.views} == {
        "All": ("published", True), "My builds": ("published", True),
        "Main is red": ("published", True), "Slow": ("duration", True)}
    assert {item.columns for item in builds.views} == {USUAL_COLUMNS["builds"]}
    assert {item.columns for item in invocations.views} == {USUAL_COLUMNS["invocations"]}
    assert builds.extras == invocations.extras == ()  # rows as they were before views had columns
