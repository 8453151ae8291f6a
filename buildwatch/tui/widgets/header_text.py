"""The header of a drill-down screen: `label value` pairs, the outcome coloured."""

from __future__ import annotations

from rich.text import Text

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


def header_text(pairs: list[tuple[str, str]], line_starts: tuple[str, ...] = ()) -> Text:
    """The pairs as one wrapping text, a new line before each label in `line_starts`; values
    are plain text, never markup."""
    text = Text()
    for index, (label, value) in enumerate(pairs):
        if index:
            text.append("\n" if label in line_starts else "   ")
        if label in LINKS:
            # Alone on its line and unlabelled, a link fits 80 columns and copies whole.
            text.append(value, style="underline")
            continue
        text.append(f"{label} ", style="dim")
        style = outcome_style(value) if label in ("outcome", "status") else "bold"
        text.append(value, style=style or "bold")
    return text
