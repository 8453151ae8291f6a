"""Shared fixtures. Importing this makes the whole session safe for the developer's machine.

No test may read or write the developer's keyring, configuration file or credentials: keyring's
`fail` backend is forced for the session (tests install a temporary backend explicitly), the
configuration path points into a temporary directory, and BUILDWATCH_* variables are cleared.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyring_backend import DIRECTORY_ENV, TempDirKeyring

from buildwatch.core import log_redaction

os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
for _name in [name for name in os.environ if name.startswith("BUILDWATCH_")]:
    del os.environ[_name]


@pytest.fixture(autouse=True, scope="session")
def _isolated_configuration(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point buildwatch's config at an empty file, and its state (history) and keyring's
    `keyringrc.cfg` lookup at empty directories, so no test reads or writes the user's. (The
    file exists: buildwatch warns when `BUILDWATCH_CONFIG` names a missing one.)"""
    home = tmp_path_factory.mktemp("config-home")
    shared = home / "buildwatch" / "config.toml"
    shared.parent.mkdir()
    shared.touch()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BUILDWATCH_CONFIG", str(shared))
        patch.setenv("XDG_CONFIG_HOME", str(home))
        patch.setenv("BUILDWATCH_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        yield


@pytest.fixture(autouse=True)
def _shared_configuration_left_empty() -> Iterator[None]:
    """Fail a test that writes to the configuration every test shares: the next commands would
    run on its profiles. A test that needs one points `BUILDWATCH_CONFIG` at its own."""
    shared = Path(os.environ["BUILDWATCH_CONFIG"])
    yield
    assert shared.read_text() == "", f"a test wrote to {shared}"


@pytest.fixture(autouse=True)
def _secrets_registered_for_the_test_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget, after each test, the secrets it registered for log redaction: tests use tokens
    like "t", and one left registered would mask every "t" in a later test's messages."""
    monkeypatch.setattr(log_redaction, "_secrets", log_redaction._secrets)
    monkeypatch.setattr(log_redaction, "_literals", log_redaction._literals)


@pytest.fixture
def install_keyring() -> Iterator[Callable[[keyring.backend.KeyringBackend], None]]:
    """A function that makes a backend keyring's current one until the test ends."""
    previous = keyring.get_keyring()
    yield keyring.set_keyring
    keyring.set_keyring(previous)


@pytest.fixture
def temp_keyring(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    install_keyring: Callable[[keyring.backend.KeyringBackend], None],
) -> TempDirKeyring:
    """A real file-backed keyring in a temporary directory, for this process and its children.

    Subprocesses pick it up with PYTHON_KEYRING_BACKEND=keyring_backend.TempDirKeyring and the
    tests directory on PYTHONPATH.
    """
    backend = TempDirKeyring(tmp_path / "keyring")
    monkeypatch.setenv(DIRECTORY_ENV, str(backend.file.parent))
    install_keyring(backend)
    return backend
