"""The history settings in a profile's `[ui]` table."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildwatch.core.config import UiPreferences, load_config
from buildwatch.core.errors import ConfigError


def load_ui(tmp_path: Path, text: str) -> UiPreferences:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path).profile("work").ui


def test_history_settings_are_read_from_the_ui_table(tmp_path: Path) -> None:
    ui = load_ui(
        tmp_path,
        "[profiles.work.ui]\nhistory_catch_up_hours = 8\n"
        "history_max_builds = 5000\nhistory_max_age_days = 7\n",
    )

    assert (ui.history_catch_up_hours, ui.history_max_builds, ui.history_max_age_days) == (
        8, 5000, 7,
    )


def test_history_settings_left_out_keep_a_day_of_catch_up_and_a_month_of_history(
    tmp_path: Path,
) -> None:
    ui = load_ui(tmp_path, "[profiles.work.ui]\n")

    assert (ui.history_catch_up_hours, ui.history_max_builds, ui.history_max_age_days) == (
        24, 100_000, 30,
    )


def test_a_negative_catch_up_window_is_refused_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_ui(tmp_path, "[profiles.work.ui]\ntheme = \"nord\"\nhistory_catch_up_hours = -1\n")

    assert str(caught.value) == (
        f"{tmp_path / 'config.toml'}:3:1: "
        "profiles.work.ui.history_catch_up_hours must not be negative"
    )


def test_a_history_that_keeps_no_builds_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_ui(tmp_path, "[profiles.work.ui]\nhistory_max_builds = 0\n")

    assert str(caught.value).endswith("profiles.work.ui.history_max_builds must be at least 1")
