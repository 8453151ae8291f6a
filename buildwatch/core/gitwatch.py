"""Watching a git branch: its newest commits become watched commits, so BuildBuddy, which lists
invocations only by commit, shows a branch's runs without Develocity.

git runs as a subprocess, never through a shell: a path or branch is one argument, never parsed.
A branch or URL starting with `-` is refused, so none is taken for an option. git never asks for
a password (`GIT_TERMINAL_PROMPT=0`, and no terminal for ssh to ask on), never runs a transport
given by a URL (`ext::`), and is stopped, with its helpers, after `GIT_TIMEOUT_S`.

A checkout's branch is read with `git log` at every look (a local read); `git fetch` runs only
at the configured fetch interval. A remote URL is asked with `git ls-remote` for its branch
head, and the heads seen are kept, the newest `commits` of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from buildwatch.core.config import GitBranchWatch
from buildwatch.core.errors import BuildwatchError, ConfigError
from buildwatch.core.monitor.store import MonitorStore, normalize_commit
from buildwatch.core.sanitize import sanitize_line

GIT_TIMEOUT_S = 30.0
"""How long one git command may take before it is stopped (a fetch over a slow link included)."""

# A URL (`https://`, `ssh://`, `file://`) or scp-like `user@host:path`; anything else is a path.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[^/@:]+@[^/:]+:")
_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",  # fail instead of asking for a password on a terminal
    # No `ext::` (runs a command) or `fd::` transport from a configured URL.
    "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",
    # Set but empty: no password program either (git then tries the terminal prompt, off above).
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "LC_ALL": "C",  # git's messages in English, as the status line shows them
}


class GitError(BuildwatchError):
    """A git command failed (git's own words: its first `fatal:` line), or could not run."""


_DEFAULTS = GitBranchWatch(path="")
"""A `[watch] git` entry's defaults, which `--watch-branch` shares."""


@dataclass(frozen=True)
class BranchSpec:
    """A branch to watch: where (a checkout or a remote URL), which branch, how many commits."""

    location: str
    branch: str = _DEFAULTS.branch
    commits: int = _DEFAULTS.commits

    def __post_init__(self) -> None:
        for what, text in (("branch", self.branch), ("path", self.location)):
            if not text.strip():
                raise ConfigError(f"a watched git {what} must not be empty")
            if text.startswith("-"):
                raise ConfigError(f"git {what} {text!r} starts with '-': refused (git would read "
                                  "it as an option)")
            if any(ord(char) < 32 or ord(char) == 127 for char in text):
                raise ConfigError(f"git {what} {text!r} holds a control character: refused")

    @classmethod
    def from_settings(cls, settings: GitBranchWatch) -> BranchSpec:
        """The spec of one `[watch] git` entry."""
        return cls(settings.path, settings.branch, settings.commits)

    @classmethod
    def parse(cls, text: str) -> BranchSpec:
        """`PATH[@BRANCH]` as `--watch-branch` takes it. The last `@` starts the branch unless
        what follows holds a `:` (no ref name does): `git@host:org/repo` is a URL, not a branch."""
        location, at, branch = text.rpartition("@")
        if not at or ":" in branch or not location:
            return cls(text)
        return cls(location, branch)

    @property
    def remote(self) -> bool:
        """Whether the location is a remote URL (read with `git ls-remote`), not a checkout."""
        return bool(_URL.match(self.location))

    @property
    def label(self) -> str:
        """How the status line names it: `~/src/monorepo@main`."""
        return f"{self.location}@{self.branch}"


async def run_git(arguments: Iterable[str], *, timeout_s: float = GIT_TIMEOUT_S) -> str:
    """git's standard output for `arguments` (no shell); `GitError` with git's last line of
    error when it fails, when it is not installed, or when it runs past `timeout_s`."""
    try:
        process = await asyncio.create_subprocess_exec(
            "git", *arguments,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **_GIT_ENV},
            # No controlling terminal: ssh cannot ask for a password or a host key on the
            # app's screen (it fails instead), and a timeout stops git's helpers with it.
            start_new_session=True,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (not found on PATH)") from None
    except OSError as error:
        raise GitError(f"cannot run git: {error.strerror or error}") from None
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate()
    except TimeoutError:
        raise GitError(f"git took longer than {timeout_s:g}s and was stopped") from None
    finally:
        # Stopped too when the watcher is cancelled: no git is left running behind the app.
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    if process.returncode != 0:
        # git's own verdict, not the usage text some commands print after it.
        lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
        fatal = [line for line in lines if line.startswith(("fatal: ", "error: "))]
        reason = (fatal or lines or [f"git exited with status {process.returncode}"])[0]
        raise GitError(sanitize_line(reason.removeprefix("fatal: ")))
    return out.decode(errors="replace")


@dataclass
class BranchReader:
    """Reads one branch's newest commits, newest first; a remote's heads as they were seen."""

    spec: BranchSpec
    timeout_s: float = GIT_TIMEOUT_S
    seen: deque[str] = field(init=False)
    """A remote branch's heads seen so far, newest first."""

    def __post_init__(self) -> None:
        self.seen = deque(maxlen=self.spec.commits)

    async def fetch(self) -> None:
        """`git fetch` in the checkout (a remote URL has nothing to fetch into)."""
        if not self.spec.remote:
            await run_git(["-C", self._path(), "fetch", "--quiet"], timeout_s=self.timeout_s)

    async def commits(self) -> list[str]:
        """The branch's newest commits, newest first."""
        spec = self.spec
        if spec.remote:
            head = await self._remote_head()
            if not self.seen or self.seen[0] != head:
                self.seen.appendleft(head)
            return list(self.seen)
        output = await run_git(["-C", self._path(), "log", "--format=%H", "-n", str(spec.commits),
                                "--end-of-options", spec.branch, "--"], timeout_s=self.timeout_s)
        return [sha for line in output.splitlines() if (sha := normalize_commit(line))]

    async def _remote_head(self) -> str:
        branch = self.spec.branch
        ref = branch if branch == "HEAD" or branch.startswith("refs/") else f"refs/heads/{branch}"
        output = await run_git(["ls-remote", "--", self.spec.location, ref],
                               timeout_s=self.timeout_s)
        for line in output.splitlines():
            sha, _, name = line.partition("\t")
            if name == ref and (commit := normalize_commit(sha)):
                return commit
        raise GitError(f"no branch {branch!r} there")

    def _path(self) -> str:
        return str(Path(self.spec.location).expanduser())


class BranchWatcher:
    """Keeps the store's git-watched commits to the newest of each branch, looking every
    `interval_s` and fetching every `fetch_interval_s` (0: never).

    A branch that cannot be read keeps the commits it had; why is the BuildBuddy status line's
    `git_problem` until every branch reads again. Nothing stops the watcher but cancelling it.
    """

    def __init__(
        self,
        specs: Iterable[BranchSpec],
        store: MonitorStore,
        *,
        interval_s: float,
        fetch_interval_s: float = 0.0,
        timeout_s: float = GIT_TIMEOUT_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._readers = [BranchReader(spec, timeout_s) for spec in specs]
        self._store = store
        self._interval_s = interval_s
        self._fetch_interval_s = fetch_interval_s
        self._clock = clock or store.clock
        self._next_fetch = self._clock()
        self._commits: list[list[str]] = [[] for _ in self._readers]
        """Each branch's newest commits at its last successful read."""

    async def run(self) -> None:
        """Look at every branch, then again every `interval_s`, until cancelled."""
        if not self._readers:
            return
        while True:
            await self.look()
            await asyncio.sleep(self._interval_s)

    async def look(self) -> None:
        """Fetch if it is time, read each branch, and watch what is new, unwatch what left."""
        fetching = self._fetch_interval_s > 0 and self._clock() >= self._next_fetch
        if fetching:
            self._next_fetch = self._clock() + self._fetch_interval_s
        problems: list[str] = []
        for index, reader in enumerate(self._readers):
            try:
                if fetching:
                    await self._fetch(reader, problems)
                self._commits[index] = await reader.commits()
            except GitError as error:
                problems.append(f"git {reader.spec.label}: {error}")
        self._update(problems)

    @staticmethod
    async def _fetch(reader: BranchReader, problems: list[str]) -> None:
        # An offline fetch is reported; the branch is still read as the checkout has it.
        try:
            await reader.fetch()
        except GitError as error:
            problems.append(f"git fetch {reader.spec.location}: {error}")

    def _update(self, problems: list[str]) -> None:
        store = self._store
        wanted = {sha for commits in self._commits for sha in commits}
        for sha in set(store.watched_commits()) - wanted:
            store.unwatch_git(sha)
        # Oldest first, so the newest commit is the last watched (and polled at once).
        for commits in self._commits:
            for sha in reversed(commits):
                store.watch(sha, "git")
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        store.buildbuddy.git_problem = sanitize_line(problems[0]) + more if problems else ""
