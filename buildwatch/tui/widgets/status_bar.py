"""One line per source: connection state, counts, messages per second, age of the last message;
quiet mode, when on, first."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from buildwatch.core.monitor.notifier import Notifier
from buildwatch.core.monitor.store import HISTORY_SHOWN, SourceState, SourceStatus
from buildwatch.core.sanitize import sanitize_line

_LOOK: dict[SourceState, tuple[str, Style]] = {
    "live": ("●", Style(color="green", bold=True)),
    "connecting": ("◌", Style(color="yellow")),
    "reconnecting": ("↻", Style(color="yellow", bold=True)),
    "auth_failed": ("✗", Style(color="red", bold=True)),
    "offline": ("○", Style(dim=True)),
}


def status_text(status: SourceStatus, noun: str, now: float) -> Text:
    """The status line of one source, e.g. `● Develocity live · 1,204 builds · 3.1/s · 2s ago`;
    a pane holding only the history says so after the state: `○ Develocity offline · showing
    history · ...`."""
    state = status.state
    symbol, style = _LOOK[state]
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{symbol} ", style)
    text.append(f"{status.title} ", Style(bold=True))
    text.append(status.state_text(now), style)
    if status.showing_history and state != "live":
        text.append(f" · {HISTORY_SHOWN}", Style(color="yellow", bold=True))
    if status.git_problem:
        # Early in the line: a narrow terminal cuts its end.
        text.append(f" · {sanitize_line(status.git_problem)}", Style(color="red", bold=True))
    text.append(f" · {status.count:,} {noun}{'s' * (status.count != 1)}")
    # A rate is news only while connected, an age only once something has arrived.
    if state == "live":
        text.append(f" · {status.rate(now):.1f}/s")
    if status.skipped:
        # Listed in the command palette's "Skipped builds".
        text.append(f" · {status.skipped:,} skipped", Style(color="yellow", bold=True))
    age = status.age_text(now)
    if age is not None:
        text.append(f" · last {age}")
    if state != "live" and status.detail:
        text.append(f" · {sanitize_line(status.detail)}", Style(italic=True))
    elif state == "live" and status.detail:
        text.append(f" · {sanitize_line(status.detail)}", Style(dim=True))
    return text


def _quiet_text(notifier: Notifier) -> Text:
    """`quiet · 3 held back │ `: quiet mode, before the first source's line."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("quiet", Style(color="yellow", bold=True, reverse=True))
    if notifier.missed:
        text.append(f" · {notifier.missed:,} held back", Style(color="yellow", bold=True))
    text.append(" │ ", Style(dim=True))
    return text


class StatusBar(Static):
    """The health of both sources; the screen calls `show()` on a timer."""

    DEFAULT_CSS = """
    StatusBar {
        height: 2;
        /* A long problem is cut, not wrapped: a second Develocity row would hide BuildBuddy's. */
        text-wrap: nowrap;
        text-overflow: ellipsis;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown = Text()

    def show(self, develocity: SourceStatus, buildbuddy: SourceStatus, now: float,
             notifier: Notifier) -> None:
        """Redraw from the two sources' status and whether `notifier` is quiet, only if it
        reads differently (slow links)."""
        first = status_text(develocity, "build", now)
        if notifier.quiet:
            first = _quiet_text(notifier) + first
        lines = Text("\n", no_wrap=True).join([first, status_text(buildbuddy, "invocation", now)])
        if lines != self._shown:
            self._shown = lines
            self.update(lines)
