"""A Develocity build, for triage: what failed, in which task or test, and what it printed.

The screen streams the build's whole event stream from a worker that starts when it opens and is
cancelled when it closes. `BuildDetail` reduces the events; a timer applies what changed to the
tabs every `FLUSH_S`, and after every `WORK_S` it holds the event loop the worker waits until
keys, that timer and the redraw they caused are done. Both go by the clock, not by network reads:
a server that sends one message per packet loads as fast as one that sends a megabyte at a time,
and a 500,000-event build loads with the screen responsive. The summary
the monitor holds (read by the feed, or from the local history) heads the screen at once; without
the server it is all there is, and the Summary tab says so.

The worker never touches a widget: it posts messages the screen handles (the timer starts with
the first events), and Textual delivers none to a screen being removed, whose widgets go before
its workers are cancelled.

Keys: `1`-`5` switch tabs (Summary, Tasks/Goals/Targets, Tests, Events, Console), `/` filters the
table or event list of the current tab (or searches the log), Enter opens a task or test, Escape
goes back, `q` quits.
"""

from __future__ import annotations

from contextlib import aclosing
from time import monotonic, time
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Footer, Input, Static, TabbedContent, TabPane

from buildwatch.core.backoff import RetryNotice
from buildwatch.core.develocity.detail import (
    OUTCOME_ORDER,
    TEST_OUTCOME_ORDER,
    BuildDetail,
    TestResult,
    WorkItem,
    outcome_rank,
)
from buildwatch.core.develocity.event_text import event_detail
from buildwatch.core.develocity.models import Message as StreamMessage
from buildwatch.core.develocity.report import (
    WORK_NAMES,
    header_pairs,
    summary_text,
    test_text,
    work_text,
)
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.durations import duration_text, ms_to_seconds
from buildwatch.core.errors import BuildwatchError
from buildwatch.core.links import build_scan_url
from buildwatch.core.sanitize import sanitize, sanitize_line
from buildwatch.core.triage.model import FailureKind, signature_name
from buildwatch.tui.failure_rows import group_summary
from buildwatch.tui.screens.drill_down import (
    FILTER_PLACEHOLDER,
    DrillDownScreen,
    tab_bindings,
    waiting_note,
)
from buildwatch.tui.screens.log import LogScreen
from buildwatch.tui.services import services
from buildwatch.tui.widgets.breadcrumb import Breadcrumb
from buildwatch.tui.widgets.event_list import EventList
from buildwatch.tui.widgets.header_text import PairsHeader, outcome_style
from buildwatch.tui.widgets.live_table import LiveTable
from buildwatch.tui.widgets.log_panel import LogPanel
from buildwatch.tui.widgets.log_view import LogView
from buildwatch.tui.widgets.table_model import Column, TableRow

FLUSH_S = 0.1
"""How often the events that arrived reach the widgets while the build loads."""
WORK_S = 0.05
"""How long reading and reducing events may hold the event loop before keys and redraws get
their turn: reading never waits while the bytes keep arriving, so without this a key waits."""
SLICE = 1000
"""Events reduced at a time (about 15 ms' work), so a big network read is reduced in turns."""

NEEDS_SERVER = "Its tasks, tests, events and console need the server."
NEEDS_KEY = ("Its tasks, tests, events and console need your own Develocity access key "
             "(`buildwatch auth login develocity`, or c on the main screen).")
"""What a team store's viewer without a Develocity key is told the store cannot show."""

TABS = ("summary", "work", "tests", "events", "console")
HEADER_LINES = ("scan", "user")
"""Header labels that start a line: what and how, the link, then who, where and when."""

WORK_COLUMNS = (
    Column("outcome", "Outcome", width=12),
    Column("path", "Path", share=3),
    Column("duration", "Duration", width=9, align="right"),
    Column("cache", "Cache", width=11),
)
TEST_COLUMNS = (
    Column("outcome", "Outcome", width=9),
    Column("class", "Class", share=2),
    Column("name", "Test", share=2),
    Column("duration", "Duration", width=9, align="right"),
    Column("owner", "Run by", share=1),
)


def _cache_text(item: WorkItem) -> str:
    if item.from_cache:
        return "from cache"
    return {True: "cacheable", False: "not cacheable", None: ""}[item.cacheable]


def work_row(item: WorkItem) -> TableRow:
    """A task, goal or target as a table row; outcomes sort failures first."""
    duration = item.duration_ms
    return TableRow(
        item.key,
        [Text(item.outcome, style=outcome_style(item.outcome)), item.path,
         duration_text(ms_to_seconds(duration)), _cache_text(item)],
        [(outcome_rank(item.outcome, OUTCOME_ORDER), item.path.casefold()), item.path.casefold(),
         duration,
         _cache_text(item)],
    )


def test_row(test: TestResult) -> TableRow:
    """A test as a table row; failed and skipped tests sort first."""
    duration = test.duration_ms
    return TableRow(
        test.key,
        [Text(test.outcome, style=outcome_style(test.outcome)), test.class_name, test.name,
         duration_text(ms_to_seconds(duration)), test.owner],
        [(outcome_rank(test.outcome, TEST_OUTCOME_ORDER), test.class_name.casefold(),
          test.name.casefold()), test.class_name.casefold(),
         test.name.casefold(), duration, test.owner.casefold()],
    )


def stored_summary_text(summary: BuildSummary | None, why: str, needs: str = NEEDS_SERVER) -> str:
    """The Summary tab of a build whose events cannot be read: `why`, what that leaves out
    (`needs`), and the failures its stored summary names."""
    lines = [why, needs]
    failures = summary.failures if summary is not None else ()
    if failures:
        lines += ["", f"Failures ({len(failures)}):"]
        lines.extend(sanitize_line(f"  {failure.class_name or 'failure'}: {failure.message or ''}")
                     for failure in failures)
    return "\n".join(lines) + "\n"


class BuildScreen(DrillDownScreen):
    """One Develocity build: header, then Summary, work, Tests, Events and Console tabs."""

    CSS_PATH = "build.tcss"
    # Below 120 columns the Events tab stacks the JSON under the list: side by side, an
    # 80-column terminal left each event's one-line account six characters.
    # Textual declares this as an instance variable, so it cannot be marked ClassVar here.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012
    FILTERABLE: ClassVar[dict[str, str]] = {
        "work": "#work-table", "tests": "#tests-table", "events": "#event-list"}
    BINDINGS: ClassVar[list[BindingType]] = tab_bindings("build", TABS)

    class Progress(Message, bubble=False):
        """What the load is doing, for the progress line; `without_events`, when given, says why
        the Summary tab shows only what the stored summary holds."""

        def __init__(self, text: str, without_events: str | None = None) -> None:
            super().__init__()
            self.text = text
            self.without_events = without_events

    class EventsArrived(Message, bubble=False):
        """The first events are reduced: they show at once, the rest at the timer's pace."""

    class LoadEnded(Message, bubble=False):
        """The event stream was read to its end, or stopped by `error`."""

        def __init__(self, error: str | None = None) -> None:
            super().__init__()
            self.error = error

    def __init__(self, build_id: str) -> None:
        super().__init__()
        self.build_id = build_id
        self.crumb = f"build {build_id}"
        self.detail = BuildDetail()
        self.loaded = False
        """Whether the whole event stream has been read."""
        self._summary_shown = ""
        self._progress_shown = "connecting…"
        self._flushed_count = 0
        self._flusher: Timer | None = None
        self._arrival_told = False
        """Whether the worker has said that the first events arrived."""
        self._pause_at = 0.0
        self._project: str | None = None
        """The build's project, once its summary names it: its tasks and goals are grouped by it."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="build-top"):
            yield Breadcrumb()
            yield Static(Text(self._progress_shown), id="build-progress")
        yield PairsHeader(sanitize_line(f"build {self.build_id}"), id="build-header")
        with TabbedContent(id="tabs"):
            with TabPane("1 Summary", id="summary"):
                yield LogPanel(f"build-{self.build_id}-summary.txt", follow=False,
                               id="summary-log")
            with TabPane("2 Tasks", id="work"):
                yield LiveTable(WORK_COLUMNS, highlight_seconds=0, id="work-table")
            with TabPane("3 Tests", id="tests"):
                yield LiveTable(TEST_COLUMNS, highlight_seconds=0, id="tests-table")
            with TabPane("4 Events", id="events"), Horizontal(id="event-panes"):
                yield EventList(self.detail.events, id="event-list")
                yield LogView(id="event-json")
            with TabPane("5 Console", id="console"):
                yield LogPanel(f"build-{self.build_id}-console.log", id="console-log")
        yield Input(placeholder=FILTER_PLACEHOLDER, id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#summary-log", LogPanel).focus_log()
        for table in self.query(LiveTable):
            table.sort_by("outcome", descending=False)
        self._summary_shown = summary_text(self.detail, "tasks")
        self.query_one("#summary-log", LogPanel).append(self._summary_shown)
        stored = self._stored_summary()
        if stored is not None:
            self._show_header(stored)
        self.run_worker(self._load(), group="build-events", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        shared = services(self.app)
        self.detail.git_names = shared.git_names
        client = shared.develocity
        if client is None:
            if self.build_id not in shared.store.builds:
                self.post_message(self.Progress("Develocity is not configured"))
                return
            if shared.team_store:
                self.post_message(self.Progress(
                    "from the team store — the events need a Develocity key",
                    without_events="This build comes from the team store."))
                return
            self.post_message(self.Progress(
                "offline — from the history: the events need the server",
                without_events="Offline: this build comes from the local history."))
            return
        if shared.store.develocity.showing_history and self.build_id in shared.store.builds:
            self.post_message(self.Progress(
                "connecting… (Develocity has not answered yet)",
                without_events="Develocity has not answered yet: until it does, this is what the "
                               "local history holds."))
        self._pause_at = monotonic() + WORK_S
        try:
            # However long the server is away, the load waits while the screen is open. The
            # stream is closed as the screen closes, even while a batch is being reduced.
            batches = client.event_batches(
                self.build_id, until_cancelled=True, on_retry=self._waiting
            )
            async with aclosing(batches):
                async for batch in batches:
                    await self._take(batch)
        except BuildwatchError as error:
            self.post_message(self.LoadEnded(str(error)))
            return
        self.post_message(self.LoadEnded())

    async def _take(self, batch: list[StreamMessage]) -> None:
        """Reduce a batch of events, pausing whenever loading has held the event loop `WORK_S`.

        Reducing holds the event loop, and so does reading while bytes keep arriving. A key or
        a flush reaches the screen through many turns of the loop, some of them timed (a frame
        is drawn at most 60 times a second), so a fixed moment is not enough: the pause lasts
        until the screen has drawn what is pending. The clock decides, not the batch: a batch
        may be one event or thousands.
        """
        for start in range(0, len(batch), SLICE):
            self.detail.add(batch[start:start + SLICE])
            first = not self._arrival_told
            if first:
                self._arrival_told = True
                self.post_message(self.EventsArrived())
            if first or monotonic() >= self._pause_at:
                await self.wait_for_refresh()
                self._pause_at = monotonic() + WORK_S

    def on_build_screen_progress(self, message: Progress) -> None:
        self._progress(message.text)
        if message.without_events is not None:
            self._show_without_events(message.without_events)

    def on_build_screen_events_arrived(self, _: EventsArrived) -> None:
        self._flush()
        self._flusher = self.set_interval(FLUSH_S, self._flush_arrived)

    def on_build_screen_load_ended(self, message: LoadEnded) -> None:
        if self._flusher is not None:
            self._flusher.stop()
        self.loaded = message.error is None
        self._flush()
        if message.error is not None:
            self._progress(f"stopped: {message.error}")
            if not self.detail.events:
                self._show_without_events(
                    sanitize_line(f"The events could not be read: {message.error}"))

    def _flush_arrived(self) -> None:
        """Show the events that arrived since the last flush, if any did."""
        if len(self.detail.events) != self._flushed_count:
            self._flush()

    def _flush(self) -> None:
        detail = self.detail
        self._flushed_count = len(detail.events)
        work_name = WORK_NAMES.get(detail.tool_type or "", "Tasks")
        # A new label, a header or a progress of another width lays the whole screen out again,
        # which costs more than the rest of a flush: only a change is sent.
        tab = self.query_one("#tabs", TabbedContent).get_tab("work")
        if tab.label_text != f"2 {work_name}":
            tab.label = f"2 {work_name}"
        summary = detail.summary()
        if summary is not None:
            self._show_header(summary)
            self._project = summary.project
        changed_work = detail.take_changed_work()
        if changed_work:
            self.query_one("#work-table", LiveTable).upsert_rows(map(work_row, changed_work),
                                                                highlight=False)
        changed_tests = detail.take_changed_tests()
        if changed_tests:
            self.query_one("#tests-table", LiveTable).upsert_rows(map(test_row, changed_tests),
                                                                 highlight=False)
        console = detail.take_console()
        if console:
            self.query_one("#console-log", LogPanel).append(console)
        self.query_one("#event-list", EventList).events_added()
        self._show_summary(summary_text(detail, work_name, self._group_note))
        count = len(detail.events)
        self._progress(f"{count:,} events" + ("" if self.loaded else " · loading…"))

    def _waiting(self, notice: RetryNotice) -> None:
        """Say what the load waits for, and how long it has been trying."""
        self.post_message(self.Progress(waiting_note(notice)))

    def _group_note(self, kind: FailureKind, name: str) -> str | None:
        """How often, since when and where a failed item's failure group failed, and its status."""
        signature = signature_name(kind, name, self._project)
        group = services(self.app).store.failures.index.group(kind, signature)
        return group_summary(group, int(time() * 1000)) if group is not None else None

    def _stored_summary(self) -> BuildSummary | None:
        entry = services(self.app).store.builds.get(self.build_id)
        return entry.summary if entry is not None else None

    def _show_without_events(self, why: str) -> None:
        """Replace the Summary tab's "loading" with what the stored summary holds."""
        shared = services(self.app)
        needs = NEEDS_KEY if shared.team_store and shared.develocity is None else NEEDS_SERVER
        self._show_summary(stored_summary_text(self._stored_summary(), why, needs))

    def _show_summary(self, text: str) -> None:
        """Put `text` in the Summary tab in place of what it showed, if it differs."""
        if text == self._summary_shown:
            return
        self._summary_shown = text
        panel = self.query_one("#summary-log", LogPanel)
        panel.view.clear()
        panel.append(text)

    def _show_header(self, summary: BuildSummary) -> None:
        web = services(self.app).develocity_url
        url = build_scan_url(web, self.build_id) if web else None
        typical = services(self.app).store.timings.of_build(summary)
        self.query_one("#build-header", PairsHeader).show(
            header_pairs(summary, url, typical.text() if typical else ""), HEADER_LINES)

    def _progress(self, text: str) -> None:
        shown = sanitize(text)
        width_changed = len(shown) != len(self._progress_shown)
        self._progress_shown = shown
        self.query_one("#build-progress", Static).update(Text(shown), layout=width_changed)

    def on_event_list_selected(self, event: EventList.Selected) -> None:
        view = self.query_one("#event-json", LogView)
        view.clear()
        if event.position is not None:
            view.append(event_detail(self.detail.events.source(event.position)))
            view.action_top()

    def on_live_table_row_activated(self, event: LiveTable.RowActivated) -> None:
        key = event.row_key
        if event.table.id == "work-table" and key in self.detail.work:
            item = self.detail.work[key]
            self.app.push_screen(LogScreen(item.path, work_text(self.detail, item),
                                           f"{self.build_id}-task.txt"))
        elif event.table.id == "tests-table" and key in self.detail.tests:
            test = self.detail.tests[key]
            self.app.push_screen(LogScreen(test.name, test_text(self.detail, test),
                                           f"{self.build_id}-test.txt"))
