"""`buildwatch config path|show|edit`, and a broken file met by any command."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from buildwatch.cli import main
from buildwatch.core.config import ProfileSettings, load_config, parse_config
from buildwatch.core.toml_schema import settings

PROFILE = """\
default_profile = "work"

[profiles.work.develocity]
url = "https://develocity.example.com"
auth = "basic"

[profiles.work.custom_values]
repository = ["Repo URL", "quote\\"d"]

[profiles.work.ui]
notify = ["osc777", "toast"]
notify_builds_when = 'outcome:failed value:"CI job"=nightly'
"""


@pytest.fixture
def config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "buildwatch" / "config.toml"
    monkeypatch.setenv("BUILDWATCH_CONFIG", str(path))
    return path


def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """Make $EDITOR a Python script that runs `code` with the file's path in `path`."""
    script = tmp_path / "editor.py"
    script.write_text(f"import sys\npath = sys.argv[1]\n{code}\n")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")


def test_config_path_prints_the_file_in_use(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "path"]) == 0
    assert capsys.readouterr().out == f"{config_file}\n"


def test_config_show_prints_toml_that_reads_back_as_the_same_profile(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file.parent.mkdir()
    config_file.write_text(PROFILE)

    assert main(["config", "show"]) == 0

    shown = capsys.readouterr().out
    assert parse_config(shown, config_file).profile("work") == load_config().profile("work")


def test_config_show_prints_every_setting_of_the_schema_at_its_default(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "show"]) == 0

    shown = capsys.readouterr().out
    sections = {
        header: body.rstrip("\n").split("\n")
        for header, body in re.findall(r"^\[profiles\.default(?:\.(.+))?\]\n((?:.+\n?)*)", shown, re.M)
    }
    for setting in settings(ProfileSettings):
        *table, name = setting.key
        if isinstance(setting.default, dict):  # a table of its own: an example of one entry
            assert sections[".".join(setting.key)][0].startswith("# "), setting.key
        else:
            assert any(line.startswith((f"{name} = ", f"# {name} = "))
                       for line in sections[".".join(table)]), setting.key


def test_config_show_marks_a_missing_file_and_shows_the_defaults(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "show"]) == 0

    out = capsys.readouterr().out
    assert out.startswith(f"# {config_file} (does not exist: every setting is at its default)\n")
    assert '# url = "https://develocity.example.com"' in out


def test_config_edit_creates_a_private_file_from_a_template_that_loads(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor(tmp_path, monkeypatch, "open(path + '.seen', 'w').write(open(path).read())")

    assert main(["config", "edit"]) == 0

    assert config_file.stat().st_mode & 0o777 == 0o600
    assert Path(f"{config_file}.seen").read_text() == config_file.read_text()
    assert load_config().profile().name == "default"


def test_config_edit_reports_a_mistake_by_line_and_keeps_the_file(
    config_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config_file.parent.mkdir()
    config_file.write_text(PROFILE)
    editor(tmp_path, monkeypatch, "open(path, 'a').write('[profiles.work.ui\\n')")

    assert main(["config", "edit"]) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"buildwatch: {config_file}:13:")
    assert "the file is kept as you saved it" in err
    assert config_file.read_text() == PROFILE + "[profiles.work.ui\n"


def test_config_edit_with_a_missing_editor_says_to_set_editor(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "no-such-editor-here --wait")

    assert main(["config", "edit"]) == 2
    assert "cannot start the editor 'no-such-editor-here --wait'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", [["config", "show"], ["auth", "status"], ["auth", "logout", "buildbuddy"]]
)
def test_a_malformed_file_stops_any_command_with_one_line(
    config_file: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    config_file.parent.mkdir()
    config_file.write_text("[profiles.work.ui]\ntheme = nord\n")

    assert main(command) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"buildwatch: {config_file}:2:9: ")
    assert err.count("\n") == 1


BAD_VIEW = '[profiles.work.ui]\nviews = [{ name = "Slow", sort = "durattion desc" }]\n'
"""A profile whose one view sorts by a column that does not exist."""


@pytest.mark.parametrize(
    "command", [["--offline", "--profile", "work"], ["config", "show", "--profile", "work"]]
)
def test_a_views_mistake_stops_the_commands_that_read_views_at_its_place(
    config_file: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    config_file.parent.mkdir()
    config_file.write_text(BAD_VIEW)

    assert main(command) == 2

    column = BAD_VIEW.splitlines()[1].index('"durattion') + 1
    err = capsys.readouterr().err
    assert err.startswith(f"buildwatch: {config_file}:2:{column}: profiles.work.ui.views[0].sort: ")
    assert err.count("\n") == 1


def test_config_edit_reports_a_views_mistake_at_its_place(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config_file.parent.mkdir()
    config_file.write_text(BAD_VIEW)
    editor(tmp_path, monkeypatch, "pass")

    assert main(["config", "edit"]) == 2

    assert capsys.readouterr().err.startswith(f"buildwatch: {config_file}:2:")


def test_a_views_mistake_does_not_stop_a_command_that_never_shows_views(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file.parent.mkdir()
    config_file.write_text(BAD_VIEW)

    assert main(["auth", "status", "--profile", "work"]) == 0

    assert "profile: work" in capsys.readouterr().out


def test_an_unknown_profile_on_the_command_line_is_an_error(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_file.parent.mkdir()
    config_file.write_text(PROFILE)

    assert main(["config", "show", "--profile", "laptop"]) == 2
    assert "no profile 'laptop'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("written", "shown_table"),
    [
        pytest.param(
            '[profiles.work.custom_values]\ncommit = ["My SHA"]\n',
            '[profiles.work.custom_values]\ncommit = ["My SHA"]\nbranch = []\n',
            id="custom value names",
        ),
        pytest.param(
            '[profiles.work.ui.keys]\n"main.watch" = "x,ctrl+w"\n',
            '[profiles.work.ui.keys]\n"main.watch" = "x,ctrl+w"\n',
            id="key bindings",
        ),
    ],
)
def test_config_show_lists_a_profiles_own_table_as_toml_that_reads_back(
    config_file: Path, capsys: pytest.CaptureFixture[str], written: str, shown_table: str
) -> None:
    config_file.parent.mkdir()
    config_file.write_text(written)

    assert main(["config", "show", "--profile", "work"]) == 0

    shown = capsys.readouterr().out
    assert shown_table in shown
    assert parse_config(shown, config_file).profile("work") == load_config().profile("work")
