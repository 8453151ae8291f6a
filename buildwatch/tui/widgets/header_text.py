"""The header of a drill-down screen: `label value` pairs, the outcome coloured."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

_STYLES = {
    "failed": "bold red", "failure": "bold red", "timed out": "bold red",
    "failed to build": "bold red", "tool failed": "bold red", "flaky": "yellow",
    "skipped": "dim", "not built": "dim", "running": "yellow", "in progress": "yellow",
    "building": "yellow", "testing": "yellow", "success": "green", "passed": "green",
    "built": "green", "from_cache": "cyan", "up_to_date": "cyan", "cancelled": "dim",
    "disconnected": "dim", "unknown": "dim",
}


LINKS = frozenset({"scan", "link"})
"""Labels whose value is a web link."""


def outcome_style(outcome: str) -> str:
    """The style of an outcome or status word (`failed`, `PASSED`, `IN PROGRESS`, ...)."""
    word = outcome.casefold().split(" (")[0]
    return _STYLES.get(word, "bold red" if word.startswith("failed") else "")


def header_text(pairs: list[tuple[str, str]], line_starts: tuple[str, ...] = (),
                width: int | None = None) -> Text:
    """The pairs as one text, a new line before each label in `line_starts`; values are plain
    text, never markup. Given the `width` it is drawn at, a line breaks between two pairs rather
    than inside one, so that no value is parted from its label (a pair wider than the line wraps
    as any text does)."""
    text = Text()
    used = 0
    for index, (label, value) in enumerate(pairs):
        pair = _pair_text(label, value)
        if index:
            if label in line_starts or (width is not None and used + 3 + pair.cell_len > width):
                text.append("\n")
                used = 0
            else:
                text.append("   ")
                used += 3
        text.append_text(pair)
        used += pair.cell_len
    return text


def _pair_text(label: str, value: str) -> Text:
    if label in LINKS:
        # Alone on its line and unlabelled, a link fits 80 columns and copies whole.
        return Text(value, style="underline")
    style = outcome_style(value) if label in ("outcome", "status") else "bold"
    return Text.assemble((f"{label} ", "dim"), (value, style or "bold"))


class PairsHeader(Static):
    """A drill-down screen's header: its pairs laid out again whenever its width changes, and
    drawn again only when that changes what it shows."""

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__(Text(title), id=id)
        self._pairs: list[tuple[str, str]] = []
        self._line_starts: tuple[str, ...] = ()
        self._note: Text | None = None
        self._shown = Text(title)

    def show(self, pairs: list[tuple[str, str]], line_starts: tuple[str, ...] = (),
             note: Text | None = None) -> None:
        """Show `pairs` (see `header_text`), and `note` on a line of its own below them."""
        self._pairs, self._line_starts, self._note = pairs, line_starts, note
        self._lay_out()

    def show_text(self, text: Text) -> None:
        """Show `text` alone, in place of any pairs."""
        self._pairs, self._note = [], None
        self._update(text)

    def on_resize(self) -> None:
        if self._pairs:
            self._lay_out()

    def _lay_out(self) -> None:
        # Before the first layout the width is not known yet: the text wraps as text does until
        # the resize that follows lays it out.
        text = header_text(self._pairs, self._line_starts, self.content_size.width or None)
        if self._note is not None:
            text.append("\n")
            text.append_text(self._note)
        self._update(text)

    def _update(self, text: Text) -> None:
        if text != self._shown:
            self._shown = text
            self.update(text)
