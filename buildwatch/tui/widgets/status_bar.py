"""One line per source: connection state, counts, messages per second, age of the last message;
quiet mode, when on, first. Viewing a team store, the store's line and its collector's instead."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from buildwatch.core.monitor.notifier import Notifier
from buildwatch.core.monitor.store import HISTORY_SHOWN, SourceState, SourceStatus, relative_seconds
from buildwatch.core.monitor.team import COLLECTOR_SILENT_S, UNREACHABLE, TeamStatus
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


def team_text(
    team: TeamStatus, develocity: SourceStatus, buildbuddy: SourceStatus, now: float
) -> Text:
    """The team store's line: `● store live · 1,204 builds · 35 invocations · last 2s ago`, or
    `↻ store unreachable, retrying in 3s · ...` with the rows kept (no attempt number: a
    million builds' line must still fit 80 columns)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if team.state == "reconnecting":
        symbol, style = _LOOK["reconnecting"]
        words = UNREACHABLE
        if team.retry_at is not None and now < team.retry_at:
            words += f" in {max(1, round(team.retry_at - now))}s"
    else:
        symbol, style = _LOOK[team.state]
        words = f"store {team.state}"
    text.append(f"{symbol} {words}", style)
    text.append(f" · {develocity.count:,} build{'s' * (develocity.count != 1)}")
    text.append(f" · {buildbuddy.count:,} invocation{'s' * (buildbuddy.count != 1)}")
    if team.loading:
        text.append(" · loading older builds", Style(color="yellow"))
    age = develocity.age_text(now)
    if age is not None and team.state == "live":
        text.append(f" · last {age}")
    if team.state == "reconnecting" and team.detail:
        text.append(f" · {sanitize_line(team.detail)}", Style(italic=True))
    return text


def collector_text(team: TeamStatus, now_ms: int) -> Text:
    """The collector's line, from its last heartbeat: `● collector: live, 2s ago`, or
    `✗ collector: silent for 5m`; while the store cannot be read, when it was last heard."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if team.beat_ms is None:
        text.append("○ collector: no heartbeat yet", Style(dim=True))
        return text
    age = relative_seconds((now_ms - team.beat_ms) / 1000)
    if team.state != "live":
        text.append(f"○ collector: last heard {age} ago", Style(dim=True))
    elif now_ms - team.beat_ms <= COLLECTOR_SILENT_S * 1000:
        text.append(f"● collector: live, {age} ago", _LOOK["live"][1])
    else:
        text.append(f"✗ collector: silent for {age}", Style(color="red", bold=True))
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
             notifier: Notifier, team: TeamStatus | None = None, now_ms: int = 0) -> None:
        """Redraw from the two sources' status (or the `team` store's, with the collector's
        heartbeat against `now_ms`) and whether `notifier` is quiet, only if it reads
        differently (slow links)."""
        if team is None:
            first = status_text(develocity, "build", now)
            second = status_text(buildbuddy, "invocation", now)
        else:
            first = team_text(team, develocity, buildbuddy, now)
            second = collector_text(team, now_ms)
        if notifier.quiet:
            first = _quiet_text(notifier) + first
        lines = Text("\n", no_wrap=True).join([first, second])
        if lines != self._shown:
            self._shown = lines
            # Two lines whatever they say (the CSS fixes the height): no layout to redo. With
            # one, every change of a count (a backfill changes them ten times a second) laid
            # the whole screen out again and repainted every widget on it.
            self.update(lines, layout=False)
