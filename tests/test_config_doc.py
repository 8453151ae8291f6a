"""The README's table of settings is written from the configuration's schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildwatch.cli.config_doc import BEGIN, END, settings_table, with_table
from buildwatch.core.config import ProfileSettings
from buildwatch.core.toml_schema import dotted, settings

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_table_of_settings_is_the_one_the_schema_writes() -> None:
    readme = README.read_text(encoding="utf-8")

    assert readme == with_table(readme), "run `python -m buildwatch.cli.config_doc`"


def test_the_table_has_a_row_with_a_description_for_every_setting_of_a_profile() -> None:
    rows = {row.split(" | ")[0].strip("|` "): row for row in settings_table().splitlines()}

    for setting in settings(ProfileSettings):
        assert setting.description, f"{dotted(setting.key)} has no description in the schema"
        assert setting.description in rows[dotted(setting.key)]


def test_writing_the_table_replaces_only_what_lies_between_the_markers() -> None:
    written = with_table(f"before\n{BEGIN}\n| an old row |\n{END}\nafter\n")

    assert written == f"before\n{BEGIN}\n{settings_table()}\n{END}\nafter\n"


def test_a_readme_without_the_markers_is_refused_with_what_is_missing() -> None:
    with pytest.raises(SystemExit, match="settings: written by"):
        with_table("no table here\n")
