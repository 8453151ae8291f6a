"""Saved views in the configuration: defaults, and a view's query checked at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildwatch.core.config import DEFAULT_VIEWS, View, load_config
from buildwatch.core.errors import ConfigError


def load(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_profile_without_views_has_the_default_ones(tmp_path: Path) -> None:
    ui = load_config(load(tmp_path, "[profiles.work.ui]\n")).profile("work").ui
    assert ui.views == DEFAULT_VIEWS
    assert [view.name for view in ui.views if view.pane == "builds"] == [
        "All", "My builds", "Main is red", "Slow"]


def test_views_are_read_in_order_with_their_panes(tmp_path: Path) -> None:
    text = ('[profiles.work.ui]\nviews = [\n  { name = "Red", query = "outcome:failed" },\n'
            '  { name = "CI", pane = "invocations", query = "role:CI" },\n]\n')
    ui = load_config(load(tmp_path, text)).profile("work").ui
    assert ui.views == (View(name="Red", query="outcome:failed"),
                        View(name="CI", pane="invocations", query="role:CI"))


def test_a_views_query_that_cannot_apply_is_refused_at_its_line(tmp_path: Path) -> None:
    text = ('[profiles.work.ui]\nviews = [\n  { name = "CI", pane = "invocations", '
            'query = "outcome:failed" },\n]\n')
    with pytest.raises(ConfigError) as caught:
        load_config(load(tmp_path, text))
    assert str(caught.value).startswith(
        f"{tmp_path / 'config.toml'}:2:1: profiles.work.ui.views[0].query: unknown field "
        "'outcome'")


def test_a_view_of_an_unknown_pane_is_refused(tmp_path: Path) -> None:
    text = '[profiles.work.ui]\nviews = [{ name = "x", pane = "tests" }]\n'
    with pytest.raises(ConfigError) as caught:
        load_config(load(tmp_path, text))
    assert "pane" in str(caught.value)
    assert ":2:" in str(caught.value)
