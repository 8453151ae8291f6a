"""The buildwatch app: owns the session and its background feeds, and hands the screen to screens.

Network work runs in async workers that never take the app down (`exit_on_error=False`): a
feed's failure shows in the status bar, and the other feed carries on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from buildwatch.core.monitor.history import RETENTION_INTERVAL_S
from buildwatch.core.monitor.notifier import Notifier
from buildwatch.core.monitor.pacing import SLICE_S
from buildwatch.core.monitor.session import MonitorSession, MonitorSettings
from buildwatch.core.monitor.store import MonitorStore, SourceName, WatchOrigin
from buildwatch.core.sanitize import sanitize, sanitize_line
from buildwatch.tui.screens.help import HelpScreen
from buildwatch.tui.screens.main import MainScreen
from buildwatch.tui.screens.skipped import SkippedScreen
from buildwatch.tui.services import ProvidesServices, Services


def wall_clock_ms() -> int:
    """Now, in epoch milliseconds."""
    return int(time.time() * 1000)


class BuildwatchApp(ProvidesServices, App[None]):
    """Live Develocity builds and BuildBuddy invocations.

    `now_ms` and `clock` (monotonic seconds) can be frozen for reproducible screenshots;
    `highlight_seconds` is how long new and changed rows stay marked; `flush_budget_s` how long
    the main screen puts rows in its tables before it leaves the rest for the next frame.
    """

    TITLE = "buildwatch"
    CSS_PATH = Path(__file__).with_name("app.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
        Binding("m", "toggle_quiet", "Quiet notifications", show=False, id="app.quiet"),
    ]

    def __init__(
        self,
        settings: MonitorSettings,
        *,
        watch: Iterable[tuple[str, WatchOrigin]] = (),
        now_ms: Callable[[], int] = wall_clock_ms,
        clock: Callable[[], float] = time.monotonic,
        highlight_seconds: float = 5.0,
        flush_budget_s: float = SLICE_S,
    ) -> None:
        super().__init__()
        ui = settings.profile.ui
        self.store = MonitorStore(notify_after_ms=now_ms(), clock=clock)
        self.notifier = Notifier(ui, self.store.named, now_ms())
        for commit, origin in watch:
            self.store.watch(commit, origin)
        self.session = MonitorSession(settings, self.store)
        self._now_ms = now_ms
        self._highlight_seconds = highlight_seconds
        self._flush_budget_s = flush_budget_s
        self.closing_problems: list[str] = []
        """What went wrong writing the history, for the command to print after the screen."""
        if ui.theme in self.available_themes:
            self.theme = ui.theme
        if ui.keys:
            self.set_keymap(ui.keys)

    @property
    def services(self) -> Services:
        """The session's clients and the store, for the screens."""
        session = self.session
        return Services(
            develocity=session.develocity,
            buildbuddy=session.buildbuddy,
            develocity_url=session.develocity_url,
            buildbuddy_url=session.buildbuddy_url,
            store=self.store,
            git_names=session.settings.profile.git_value_names,
            team_store=session.team is not None,
        )

    def on_mount(self) -> None:
        self.push_screen(MainScreen(
            self.session,
            now_ms=self._now_ms,
            restart=self.start_source,
            notifier=self.notifier,
            highlight_seconds=self._highlight_seconds,
            flush_budget_s=self._flush_budget_s,
        ))
        self.run_worker(self._start(), name="start", exit_on_error=False,
                        description="history and feeds")

    async def _start(self) -> None:
        """Load the history (the stored builds show at once), then start the feeds on it; or,
        viewing a team store, follow it, the servers used only to open a build or invocation."""
        if self.session.team is not None:
            self.run_worker(self.session.run_team(), name="team", group="team",
                            exit_on_error=False, description="team store")
            self.start_source("develocity")
            self.start_source("buildbuddy")
            return
        for notice in await self.session.open_history():
            self.notify(notice, title="History", severity="warning", markup=False)
        history = self.session.history
        if history is not None and history.path is not None:
            self.set_interval(RETENTION_INTERVAL_S, history.apply_retention)
            self.run_worker(self.store.failures.load(history.path), name="failures",
                            exit_on_error=False, description="failure groups of the history")
        if self.session.settings.offline:
            self.session.browse_offline()
            return
        self.start_source("develocity")
        self.start_source("buildbuddy")

    def start_source(self, source: SourceName) -> None:
        """(Re)start a source's feed; a running one is cancelled first. Viewing a team store,
        (re)make the client its screens read the server with instead: the store is the feed."""
        if self.session.team is not None:
            self.run_worker(self.session.open_server(source), name=source, group=source,
                            exclusive=True, exit_on_error=False, description=f"{source} client")
            return
        feed = self.session.run_develocity if source == "develocity" else self.session.run_buildbuddy
        self.run_worker(
            feed(), name=source, group=source, exclusive=True, exit_on_error=False,
            description=f"{source} feed",
        )

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Textual's notification, its message and title sanitised: they quote ids, labels and
        errors that came from a server, and every screen's notices pass through here."""
        super().notify(sanitize(message), title=sanitize_line(title), severity=severity,
                       timeout=timeout, markup=markup)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        team = self.session.team
        if event.state is WorkerState.ERROR and worker.group == "team" and team is not None:
            team.state, team.detail = "reconnecting", f"stopped: {worker.error}"
            self.notify(team.detail, title="Team store", severity="error", markup=False)
            return
        if event.state is WorkerState.ERROR and worker.group in ("develocity", "buildbuddy"):
            source: SourceName = "develocity" if worker.group == "develocity" else "buildbuddy"
            problem = f"stopped: {type(worker.error).__name__}: {worker.error}"
            self.store.set_state(source, "offline", problem)
            self.notify(problem, title=self.store.status(source).title, severity="error",
                        markup=False)

    def _post_message(self, message: Message) -> Coroutine[Any, Any, bool]:
        """Textual's driver calls this in its input thread for each key it reads, and the
        coroutine it returns posts the key a few turns of the event loop later: the gate
        closes here, at once, so background work stops at its next slice instead of running
        slices through those turns."""
        if isinstance(message, events.Key):
            self.session.input_gate.key_pressed()
        return super()._post_message(message)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            # The feeds and the flush stand aside until this key's frame is out.
            self.session.input_gate.key_pressed()
        await super().on_event(event)

    def get_system_commands(self, screen: Screen[object]) -> Iterator[SystemCommand]:
        """Textual's commands, and on the main screen the monitor's own."""
        yield from super().get_system_commands(screen)
        if isinstance(screen, MainScreen):
            yield SystemCommand("Watch a commit", "Poll BuildBuddy for a commit's invocations",
                                screen.action_watch)
            yield SystemCommand("Filter", "Filter the focused table", screen.action_filter)
            yield SystemCommand("Failures", "Failure groups: what broke, new, flaky or recurring",
                                screen.action_failures)
            yield SystemCommand("Enter credentials", "Give the focused pane's server a new key",
                                screen.action_credentials)
            yield SystemCommand("Keys", "Every key and its id, for rebinding", self.action_help)
            yield SystemCommand("Skipped builds",
                                "Builds the listing brought that could not be read, and why",
                                self.action_skipped)

    def action_help(self) -> None:
        """Show every key that works here."""
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen.active_bindings))

    def action_toggle_quiet(self) -> None:
        """Hold notifications back, or give them again."""
        if self.notifier.toggle_quiet():
            self.notify("no notifications until m is pressed again", title="Quiet")
        else:
            missed = self.notifier.missed
            self.notify(f"{missed:,} held back while quiet" if missed else "none held back",
                        title="Notifications on")

    def action_skipped(self) -> None:
        """List the builds left out as unreadable (the status line counts them)."""
        store = self.store
        self.push_screen(SkippedScreen(store.skipped_builds, store.develocity.skipped))

    async def on_unmount(self) -> None:
        await self.session.aclose()
        self.closing_problems = await asyncio.to_thread(self.session.close_history)
