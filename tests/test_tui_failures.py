"""The Failures view and a failure group's screen, driven with Pilot on a history that read the
simulator's triage world (as `buildwatch failures` reads it): every status and count as the
screens show them, sorting, filtering, opening a group and its runs, and going back."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from drilldown_app import log_text
from test_tui_main import palette_searched
from textual.pilot import Pilot
from textual.widgets import Static
from triage_world import buildbuddy_client, develocity_client, gradle_test, triage_config
from tui_harness import FIXED_NOW_MS, RecordingApp, wait_for

from buildwatch.cli.tui import simulator_settings
from buildwatch.core.config import Profile, UiPreferences
from buildwatch.core.develocity.git_values import DEFAULT_GIT_VALUE_NAMES
from buildwatch.core.history.opening import open_history
from buildwatch.core.triage.model import Failure, Run
from buildwatch.core.triage.refresh import refresh_history
from buildwatch.sim import SimulatorThread
from buildwatch.sim import triage as world
from buildwatch.sim.triage import LANES
from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.screens.failure_group import FailureGroupScreen
from buildwatch.tui.screens.failures import FailuresScreen
from buildwatch.tui.screens.invocation import InvocationScreen
from buildwatch.tui.screens.main import MainScreen
from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.log_panel import LogPanel
from buildwatch.tui.widgets.table_model import plain

pytestmark = pytest.mark.timeout(120)
SIZE = (160, 40)
KEEP_EVERYTHING = UiPreferences(notify=(), history_max_age_days=100_000)
"""The world is dated by the frozen clock, long ago: retention must not take it away."""
QUIET = UiPreferences(notify=())
SnapCompare = Callable[..., bool]
NEW = gradle_test(world.NEW_TEST)
FLAKY = gradle_test(world.FLAKY_TEST)
RECURRING = gradle_test(world.RECURRING_TEST)
RETRIED = gradle_test(world.RETRIED_TEST)
TASK = f"auth-gateway :web:{world.FAILING_TASK}"
"""Lane 3's task, failing on the commits whose BuildBuddy invocations fail Bazel targets."""


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(dataclasses.replace(triage_config(), now_ms=FIXED_NOW_MS)) as running:
        yield running


@pytest.fixture(scope="module")
def world_history(sim: SimulatorThread, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history holding every build and invocation of the world, their failures recorded."""
    path = tmp_path_factory.mktemp("triage") / "history.sqlite3"
    problems: list[str] = []
    steps: list[str] = []

    async def read() -> None:
        store = open_history(path).store
        try:
            async with develocity_client(sim) as develocity, buildbuddy_client(sim) as buildbuddy:
                await refresh_history(store, develocity, buildbuddy, 0,
                                      DEFAULT_GIT_VALUE_NAMES, problems.append, steps.append)
        finally:
            store.close()

    asyncio.run(read())
    assert problems == []
    return path


@pytest.fixture
def history(world_history: Path, tmp_path: Path) -> Path:
    """This test's own copy of the world's history (the app writes to its history)."""
    copy = tmp_path / "history.sqlite3"
    shutil.copyfile(world_history, copy)
    return copy


def offline_app(sim: SimulatorThread, history: Path) -> RecordingApp:
    """The app browsing `history` offline, its clocks frozen."""
    settings = simulator_settings(sim.develocity_url, "sim-token", "sim-api-key")
    settings = dataclasses.replace(settings, history=history, offline=True,
                                   profile=Profile(name="demo", ui=KEEP_EVERYTHING))
    return RecordingApp(settings, now_ms=lambda: FIXED_NOW_MS, clock=lambda: 1000.0,
                        highlight_seconds=0.0)


def live_app(sim: SimulatorThread, history: Path | None) -> RecordingApp:
    """The app following the simulator (on the real clock) from its first build, recording
    what fails in `history` (None: no history, as `buildwatch demo` runs)."""
    settings = dataclasses.replace(
        simulator_settings(sim.develocity_url, "sim-token", "sim-api-key"),
        history=history, profile=Profile(name="demo", ui=QUIET),
    )
    return RecordingApp(settings)


def groups_loaded(app: RecordingApp) -> bool:
    failures = app.store.failures
    return not failures.loading and len(failures.index) > 0


async def open_failures(pilot: Pilot[Any]) -> FailuresScreen:
    """Wait for the history's groups, press F, and wait until the view shows them."""
    app: RecordingApp = pilot.app  # type: ignore[assignment]
    await wait_for(pilot, lambda: groups_loaded(app))
    await pilot.press("F")
    screen = app.screen
    assert isinstance(screen, FailuresScreen)
    await wait_for(pilot, lambda: screen.table.total_row_count == len(app.store.failures.index))
    return screen


def rows(table: LiveTable) -> list[dict[str, str]]:
    """The rows the table shows, top first, each as column key -> text."""
    model = table._model
    return [
        {column.key: plain(cell) for column, cell in zip(model.columns,
                                                         model.record(table.row_key_at(i)).cells,
                                                         strict=True)}
        for i in range(table.row_count)
    ]


def row_named(table: LiveTable, name: str) -> dict[str, str]:
    return next(row for row in rows(table) if row["name"] == name)


def title(screen: FailuresScreen | FailureGroupScreen) -> str:
    return str(screen.query_one("#title", Static).render())


async def test_f_opens_the_failures_view_with_each_status_in_words(
    sim: SimulatorThread, history: Path
) -> None:
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_failures(pilot)

        statuses = {name: row_named(screen.table, name)["status"]
                    for name in (NEW, FLAKY, RECURRING, RETRIED, world.FLAKY_TARGET)}
        assert statuses == {NEW: "NEW", FLAKY: "FLAKY", RECURRING: "recurring",
                            RETRIED: "FLAKY", world.FLAKY_TARGET: "FLAKY"}


async def test_each_group_shows_its_count_kind_and_branches(
    sim: SimulatorThread, history: Path
) -> None:
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_failures(pilot)

        for name in (NEW, FLAKY, RECURRING, world.FLAKY_TARGET, world.GATEWAY_TARGET):
            group = next(g for g in app.store.failures.index.groups() if g.name == name)
            row = row_named(screen.table, name)
            assert (row["kind"], row["count"], row["branches"]) == (
                group.kind, str(group.count), ", ".join(group.branches))
        assert row_named(screen.table, NEW)["count"] == str(world.NEW_RUNS)


async def test_groups_come_most_recently_failed_first_and_c_sorts_by_count(
    sim: SimulatorThread, history: Path
) -> None:
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_failures(pilot)
        index = app.store.failures.index

        def order() -> list[tuple[int, int]]:
            """(last seen, count) of each group shown, top first."""
            groups = {(group.kind, group.name): group for group in index.groups()}
            shown = [groups[row["kind"], row["name"]] for row in rows(screen.table)]
            return [(group.last_seen_ms, group.count) for group in shown]

        assert len(order()) == len(index)
        assert order() == sorted(order(), reverse=True)
        assert "by last seen" in title(screen)

        await pilot.press("c")
        by_count = [(count, last) for last, count in order()]
        assert by_count == sorted(by_count, reverse=True) and by_count[0] != by_count[-1]
        assert "by count" in title(screen)

        await pilot.press("c")
        assert order() == sorted(order(), reverse=True)
        assert "by last seen" in title(screen)


async def test_slash_filters_the_groups_and_escape_clears_the_filter(
    sim: SimulatorThread, history: Path
) -> None:
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_failures(pilot)
        total = screen.table.row_count

        await pilot.press("slash", *"FLAKY", "enter")
        assert {row["status"] for row in rows(screen.table)} == {"FLAKY"}
        assert 0 < screen.table.row_count < total
        assert "filter: FLAKY" in title(screen)

        await pilot.press("escape")
        assert screen.table.row_count == total
        assert app.screen is screen

        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_enter_opens_the_group_with_its_builds_newest_first(
    sim: SimulatorThread, history: Path
) -> None:
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_failures(pilot)
        assert screen.table.select_row(f"test {NEW}")

        await pilot.press("enter")
        group_screen = app.screen
        assert isinstance(group_screen, FailureGroupScreen)
        await pilot.pause()
        group = app.store.failures.index.group("test", NEW)
        assert group is not None
        shown = rows(group_screen.table)
        assert [row["id"] for row in shown] == list(group.builds)
        assert {row["source"] for row in shown} == {"build"}
        header = str(group_screen.query_one("#group-header", Static).render())
        assert header.startswith(f"NEW  test {NEW}")
        assert f"failed in {world.NEW_RUNS} builds since" in header
        assert f"broken since {group.broken_since}" in header


async def test_a_flaky_target_lists_its_invocations_and_opens_one(
    sim: SimulatorThread, history: Path
) -> None:
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_failures(pilot)
        group = app.store.failures.index.group("target", world.FLAKY_TARGET)
        assert group is not None and group.invocations
        assert screen.table.select_row(f"target {world.FLAKY_TARGET}")

        await pilot.press("enter")
        group_screen = app.screen
        assert isinstance(group_screen, FailureGroupScreen)
        assert [row["id"] for row in rows(group_screen.table)] == list(group.invocations)

        await pilot.press("enter")
        assert isinstance(app.screen, InvocationScreen)
        assert app.screen.invocation_id == group.invocations[0]


async def open_group(pilot: Pilot[Any], kind: str, name: str) -> FailureGroupScreen:
    """Open the Failures view, then the group of `kind` and `name`, and wait for its runs."""
    app: RecordingApp = pilot.app  # type: ignore[assignment]
    screen = await open_failures(pilot)
    assert screen.table.select_row(f"{kind} {name}")
    await pilot.press("enter")
    group_screen = app.screen
    assert isinstance(group_screen, FailureGroupScreen)
    await wait_for(pilot, lambda: group_screen.table.row_count > 0)
    return group_screen


def beside(table: LiveTable) -> dict[str, set[str]]:
    """Each run's id -> the names shown beside it, of what the other tool failed on its commit."""
    return {row["id"]: set(row["beside"].split(", ")) - {"-"} for row in rows(table)}


@pytest.mark.parametrize(
    ("kind", "name", "beside_every_run"),
    [("task", TASK, {world.GATEWAY_TARGET, world.FLAKY_TARGET}),
     ("target", world.GATEWAY_TARGET, {TASK})],
    ids=["a-gradle-tasks-builds", "a-bazel-targets-invocations"],
)
async def test_each_run_shows_what_the_other_tool_failed_on_its_commit(
    sim: SimulatorThread, history: Path, kind: str, name: str, beside_every_run: set[str]
) -> None:
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        group_screen = await open_group(pilot, kind, name)

        shown = beside(group_screen.table)
        assert shown and all(beside_every_run <= names for names in shown.values())


async def test_what_the_other_tool_fails_on_a_groups_commit_shows_beside_it_as_recorded(
    sim: SimulatorThread, history: Path
) -> None:
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        group_screen = await open_group(pilot, "test", NEW)
        index = app.store.failures.index
        group = index.group("test", NEW)
        assert group is not None
        newest = index.run("develocity", group.builds[0])
        assert newest is not None and beside(group_screen.table)[newest.run_id] == set()
        late = Run("buildbuddy", "late-invocation", FIXED_NOW_MS, False,
                   "https://github.com/acme/search", "main", newest.commit, "ana")

        app.store.failures.record([(late, (Failure("target", "//search:late_test"),))])

        await wait_for(pilot, lambda: beside(group_screen.table)[newest.run_id]
                       == {"//search:late_test"})
        assert all(not names for run_id, names in beside(group_screen.table).items()
                   if run_id != newest.run_id)


async def test_leaving_a_build_and_the_group_comes_back_to_the_same_view(
    sim: SimulatorThread, history: Path
) -> None:
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_failures(pilot)
        await pilot.press("slash", *"recurring", "enter")
        assert screen.table.select_row(f"test {RECURRING}")
        await pilot.press("enter", "enter")
        assert isinstance(app.screen, BuildScreen)

        await pilot.press("escape")
        assert isinstance(app.screen, FailureGroupScreen)
        await pilot.press("escape")
        assert app.screen is screen
        assert screen.table.filter_text == "recurring"
        assert screen.table.cursor_row_key == f"test {RECURRING}"


async def test_the_view_follows_failures_recorded_while_it_is_open(
    sim: SimulatorThread, history: Path
) -> None:
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_failures(pilot)
        before = int(row_named(screen.table, RECURRING)["count"])
        late = Run("develocity", "late-build", FIXED_NOW_MS, False, "payments-service", "main",
                   "f" * 40, "ana")

        app.store.failures.record([(late, (Failure("test", RECURRING),
                                           Failure("task", ":late:compileJava")))])
        await wait_for(pilot, lambda: screen.table.total_row_count
                       == len(app.store.failures.index))

        assert int(row_named(screen.table, RECURRING)["count"]) == before + 1
        assert row_named(screen.table, ":late:compileJava")["count"] == "1"
        assert rows(screen.table)[0]["last"] == "<1m ago"


# --- Pictures -----------------------------------------------------------------------------


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is UTC, so the times a picture shows are the same on every machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_failures_view_picture(
    snap_compare: SnapCompare, sim: SimulatorThread, history: Path, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await open_failures(pilot)

    assert snap_compare(offline_app(sim, history), terminal_size=size, run_before=run_before)


@pytest.mark.usefixtures("utc")
@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_failure_group_picture(
    snap_compare: SnapCompare, sim: SimulatorThread, history: Path, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await open_group(pilot, "task", TASK)
        await pilot.pause()

    assert snap_compare(offline_app(sim, history), terminal_size=size, run_before=run_before)


async def test_help_lists_the_failures_key_with_its_id(sim: SimulatorThread, history: Path) -> None:
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        text = app.export_screenshot()

        assert "main.failures" in text and "Failures" in text


async def test_the_command_palette_opens_the_failures_view(
    sim: SimulatorThread, history: Path
) -> None:
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"Failures")
        await wait_for(pilot, lambda: palette_searched(app))
        await pilot.press("enter")

        await wait_for(pilot, lambda: isinstance(app.screen, FailuresScreen))


async def test_failures_the_monitor_records_reach_the_open_view_as_builds_arrive(
    tmp_path: Path,
) -> None:
    with SimulatorThread(triage_config()) as live:
        app = live_app(live, tmp_path / "history.sqlite3")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("F")
            screen = app.screen
            assert isinstance(screen, FailuresScreen)
            await wait_for(pilot, lambda: f"test {NEW}" in screen._shown, timeout=60)
            await wait_for(pilot, lambda: row_named(screen.table, NEW)["count"]
                           == str(world.NEW_RUNS), timeout=60)
            assert row_named(screen.table, NEW)["status"] == "NEW"

            live.publish_builds(LANES)

            await wait_for(pilot, lambda: row_named(screen.table, NEW)["count"]
                           == str(world.NEW_RUNS + 1), timeout=60)
            assert row_named(screen.table, NEW)["status"] == "NEW"


async def test_without_a_history_the_view_groups_what_the_monitor_reads() -> None:
    with SimulatorThread(triage_config()) as live:
        app = live_app(live, None)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("F")
            screen = app.screen
            assert isinstance(screen, FailuresScreen)
            await wait_for(pilot, lambda: f"test {NEW}" in screen._shown, timeout=60)
            await wait_for(pilot, lambda: any(row["status"] == "FLAKY"
                                              for row in rows(screen.table)), timeout=60)


async def test_a_builds_summary_says_each_failed_tests_group_status_and_count(
    tmp_path: Path,
) -> None:
    with SimulatorThread(triage_config()) as live:
        app = live_app(live, tmp_path / "history.sqlite3")
        async with app.run_test(size=SIZE) as pilot:
            index = app.store.failures.index
            await wait_for(pilot, lambda: (group := index.group("test", NEW)) is not None
                           and group.count == world.NEW_RUNS, timeout=60)
            group = index.group("test", NEW)
            assert group is not None
            await pilot.press("F")
            screen = app.screen
            assert isinstance(screen, FailuresScreen)
            assert screen.table.select_row(f"test {NEW}")
            await pilot.press("enter", "enter")
            build_screen = app.screen
            assert isinstance(build_screen, BuildScreen)
            assert build_screen.build_id == group.builds[0]

            summary = build_screen.query_one("#summary-log", LogPanel).view
            await wait_for(pilot, lambda: "; new, broken since" in log_text(summary))
            text = log_text(summary)
            assert f"failed in {world.NEW_RUNS} builds since " in text
            assert f"; new, broken since {group.broken_since}" in text
            lines = text.splitlines()
            test_line = next(i for i, line in enumerate(lines) if world.NEW_TEST[1] in line)
            assert "failed in" in "\n".join(lines[test_line:test_line + 3])


async def test_a_builds_summary_finds_each_failed_tasks_group_by_its_project(
    tmp_path: Path,
) -> None:
    task = f"auth-gateway :web:{world.FAILING_TASK}"
    with SimulatorThread(triage_config()) as live:
        app = live_app(live, tmp_path / "history.sqlite3")
        async with app.run_test(size=SIZE) as pilot:
            index = app.store.failures.index
            await wait_for(pilot, lambda: index.group("task", task) is not None, timeout=60)
            group = index.group("task", task)
            assert group is not None
            await app.push_screen(BuildScreen(group.builds[0]))
            summary = app.screen.query_one("#summary-log", LogPanel).view

            await wait_for(pilot, lambda: "failed in" in log_text(summary))
            lines = log_text(summary).splitlines()
            task_line = next(i for i, line in enumerate(lines)
                             if line.startswith(f"  :web:{world.FAILING_TASK}"))
            assert lines[task_line + 1].strip().startswith("failed in ")


async def test_no_escape_sequence_a_server_sent_reaches_the_view_or_the_group(
    sim: SimulatorThread, history: Path
) -> None:
    hostile = "\x1b]52;c;aGk=\x07evil\x1b[2J"
    app = offline_app(sim, history)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_failures(pilot)
        run = Run("develocity", f"b-{hostile}", FIXED_NOW_MS, False, f"p-{hostile}",
                  f"branch-{hostile}", "e" * 40, f"u-{hostile}")
        app.store.failures.record([(run, (Failure("test", f"Test.{hostile}", hostile),))])
        await wait_for(pilot, lambda: screen.table.total_row_count
                       == len(app.store.failures.index))
        shown = rows(screen.table)
        assert all("\x1b" not in text and "\x07" not in text
                   for row in shown for text in row.values())

        assert screen.table.select_row(f"test Test.{hostile}")
        await pilot.press("enter")
        group_screen = app.screen
        assert isinstance(group_screen, FailureGroupScreen)
        await pilot.pause()
        header = str(group_screen.query_one("#group-header", Static).render())
        assert "evil" in header and "\x1b" not in header and "\x07" not in header
        assert all("\x1b" not in text for row in rows(group_screen.table) for text in row.values())
