"""What the build and invocation screens share: numbered tabs, a filter box, going back.

A subclass composes a `TabbedContent` with id `tabs`, an `Input` with id `filter`, and says
which tabs hold a filterable widget (`FILTERABLE`: tab id -> selector); every other tab holds a
`LogPanel`.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, TabbedContent, TabPane

from buildwatch.core.backoff import RetryNotice
from buildwatch.tui.widgets.breadcrumb import Breadcrumb
from buildwatch.tui.widgets.log_panel import LogPanel

FILTER_PLACEHOLDER = "filter (Enter: keep, Escape: close; !word inverts)"


class Filterable(Protocol):
    """A widget the filter box drives."""

    @property
    def filter_text(self) -> str:
        """The filter as last given."""

    def set_filter(self, text: str) -> None:
        """Filter the widget's rows."""

    def focus(self, scroll_visible: bool = True) -> object:
        """Give the widget the focus."""


def waiting_note(notice: RetryNotice) -> str:
    """What a load that keeps retrying while its screen is open waits for, and how long it has
    been trying."""
    attempt = f"attempt {notice.failures}, " if notice.failures else ""
    return f"waiting ({attempt}again in {notice.delay_s:.0f}s): {notice.cause}"


def tab_bindings(prefix: str, tabs: tuple[str, ...]) -> list[BindingType]:
    """`1`, `2`, ... switch to `tabs` in order."""
    return [Binding(str(n), f"show_tab('{tab}')", tab.capitalize(), show=False,
                    id=f"{prefix}.tab_{tab}") for n, tab in enumerate(tabs, 1)]


class DrillDownScreen(Screen[None]):
    """A screen of tabs with a shared filter box; Escape goes back one level: it closes the box,
    else clears the tab's filter or search, else goes back a screen."""

    FILTERABLE: ClassVar[dict[str, str]] = {}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="screen.back"),
        Binding("q", "app.quit", "Quit", id="screen.quit"),
        Binding("slash", "filter", "Filter", key_display="/", id="screen.filter"),
    ]

    @property
    def active_tab(self) -> str:
        """The id of the tab showing."""
        return self.query_one("#tabs", TabbedContent).active

    def action_show_tab(self, tab: str) -> None:
        """Switch to a tab and focus its content."""
        self.query_one("#tabs", TabbedContent).active = tab
        self._focus_tab(tab)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self._show_trail()

    def _show_trail(self) -> None:
        """The breadcrumb ends with the tab, and its filter if one is set."""
        tabs = self.query_one("#tabs", TabbedContent)
        title = tabs.get_tab(tabs.active).label_text.split(" ", 1)[-1]
        target = self._filterable()
        if target is not None and target.filter_text:
            title += f" (filter: {target.filter_text})"
        self.query_one(Breadcrumb).refresh_trail(title)

    def _focus_tab(self, tab: str) -> None:
        if tab in self.FILTERABLE:
            self.query_one(self.FILTERABLE[tab]).focus()
        else:
            self._log_panel(tab).focus_log()

    def _filterable(self) -> Filterable | None:
        selector = self.FILTERABLE.get(self.active_tab)
        if selector is None:
            return None
        widget: Filterable = self.query_one(selector)  # type: ignore[assignment]
        return widget

    def action_filter(self) -> None:
        """Open the filter box for the current tab's table or list."""
        target = self._filterable()
        if target is None:
            return
        box = self.query_one("#filter", Input)
        box.value = target.filter_text
        box.add_class("-shown")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        target = self._filterable()
        if event.input.id == "filter" and target is not None:
            target.set_filter(event.value)
            self._show_trail()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self._close_filter()

    def _close_filter(self) -> None:
        self.query_one("#filter", Input).remove_class("-shown")
        self._focus_tab(self.active_tab)

    def action_back(self) -> None:
        """Back one level: close the filter box if it is open, else clear the tab's filter or
        search if it has one, else go back a screen."""
        if self.query_one("#filter", Input).has_focus:
            self._close_filter()
            return
        target = self._filterable()
        if target is not None and target.filter_text:
            target.set_filter("")
            self._show_trail()
        elif target is not None or not self._log_panel(self.active_tab).clear_search():
            self.dismiss()

    def _log_panel(self, tab: str) -> LogPanel:
        """The log of a tab without a filterable widget."""
        return self.query_one(f"#{tab}", TabPane).query_one(LogPanel)
