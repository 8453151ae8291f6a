"""`buildwatch store init|migrate|status`: the team store's schema and health.

The store is a PostgreSQL database named by `--store`, `$BUILDWATCH_STORE` or the profile's
`store`; its password is never printed (every message shows the URL masked). psycopg is imported
by the handlers alone, so `buildwatch --help` never loads it.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from buildwatch.cli.common import add_profile_argument, profile_from_args
from buildwatch.core.config import load_config
from buildwatch.core.errors import ConfigError
from buildwatch.core.teamstore.location import (
    STORE_ENV,
    StoreLocation,
    resolve_store_url,
    store_location,
)

if TYPE_CHECKING:
    from buildwatch.core.config import Profile

_STORE_HELP = (
    f"the team store, postgresql://USER@HOST:PORT/DATABASE (default: ${STORE_ENV}, else the "
    "profile's store); its password comes from the URL, PGPASSWORD or PGPASSFILE, else the "
    "keyring (`buildwatch auth store`)"
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `buildwatch store` and its subcommands."""
    store = subparsers.add_parser(
        "store",
        help="create, migrate and inspect the team store (PostgreSQL)",
        description="The team store is a PostgreSQL database that one collector fills and "
        "every viewer reads. These commands create its schema, bring it up to date and say "
        "what it holds.",
    )
    commands = store.add_subparsers(dest="store_command", metavar="COMMAND", required=True)
    for name, handler, summary in (
        ("init", init_command, "create buildwatch's schema in an empty database"),
        ("migrate", migrate_command, "apply the schema migrations the store lacks"),
        ("status", status_command,
         "print the schema version, what the store holds and the collector's heartbeat"),
    ):
        command = commands.add_parser(
            name, help=summary, description=summary[0].upper() + summary[1:] + "."
        )
        add_store_argument(command)
        add_profile_argument(command)
        command.set_defaults(handler=handler)


def init_command(args: argparse.Namespace) -> int:
    """Create the schema; refuse a database that already holds one."""
    from buildwatch.core.teamstore.admin import init_store

    location = _location(args)
    version = init_store(location)
    print(f"created buildwatch's schema (version {version}) in {location.shown}")
    return 0


def migrate_command(args: argparse.Namespace) -> int:
    """Apply pending migrations; refuse a schema newer than this buildwatch knows."""
    from buildwatch.core.teamstore.admin import migrate_store

    location = _location(args)
    before, after = migrate_store(location)
    if before == after:
        print(f"{location.shown} is up to date (schema version {after})")
    else:
        print(f"migrated {location.shown} from schema version {before} to {after}")
    return 0


def status_command(args: argparse.Namespace) -> int:
    """Print the schema version, the counts of builds and invocations, the newest build's time
    and the collector's last heartbeat."""
    from buildwatch.core.monitor.store import relative_seconds
    from buildwatch.core.teamstore.admin import store_status
    from buildwatch.core.teamstore.schema import SCHEMA_VERSION

    location = _location(args)
    status = store_status(location)
    now_ms = time.time() * 1000

    def moment(epoch_ms: int | None, missing: str) -> str:
        if epoch_ms is None:
            return missing
        when = datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{when} ({relative_seconds((now_ms - epoch_ms) / 1000)} ago)"

    pending = SCHEMA_VERSION - status.version
    state = (
        f"{pending} migration(s) pending: `buildwatch store migrate`" if pending else "up to date"
    )
    rows = (
        ("store", location.shown),
        ("schema", f"version {status.version} ({state})"),
        ("builds", str(status.builds)),
        ("invocations", str(status.invocations)),
        ("newest build", moment(status.newest_build_ms, "none")),
        ("collector", moment(status.heartbeat_ms, "no heartbeat yet")),
    )
    for label, value in rows:
        print(f"{label + ':':<14}{value}")
    return 0


def add_store_argument(parser: argparse.ArgumentParser, purpose: str = "") -> None:
    """Add `--store URL`; `purpose` starts its help (what the command does with a store)."""
    parser.add_argument("--store", metavar="URL", help=purpose + _STORE_HELP)


def store_from_args(
    args: argparse.Namespace, profile: Profile | None = None
) -> StoreLocation | None:
    """The team store named by `--store`, `$BUILDWATCH_STORE` or the profile; None if none is.

    Without `profile`, the one `--profile` names is read without a word: a command that reads it
    again to go on without a store says what is wrong with the file once."""
    flag = getattr(args, "store", None)
    if profile is None and not (flag or os.environ.get(STORE_ENV)):
        profile = load_config().profile(getattr(args, "profile", None))
    url = resolve_store_url(flag, profile.store if profile is not None else None)
    return store_location(url) if url is not None else None


def required_store(args: argparse.Namespace, profile: Profile) -> StoreLocation:
    """The team store named by `--store`, `$BUILDWATCH_STORE` or the profile; a `ConfigError`
    saying how to name one if none is."""
    location = store_from_args(args, profile)
    if location is None:
        raise ConfigError(
            f"no team store: give --store postgresql://…, set ${STORE_ENV}, "
            "or set the profile's store"
        )
    return location


def _location(args: argparse.Namespace) -> StoreLocation:
    return required_store(args, profile_from_args(args))
