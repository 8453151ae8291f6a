"""The README's screenshots are current copies of the TUI's snapshots.

The snapshot tests fail when a screen changes; this fails when a screenshot was not refreshed
with `python screenshots/update.py` after that.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _screenshots() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location("update", ROOT / "screenshots" / "update.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.SCREENSHOTS)


@pytest.mark.parametrize(("name", "snapshot"), sorted(_screenshots().items()))
def test_screenshot_is_a_current_copy_of_its_snapshot(name: str, snapshot: str) -> None:
    picture = ROOT / "screenshots" / name
    source = ROOT / "tests" / "__snapshots__" / snapshot
    assert picture.read_bytes() == source.read_bytes(), (
        f"screenshots/{name} is stale: run python screenshots/update.py"
    )


def test_readme_links_every_screenshot() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in _screenshots():
        assert f"screenshots/{name}" in readme
