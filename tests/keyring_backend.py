"""Keyring backends for tests: real `keyring` backends that never touch the user's keyring.

`TempDirKeyring` keeps secrets in a JSON file in a temporary directory, given to the constructor
or, when keyring builds it from `PYTHON_KEYRING_BACKEND=keyring_backend.TempDirKeyring` in a
subprocess, in `$TEST_KEYRING_DIR`.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import keyring.backend
import keyring.errors

DIRECTORY_ENV = "TEST_KEYRING_DIR"


class TempDirKeyring(keyring.backend.KeyringBackend):
    """A recommended (priority 1) backend backed by `<directory>/keyring.json`."""

    priority = 1.0

    def __init__(self, directory: Path | None = None) -> None:
        super().__init__()
        self.file = Path(directory or os.environ[DIRECTORY_ENV]) / "keyring.json"

    def stored(self) -> dict[str, str]:
        """Everything stored, keyed `service/user`."""
        if not self.file.exists():
            return {}
        data: dict[str, str] = json.loads(self.file.read_text(encoding="utf-8"))
        return data

    def get_password(self, service: str, username: str) -> str | None:
        return self.stored().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self.stored()
        data[f"{service}/{username}"] = password
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.file.write_text(json.dumps(data), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        data = self.stored()
        if data.pop(f"{service}/{username}", None) is None:
            raise keyring.errors.PasswordDeleteError(username)
        self.file.write_text(json.dumps(data), encoding="utf-8")


class LowPriorityKeyring(TempDirKeyring):
    """Like keyrings.alt's PlaintextKeyring: works, but below keyring's "recommended" bar."""

    priority = 0.5


class ForgetfulKeyring(TempDirKeyring):
    """Claims priority 1 but keeps nothing, like a misconfigured backend."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None


class LockedKeyring(TempDirKeyring):
    """Every read and write fails the way a locked GNOME keyring does."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


class HangingKeyring(TempDirKeyring):
    """Every read blocks until `release` is set, like an unlock prompt nobody answers."""

    def __init__(self, directory: Path | None = None) -> None:
        super().__init__(directory)
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait()
        return None
