"""`?`: every key that works where the user is, what it does, and the id to rebind it by."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

_REBIND_HINT = (
    "Rebind a key in the configuration file, by id:\n"
    '  [profiles.NAME.ui.keys]\n  "main.watch" = "w,ctrl+w"'
)


def bindings_table(bindings: Mapping[str, ActiveBinding], display: Mapping[str, str]) -> Table:
    """One row per action: its keys, what it does, its id. `display` names keys for people."""
    rows: dict[tuple[str, str], list[str]] = {}
    for key, active in bindings.items():
        binding = active.binding
        if binding.system:
            continue
        entry = (binding.description or binding.action, binding.id or "")
        rows.setdefault(entry, []).append(display.get(key, key))
    table = Table(box=None, padding=(0, 2), show_header=True, header_style="bold")
    table.add_column("Keys", no_wrap=True)
    table.add_column("Action")
    table.add_column("Id", style="dim", no_wrap=True)
    for (description, binding_id), keys in sorted(rows.items(), key=lambda item: item[0][1]):
        table.add_row(Text(", ".join(keys)), Text(description), Text(binding_id))
    return table


class HelpScreen(ModalScreen[None]):
    """The keys of the screen below, as a table."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 90%; border: round $accent; background: $panel;
        padding: 0 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close help", id="help.close"),
    ]

    def __init__(self, bindings: Mapping[str, ActiveBinding]) -> None:
        """Show `bindings` (the screen's `active_bindings` when help was asked for)."""
        super().__init__()
        self._keys = dict(bindings)

    def compose(self) -> ComposeResult:
        display = {key: self.app.get_key_display(active.binding)
                   for key, active in self._keys.items()}
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys"
            yield Static(bindings_table(self._keys, display))
            yield Static(Text(_REBIND_HINT, style="dim"))

    def action_close(self) -> None:
        """Back to where help was asked for."""
        self.dismiss(None)
