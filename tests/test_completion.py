"""Shell completion: `buildwatch` answers argcomplete's requests from its own parser."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BUILDWATCH = shutil.which("buildwatch", path=str(Path(sys.executable).parent))


def completions(line: str) -> list[str]:
    """What the shell would offer at the end of `line`, through argcomplete's protocol.

    The shell sets COMP_LINE/COMP_POINT and _ARGCOMPLETE, and reads the answer on fd 8,
    separated by vertical tabs; `sh` wires fd 8 to our pipe as the generated scripts do.
    """
    env = {
        **os.environ,
        "_ARGCOMPLETE": "1",
        "_ARGCOMPLETE_SHELL": "bash",
        "COMP_LINE": line,
        "COMP_POINT": str(len(line)),
    }
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" 8>&1 1>/dev/null', "sh", sys.executable, "-m", "buildwatch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [word.strip() for word in result.stdout.split("\v") if word.strip()]


def test_completing_a_command_prefix_offers_the_matching_commands() -> None:
    assert "bb" in completions("buildwatch b")


def test_completing_a_subcommand_prefix_offers_its_subcommands() -> None:
    assert completions("buildwatch bb f") == ["file"]


def test_completing_an_option_prefix_offers_the_options() -> None:
    assert "--demo" in completions("buildwatch serve --de")


def test_completing_a_profile_offers_the_configured_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[profiles.work]\n[profiles.weekend]\n[profiles.home]\n")
    monkeypatch.setenv("BUILDWATCH_CONFIG", str(config))
    assert completions("buildwatch tail --profile w") == ["weekend", "work"]


def test_an_ordinary_run_does_not_load_argcomplete() -> None:
    code = "import sys; from buildwatch.cli import main; main(['config', 'path']); "
    code += "print('argcomplete' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_that_registers_buildwatch(shell: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "buildwatch", "completion", shell],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "buildwatch" in result.stdout
    assert "_ARGCOMPLETE" in result.stdout


@pytest.mark.skipif(BUILDWATCH is None, reason="the buildwatch script is not installed")
def test_the_bash_script_completes_subcommands_in_bash() -> None:
    assert BUILDWATCH is not None
    script = (
        'eval "$(buildwatch completion bash)"; '
        'COMP_LINE="buildwatch bb f"; COMP_POINT=${#COMP_LINE}; '
        '_python_argcomplete buildwatch; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = {**os.environ, "PATH": f"{Path(BUILDWATCH).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.split() == ["file"]


def test_completion_rejects_an_unknown_shell() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "buildwatch", "completion", "cmd.exe"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "invalid choice: 'cmd.exe'" in result.stderr
