"""Run a drill-down screen against the hostile server on the real terminal (for the pty test).

    python tests/hostile_app.py build|invocation|file
"""

from __future__ import annotations

import sys
from typing import Any

from hostile_server import BUILD_ID, FILE_BYTES, FILE_SHA, INVOCATION_ID, serve
from textual.app import App
from textual.screen import Screen

from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.buildbuddy.models import File
from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.monitor.store import MonitorStore
from buildwatch.core.secrets import Secret
from buildwatch.tui.screens.build import BuildScreen
from buildwatch.tui.screens.file_viewer import FileViewerScreen
from buildwatch.tui.screens.invocation import InvocationScreen
from buildwatch.tui.services import ProvidesServices, Services


class HostileApp(ProvidesServices, App[None]):
    def __init__(self, url: str, screen: Screen[Any]) -> None:
        super().__init__()
        self._screen = screen
        self._services = Services(
            DevelocityClient(DevelocityConnection(url, token=Secret("t"))),
            BuildBuddyClient(BuildBuddyConnection(url, api_key=Secret("k"))),
            url, url, MonitorStore())

    @property
    def services(self) -> Services:
        return self._services

    def on_mount(self) -> None:
        self.push_screen(self._screen)


def main() -> None:
    url = serve()
    which = sys.argv[1]
    screens: dict[str, Screen[Any]] = {
        "build": BuildScreen(BUILD_ID),
        "invocation": InvocationScreen(INVOCATION_ID),
        "file": FileViewerScreen(File.from_json({
            "name": "evil.log", "uri": f"bytestream://hostile/blobs/{FILE_SHA}/{len(FILE_BYTES)}",
            "hash": FILE_SHA, "sizeBytes": str(len(FILE_BYTES))})),
    }
    HostileApp(url, screens[which]).run()


if __name__ == "__main__":
    main()
