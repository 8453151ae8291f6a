"""What the running app offers its screens: the clients, the servers' web addresses, the store.

Screens get it with `services(self.app)`. The clients belong to the app: screens use them and
never close them. A field is None when that server is not configured (or not yet connected).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App

from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.develocity.git_values import DEFAULT_GIT_VALUE_NAMES, GitValueNames
from buildwatch.core.monitor.store import MonitorStore


@dataclass
class Services:
    """The app's connections and data, shared by every screen."""

    develocity: DevelocityClient | None
    buildbuddy: BuildBuddyClient | None
    develocity_url: str | None
    buildbuddy_url: str | None
    store: MonitorStore
    git_names: GitValueNames = DEFAULT_GIT_VALUE_NAMES
    """Which custom values name a build's Git commit, branch and repository (the profile's)."""
    team_store: bool = False
    """Whether the rows come from the team store: without a client, a screen shows what the
    store holds and says which server key the rest needs."""


class ProvidesServices:
    """Mixed into the app: where `services()` finds them."""

    @property
    def services(self) -> Services:
        """The app's current services (clients change when credentials do)."""
        raise NotImplementedError


def services(app: App[object]) -> Services:
    """The running buildwatch app's services."""
    if not isinstance(app, ProvidesServices):
        raise TypeError(f"{type(app).__name__} is not the buildwatch app")
    return app.services
