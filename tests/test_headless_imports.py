"""The headless core, the simulator and the scriptable commands never import Textual.

Every module outside `buildwatch.tui` is checked, so a new module is covered the day it is
written. Before each import, buildwatch and Textual are unloaded, so the module that drags
Textual in is the one named even when an earlier module imported it too.
"""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import buildwatch
from buildwatch.sim import SimConfig, SimulatorThread


def headless_modules() -> list[str]:
    """Every module of the package except the TUI and the `python -m` entry point."""
    return sorted(
        info.name
        for info in pkgutil.walk_packages(buildwatch.__path__, "buildwatch.")
        if not info.name.startswith("buildwatch.tui") and info.name != "buildwatch.__main__"
    )


def test_the_check_covers_the_core_the_simulator_and_the_cli() -> None:
    modules = headless_modules()
    for expected in ("buildwatch.cli.develocity", "buildwatch.core.sse", "buildwatch.sim.server"):
        assert expected in modules


def test_no_headless_module_imports_textual() -> None:
    code = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [m for m in sys.modules if m.startswith(('buildwatch', 'textual'))]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
        "    if 'textual' in sys.modules:\n"
        "        print(name)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *headless_modules()],
        capture_output=True, text=True, check=True,
    )
    assert result.stdout.split() == []


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["tail", "--help"], ["bb", "log", "--help"], ["sim", "--help"],
     ["store", "status", "--help"]],
)
def test_help_loads_neither_textual_nor_an_event_loop_nor_an_http_or_database_client(
    argv: list[str],
) -> None:
    """Help is what a script or a user's shell pays for most often: it must start at once."""
    code = (
        "import sys\n"
        "from buildwatch.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print([name for name in ('textual', 'asyncio', 'httpx', 'psycopg') if name in sys.modules],"
        " file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_the_parser_every_command_builds_does_not_load_rich() -> None:
    """Rich draws the tables of the commands that print one; a command writing JSON, or help,
    never pays for it."""
    code = (
        "import sys\n"
        "from buildwatch.cli import build_parser\n"
        "build_parser()\n"
        "print('rich' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_reading_the_configuration_leaves_the_query_language_unloaded(tmp_path: Path) -> None:
    """Every command reads the file at its start; only the monitor and the config commands
    check its views and notification queries, which need the query language and the columns."""
    path = tmp_path / "config.toml"
    path.write_text('[profiles.work.ui]\nnotify_builds_when = "outcome:failed"\n'
                    'views = [{ name = "Slow", query = "duration>10m", sort = "duration desc" }]\n')
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from buildwatch.core.config import load_config\n"
        "load_config(Path(sys.argv[1])).profile('work')\n"
        "print([name for name in ('buildwatch.core.query', 'buildwatch.core.columns')"
        " if name in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_tail_json_reads_the_server_without_what_only_other_commands_use() -> None:
    """`tail --json` is what a script calls in a loop: it loads the HTTP client and nothing of
    the query language, the keyring's file reader or the screens' libraries."""
    code = (
        "import sys\n"
        "from buildwatch.cli import main\n"
        "code = main(['tail', '--json', '--since', 'now'])\n"
        "print(code, [name for name in ('httpx', 'buildwatch.core.query', 'buildwatch.core.columns',"
        " 'configparser', 'rich', 'textual') if name in sys.modules], file=sys.stderr)\n"
    )
    with SimulatorThread(SimConfig(seed=8, builds=4)) as sim:
        env = {**os.environ, "BUILDWATCH_DEVELOCITY_URL": sim.develocity_url,
               "BUILDWATCH_DEVELOCITY_TOKEN": "sim-token",
               "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                text=True, timeout=30)
    assert result.stderr.strip().splitlines()[-1] == "0 ['httpx']"
