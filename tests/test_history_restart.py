"""Closing buildwatch and opening it again later: every build published in between, once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from buildwatch.core.backoff import Backoff
from buildwatch.core.connection import DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.history.catch_up import resumed_listing
from buildwatch.core.history.location import STATE_DIR_ENV, history_path
from buildwatch.core.history.opening import open_history
from buildwatch.core.history.resume import ResumePoint
from buildwatch.core.history.writer import HistoryWriter
from buildwatch.core.secrets import Secret
from buildwatch.sim import SimConfig, SimulatorThread

pytestmark = pytest.mark.timeout(60)

WINDOW_MS = 24 * 3_600_000
BACKFILL = 30


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STATE_DIR_ENV, str(tmp_path / "state"))


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    with SimulatorThread(SimConfig(seed=5, builds=BACKFILL, heartbeat_s=0.2)) as running:
        yield running


def publish(sim: SimulatorThread, count: int) -> list[str]:
    """Publish `count` builds; their Develocity ids (BuildBuddy's come after them)."""
    return sim.publish_builds(count)[:count]


@dataclass
class Session:
    """What one run of buildwatch saw of the listing."""

    point: ResumePoint
    replayed: list[str] = field(default_factory=list)
    followed: list[str] = field(default_factory=list)
    statuses: list[str | None] = field(default_factory=list)


async def run_session(url: str, while_following: Callable[[], list[str]]) -> Session:
    """One run: resume from the history, record what the listing brings, and once the replay
    is done, wait for the builds `while_following` publishes."""
    path = history_path(url)
    opened = open_history(path)
    session = Session(opened.store.resume_point(WINDOW_MS))
    opened.store.close()
    writer = HistoryWriter(path)
    client = DevelocityClient(
        DevelocityConnection(url, token=Secret("sim-token")),
        backoff=lambda: Backoff(base_s=0.001, cap_s=0.005),
    )
    expected: list[str] | None = None
    async with client:
        listing = resumed_listing(client, session.point)
        async for batch in listing:
            writer.record_builds(batch.builds)
            session.statuses.append(batch.status_text)
            ids = [build.build_id for build in batch.builds]
            (session.replayed if batch.catching_up else session.followed).extend(ids)
            if not batch.catching_up and expected is None:
                expected = while_following()
            if expected is not None and len(session.followed) >= len(expected):
                break
        await listing.aclose()
    writer.close()
    assert writer.errors == []
    return session


def stored_ids(url: str) -> list[str]:
    opened = open_history(history_path(url))
    stored = [s.build.build_id for s in opened.store.load_recent()]
    opened.store.close()
    return stored


async def test_a_restart_replays_every_build_published_while_closed_once(
    sim: SimulatorThread,
) -> None:
    url = sim.develocity_url
    first = await run_session(url, list)
    while_closed = publish(sim, 7)

    second = await asyncio.wait_for(run_session(url, lambda: publish(sim, 3)), 30)

    assert first.point.kind == "since" and len(first.replayed) == BACKFILL
    assert second.point.since_build == first.replayed[-1]
    assert second.replayed == while_closed
    assert len(second.followed) == 3
    assert stored_ids(url) == list(reversed(first.replayed + while_closed + second.followed))


async def test_the_replay_counts_its_builds_then_clears_the_status(sim: SimulatorThread) -> None:
    session = await run_session(sim.develocity_url, list)

    assert session.statuses[-2] == f"catching up: {BACKFILL} builds"
    assert session.statuses[-1] is None


async def test_a_last_build_the_server_no_longer_knows_backfills_the_window(
    sim: SimulatorThread,
) -> None:
    url = sim.develocity_url
    writer = HistoryWriter(history_path(url))
    writer.record_position("builds", "zzzzzzzzzzzzz", sim.ctx.now_ms() - 60_000)
    writer.close()

    session = await run_session(url, list)

    assert session.point.since_build == "zzzzzzzzzzzzz"
    assert len(session.replayed) == BACKFILL
    assert len(set(stored_ids(url))) == BACKFILL
