"""Where the user is: one line naming every screen on the stack, e.g. `builds > build 5fz4 > Tests`."""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static

from buildwatch.core.sanitize import sanitize_line

SEPARATOR = " \u203a "


def crumb_of(screen: Screen[object]) -> str | None:
    """What a screen is called in the trail: its `crumb` attribute, else its title, else None."""
    crumb = getattr(screen, "crumb", None)
    if isinstance(crumb, str) and crumb:
        return crumb
    return screen.title or None


class Breadcrumb(Static):
    """The trail of screens from the bottom of the stack to the one showing this widget."""

    DEFAULT_CSS = """
    Breadcrumb { height: 1; width: 1fr; background: $panel; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def on_mount(self) -> None:
        self.refresh_trail()

    def refresh_trail(self, suffix: str | None = None) -> None:
        """Show the trail, with `suffix` (the current tab, say) after this screen's crumb."""
        stack = self.app.screen_stack
        own = self.screen
        trail = []
        for screen in stack[: stack.index(own) + 1] if own in stack else [own]:
            crumb = crumb_of(screen)
            if crumb:
                trail.append(crumb)
        if suffix:
            trail.append(suffix)
        # Crumbs hold ids and labels that came from a server: sanitised here, for every screen,
        # and shown as a Text, never as markup.
        shown = SEPARATOR.join(sanitize_line(crumb) for crumb in trail)
        self.update(Text(shown, no_wrap=True, overflow="ellipsis"))
