"""Where history files live: one per Develocity server, in the platform's state directory."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

STATE_DIR_ENV = "BUILDWATCH_STATE_DIR"


def state_dir() -> Path:
    """`$BUILDWATCH_STATE_DIR`, else the platform's state directory for buildwatch."""
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return platformdirs.user_state_path("buildwatch")


def history_path(server_url: str) -> Path:
    """The history file of the server at `server_url`.

    One file per server: a `sinceBuild` position only means something to the server that gave it.
    The host keeps the name readable; the hash tells apart two servers on one host.
    """
    host = urlsplit(server_url).hostname or "server"
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", host)[:64]
    digest = hashlib.sha256(server_url.encode("utf-8")).hexdigest()[:10]
    return state_dir() / "history" / f"{readable}-{digest}.sqlite3"
