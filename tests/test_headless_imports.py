"""The headless core, the simulator and the scriptable commands never import Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEADLESS_MODULES = [
    "buildwatch.cli",
    "buildwatch.cli.tui",
    "buildwatch.core.links",
    "buildwatch.core.monitor.feeds",
    "buildwatch.core.monitor.heap",
    "buildwatch.core.monitor.session",
    "buildwatch.core.monitor.store",
    "buildwatch.core.errors",
    "buildwatch.sim.world",
]


@pytest.mark.parametrize("module", HEADLESS_MODULES)
def test_module_does_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; print('textual' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
