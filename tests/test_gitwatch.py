"""Watching a git branch, against real repositories made in a temporary directory: the newest
commits of a checkout or of a remote become watched, and every failure is one line in the
BuildBuddy status line, the watcher going on."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from buildwatch.core.errors import ConfigError
from buildwatch.core.gitwatch import BranchSpec, BranchWatcher
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.tui.widgets.status_bar import status_text

pytestmark = pytest.mark.timeout(60)


def git(*arguments: str | Path) -> str:
    """Run git as a test sets a repository up (never through a shell)."""
    done = subprocess.run(["git", *map(str, arguments)], check=True, capture_output=True, text=True)
    return done.stdout.strip()


def new_repo(path: Path, *, bare: bool = False) -> Path:
    git("init", "--quiet", "--initial-branch=main", *(["--bare"] if bare else []), path)
    return path


def commit(repo: Path, message: str = "x") -> str:
    """An empty commit on the checked-out branch; its SHA."""
    git("-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com",
        "commit", "--quiet", "--allow-empty", "-m", message)
    return git("-C", repo, "rev-parse", "HEAD")


def watcher(store: MonitorStore, *specs: BranchSpec, **options: Any) -> BranchWatcher:
    return BranchWatcher(specs, store, interval_s=0.05, **options)


def status_line(store: MonitorStore) -> str:
    return status_text(store.buildbuddy, "invocation", store.clock()).plain


async def test_a_checkouts_newest_commits_are_watched_newest_last(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo")
    commits = [commit(repo) for _ in range(4)]
    store = MonitorStore()
    await watcher(store, BranchSpec(str(repo), "main", commits=3)).look()
    assert store.watched_commits() == commits[1:]
    assert store.buildbuddy.git_problem == ""


async def test_a_branch_named_like_a_file_in_the_checkout_is_read_as_the_branch(
    tmp_path: Path,
) -> None:
    repo = new_repo(tmp_path / "repo")
    sha = commit(repo)
    (repo / "main").write_text("a file, not the branch")
    store = MonitorStore()
    await watcher(store, BranchSpec(str(repo), "main")).look()
    assert store.watched_commits() == [sha]
    assert store.buildbuddy.git_problem == ""


async def test_a_new_commit_is_watched_and_the_one_it_pushes_out_is_not(tmp_path: Path) -> None:
    repo = new_repo(tmp_path / "repo")
    first, second = commit(repo), commit(repo)
    store = MonitorStore()
    watching = watcher(store, BranchSpec(str(repo), "main", commits=2))
    await watching.look()
    third = commit(repo)
    await watching.look()
    assert store.watched_commits() == [second, third]
    assert first not in store.watched_commits()


async def test_a_commit_named_by_the_user_stays_watched_when_it_leaves_the_branch_window(
    tmp_path: Path,
) -> None:
    repo = new_repo(tmp_path / "repo")
    named = commit(repo)
    store = MonitorStore()
    store.watch(named, "command line")
    watching = watcher(store, BranchSpec(str(repo), "main", commits=1))
    await watching.look()
    newest = commit(repo)
    await watching.look()
    assert store.watched_commits() == [named, newest]


async def test_a_bare_remote_is_read_with_ls_remote_keeping_the_heads_it_saw(tmp_path: Path) -> None:
    remote = new_repo(tmp_path / "remote.git", bare=True)
    work = new_repo(tmp_path / "work")
    git("-C", work, "remote", "add", "origin", remote)
    store = MonitorStore()
    watching = watcher(store, BranchSpec(remote.as_uri(), "main", commits=2))
    heads = []
    for _ in range(3):
        heads.append(commit(work))
        git("-C", work, "push", "--quiet", "origin", "main")
        await watching.look()
    assert store.watched_commits() == heads[1:]


def cloned(tmp_path: Path) -> tuple[Path, Path, str]:
    """An upstream repository with one commit, and a clone of it; the commit."""
    upstream = new_repo(tmp_path / "upstream")
    first = commit(upstream)
    git("clone", "--quiet", upstream, tmp_path / "clone")
    return upstream, tmp_path / "clone", first


async def test_fetch_runs_at_its_interval_and_brings_the_remotes_new_commits(tmp_path: Path) -> None:
    upstream, clone, first = cloned(tmp_path)
    now = [0.0]
    store = MonitorStore()
    watching = watcher(store, BranchSpec(str(clone), "origin/main", commits=5),
                       fetch_interval_s=60, clock=lambda: now[0])
    await watching.look()
    second = commit(upstream)
    now[0] = 59.0
    await watching.look()
    assert store.watched_commits() == [first]
    now[0] = 60.0
    await watching.look()
    assert store.watched_commits() == [first, second]


async def test_without_a_fetch_interval_the_local_ref_is_read_as_it_is(tmp_path: Path) -> None:
    upstream, clone, first = cloned(tmp_path)
    store = MonitorStore()
    watching = watcher(store, BranchSpec(str(clone), "origin/main"))
    commit(upstream)
    await watching.look()
    assert store.watched_commits() == [first]


@pytest.mark.parametrize(
    ("make", "branch", "shown"),
    [
        (lambda path: path.mkdir(), "main", "not a git repository"),
        (lambda path: new_repo(path) and commit(path), "nope", "bad revision 'nope'"),
        (lambda path: None, "main", "cannot change to"),
    ],
    ids=["not a repository", "no such branch", "no such directory"],
)
async def test_a_branch_that_cannot_be_read_is_one_line_in_the_status_line(
    tmp_path: Path, make: object, branch: str, shown: str,
) -> None:
    path = tmp_path / "where"
    make(path)  # type: ignore[operator]
    store = MonitorStore()
    await watcher(store, BranchSpec(str(path), branch)).look()
    line = status_line(store)
    assert f"git {path}@{branch}: " in line
    assert shown in line
    assert "\n" not in store.buildbuddy.git_problem


async def test_a_fetch_that_fails_offline_is_shown_and_the_local_ref_still_read(
    tmp_path: Path,
) -> None:
    repo = new_repo(tmp_path / "repo")
    sha = commit(repo)
    git("-C", repo, "remote", "add", "origin", "http://127.0.0.1:9/nothing.git")
    store = MonitorStore()
    await watcher(store, BranchSpec(str(repo), "main"), fetch_interval_s=60).look()
    assert store.watched_commits() == [sha]
    assert f"git fetch {repo}: unable to access" in status_line(store)


async def test_a_missing_git_is_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    store = MonitorStore()
    await watcher(store, BranchSpec(str(tmp_path), "main")).look()
    assert "git is not installed (not found on PATH)" in status_line(store)


@dataclass
class SilentServer:
    """A port that accepts connections and never answers; what connected to it."""

    port: int
    connections: list[asyncio.StreamReader] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"git://127.0.0.1:{self.port}/repo.git"


@pytest.fixture
async def silent_server() -> AsyncIterator[SilentServer]:
    connections: list[asyncio.StreamReader] = []
    writers: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(reader)
        writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield SilentServer(server.sockets[0].getsockname()[1], connections)
    for writer in writers:
        writer.close()
    server.close()


async def gone(connection: asyncio.StreamReader) -> bool:
    """Whether the client at the other end of `connection` closes it within 10 s: git sent its
    request and waits for an answer, so the end of its stream is git stopped."""
    async def until_end() -> None:
        while await connection.read(4096):
            pass

    try:
        await asyncio.wait_for(until_end(), 10)
    except TimeoutError:
        return False
    return True


async def test_a_git_command_past_its_timeout_is_stopped_and_shown(
    silent_server: SilentServer,
) -> None:
    store = MonitorStore()
    await watcher(store, BranchSpec(silent_server.url, "main"), timeout_s=0.5).look()
    assert "git took longer than 0.5s and was stopped" in status_line(store)
    assert await gone(silent_server.connections[0])


async def test_cancelling_the_watcher_stops_the_git_it_was_waiting_for(
    silent_server: SilentServer,
) -> None:
    running = asyncio.create_task(watcher(MonitorStore(), BranchSpec(silent_server.url)).run())
    while not silent_server.connections:
        await asyncio.sleep(0.01)
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert await gone(silent_server.connections[0])


async def test_the_problem_clears_once_the_branch_reads_again(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    store = MonitorStore()
    watching = watcher(store, BranchSpec(str(repo), "main"))
    await watching.look()
    assert store.buildbuddy.git_problem
    new_repo(repo)
    sha = commit(repo)
    await watching.look()
    assert store.buildbuddy.git_problem == ""
    assert store.watched_commits() == [sha]


async def test_the_watcher_keeps_looking_after_a_failure(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    store = MonitorStore()
    running = asyncio.create_task(watcher(store, BranchSpec(str(repo), "main")).run())
    try:
        while not store.buildbuddy.git_problem:
            await asyncio.sleep(0.01)
        new_repo(repo)
        sha = commit(repo)
        while store.watched_commits() != [sha]:
            await asyncio.sleep(0.01)
        assert not running.done()
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


@pytest.mark.parametrize("branch", ["--upload-pack=x", "-n", "main\nx"])
def test_a_branch_git_would_take_for_an_option_or_that_holds_a_control_character_is_refused(
    branch: str,
) -> None:
    with pytest.raises(ConfigError, match="refused"):
        BranchSpec("/tmp/repo", branch)


def test_a_url_starting_with_a_dash_is_refused() -> None:
    with pytest.raises(ConfigError, match="starts with '-': refused"):
        BranchSpec.parse("--upload-pack=touch x")


@pytest.mark.parametrize(
    ("text", "location", "branch"),
    [
        ("~/src/monorepo", "~/src/monorepo", "HEAD"),
        ("~/src/monorepo@main", "~/src/monorepo", "main"),
        ("~/src/monorepo@feature/x", "~/src/monorepo", "feature/x"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git", "HEAD"),
        ("git@github.com:org/repo.git@main", "git@github.com:org/repo.git", "main"),
        ("https://example.com/repo.git@release", "https://example.com/repo.git", "release"),
    ],
)
def test_watch_branch_takes_the_branch_after_the_last_at_sign(
    text: str, location: str, branch: str,
) -> None:
    spec = BranchSpec.parse(text)
    assert (spec.location, spec.branch) == (location, branch)
