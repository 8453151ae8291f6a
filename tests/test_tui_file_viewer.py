"""Files open highlighted or as hex, stream with bounded memory, save whole, and delete once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from drilldown_app import (
    DrillApp,
    LateMessages,
    failed_test_invocation,
    leave_while_loading,
    log_text,
    sim_config,
    until_idle,
    wait_until,
)
from textual.pilot import Pilot
from textual.widgets import Static

from buildwatch.core.backoff import Backoff
from buildwatch.core.buildbuddy.models import Action, File
from buildwatch.sim import FaultSpec, SimulatorThread
from buildwatch.sim.buildbuddy_invocations import BENCHMARK_INVOCATION_ID
from buildwatch.tui.screens.confirm_delete import ConfirmDeleteScreen
from buildwatch.tui.screens.file_viewer import FileViewerScreen
from buildwatch.tui.screens.invocation import InvocationScreen
from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.log_panel import LogPanel

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(sim_config()) as thread:
        yield thread


@pytest.fixture
def own_sim() -> Iterator[SimulatorThread]:
    """A simulator for one test that deletes files."""
    with SimulatorThread(sim_config()) as thread:
        yield thread


def files_of(sim: SimulatorThread, invocation_id: str) -> list[File]:
    response = httpx.post(f"{sim.buildbuddy_url}/api/v1/GetAction",
                          json={"selector": {"invocation_id": invocation_id}},
                          headers={"x-buildbuddy-api-key": "sim-api-key"}, timeout=30)
    return [file for action in response.json()["action"]
            for file in Action.from_json(action).files]


def named(sim: SimulatorThread, name: str, invocation_id: str | None = None) -> File:
    return next(f for f in files_of(sim, invocation_id or failed_test_invocation())
                if f.name == name)


def deletes(sim: SimulatorThread) -> int:
    return sum(1 for request in sim.requests if request.path.endswith("/DeleteFile"))


def downloads(sim: SimulatorThread) -> int:
    return sum(1 for request in sim.requests if request.path.endswith("/GetFile"))


def quick_retries() -> Backoff:
    """The client's retries, quick: a download that cannot succeed fails within a second."""
    return Backoff(base_s=0.01, cap_s=0.05)


def refusing_files(sim: SimulatorThread, file: File) -> DrillApp:
    """A viewer of `file` on a simulator that refuses every request from now on."""
    sim.set_faults(FaultSpec(unavailable=1.0, burst=1_000_000))
    return DrillApp(sim, lambda: FileViewerScreen(file), backoff=quick_retries)


async def opened(pilot: Pilot[None]) -> FileViewerScreen:
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, FileViewerScreen))
    screen = pilot.app.screen
    assert isinstance(screen, FileViewerScreen)
    return screen


def header(screen: FileViewerScreen) -> str:
    return str(screen.query_one("#file-header", Static).render())


async def test_a_test_xml_is_highlighted_with_its_size_and_verified_digest(
        sim: SimulatorThread) -> None:
    file = named(sim, "test.xml")
    async with DrillApp(sim, lambda: FileViewerScreen(file)).run_test(size=(160, 30)) as pilot:
        screen = await opened(pilot)
        await wait_until(pilot, lambda: "complete" in header(screen))
        text = header(screen)
        assert "kind text, highlighted" in text and "sha256 verified" in text
        assert file.hash in text and "<testsuite" in log_text(screen.query_one(LogPanel).view)


async def test_s_saves_the_whole_file_where_the_user_says(
        sim: SimulatorThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = named(sim, "test.log")
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "saved.log"
    async with DrillApp(sim, lambda: FileViewerScreen(file)).run_test() as pilot:
        screen = await opened(pilot)
        await wait_until(pilot, lambda: "complete" in header(screen))
        await pilot.press("s")
        await pilot.press("ctrl+u", *"saved.log", "enter")
        await wait_until(pilot, target.exists)
        assert hashlib.sha256(target.read_bytes()).hexdigest() == file.hash


async def test_a_huge_file_shows_its_start_and_stops_at_the_preview_limit(
        sim: SimulatorThread) -> None:
    file = named(sim, "test.log", BENCHMARK_INVOCATION_ID)
    assert file.size_bytes > 100_000_000
    limit = 2_000_000
    app = DrillApp(sim, lambda: FileViewerScreen(file, preview_limit=limit))
    async with app.run_test() as pilot:
        screen = await opened(pilot)
        await wait_until(pilot, lambda: "showing the first 2.0 MB" in header(screen))
        view = screen.query_one(LogPanel).view
        assert 0 < sum(map(len, view.iter_text())) <= limit


async def test_leaving_a_huge_file_while_it_downloads_ends_the_download_quietly(
        sim: SimulatorThread) -> None:
    file = named(sim, "test.log", BENCHMARK_INVOCATION_ID)
    # A preview as big as the file: the download goes on, a piece at a time, until it is left.
    app = DrillApp(sim, lambda: FileViewerScreen(file, preview_limit=file.size_bytes))
    late = LateMessages()
    async with app.run_test(message_hook=late) as pilot:
        screen = await opened(pilot)
        view = screen.query_one(LogPanel).view
        await wait_until(pilot, lambda: view.line_count > 1000)
        await leave_while_loading(pilot, late)


async def test_a_failed_download_says_so_and_offers_r_to_try_again(
        own_sim: SimulatorThread) -> None:
    file = named(own_sim, "test.log")
    async with refusing_files(own_sim, file).run_test(size=(160, 30)) as pilot:
        screen = await opened(pilot)
        assert "r" not in screen.active_bindings
        await wait_until(pilot, lambda: "download failed" in header(screen))
        assert "download failed (r tries again): " in header(screen)
        assert "r" in screen.active_bindings


async def test_r_downloads_a_failed_file_again_once_the_server_answers(
        own_sim: SimulatorThread) -> None:
    file = named(own_sim, "test.log")
    async with refusing_files(own_sim, file).run_test(size=(160, 30)) as pilot:
        screen = await opened(pilot)
        await wait_until(pilot, lambda: "download failed" in header(screen))
        own_sim.set_faults(FaultSpec())
        await pilot.press("r")
        await wait_until(pilot, lambda: "complete" in header(screen))
        view = screen.query_one(LogPanel).view
        assert "sha256 verified" in header(screen)
        assert sum(map(len, view.iter_text())) == file.size_bytes


async def test_r_does_not_download_a_file_that_arrived_whole(own_sim: SimulatorThread) -> None:
    file = named(own_sim, "test.log")
    async with DrillApp(own_sim, lambda: FileViewerScreen(file)).run_test() as pilot:
        screen = await opened(pilot)
        await wait_until(pilot, lambda: "complete" in header(screen))
        before = downloads(own_sim)
        await pilot.press("r")
        await until_idle(pilot)
        assert downloads(own_sim) == before == 1


async def test_cancelling_the_delete_sends_nothing(own_sim: SimulatorThread) -> None:
    file = named(own_sim, "test.log")
    async with DrillApp(own_sim, lambda: FileViewerScreen(file)).run_test() as pilot:
        screen = await opened(pilot)
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDeleteScreen))
        await pilot.press("enter")
        await wait_until(pilot, lambda: pilot.app.screen is screen)
        await until_idle(pilot)
        assert deletes(own_sim) == 0 and not screen.deleted


async def test_the_modal_shows_the_uri_and_warns_about_other_users(
        own_sim: SimulatorThread) -> None:
    file = named(own_sim, "test.log")
    async with DrillApp(own_sim, lambda: FileViewerScreen(file)).run_test(size=(160, 30)) as pilot:
        await opened(pilot)
        await pilot.press("D")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDeleteScreen))
        modal = pilot.app.screen
        assert str(modal.query_one("#delete-uri", Static).render()) == file.uri
        assert "everyone using that cache" in str(modal.query_one("#delete-warning", Static).render())


async def test_confirming_sends_one_delete_and_marks_the_file_deleted(
        own_sim: SimulatorThread) -> None:
    file = named(own_sim, "test.log")
    async with DrillApp(own_sim, lambda: FileViewerScreen(file)).run_test(size=(160, 30)) as pilot:
        screen = await opened(pilot)
        await pilot.press("D", "y")
        await wait_until(pilot, lambda: screen.deleted)
        assert deletes(own_sim) == 1 and "DELETED" in header(screen)


async def test_a_failed_delete_is_shown_and_never_retried(own_sim: SimulatorThread) -> None:
    file = named(own_sim, "test.log")
    app = DrillApp(own_sim, lambda: FileViewerScreen(file))
    async with app.run_test() as pilot:
        screen = await opened(pilot)
        await wait_until(pilot, lambda: "complete" in header(screen))
        own_sim.set_faults(FaultSpec(unavailable=1.0, burst=100))
        await pilot.press("D", "y")
        await wait_until(pilot, lambda: "delete failed" in header(screen))
        await until_idle(pilot)
        assert deletes(own_sim) == 1 and not screen.deleted


async def test_d_in_the_actions_table_marks_the_row_deleted(own_sim: SimulatorThread) -> None:
    invocation = failed_test_invocation()
    app = DrillApp(own_sim, lambda: InvocationScreen(invocation))
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, InvocationScreen))
        screen = pilot.app.screen
        assert isinstance(screen, InvocationScreen)
        await wait_until(pilot, lambda: screen.finished)
        await pilot.press("enter")
        table = screen.query_one("#actions-table", LiveTable)
        await wait_until(pilot, lambda: table.row_count > 1)
        await pilot.press("down")
        uri = screen.files[table.cursor_row_key or ""].file
        await pilot.press("D", "y")
        await wait_until(pilot, lambda: bool(screen.deleted))
        assert uri is not None and screen.deleted == {uri.uri} and deletes(own_sim) == 1
