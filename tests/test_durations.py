"""Durations read the same on every screen and in every command."""

from __future__ import annotations

import pytest

from buildwatch.core.durations import duration_text, ms_to_seconds, rough_duration_text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.8, "0.8s"), (12.46, "12.5s"), (187, "3m07s"), (7500, "2h05m"), (-3, "0.0s")],
)
def test_durations_are_written_in_the_largest_sensible_units(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_whole_seconds_when_tenths_would_be_noise() -> None:
    assert duration_text(42.7, tenths=False) == "42s"
    assert duration_text(187.2, tenths=False) == "3m07s"


def test_an_unknown_duration_shows_what_the_caller_chose() -> None:
    assert duration_text(None) == ""
    assert duration_text(None, unknown="-") == "-"


def test_milliseconds_convert_to_seconds_and_none_stays_none() -> None:
    assert ms_to_seconds(1500) == 1.5
    assert ms_to_seconds(None) is None


@pytest.mark.parametrize(
    ("seconds", "text"), [(44.6, "~45s"), (190, "~3m"), (3_000, "~50m"), (5_400, "~1.5h")],
)
def test_a_rough_duration_is_written_in_one_unit(seconds: float, text: str) -> None:
    assert rough_duration_text(seconds) == text
