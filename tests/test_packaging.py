"""The built wheel is complete and installs a working `buildwatch` into a fresh environment.

Slow (a wheel build and a dependency install, about 25 s with pip's cache warm), so it runs once
per module: one build, one virtualenv, several checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

import buildwatch

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "buildwatch"

pytestmark = pytest.mark.timeout(180)

# The fresh environment must see only what the wheel installed, not a source tree on PYTHONPATH.
CLEAN_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a clean copy of the sources (no stale `build/` can leak into it)."""
    source = tmp_path_factory.mktemp("source")
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    shutil.copytree(PACKAGE, source / "buildwatch", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(out)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("buildwatch-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin directory of a fresh virtualenv with the wheel and its dependencies installed."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)],
        env=CLEAN_ENV,
        check=True,
        capture_output=True,
    )
    return bin_dir


def test_wheel_holds_every_stylesheet(wheel: Path) -> None:
    stylesheets = {path.relative_to(ROOT).as_posix() for path in PACKAGE.rglob("*.tcss")}
    assert stylesheets, "no .tcss files found in the sources"
    with zipfile.ZipFile(wheel) as archive:
        assert stylesheets <= set(archive.namelist())


def test_wheel_marks_the_package_as_typed(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        assert "buildwatch/py.typed" in archive.namelist()


def test_installed_command_prints_its_version(installed: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [str(installed / "buildwatch"), "--version"],
        cwd=tmp_path,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == f"buildwatch {buildwatch.__version__}"


def test_installed_package_is_the_wheel_not_the_sources(installed: Path, tmp_path: Path) -> None:
    code = "import buildwatch.tui.app, pathlib; print(pathlib.Path(buildwatch.__file__).parent)"
    result = subprocess.run(
        [str(installed / "python"), "-c", code],
        cwd=tmp_path,
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    location = Path(result.stdout.strip())
    assert location.is_relative_to(installed.parent)
    assert sorted(location.rglob("*.tcss"))
