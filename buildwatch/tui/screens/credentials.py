"""Enter a server's credentials when it refuses the ones it has (or there are none).

The key is typed masked, checked against the server, then saved to the keyring in a thread; the
caller reconnects with it, without a restart. When no usable keyring exists the key is still
used for this session, and the user is told it was not saved. The check's worker tells the
screen its answer by a message, which Textual does not deliver once the screen is being
removed (the user may leave while the server is asked).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from buildwatch.core import credentials
from buildwatch.core.buildbuddy.client import BuildBuddyClient
from buildwatch.core.config import normalize_base_url
from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
from buildwatch.core.credentials import Credential
from buildwatch.core.develocity.client import DevelocityClient
from buildwatch.core.errors import BuildwatchError
from buildwatch.core.monitor.store import SourceName
from buildwatch.core.sanitize import sanitize_line
from buildwatch.core.secrets import Secret

_TITLES = {"develocity": "Develocity access key", "buildbuddy": "BuildBuddy API key"}


@dataclass(frozen=True)
class NewCredentials:
    """Credentials the server accepted."""

    base_url: str
    credential: Credential


async def check_credential(source: SourceName, base_url: str, credential: Credential) -> None:
    """Raise AuthError (or another BuildwatchError) unless the server accepts `credential`."""
    if source == "develocity":
        connection = DevelocityConnection(base_url=base_url, token=credential.token)
        async with DevelocityClient(connection, max_failures=1) as client:
            await client.check_access()
    else:
        async with BuildBuddyClient(
            BuildBuddyConnection(base_url=base_url, api_key=credential.token), max_attempts=1
        ) as bb_client:
            await bb_client.check_access()


class CredentialsScreen(ModalScreen[NewCredentials | None]):
    """Asks for a server's URL and key; returns them once the server accepts them."""

    DEFAULT_CSS = """
    CredentialsScreen { align: center middle; }
    CredentialsScreen > Vertical {
        width: 76; height: auto; padding: 1 2; border: round $warning; background: $panel;
    }
    CredentialsScreen #problem { color: $error; }
    CredentialsScreen #progress { color: $text-muted; }
    CredentialsScreen Horizontal { height: auto; margin-top: 1; }
    CredentialsScreen Button { margin-right: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="credentials.cancel"),
    ]

    class Refused(Message, bubble=False):
        """Check number `check` failed: `problem` says why."""

        def __init__(self, check: int, problem: str) -> None:
            super().__init__()
            self.check = check
            self.problem = problem

    class Accepted(Message, bubble=False):
        """The server accepted the credentials of check number `check`."""

        def __init__(self, check: int, accepted: NewCredentials) -> None:
            super().__init__()
            self.check = check
            self.accepted = accepted

    def __init__(self, source: SourceName, base_url: str | None, problem: str) -> None:
        """Ask for `source`'s credentials; `problem` says why (shown as the server said it)."""
        super().__init__()
        self._source = source
        self._base_url = base_url or ""
        self._problem = problem
        self._checks = 0
        """Checks started; only the newest one's answer counts (the user may submit again
        before the server answers the first)."""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"{_TITLES[self._source]}"
            yield Label(sanitize_line(self._problem), id="problem", markup=False)
            yield Label("Server URL")
            yield Input(self._base_url, id="url", placeholder="https://...")
            yield Label(_TITLES[self._source])
            yield Input(id="key", password=True, placeholder="paste the key (shown masked)")
            yield Label("", id="progress", markup=False)
            with Horizontal():
                yield Button("Check and save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#url" if not self._base_url else "#key", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        key = self.query_one("#key", Input).value.strip()
        raw_url = self.query_one("#url", Input).value.strip()
        if not key:
            self._say("Enter a key first.")
            return
        try:
            base_url = normalize_base_url(raw_url, "server URL")
        except BuildwatchError as error:
            self._say(str(error))
            return
        self.query_one("#progress", Label).update("Checking with the server…")
        self._checks += 1
        self._check_and_save(self._checks, base_url, Credential(token=Secret(key)))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)

    @work(exclusive=True, group="credentials", exit_on_error=False)
    async def _check_and_save(self, check: int, base_url: str, credential: Credential) -> None:
        try:
            await check_credential(self._source, base_url, credential)
        except BuildwatchError as error:
            self.post_message(self.Refused(check, str(error)))
            return
        if check != self._checks:
            return  # A newer check replaced this one: its key is not the one to save.
        try:
            await asyncio.to_thread(credentials.store, self._source, base_url, credential)
        except BuildwatchError as error:
            self.app.notify(
                f"Using the key for this session only; not saved: {error}",
                title="Keyring", severity="warning", markup=False, timeout=10,
            )
        else:
            self.app.notify("Saved to the keyring", title=_TITLES[self._source])
        self.post_message(self.Accepted(check, NewCredentials(base_url, credential)))

    def on_credentials_screen_refused(self, message: Refused) -> None:
        if message.check != self._checks:
            return
        self.query_one("#progress", Label).update("")
        self._say(message.problem)

    def on_credentials_screen_accepted(self, message: Accepted) -> None:
        if message.check != self._checks:
            return
        self.dismiss(message.accepted)

    def _say(self, problem: str) -> None:
        self.query_one("#problem", Label).update(sanitize_line(problem))
