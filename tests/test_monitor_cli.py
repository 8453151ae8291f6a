"""`buildwatch [--since ...] [--watch-commit ...]` and `buildwatch demo`: arguments and config."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildwatch.cli import build_parser, main
from buildwatch.cli.tui import commits_from_args, monitor_since
from buildwatch.core.config import parse_config
from buildwatch.core.errors import ConfigError

NOW_MS = 1_767_225_600_000


def test_the_bare_command_opens_the_monitor() -> None:
    args = build_parser().parse_args(["--since", "2h", "--watch-commit", "abc1234", "--no-mouse"])
    assert args.handler.__name__ == "run_monitor"
    assert args.watch_commit == ["abc1234"]
    assert args.no_mouse


def test_demo_is_a_subcommand_with_its_own_handler() -> None:
    args = build_parser().parse_args(["demo", "--no-mouse"])
    assert args.handler.__name__ == "run_demo"


def test_backfill_defaults_to_the_profile_window() -> None:
    assert monitor_since(None, 60, NOW_MS) == NOW_MS - 3_600_000


def test_a_zero_backfill_window_starts_now() -> None:
    assert monitor_since(None, 0, NOW_MS) == "now"


@pytest.mark.parametrize(("raw", "expected"), [
    ("now", "now"), ("0", 0), ("30m", NOW_MS - 1_800_000), (str(NOW_MS), NOW_MS),
])
def test_since_takes_durations_now_zero_and_epoch_ms(raw: str, expected: object) -> None:
    assert monitor_since(raw, 60, NOW_MS) == expected


def test_watch_commit_values_are_normalised() -> None:
    assert commits_from_args(["ABCDEF1", " 0123456789abcdef "]) == ["abcdef1", "0123456789abcdef"]


def test_a_watch_commit_that_is_not_a_sha_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--watch-commit", "main"]) == ConfigError.exit_code
    error = capsys.readouterr().err
    assert error.startswith("buildwatch: --watch-commit 'main'")
    assert error.count("\n") == 1


def test_a_bad_since_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--since", "yesterday"]) == ConfigError.exit_code
    assert capsys.readouterr().err.startswith("buildwatch: --since 'yesterday'")


def test_demo_refuses_a_negative_rate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--rate", "-5"]) == ConfigError.exit_code
    assert "--rate" in capsys.readouterr().err


def test_the_config_can_rebind_keys_and_ask_for_desktop_notifications() -> None:
    config = parse_config(
        '[profiles.default.ui]\nnotify = ["osc9"]\n[profiles.default.ui.keys]\n"main.watch" = "x,ctrl+w"\n',
        Path("config.toml"),
    )
    ui = config.profile().ui
    assert ui.notify == ("osc9",)
    assert ui.keys == {"main.watch": "x,ctrl+w"}


def test_a_key_binding_that_is_not_a_string_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"main\.watch"):
        parse_config('[profiles.default.ui.keys]\n"main.watch" = 3\n', Path("config.toml"))
