"""Saved views in the configuration: defaults, and a view's query, columns and sort checked where
they are written, by the commands that read views."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildwatch.cli.config import render_profile
from buildwatch.core.config import DEFAULT_VIEWS, Config, View, load_config
from buildwatch.core.errors import ConfigError


def load(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def checked(path: Path) -> Config:
    """The file at `path` loaded and checked as the monitor checks it, views included."""
    config = load_config(path)
    config.check_views_and_notifications()
    return config


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
        checked(load(tmp_path, text))
    assert str(caught.value).startswith(
        f"{tmp_path / 'config.toml'}:2:1: profiles.work.ui.views[0].query: unknown field "
        "'outcome'")


def test_a_view_of_an_unknown_pane_is_refused(tmp_path: Path) -> None:
    text = '[profiles.work.ui]\nviews = [{ name = "x", pane = "tests" }]\n'
    with pytest.raises(ConfigError) as caught:
        load_config(load(tmp_path, text))
    assert "pane" in str(caught.value)
    assert ":2:" in str(caught.value)


def view_error(tmp_path: Path, views: str) -> str:
    """The message of a profile whose `views` list (one entry a line) is refused."""
    with pytest.raises(ConfigError) as caught:
        checked(load(tmp_path, f"[profiles.work.ui]\nviews = [\n{views}]\n"))
    return str(caught.value)


def test_a_views_columns_and_sort_are_read_with_custom_values_and_any_case(tmp_path: Path) -> None:
    text = ('[profiles.work.ui]\nviews = [{ name = "CI", columns = ["Outcome", "id", '
            '"value:CI job"], sort = "value:ci JOB desc" }]\n')
    (view,) = load_config(load(tmp_path, text)).profile("work").ui.views
    assert view.columns == ("Outcome", "id", "value:CI job")
    assert view.sort == "value:ci JOB desc"


def test_an_unknown_column_is_refused_where_it_is_written(tmp_path: Path) -> None:
    message = view_error(tmp_path, '  { name = "All" },\n'
                                   '  { name = "Mine", columns = ["outcome", "projct"] },\n')
    assert message == (f"{tmp_path / 'config.toml'}:4:42: profiles.work.ui.views[1].columns: "
                       "no column 'projct' in the builds pane: did you mean 'project'?")


def test_a_column_of_the_other_pane_is_refused_with_the_panes_columns(tmp_path: Path) -> None:
    message = view_error(tmp_path, '  { name = "CI", pane = "invocations", '
                                   'columns = ["status", "outcome"] },\n')
    assert message.startswith(f"{tmp_path / 'config.toml'}:3:61: profiles.work.ui.views[0]"
                              ".columns: no column 'outcome' in the invocations pane: ")
    assert "actions" in message and "value:" not in message


@pytest.mark.parametrize(("column", "fault"), [
    ("value:", "the column 'value:' needs a custom value's name"),
    ("ID", "the column 'ID' is named twice"),
])
def test_a_nameless_custom_value_or_a_column_named_twice_is_refused(
    tmp_path: Path, column: str, fault: str,
) -> None:
    message = view_error(tmp_path, f'  {{ name = "x", columns = ["id", "{column}"] }},\n')
    assert message.startswith(f"{tmp_path / 'config.toml'}:3:")
    assert fault in message


def test_an_unknown_sort_column_is_refused_where_it_is_written(tmp_path: Path) -> None:
    message = view_error(tmp_path, '  { name = "Slow", sort = "durattion desc" },\n')
    assert message == (f"{tmp_path / 'config.toml'}:3:27: profiles.work.ui.views[0].sort: "
                       "no column 'durattion' in the builds pane: did you mean 'duration'?")


def test_a_sort_by_a_column_the_view_does_not_show_is_refused(tmp_path: Path) -> None:
    message = view_error(tmp_path, '  { name = "x", columns = ["outcome", "id"], '
                                   'sort = "duration desc" },\n')
    assert message == (f"{tmp_path / 'config.toml'}:3:53: profiles.work.ui.views[0].sort: "
                       "'duration' is not one of the view's columns (outcome, id)")


def test_a_view_written_as_a_table_of_its_own_is_refused_at_the_faulty_line(tmp_path: Path) -> None:
    text = '[[profiles.work.ui.views]]\nname = "x"\ncolumns = ["id", "hots"]\n'
    with pytest.raises(ConfigError) as caught:
        checked(load(tmp_path, text))
    assert str(caught.value).startswith(f"{tmp_path / 'config.toml'}:3:18: ")


def test_config_show_writes_a_views_columns_and_sort_so_that_they_read_back(tmp_path: Path) -> None:
    text = ('[profiles.work.ui]\nviews = [{ name = "CI", query = "tag:CI", sort = "duration desc", '
            'columns = ["outcome", "id", "value:CI job", "duration"] }, { name = "All" }]\n')
    profile = load_config(load(tmp_path, text)).profile("work")
    shown = render_profile(profile)
    assert '{ name = "All" }' in shown  # what a view leaves at its default is not written
    assert load_config(load(tmp_path, shown)).profile("work").ui.views == profile.ui.views


def test_loading_the_file_leaves_a_views_mistake_to_the_commands_that_read_views(
    tmp_path: Path,
) -> None:
    """A headless command reads the profile without importing the query language: a mistake
    in a view it never shows does not stop it."""
    text = '[profiles.work.ui]\nviews = [{ name = "Slow", sort = "durattion desc" }]\n'
    config = load_config(load(tmp_path, text))
    assert config.profile("work").ui.views == (View(name="Slow", sort="durattion desc"),)
    with pytest.raises(ConfigError, match=r":2:34: profiles\.work\.ui\.views\[0\]\.sort: "):
        config.check_views_and_notifications()
