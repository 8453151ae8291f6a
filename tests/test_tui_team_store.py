"""The monitor viewing a team store on a real PostgreSQL (see postgres_server), driven with Pilot:
it shows what the collector committed as it commits it, keeps its rows while the store is away
and says so, and opens a build or invocation with what the store holds when it has no server
key. Another connection, writing as the collector does, stands for the collector."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from postgres_server import _team_store_database, postgres_server, store_database
from test_history_store import make_build, make_invocation, make_summary
from test_history_triage import FAILED_TASK, build_run
from textual.pilot import Pilot
from tui_harness import (
    FIXED_NOW_MS,
    RecordingApp,
    builds_table,
    invocations_table,
    sim_config,
    wait_for,
)

from buildwatch.core.config import Profile, UiPreferences
from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.models import Build
from buildwatch.core.history.store import HistoryBatch
from buildwatch.core.monitor.session import MonitorSettings
from buildwatch.core.secrets import Secret
from buildwatch.core.teamstore.location import store_location
from buildwatch.core.teamstore.store import TeamStore
from buildwatch.core.triage.model import Failure
from buildwatch.sim import SimulatorThread
from buildwatch.tui.screens.build import NEEDS_KEY, BuildScreen
from buildwatch.tui.screens.invocation import TEAM_STORE_NOTE, InvocationScreen
from buildwatch.tui.widgets.log_panel import LogPanel
from buildwatch.tui.widgets.status_bar import StatusBar

__all__ = ["_team_store_database", "postgres_server", "store_database"]
"""The fixtures imported above: pytest finds them by name, so they are exported to be kept."""

pytestmark = pytest.mark.timeout(60)
SIZE = (120, 30)
QUICK = UiPreferences(notify=(), retry_max_seconds=0.5)
"""No notifications; a store that went away is tried again within half a second."""


@pytest.fixture
def collector(store_database: str) -> Iterator[TeamStore]:
    """An empty team store, and a connection writing to it as the collector does."""
    store = TeamStore.connect(store_location(store_database))
    yield store
    store.close()


def published(numbers: range, *, summarised: bool = True) -> HistoryBatch:
    """Builds `numbers` published a second apart before the frozen now, with their summaries."""
    builds = [make_build(n, FIXED_NOW_MS - 600_000 + n * 1_000) for n in numbers]
    summaries = [make_summary(build) for build in builds] if summarised else []
    return HistoryBatch(builds=builds, summaries=summaries)


def viewer(collector: TeamStore, ui: UiPreferences = QUICK, **options: Any) -> RecordingApp:
    """The app viewing the collector's store, with no server configured."""
    settings = MonitorSettings(Profile(name="viewer", ui=ui), store=collector.location)
    return RecordingApp(settings, **options)


def status(app: RecordingApp) -> str:
    return str(app.screen.query_one(StatusBar).render())


def set_connections(url: str, allowed: bool) -> None:
    """Let the store's database take connections, or refuse them and end those it has: to a
    viewer, the store is gone until they are allowed again."""
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS {str(allowed).lower()}")
        if not allowed:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                          " WHERE datname = %s", (database,))


async def test_builds_invocations_and_failures_appear_as_the_collector_writes_them(
    collector: TeamStore,
) -> None:
    collector.write(published(range(1, 4)))
    app = viewer(collector)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: builds_table(app).row_count == 3)

        batch = published(range(4, 6))
        batch.invocations = [make_invocation("inv-1", FIXED_NOW_MS, "COMPLETE_INVOCATION_STATUS")]
        batch.triage = [(build_run(5, FIXED_NOW_MS), (FAILED_TASK,))]
        collector.write(batch)

        await wait_for(pilot, lambda: builds_table(app).row_count == 5
                       and invocations_table(app).row_count == 1
                       and app.store.failures.index.group("task", FAILED_TASK.name) is not None)
        assert app.store.builds["b000000000005"].summary == make_summary(batch.builds[-1])
        assert status(app).startswith("● store live · 5 builds · 1 invocation")


async def test_a_store_that_goes_away_keeps_the_rows_says_so_and_is_followed_again(
    collector: TeamStore, store_database: str,
) -> None:
    collector.write(published(range(1, 4)))
    app = viewer(collector)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: builds_table(app).row_count == 3
                       and status(app).startswith("● store live"))

        set_connections(store_database, allowed=False)
        try:
            await wait_for(pilot, lambda: "store unreachable, retrying" in status(app))
            assert builds_table(app).row_count == 3
        finally:
            set_connections(store_database, allowed=True)

        writer = TeamStore.connect(store_location(store_database))
        writer.write(published(range(4, 5)))
        writer.close()
        await wait_for(pilot, lambda: builds_table(app).row_count == 4
                       and status(app).startswith("● store live"))


async def test_the_collectors_heartbeat_shows_how_long_ago_it_beat(collector: TeamStore) -> None:
    collector.beat("collector-1", FIXED_NOW_MS - 60_000, now_ms=FIXED_NOW_MS - 2_000)
    app = viewer(collector, now_ms=lambda: FIXED_NOW_MS)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: "collector: live, 2s ago" in status(app))


async def test_a_viewer_holds_no_more_builds_than_history_max_builds(
    collector: TeamStore,
) -> None:
    collector.write(published(range(1, 501)))
    app = viewer(collector, UiPreferences(notify=(), history_max_builds=300))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.session.team is not None and not app.session.team.loading
                       and builds_table(app).row_count == 300)
        assert min(app.store.builds) == "b000000000201"


def shown(panel: LogPanel) -> str:
    return "".join(panel.view.iter_text())


async def open_first(pilot: Pilot[None], *keys: str) -> None:
    await pilot.press(*keys, "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BuildScreen | InvocationScreen))


async def test_without_a_develocity_key_a_build_shows_what_the_store_holds(
    collector: TeamStore,
) -> None:
    collector.write(published(range(1, 2)))
    app = viewer(collector)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: builds_table(app).row_count == 1)
        await open_first(pilot)
        summary = app.screen.query_one("#summary-log", LogPanel)
        await wait_for(pilot, lambda: NEEDS_KEY in shown(summary))
        assert "This build comes from the team store." in shown(summary)
        assert "org.gradle.Failure: boom" in shown(summary)


async def test_without_a_buildbuddy_key_an_invocation_says_what_needs_one(
    collector: TeamStore,
) -> None:
    collector.write(HistoryBatch(
        invocations=[make_invocation("inv-1", FIXED_NOW_MS, "COMPLETE_INVOCATION_STATUS")]))
    app = viewer(collector)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: invocations_table(app).row_count == 1)
        await open_first(pilot, "tab")
        await wait_for(pilot, lambda: TEAM_STORE_NOTE in str(
            app.screen.query_one("#invocation-header").render()))


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_of_the_store_and_collector_lines(
    snap_compare: Callable[..., bool], collector: TeamStore, size: tuple[int, int]
) -> None:
    batch = published(range(1, 9))
    batch.invocations = [make_invocation("inv-1", FIXED_NOW_MS - 90_000, "COMPLETE_INVOCATION_STATUS")]
    collector.write(batch)
    collector.beat("collector-1", FIXED_NOW_MS - 3_600_000, now_ms=FIXED_NOW_MS - 2_000)
    app = viewer(collector, now_ms=lambda: FIXED_NOW_MS, clock=lambda: 1000.0,
                 highlight_seconds=0.0)

    async def run_before(pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: builds_table(app).row_count == 8
                       and invocations_table(app).row_count == 1
                       and "collector: live" in status(app))

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_with_a_develocity_key_a_build_opens_from_the_server(collector: TeamStore) -> None:
    with SimulatorThread(sim_config(builds=2)) as sim:
        listed = httpx.get(f"{sim.develocity_url}/_sim/develocity/builds", timeout=10).json()
        collector.write(HistoryBatch(builds=[
            Build(source=json.dumps(build).encode(), message_id=build["buildId"])
            for build in listed
        ]))
        settings = MonitorSettings(
            Profile(name="viewer", ui=QUICK), store=collector.location,
            develocity=DevelocityConnection(base_url=sim.develocity_url, token=Secret("sim-token")),
        )
        app = RecordingApp(settings)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: builds_table(app).row_count == len(listed)
                           and app.session.develocity is not None)
            await open_first(pilot)
            progress = app.screen.query_one("#build-progress")
            await wait_for(pilot, lambda: str(progress.render()).endswith(" events"))
        assert any(record.path.endswith("/events") for record in sim.requests)


async def test_the_failure_groups_of_the_stores_runs_of_the_kept_days_load_at_start(
    collector: TeamStore,
) -> None:
    now_ms = int(time.time() * 1000)
    old = Failure("task", ":legacy:test")
    collector.write(HistoryBatch(triage=[
        (build_run(1, now_ms - 60_000), (FAILED_TASK,)),
        (build_run(2, now_ms - 31 * 86_400_000), (old,)),
    ]))
    app = viewer(collector)
    async with app.run_test(size=SIZE) as pilot:
        groups = app.store.failures
        await wait_for(pilot, lambda: groups.index.group("task", FAILED_TASK.name) is not None
                       and not groups.loading)
        assert groups.index.group("task", old.name) is None


async def test_a_store_unreachable_at_start_is_tried_until_it_answers(
    collector: TeamStore, store_database: str,
) -> None:
    collector.write(published(range(1, 3)))
    set_connections(store_database, allowed=False)
    try:
        app = viewer(collector)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: "store unreachable, retrying" in status(app))
            set_connections(store_database, allowed=True)
            await wait_for(pilot, lambda: builds_table(app).row_count == 2
                           and status(app).startswith("● store live"))
    finally:
        set_connections(store_database, allowed=True)
