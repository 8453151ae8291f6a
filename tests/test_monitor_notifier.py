"""The notifier: which finished builds and invocations notify (the profile's queries, commits you
named), quiet mode, and the title, body and sequences of each notification."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from test_monitor_store import START_MS, build, invocation, summary

from buildwatch.core.config import UiPreferences
from buildwatch.core.monitor.notifier import Notification, Notifier
from buildwatch.core.monitor.store import BuildEntry, MonitorStore, Notice

SHA = "4f2a9c1e0b7d"
TMUX = {"TMUX": "/tmp/tmux-1000/default,42,0"}


def build_notice(build_id: str = "b1", outcome: str = "failed", **fields: Any) -> Notice:
    """The notice of a build whose summary was read: `fields` replace the summary's."""
    store = MonitorStore(notify_after_ms=START_MS)
    store.add_builds([build(build_id)])
    store.enrich(dataclasses.replace(summary(build_id, outcome), **fields))
    (notice,) = store.drain().notices
    assert isinstance(notice.run, BuildEntry)
    return notice


def invocation_notice(invocation_id: str = "i1", **fields: Any) -> Notice:
    return Notice(invocation(invocation_id, **fields))


def notifier(named: tuple[str, ...] = (), **ui: Any) -> Notifier:
    return Notifier(UiPreferences(**ui), lambda commit: commit in named, now_ms=START_MS)


def shown(notification: Notification | None) -> tuple[str, str, bool]:
    assert notification is not None
    return notification.title, notification.body, notification.failed


def test_by_default_failed_builds_and_invocations_notify_and_successes_do_not() -> None:
    notify = notifier()
    assert shown(notify.notification(build_notice("b1", "failed"))) == (
        "Build failed: payments", "build", True)
    assert notify.notification(build_notice("b2", "success")) is None
    assert shown(notify.notification(invocation_notice("i1"))) == (
        "Invocation failed: test", "//...", True)
    assert notify.notification(invocation_notice("i2", success=True)) is None


def test_the_build_filter_is_a_query_of_the_builds_pane() -> None:
    notify = notifier(notify_builds_when="outcome:failed branch=main")
    assert notify.notification(build_notice("b1", git_branch="main")) is not None
    assert notify.notification(build_notice("b2", git_branch="main-next")) is None
    assert notify.notification(build_notice("b3", "success", git_branch="main")) is None


def test_the_invocation_filter_is_a_query_of_the_invocations_pane() -> None:
    notify = notifier(notify_invocations_when="status:cancelled user:me", me=("alice",))
    assert notify.notification(invocation_notice(
        "i1", bazelExitCode="INTERRUPTED", user="Alice")) is not None
    assert notify.notification(invocation_notice("i2", bazelExitCode="INTERRUPTED")) is None
    assert notify.notification(invocation_notice("i3", user="alice")) is None


def test_a_success_notifies_when_the_filter_asks_for_it() -> None:
    notify = notifier(notify_builds_when="outcome:succeeded",
                      notify_invocations_when="-status:failed")
    assert shown(notify.notification(build_notice("b1", "success"))) == (
        "Build succeeded: payments", "build", False)
    assert shown(notify.notification(invocation_notice("i1", success=True))) == (
        "Invocation succeeded: test", "//...", False)


def test_an_empty_filter_notifies_about_none_of_its_pane() -> None:
    notify = notifier(notify_builds_when="", notify_invocations_when="status:failed")
    assert notify.notification(build_notice()) is None
    assert notify.notification(invocation_notice()) is not None


def test_only_watched_notifies_about_the_commits_you_named() -> None:
    notify = notifier(named=(SHA,), notify_only_watched=True)
    assert notify.notification(build_notice("b1", git_commit=SHA)) is not None
    assert notify.notification(build_notice("b2", git_commit="0123456789ab")) is None
    assert notify.notification(invocation_notice("i1", commit=SHA)) is not None
    assert notify.notification(invocation_notice("i2", commit="0123456789ab")) is None


def test_quiet_holds_notifications_back_and_counts_them() -> None:
    notify = notifier(quiet=True)
    assert notify.notification(build_notice("b1")) is None
    assert notify.notification(build_notice("b2", "success")) is None  # not one it would give
    assert notify.notification(invocation_notice()) is None
    assert notify.missed == 2
    assert not notify.toggle_quiet()
    assert notify.notification(build_notice("b3")) is not None


def test_turning_quiet_on_again_counts_afresh() -> None:
    notify = notifier(quiet=True)
    notify.notification(build_notice())
    notify.toggle_quiet()
    assert notify.toggle_quiet()
    assert notify.missed == 0


def test_with_no_kind_of_notification_nothing_notifies() -> None:
    assert notifier(notify=()).notification(build_notice()) is None


def test_hostile_names_reach_the_notification_as_one_plain_line_without_semicolons() -> None:
    notice = build_notice(project="app\x1b]0;PWNED\x07;x\x9c\nnext",
                          requested=("a;b", "\x1b[6nc\x07"))
    assert shown(notifier().notification(notice)) == ("Build failed: app,x next", "a,b c", True)


def test_each_kind_of_desktop_notification_writes_its_sequence() -> None:
    notice = build_notice(requested=(":app:test",))
    notification = notifier(notify=("osc9", "osc777", "osc99", "bell", "toast")).notification(notice)
    assert notification is not None
    kitty_id = f"buildwatch-{os.getpid()}-1"
    assert notification.terminal_sequence({}) == (
        "\x1b]9;Build failed: payments — :app:test\x07"
        "\x1b]777;notify;Build failed: payments;:app:test\x07"
        f"\x1b]99;i={kitty_id}:d=0;Build failed: payments\x1b\\"
        f"\x1b]99;i={kitty_id}:p=body;:app:test\x1b\\"
    )


def test_inside_tmux_each_sequence_is_wrapped_for_passthrough() -> None:
    notification = notifier(notify=("osc9", "osc777")).notification(build_notice())
    assert notification is not None
    assert notification.terminal_sequence(TMUX) == (
        "\x1bPtmux;\x1b\x1b]9;Build failed: payments — build\x07\x1b\\"
        "\x1bPtmux;\x1b\x1b]777;notify;Build failed: payments;build\x07\x1b\\"
    )


def test_the_bell_and_the_toast_write_no_sequence() -> None:
    notification = notifier(notify=("bell", "toast")).notification(build_notice())
    assert notification is not None and notification.terminal_sequence(TMUX) == ""


def test_each_notification_has_its_own_kitty_id() -> None:
    notify = notifier(notify=("osc99",))
    first, second = notify.notification(build_notice("b1")), notify.notification(build_notice("b2"))
    assert first is not None and second is not None
    assert first.identifier != second.identifier
