"""One monitoring session: which servers, with which credentials, and the clients and feeds for them.

Connections are resolved lazily from the profile (the keyring blocks, so that happens in a
thread), unless they were given up front (the demo and the tests). New credentials replace a
source's connection; running that source again reconnects without a restart, the build listing
picking up after the newest build this session received.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from buildwatch.core.backoff import Backoff
from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.config import Profile
from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
from buildwatch.core.credentials import (
    BUILDBUDDY_API_KEY_ENV,
    BUILDBUDDY_URL_ENV,
    ConnectionOverrides,
    Credential,
    buildbuddy_connection,
    buildbuddy_url,
    develocity_connection,
    develocity_url,
)
from buildwatch.core.develocity.client import DevelocityClient, Since
from buildwatch.core.errors import BuildwatchError, ConfigError
from buildwatch.core.gitwatch import BranchSpec, BranchWatcher
from buildwatch.core.history.resume import ResumePoint
from buildwatch.core.monitor.feeds import (
    DEFAULT_ENRICH_CONCURRENCY,
    BuildBuddyPoller,
    DevelocityFeed,
    connected_reporter,
    retry_reporter,
)
from buildwatch.core.monitor.history import MonitorHistory
from buildwatch.core.monitor.pacing import Backlog, InputGate
from buildwatch.core.monitor.store import OFFLINE_CHOSEN, MonitorStore, SourceName
from buildwatch.core.monitor.team import TeamFeed, TeamStatus
from buildwatch.core.teamstore.location import StoreLocation

NOT_CONFIGURED = "not configured"
"""How BuildBuddy's status detail starts when no server or key is configured (no failure)."""


@dataclass(frozen=True)
class MonitorSettings:
    """What to watch and how. `develocity`/`buildbuddy`, when given, are used as they are.

    `history` is the local history file (None: keep none). The build listing resumes from it
    unless `resume` is False (an explicit `--since` wins). `offline` browses the history only.
    With a `store`, the monitor views the team store instead of following the servers.
    """

    profile: Profile
    since: Since = "now"
    overrides: ConnectionOverrides = field(default_factory=ConnectionOverrides)
    develocity: DevelocityConnection | None = None
    buildbuddy: BuildBuddyConnection | None = None
    concurrency: int = DEFAULT_ENRICH_CONCURRENCY
    history: Path | None = None
    resume: bool = True
    offline: bool = False
    branches: tuple[BranchSpec, ...] = ()
    """Git branches whose newest commits are watched while BuildBuddy is polled."""
    store: StoreLocation | None = None
    """The team store to view: the rows come from it, and the servers are read only to open a
    build or invocation, with the user's own credentials (`history` is then None)."""


class MonitorSession:
    """Owns the clients; `run_develocity()` and `run_buildbuddy()` are the feeds' lifetimes."""

    def __init__(self, settings: MonitorSettings, store: MonitorStore) -> None:
        self.settings = settings
        self.store = store
        self.develocity: DevelocityClient | None = None
        self.buildbuddy: BuildBuddyClient | None = None
        # The addresses need no keyring, so the builds and invocations shown from the history
        # before a connection is resolved (or offline, where none is) link to their pages.
        self.develocity_url: str | None = (
            settings.develocity.base_url if settings.develocity
            else _configured_url(develocity_url, settings)
        )
        self.buildbuddy_url: str | None = (
            settings.buildbuddy.base_url if settings.buildbuddy
            else _configured_url(buildbuddy_url, settings)
        )
        self._develocity_connection = settings.develocity
        self._buildbuddy_connection = settings.buildbuddy
        self._poller: BuildBuddyPoller | None = None
        self.history: MonitorHistory | None = None
        self._point: ResumePoint | None = None
        self._feed: DevelocityFeed | None = None
        self.input_gate = InputGate()
        """Closed by the screen for a moment after each key: the feeds' work waits for it."""
        self.backlog = Backlog()
        """The rows the screen has still to show: while they are many, summaries wait."""
        self.team = TeamStatus() if settings.store is not None else None
        """The team store's state and its collector's heartbeat, when viewing one."""
        self._team_feed = (
            TeamFeed(settings.store, store, self.team, settings.profile.ui, backoff=self._backoff)
            if settings.store is not None and self.team is not None else None
        )
        store.on_watch = lambda _commit: self.wake_poller()

    def use_develocity(self, credential: Credential, base_url: str) -> None:
        """Connect to Develocity with `credential` from the next `run_develocity()` on."""
        self._develocity_connection = DevelocityConnection(
            base_url=base_url,
            api_version=self.settings.profile.develocity.api_version,
            token=credential.token,
            username=credential.username,
            password=credential.password,
            source="keyring",
        )

    def use_buildbuddy(self, credential: Credential, base_url: str) -> None:
        """Connect to BuildBuddy with `credential` from the next `run_buildbuddy()` on."""
        self._buildbuddy_connection = BuildBuddyConnection(
            base_url=base_url, api_key=credential.token, source="keyring"
        )

    def wake_poller(self) -> None:
        """Poll BuildBuddy now (a commit was just watched)."""
        if self._poller is not None:
            self._poller.wake()

    async def open_history(self) -> list[str]:
        """Open the history and load it into the store; one-line messages for the user.

        A history that cannot be used is reported and the session runs without one.
        """
        path = self.settings.history
        if path is None:
            return []
        notices: list[str] = []
        try:
            history = await asyncio.to_thread(MonitorHistory, path, self.settings.profile.ui)
            if history.notice:
                notices.append(history.notice)
            point = await history.load(self.store)
        except BuildwatchError as error:
            return [*notices, f"running without the history: {error}"]
        self.use_history(history, point if self.settings.resume else None)
        return notices

    def use_history(self, history: MonitorHistory, point: ResumePoint | None) -> None:
        """Record what the feeds receive in `history` (loaded already), the build listing
        resuming at `point` (None: at `since`)."""
        self.history = history
        self._point = point

    def browse_offline(self) -> None:
        """Show both sources as offline by choice, their panes holding the history."""
        sources: tuple[SourceName, ...] = ("develocity", "buildbuddy")
        for source in sources:
            self.store.set_state(source, "offline", OFFLINE_CHOSEN)
            self.store.status(source).showing_history = True

    def close_history(self) -> list[str]:
        """Write what is queued and close the history; one-line problems, if any."""
        history, self.history = self.history, None
        return history.close() if history is not None else []

    async def run_team(self) -> None:
        """Load the team store's recent rows, then follow its changes until cancelled."""
        if self._team_feed is None:
            raise RuntimeError("no team store to view")
        await self._team_feed.run()

    async def open_server(self, source: SourceName) -> None:
        """Make the client the build or invocation screens read `source` with, when the user
        has credentials for it. A team store's viewer follows no server: without an address or
        a key (or with a keyring that cannot be read), the screens show what the store holds
        and say which key the rest needs."""
        with contextlib.suppress(BuildwatchError):
            if source == "develocity":
                await self._open_develocity()
            else:
                await self._open_buildbuddy()

    async def _open_develocity(self) -> None:
        connection = await self._develocity_resolved()
        self._develocity_connection = connection
        self.develocity_url = connection.base_url
        if connection.token is not None or connection.username is not None:
            await self._close(self.develocity)
            self.develocity = DevelocityClient(connection, backoff=self._backoff)

    async def _open_buildbuddy(self) -> None:
        connection = await self._buildbuddy_resolved()
        self._buildbuddy_connection = connection
        self.buildbuddy_url = connection.base_url
        if connection.api_key is not None:
            await self._close(self.buildbuddy)
            self.buildbuddy = BuildBuddyClient(connection, backoff=self._backoff)

    async def _develocity_resolved(self) -> DevelocityConnection:
        """The Develocity connection in use, else the profile's (the keyring blocks, so that
        is read in a thread); raises `BuildwatchError` if there is none."""
        if self._develocity_connection is not None:
            return self._develocity_connection
        return await asyncio.to_thread(
            develocity_connection, self.settings.profile, self.settings.overrides
        )

    async def _buildbuddy_resolved(self) -> BuildBuddyConnection:
        """The BuildBuddy connection in use, else the profile's (read in a thread, as the
        keyring blocks); raises `BuildwatchError` if there is none."""
        if self._buildbuddy_connection is not None:
            return self._buildbuddy_connection
        return await asyncio.to_thread(
            buildbuddy_connection, self.settings.profile, self.settings.overrides
        )

    async def run_develocity(self) -> None:
        """Resolve the connection, then follow the build listing until cancelled or refused."""
        store = self.store
        store.set_state("develocity", "connecting")
        try:
            connection = await self._develocity_resolved()
        except BuildwatchError as error:
            store.set_state("develocity", "offline", str(error))
            return
        self._develocity_connection = connection
        self.develocity_url = connection.base_url
        await self._close(self.develocity)
        self.develocity = DevelocityClient(connection, backoff=self._backoff)
        # The listing never gives up (the catch-up's finite replay included): an outage of any
        # length ends with the source live again by itself. An address that looks wrong is
        # retried too, the status line saying so, while the user fixes it.
        async with DevelocityClient(
            connection,
            max_failures=None,
            retry_misconfigured=True,
            backoff=self._backoff,
            on_retry=retry_reporter(store),
            on_connected=connected_reporter(store),
        ) as listing:
            self._feed = DevelocityFeed(
                listing, self.develocity, store,
                since=self.settings.since, concurrency=self.settings.concurrency,
                history=self.history, point=self._listing_point(),
                git_names=self.settings.profile.git_value_names, backoff=self._backoff,
                input_gate=self.input_gate, backlog=self.backlog,
            )
            await self._feed.run()

    async def run_buildbuddy(self) -> None:
        """Resolve the connection, then poll the watched commits until cancelled or refused."""
        store = self.store
        store.set_state("buildbuddy", "connecting")
        try:
            connection = await self._buildbuddy_resolved()
        except BuildwatchError as error:
            store.set_state("buildbuddy", "offline", str(error))
            return
        self.buildbuddy_url = connection.base_url
        if connection.api_key is None and not self._buildbuddy_chosen():
            # Most Develocity users have no BuildBuddy: the public default is not a failure.
            store.set_state(
                "buildbuddy", "offline", f"{NOT_CONFIGURED} (press c to add an API key)"
            )
            return
        self._buildbuddy_connection = connection
        await self._close(self.buildbuddy)
        self.buildbuddy = BuildBuddyClient(connection, backoff=self._backoff)
        # The poller's own client fails fast, so the status bar shows trouble at once and the
        # poller's backoff (which honours Retry-After) decides when to try again. An address
        # that looks wrong is retried too, the status line saying so, while the user fixes it.
        async with BuildBuddyClient(
            connection, max_attempts=1, retry_misconfigured=True
        ) as polling:
            self._poller = BuildBuddyPoller(
                polling, store, interval_s=self.settings.profile.ui.poll_interval_seconds,
                backoff=self._backoff, history=self.history, input_gate=self.input_gate,
            )
            watcher = BranchWatcher(
                self.settings.branches, store,
                interval_s=self.settings.profile.ui.poll_interval_seconds,
                fetch_interval_s=self.settings.profile.watch.git_fetch_seconds,
            )
            branches = asyncio.create_task(watcher.run())
            try:
                await self._poller.run()
            finally:
                self._poller = None
                branches.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await branches

    async def aclose(self) -> None:
        """Close the clients the screens share."""
        await self._close(self.develocity)
        await self._close(self.buildbuddy)

    def _listing_point(self) -> ResumePoint | None:
        """Where the build listing starts: after the newest build this session received (a
        restart replays nothing already listed), else at the history's point (None: `since`)."""
        last = self._feed.last_build if self._feed is not None else None
        if last is None:
            return self._point
        # If the server no longer knows that build, list again from its time: the store and
        # the history drop the builds they already hold.
        return ResumePoint(since_build=last[0], since=last[1])

    def _backoff(self) -> Backoff:
        """The feeds' backoff: waits capped at the profile's `retry_max_seconds`."""
        cap = self.settings.profile.ui.retry_max_seconds
        return Backoff(base_s=min(1.0, cap), cap_s=cap)

    def _buildbuddy_chosen(self) -> bool:
        settings = self.settings
        return bool(
            settings.overrides.buildbuddy_url
            or settings.profile.buildbuddy.url
            or os.environ.get(BUILDBUDDY_URL_ENV)
            or os.environ.get(BUILDBUDDY_API_KEY_ENV)
        )

    @staticmethod
    async def _close(client: DevelocityClient | BuildBuddyClient | None) -> None:
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()


def _configured_url(
    resolve: Callable[[Profile, ConnectionOverrides], str], settings: MonitorSettings
) -> str | None:
    """A server's address from the command line, environment or profile; None if there is none."""
    try:
        return resolve(settings.profile, settings.overrides)
    except ConfigError:
        return None
