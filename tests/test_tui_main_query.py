"""The main screen's filter takes a query: fields per pane, faults shown where they are typed,
completion of field names and of values seen. Driven with Pilot against the simulator."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime

import pytest
from textual.widgets import Input, Static
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

from buildwatch.core.buildbuddy.triage import invocation_result
from buildwatch.core.config import UiPreferences, View
from buildwatch.core.develocity.models import Build
from buildwatch.core.monitor.store import BuildEntry
from buildwatch.sim import SimulatorThread
from buildwatch.tui.screens.main import MainScreen

pytestmark = pytest.mark.timeout(60)
SIZE = (140, 40)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config()) as running:
        yield running


def shown_keys(app: RecordingApp) -> set[str]:
    table = builds_table(app)
    return {table.row_key_at(index) for index in range(table.row_count)}


def builds_where(app: RecordingApp, holds: Callable[[BuildEntry], bool]) -> set[str]:
    return {key for key, entry in app.store.builds.items() if holds(entry)}


def filter_line(app: RecordingApp) -> Input:
    return app.screen.query_one("#filter", Input)


async def type_filter(pilot: object, text: str) -> None:
    field = filter_line(pilot.app)  # type: ignore[attr-defined]
    if not field.display:
        await pilot.press("slash")  # type: ignore[attr-defined]
    field.value = text
    await pilot.pause()  # type: ignore[attr-defined]


def a_project(app: RecordingApp) -> str:
    projects = sorted({entry.summary.project or "" for entry in app.store.builds.values()
                       if entry.summary is not None})
    return projects[-1]


async def test_a_field_term_shows_the_builds_whose_field_contains_the_value(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        project = a_project(app)
        await type_filter(pilot, f"project:{project.upper()[1:-1]}")
        expected = builds_where(app, lambda entry: project[1:-1].casefold()
                                in (entry.summary.project or "").casefold())  # type: ignore[union-attr]
        assert shown_keys(app) == expected
        assert 0 < len(expected) < BUILDS


async def test_a_word_typed_a_letter_at_a_time_shows_what_the_whole_word_shows(
    sim: SimulatorThread,
) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        word = a_project(app)[:-1]
        await type_filter(pilot, word)
        whole = shown_keys(app)
        await type_filter(pilot, "")
        shown_on_the_way = []
        for end in range(1, len(word) + 1):
            await type_filter(pilot, word[:end])
            shown_on_the_way.append(len(shown_keys(app)))
        assert shown_keys(app) == whole
        assert 0 < len(whole) < BUILDS
        assert shown_on_the_way == sorted(shown_on_the_way, reverse=True)


async def test_equals_negation_and_regular_expression_terms_filter_the_builds(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        failed = builds_where(app, lambda entry: entry.summary is not None
                              and entry.summary.outcome == "failed")
        await type_filter(pilot, "outcome=failed")
        assert shown_keys(app) == failed
        await type_filter(pilot, "-outcome=failed")
        assert shown_keys(app) == set(app.store.builds) - failed
        await type_filter(pilot, "outcome~^fail")
        assert shown_keys(app) == failed
        assert 0 < len(failed) < BUILDS


async def test_a_duration_term_compares_the_builds_durations(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await type_filter(pilot, "duration>3m")
        expected = builds_where(app, lambda entry: entry.summary is not None
                                and (entry.summary.duration_ms or 0) > 180_000)
        assert shown_keys(app) == expected
        assert 0 < len(expected) < BUILDS


async def test_a_time_term_compares_when_builds_were_published(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        times = sorted(entry.published_ms or 0 for entry in app.store.builds.values())
        middle = times[len(times) // 2] // 1000 * 1000
        await type_filter(pilot, f"published>={datetime.fromtimestamp(middle / 1000).isoformat()}")
        expected = builds_where(app, lambda entry: (entry.published_ms or 0) >= middle)
        assert shown_keys(app) == expected
        assert 0 < len(expected) < BUILDS


async def test_a_custom_value_term_reads_the_value_by_name(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        name, value = next((name, value) for entry in app.store.builds.values()
                           if entry.summary is not None
                           for name, value in entry.summary.custom_values if value)
        await type_filter(pilot, f'value:"{name}"="{value}"')
        expected = builds_where(app, lambda entry: entry.summary is not None and any(
            key == name and found == value for key, found in entry.summary.custom_values))
        assert shown_keys(app) == expected
        assert expected


async def test_user_me_means_the_configured_names(sim: SimulatorThread) -> None:
    probe = app_on(sim)
    async with probe.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(probe, BUILDS))
        user = next(entry.summary.user for entry in probe.store.builds.values()
                    if entry.summary is not None and entry.summary.user)
    app = app_on(sim, ui=UiPreferences(me=[user.upper()]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await type_filter(pilot, "user:me")
        expected = builds_where(app, lambda entry: entry.summary is not None
                                and user.casefold() in (entry.summary.user or "").casefold())
        assert shown_keys(app) == expected
        assert expected


async def test_the_invocations_pane_filters_by_its_own_fields(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: invocations_table(app).row_count > 0)
        await pilot.press("tab")
        await type_filter(pilot, "status:succeeded")
        table = invocations_table(app)
        expected = {key for key, item in app.store.invocations.items()
                    if invocation_result(item) == "succeeded"}
        assert {table.row_key_at(index) for index in range(table.row_count)} == expected
        assert builds_table(app).filter_text == ""


async def test_a_query_that_cannot_apply_is_marked_at_its_column_and_the_table_keeps_its_filter(
    sim: SimulatorThread,
) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await type_filter(pilot, "outcome=failed")
        before = shown_keys(app)
        await type_filter(pilot, "outcome=failed projct:x")
        field = filter_line(app)
        assert str(field.border_subtitle) == (
            "column 16: unknown field 'projct': did you mean 'project'?")
        assert field.has_class("-invalid")
        assert isinstance(app.screen, MainScreen)
        assert app.screen._fault.position == 15
        assert shown_keys(app) == before
        assert builds_table(app).filter_text == "outcome=failed"
        await pilot.press("enter")
        assert field.display  # the line stays open until the query reads
        await pilot.press("end", *["backspace"] * len(" projct:x"))
        assert field.border_subtitle is None
        assert not field.has_class("-invalid")


async def test_right_arrow_completes_a_field_name(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await pilot.press("slash", *"outcome=failed proj")
        await wait_for(pilot, lambda: filter_line(app)._suggestion != "")
        await pilot.press("right")
        assert filter_line(app).value == "outcome=failed project:"


async def test_right_arrow_completes_a_value_seen_in_the_pane(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        project = a_project(app)
        await pilot.press("slash", *f"project:{project[:2]}")
        await wait_for(pilot, lambda: filter_line(app)._suggestion != "")
        await pilot.press("right")
        completed = filter_line(app).value
        assert completed.startswith(f"project:{project[:2]}")
        assert completed.removeprefix("project:") in {
            entry.summary.project for entry in app.store.builds.values() if entry.summary}


async def test_a_time_ago_moves_on_when_compiled_again(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        screen = app.screen
        assert isinstance(screen, MainScreen)
        newest = max(entry.published_ms or 0 for entry in app.store.builds.values())
        screen._now_ms = lambda: newest + 60_000
        await type_filter(pilot, "published>-2m")
        assert len(shown_keys(app)) >= 1
        screen._now_ms = lambda: newest + 10 * 60_000
        screen.move_relative_queries()
        await pilot.pause()
        assert shown_keys(app) == set()


def pane_title(app: RecordingApp, pane: str = "builds") -> str:
    return str(app.screen.query_one(f"#{pane}-title", Static).render())


async def test_v_and_the_number_keys_switch_the_focused_panes_views(sim: SimulatorThread) -> None:
    views = (View(name="All"), View(name="Red", query="outcome:failed"),
             View(name="Main", query="branch=main"),
             View(name="Broken", pane="invocations", query="status:failed"))
    app = app_on(sim, ui=UiPreferences(views=views))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await pilot.press("2")
        failed = builds_where(app, lambda entry: entry.summary is not None
                              and entry.summary.outcome == "failed")
        assert shown_keys(app) == failed
        assert pane_title(app).startswith(
            f"[Red] · Develocity builds (published): {len(failed):,} of {BUILDS}")
        await pilot.press("v")
        assert shown_keys(app) == builds_where(app, lambda entry: entry.summary is not None
                                               and entry.summary.git_branch == "main")
        assert pane_title(app).startswith("[Main]")
        await pilot.press("v")
        assert builds_table(app).row_count == BUILDS
        assert pane_title(app).startswith("[All]")
        await pilot.press("4")  # the builds pane has three views: nothing changes
        assert pane_title(app).startswith("[All]")
        await pilot.press("tab", "1")
        assert invocations_table(app).filter_text == "status:failed"
        assert builds_table(app).filter_text == ""
        assert 0 < len(failed) < BUILDS


async def test_a_view_needing_me_without_names_says_so_and_changes_nothing(sim: SimulatorThread) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await pilot.press("2")
        assert builds_table(app).filter_text == ""
        assert any("My builds: `me` needs your user names" in str(note.message)
                   for note in app._notifications)


async def test_a_views_filter_columns_and_order_stay_after_opening_a_build_and_coming_back(
    sim: SimulatorThread,
) -> None:
    red = View(name="Red", query="outcome:failed", columns=("id", "value:Git commit id", "duration"),
               sort="duration desc")
    app = app_on(sim, ui=UiPreferences(views=(red,)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await pilot.press("1")
        table = builds_table(app)
        shown = shown_keys(app), table.shown_columns, table.sort_column
        assert 0 < len(shown[0]) < BUILDS
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, MainScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert table.filter_text == "outcome:failed"
        assert (shown_keys(app), table.shown_columns, table.sort_column) == shown
        assert shown[1:] == (("id", "value:git commit id", "duration"), "duration")
        assert pane_title(app).startswith("[Red]")


async def test_a_build_whose_summary_arrives_after_the_query_is_shown_once_it_matches(
    sim: SimulatorThread,
) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await type_filter(pilot, "project=late-arrival")
        listed = Build(source=json.dumps({"buildId": "late000000001", "toolType": "gradle",
                                          "timestamp": int(time.time() * 1000)}).encode(),
                       message_id="late000000001")
        app.store.load_history([(listed, None)], [])
        await wait_for(pilot, lambda: builds_table(app).total_row_count == BUILDS + 1)
        assert shown_keys(app) == set()
        known = next(entry.summary for entry in app.store.builds.values() if entry.summary)
        app.store.enrich(replace(known, build_id="late000000001", project="late-arrival"))
        await wait_for(pilot, lambda: shown_keys(app) == {"late000000001"})


async def test_a_build_whose_summary_changes_is_tested_again_on_its_new_fields(
    sim: SimulatorThread,
) -> None:
    app = app_on(sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await type_filter(pilot, "project=renamed")
        key, entry = next(iter(app.store.builds.items()))
        assert entry.summary is not None and shown_keys(app) == set()
        app.store.enrich(replace(entry.summary, project="renamed"))
        await wait_for(pilot, lambda: shown_keys(app) == {key})
