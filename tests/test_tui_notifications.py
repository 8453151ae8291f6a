"""Notifications in the app, driven with Pilot against the simulator: the notification filter of
each pane, quiet mode from the setting and from its key, and how the status line shows it.

(The escape sequences themselves are read from a real terminal in
test_tui_notifications_pty.py: a headless app writes none.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tui_harness import BUILDS, RecordingApp, all_enriched, app_on, sim_config, wait_for

from buildwatch.core.config import UiPreferences
from buildwatch.sim import SimulatorThread
from buildwatch.tui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.timeout(90)
SIZE = (120, 36)
PUBLISHED = 40
"""Builds published while the app runs: enough for some to fail and some to succeed."""
COMMIT = "5e1f00d5" * 5
POLL_S = 0.5


@pytest.fixture
def live_sim() -> Iterator[SimulatorThread]:
    """A simulator whose clock runs: what it publishes is newer than the app's start."""
    with SimulatorThread(sim_config(now_ms=None)) as running:
        yield running


def status_line(app: RecordingApp) -> str:
    return str(app.screen.query_one(StatusBar).render())


def outcomes_published_after(app: RecordingApp, before: set[str]) -> dict[str, str]:
    """The outcome of each build listed that was not in `before`, by its project's title."""
    return {key: entry.summary.outcome for key, entry in app.store.builds.items()
            if key not in before and entry.summary is not None}


def build_notices(app: RecordingApp) -> list[tuple[str, str, str]]:
    return [notice for notice in app.notices if notice[0].startswith("Build ")]


async def test_only_the_builds_the_filter_matches_notify(live_sim: SimulatorThread) -> None:
    app = app_on(live_sim, ui=UiPreferences(notify_builds_when="outcome:succeeded"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        backfill = set(app.store.builds)
        live_sim.publish_builds(PUBLISHED)
        await wait_for(pilot, all_enriched(app, BUILDS + PUBLISHED))
        outcomes = outcomes_published_after(app, backfill)
        succeeded = sum(outcome == "success" for outcome in outcomes.values())
        assert 0 < succeeded < len(outcomes), "pick a count that brings both outcomes"
        notices = build_notices(app)
        assert len(notices) == succeeded
        assert all(title.startswith("Build succeeded: ") and severity == "information"
                   for title, _, severity in notices)


async def test_only_the_invocations_the_filter_matches_notify(live_sim: SimulatorThread) -> None:
    ui = UiPreferences(notify_invocations_when="status:cancelled", poll_interval_seconds=POLL_S)
    app = app_on(live_sim, ui=ui)
    async with app.run_test(size=SIZE) as pilot:
        app.store.watch(COMMIT, "you")
        failing, cancelled = live_sim.hold_invocation(COMMIT), live_sim.hold_invocation(COMMIT)
        invocations = app.store.invocations
        await wait_for(pilot, lambda: failing in invocations and cancelled in invocations)
        live_sim.end_invocation(failing, "TESTS_FAILED")
        live_sim.end_invocation(cancelled, "INTERRUPTED")
        await wait_for(pilot, lambda: any(title.startswith("Invocation")
                                          for title, _, _ in app.notices))
        # The failed one ended first, and was polled by then: it is left out, not late.
        await wait_for(pilot, lambda: invocations[failing].bazel_exit_code == "TESTS_FAILED")
        assert [title for title, _, _ in app.notices if title.startswith("Invocation")] == [
            f"Invocation cancelled: {invocations[cancelled].command}"]


async def test_quiet_from_the_setting_holds_every_notification_back_and_counts_it(
    live_sim: SimulatorThread,
) -> None:
    app = app_on(live_sim, ui=UiPreferences(quiet=True))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        assert status_line(app).startswith("quiet │ ● Develocity")
        backfill = set(app.store.builds)
        live_sim.publish_builds(PUBLISHED)
        await wait_for(pilot, all_enriched(app, BUILDS + PUBLISHED))
        failed = sum(outcome == "failed"
                     for outcome in outcomes_published_after(app, backfill).values())
        assert failed, "the simulator published no failed build: pick another count"
        assert build_notices(app) == [] and app.bells == 0
        assert status_line(app).startswith(f"quiet · {failed} held back │ ● Develocity")


async def test_m_turns_quiet_on_and_off_and_says_what_it_held_back(
    live_sim: SimulatorThread,
) -> None:
    app = app_on(live_sim)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        await pilot.press("m")
        await wait_for(pilot, lambda: status_line(app).startswith("quiet │ "))
        assert app.notices[-1][:2] == ("Quiet", "no notifications until m is pressed again")
        backfill = set(app.store.builds)
        live_sim.publish_builds(PUBLISHED)
        await wait_for(pilot, all_enriched(app, BUILDS + PUBLISHED))
        failed = sum(outcome == "failed"
                     for outcome in outcomes_published_after(app, backfill).values())
        assert failed and build_notices(app) == []
        await pilot.press("m")
        await wait_for(pilot, lambda: status_line(app).startswith("● Develocity"))
        assert app.notices[-1][:2] == ("Notifications on", f"{failed} held back while quiet")
        live_sim.publish_builds(PUBLISHED)
        await wait_for(pilot, all_enriched(app, BUILDS + 2 * PUBLISHED))
        assert build_notices(app), "notifications are on again"


async def test_at_80_columns_quiet_leaves_the_sources_state_in_view(
    live_sim: SimulatorThread,
) -> None:
    app = app_on(live_sim, ui=UiPreferences(quiet=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, all_enriched(app, BUILDS))
        bar = app.screen.query_one(StatusBar)
        first, second = ("".join(segment.text for segment in bar.render_line(y)) for y in (0, 1))
        assert first.strip().startswith(f"quiet │ ● Develocity live · {BUILDS} builds")
        assert second.strip().startswith("● BuildBuddy live")
