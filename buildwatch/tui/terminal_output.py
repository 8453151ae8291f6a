"""The one place the app writes to its terminal past Textual: the sequences Textual has no API
for (a clipboard write wrapped for tmux, desktop notifications).

Textual offers no public way to write raw bytes; its driver's `write` goes out in order with
the frames it draws, so a sequence is never cut into one. A headless app (tests, the web
wallboard's pilot) has no terminal, and nothing is written.
"""

from __future__ import annotations

from textual.app import App


def write_sequence(app: App[object], sequence: str) -> None:
    """Write `sequence` to `app`'s terminal as it is (it is already wrapped for tmux if needed)."""
    driver = app._driver
    if driver is not None and not app.is_headless:
        driver.write(sequence)
