"""Which git branches are watched: `[watch] git` in a profile and `--watch-branch` on the
command line, and the mistakes refused at their line or as one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildwatch.cli import build_parser, main
from buildwatch.cli.serve import app_command
from buildwatch.cli.tui import branches_from_args
from buildwatch.core.config import GitBranchWatch, parse_config
from buildwatch.core.errors import ConfigError
from buildwatch.core.gitwatch import BranchSpec


def parse_error(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("config.toml"))
    return str(caught.value)


def test_watched_branches_are_read_with_their_defaults() -> None:
    text = """[profiles.work.watch]
git = [{ path = "~/src/monorepo", branch = "origin/main", commits = 5 }, { path = "~/src/app" }]
git_fetch_seconds = 300
"""
    watch = parse_config(text, Path("config.toml")).profile("work").watch
    assert watch.git == (
        GitBranchWatch(path="~/src/monorepo", branch="origin/main", commits=5),
        GitBranchWatch(path="~/src/app", branch="HEAD", commits=20),
    )
    assert watch.git_fetch_seconds == 300


def test_fetching_is_off_by_default() -> None:
    assert parse_config("", Path("config.toml")).profile().watch.git_fetch_seconds == 0


def test_a_watched_branch_without_a_path_is_refused_at_its_line() -> None:
    message = parse_error('[profiles.work.watch]\ngit = [{ branch = "main" }]\n')
    assert message == "config.toml:2:1: profiles.work.watch.git needs path"


def test_a_branch_git_would_take_for_an_option_is_refused_at_its_line() -> None:
    message = parse_error('[profiles.work.watch]\ngit = [{ path = "~/r", branch = "--upload-pack=x" }]\n')
    assert message == (
        'config.toml:2:1: profiles.work.watch.git.branch must be a branch (not starting with "-") '
        'like "main" or "origin/main"'
    )


def test_an_unknown_key_of_a_watched_branch_is_refused_with_the_known_ones() -> None:
    message = parse_error('[profiles.work.watch]\ngit = [{ path = "~/r", brnach = "main" }]\n')
    assert message.startswith("config.toml:2:1: unknown setting profiles.work.watch.git.brnach; "
                              "expected one of branch, commits, path")


def test_the_profiles_branches_come_first_then_the_command_lines() -> None:
    profile = parse_config('[profiles.w.watch]\ngit = [{ path = "~/a" }]\n',
                           Path("config.toml")).profile("w")
    assert branches_from_args(profile, ["~/b@main"]) == (
        BranchSpec("~/a"), BranchSpec("~/b", "main"),
    )


def test_watch_branch_is_repeatable() -> None:
    args = build_parser().parse_args(["--watch-branch", "~/a", "--watch-branch", "~/b@dev"])
    assert args.watch_branch == ["~/a", "~/b@dev"]


@pytest.mark.parametrize("value", ["--upload-pack=x", "~/repo@-x"])
def test_a_watch_branch_git_would_take_for_an_option_is_a_one_line_error(
    value: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")
    monkeypatch.setenv("BUILDWATCH_CONFIG", str(config))
    assert main([f"--watch-branch={value}"]) == ConfigError.exit_code
    error = capsys.readouterr().err
    assert error.startswith("buildwatch: --watch-branch: git ")
    assert "refused" in error
    assert error.count("\n") == 1


def test_serve_passes_each_watched_branch_to_each_monitor() -> None:
    args = build_parser().parse_args(["serve", "--watch-branch", "~/src/monorepo@main"])
    assert app_command(args)[3:] == ["--watch-branch=~/src/monorepo@main"]


def test_serve_refuses_a_watched_branch_git_would_take_for_an_option_before_serving() -> None:
    args = build_parser().parse_args(["serve", "--watch-branch=~/repo@--upload-pack=x"])
    with pytest.raises(ConfigError, match="--watch-branch: git branch '--upload-pack=x'"):
        app_command(args)
