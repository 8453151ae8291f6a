"""The monitor and its local history: what a load from the history does to the store, the
catch-up status of a resumed listing, and the command line's choice between resuming and --since."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from loop_turns import LoopTurns
from test_monitor_feeds import running, until
from test_monitor_store import START_MS, build, invocation, new_store, summary

from buildwatch.cli import build_parser
from buildwatch.cli.tui import monitor_settings, simulator_settings
from buildwatch.core.config import (
    BuildBuddySettings,
    DevelocitySettings,
    Profile,
    UiPreferences,
)
from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.models import Build
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.history.location import STATE_DIR_ENV
from buildwatch.core.history.resume import ResumePoint, catch_up_text
from buildwatch.core.history.store import HistoryStore
from buildwatch.core.history.writer import HistoryWriter
from buildwatch.core.monitor.feeds import DevelocityFeed
from buildwatch.core.monitor.history import FIRST_SCREENFUL, MonitorHistory
from buildwatch.core.monitor.session import MonitorSession
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.secrets import Secret
from buildwatch.core.triage.model import TriageRecord
from buildwatch.sim import SimConfig, SimulatorThread

SHA = "4f2a9c1e0b7d"
FIRST = 12


def test_builds_from_the_history_are_listed_without_making_develocity_live() -> None:
    store = new_store()
    store.load_history([(build("b1"), summary("b1", commit=SHA)), (build("b2"), None)], ())

    assert [entry.build_id for entry in store.drain().builds] == ["b1", "b2"]
    assert store.develocity.state == "offline"
    assert store.develocity.count == 2


def test_what_the_history_held_is_handed_over_as_from_the_history_once() -> None:
    store = new_store()
    store.load_history([(build("b1"), None)], [invocation("i1")])
    store.add_builds([build("b2")])

    first = store.drain()
    store.enrich(summary("b1"))
    second = store.drain()

    assert first.from_history == {"b1", "i1"}
    assert [entry.build_id for entry in second.builds] == ["b1"]
    assert second.from_history == frozenset()


def test_builds_from_the_history_neither_watch_their_commits_nor_notify() -> None:
    store = new_store()
    store.load_history([(build("b1", START_MS + 5000), summary("b1", "failed", SHA))],
                       [invocation("i1", created_ms=START_MS + 5000)])

    changes = store.drain()
    assert store.watched_commits() == []
    assert changes.notices == []
    assert [item.invocation_id for item in changes.invocations] == ["i1"]
    assert store.buildbuddy.state == "offline"


def test_a_build_already_listed_keeps_its_row_when_the_history_loads() -> None:
    store = new_store()
    store.add_builds([build("b1")])
    store.enrich(summary("b1", "success"))
    store.drain()

    store.load_history([(build("b1"), None)], ())

    assert not store.drain()
    assert store.builds["b1"].summary is not None


def test_a_summary_read_again_changes_nothing() -> None:
    store = new_store()
    store.load_history([(build("b1"), summary("b1", "success"))], ())
    store.drain()

    assert not store.enrich(summary("b1", "success"))
    assert not store.drain()
    assert store.enrich(summary("b1", "failed"))


def test_the_history_is_marked_until_its_source_goes_live() -> None:
    store = new_store()
    store.load_history([(build("b1"), None)], [invocation("i1")])
    store.retrying("develocity", "cannot connect", 1.0, 1)

    assert store.develocity.showing_history and store.buildbuddy.showing_history
    store.add_builds([build("b2")])
    assert not store.develocity.showing_history and store.buildbuddy.showing_history


class DetailRecorder(MonitorStore):
    """A store that remembers the Develocity status detail each time builds arrive."""

    def __init__(self) -> None:
        super().__init__()
        self.details: list[str] = []

    def add_builds(self, builds: Iterable[Build]) -> int:
        self.details.append(self.develocity.detail)
        return super().add_builds(builds)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(builds=FIRST, not_ready_s=0.0)) as started:
        yield started


@pytest.mark.timeout(60)
async def test_the_status_counts_the_catch_up_then_drops_it(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    store = DetailRecorder()
    history = MonitorHistory(tmp_path / "history.sqlite3", UiPreferences())
    point = await history.load(store)
    connection = DevelocityConnection(base_url=sim.develocity_url, token=Secret("sim-token"))
    async with DevelocityClient(connection) as listing, DevelocityClient(connection) as events:
        feed = DevelocityFeed(listing, events, store, history=history, point=point)
        async with running(feed.run()):
            await until(lambda: len(store.details) >= 2 and store.develocity.detail == "")
    await asyncio.to_thread(history.close)

    assert catch_up_text(FIRST) in store.details
    assert store.develocity.detail == ""


class SummaryRecorder(MonitorHistory):
    """A history that remembers which builds' summaries it was asked to record."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, UiPreferences())
        self.summarised: list[str] = []
        self.triaged: list[str] = []

    def record_summary(self, summary: BuildSummary) -> None:
        self.summarised.append(summary.build_id)
        super().record_summary(summary)

    def record_triage(self, record: TriageRecord) -> None:
        self.triaged.append(record[0].run_id)
        super().record_triage(record)


async def follow(sim: SimulatorThread, store: DetailRecorder, history: SummaryRecorder,
                 point: ResumePoint, until_done: Callable[[], bool]) -> None:
    """Run a feed (one enricher) on `history` from `point` until `until_done()`, then close."""
    connection = DevelocityConnection(base_url=sim.develocity_url, token=Secret("sim-token"))
    async with DevelocityClient(connection) as listing, DevelocityClient(connection) as events:
        feed = DevelocityFeed(listing, events, store, history=history, point=point,
                              concurrency=1)
        async with running(feed.run()):
            await until(until_done)
    await asyncio.to_thread(history.close)


def caught_up(store: DetailRecorder) -> bool:
    """The replay is over: its count was shown, then cleared."""
    return any(store.details) and store.develocity.detail == ""


@pytest.mark.timeout(60)
async def test_builds_replayed_with_a_stored_summary_are_neither_read_nor_recorded_again(
    sim: SimulatorThread, tmp_path: Path
) -> None:
    path = tmp_path / "history.sqlite3"
    first, recorder = DetailRecorder(), SummaryRecorder(path)
    everything = ResumePoint(since_build=None, since=0)
    # Summarised and with their failures recorded, or the next run reads their failures.
    await follow(sim, first, recorder, everything, lambda: caught_up(first) and all(
        entry.summary for entry in first.builds.values()) and len(recorder.triaged) == FIRST)
    already = len(sim.requests)

    store, history = DetailRecorder(), SummaryRecorder(path)
    await history.load(store)
    newest: list[str] = []

    def published_and_summarised() -> bool:
        if not caught_up(store):
            return False
        if not newest:
            newest.extend(sim.publish_builds(1)[:1])
        entry = store.builds.get(newest[0])
        return entry is not None and entry.summary is not None

    await follow(sim, store, history, everything, published_and_summarised)

    read = {record.path.split("/")[-2] for record in sim.requests[already:]
            if record.path.endswith("/events")}
    assert read == set(newest)
    assert history.summarised == newest


GE = Profile(develocity=DevelocitySettings(url="https://ge.example.com"))


def parsed(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def test_the_monitor_resumes_from_the_history_of_its_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path))
    settings = monitor_settings(parsed(), GE)

    assert settings.resume and not settings.offline
    assert settings.history is not None and settings.history.is_relative_to(tmp_path)


def test_an_explicit_since_wins_over_the_resume_point() -> None:
    settings = monitor_settings(parsed("--since", "2h"), GE)
    assert not settings.resume


def test_offline_is_an_option_of_the_bare_command() -> None:
    settings = monitor_settings(parsed("--offline"), GE)
    assert settings.offline


def test_the_stored_rows_link_to_the_configured_servers_before_any_connection() -> None:
    profile = Profile(develocity=DevelocitySettings(url="https://ge.example.com"),
                      buildbuddy=BuildBuddySettings(url="https://bb.example.com"))
    for argv in ((), ("--offline",)):
        session = MonitorSession(monitor_settings(parsed(*argv), profile), new_store())
        assert session.develocity_url == "https://ge.example.com"
        assert session.buildbuddy_url == "https://bb.example.com"


def test_without_a_configured_develocity_the_builds_have_no_link() -> None:
    session = MonitorSession(monitor_settings(parsed("--offline"), Profile()), new_store())
    assert session.develocity_url is None


def test_the_demo_keeps_no_history() -> None:
    assert simulator_settings("http://127.0.0.1:1", "t", "k").history is None


async def test_a_history_longer_than_a_screenful_is_loaded_whole(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    count = FIRST_SCREENFUL + 50
    writer = HistoryWriter(path)
    # Published a minute ago: older builds would meet the retention the history starts with.
    recent = int(time.time() * 1000) - 60_000
    writer.record_builds([build(f"b{index:04d}", recent + index) for index in range(count)])
    assert writer.close()
    store = new_store()

    history = MonitorHistory(path, UiPreferences())
    await history.load(store)
    await asyncio.to_thread(history.close)

    assert len(store.builds) == count
    assert len(history.take_unsummarised()) == count



async def test_the_history_is_read_and_decoded_while_the_event_loop_keeps_turning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "history.sqlite3"
    count = 5_000
    writer = HistoryWriter(path)
    recent = int(time.time() * 1000) - 60_000
    writer.record_builds([build(f"b{index:05d}", recent + index) for index in range(count)])
    # Recent too: the retention the history starts with would delete older invocations while
    # they are being read, and the test would count what the race left.
    writer.record_invocations([invocation(f"i{index}", created_ms=recent) for index in range(50)])
    assert writer.close()
    turns = LoopTurns(asyncio.get_running_loop())
    turned: dict[str, list[bool]] = {}
    for name in ("load_recent", "load_invocations", "resume_point"):
        turned[name] = []
        monkeypatch.setattr(HistoryStore, name,
                            turns.watched(getattr(HistoryStore, name), turned[name]))
    store = new_store()
    history = MonitorHistory(path, UiPreferences())
    try:
        await history.load(store)
    finally:
        turns.stop()
        await asyncio.to_thread(history.close)

    assert turned == {"load_recent": [True, True], "load_invocations": [True],
                      "resume_point": [True]}
    assert len(store.builds) == count and len(store.invocations) == 50
