"""The listing messages left out as unreadable: which, why, and how each began."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from buildwatch.core.monitor.store import SkippedBuild
from buildwatch.core.sanitize import sanitize_line


def skipped_table(skipped: Sequence[SkippedBuild], total: int) -> Table:
    """One row per kept message, newest first; a caption when older ones were not kept."""
    table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold", expand=True)
    table.add_column("Id", no_wrap=True)
    table.add_column("Why, and how its data began", ratio=1, no_wrap=True, overflow="ellipsis")
    for entry in reversed(skipped):
        why = Text(sanitize_line(entry.reason))
        why.append("\n" + sanitize_line(entry.start), style="dim")
        table.add_row(Text(sanitize_line(entry.message_id)[:40] or "(none)"), why)
    if total > len(skipped):
        table.caption = f"the {len(skipped):,} most recent of {total:,}"
    return table


class SkippedScreen(ModalScreen[None]):
    """Builds the listing brought that could not be read, so none is dropped unseen."""

    DEFAULT_CSS = """
    SkippedScreen { align: center middle; }
    SkippedScreen > VerticalScroll {
        width: 90%; height: 80%; border: round $warning; background: $panel; padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="skipped.close"),
    ]

    def __init__(self, skipped: Sequence[SkippedBuild], total: int) -> None:
        """Show `skipped` (oldest first), of `total` skipped so far."""
        super().__init__()
        self._skipped = list(skipped)
        self._total = total

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            count = self._total
            scroll.border_title = f"Skipped builds: {count:,}"
            if count:
                yield Static(skipped_table(self._skipped, count))
            else:
                yield Static("Every message of the build listing could be read.")

    def action_close(self) -> None:
        """Back to the monitor."""
        self.dismiss()
