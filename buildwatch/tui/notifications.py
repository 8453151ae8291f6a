"""Give a notification the notifier decided on: a toast, the desktop notification sequences the
profile asks for, the bell. The deciding is the core's (`buildwatch.core.monitor.notifier`);
this is only the writing."""

from __future__ import annotations

import os

from textual.app import App

from buildwatch.core.monitor.notifier import Notifier
from buildwatch.core.monitor.store import Notice
from buildwatch.tui.terminal_output import write_sequence


def announce(app: App[object], notifier: Notifier, notice: Notice) -> None:
    """Notify about `notice` as `notifier` decides, if it does."""
    notification = notifier.notification(notice)
    if notification is None:
        return
    if "toast" in notification.kinds:
        app.notify(notification.body, title=notification.title, markup=False,
                   severity="error" if notification.failed else "information")
    sequence = notification.terminal_sequence(os.environ)
    if sequence:
        write_sequence(app, sequence)
    if "bell" in notification.kinds:
        app.bell()
