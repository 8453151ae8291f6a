"""`buildwatch auth login|logout|status|store`: credentials in the OS keyring (`store`: the team
store's password)."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from buildwatch.cli.common import (
    add_buildbuddy_arguments,
    add_develocity_arguments,
    add_profile_argument,
    overrides_from_args,
    profile_from_args,
)
from buildwatch.cli.signals import run_headless
from buildwatch.cli.store import add_store_argument, required_store
from buildwatch.core.config import Profile
from buildwatch.core.connection import BuildBuddyConnection, DevelocityConnection
from buildwatch.core.credentials import (
    BackendStatus,
    ConnectionOverrides,
    Credential,
    ServerKind,
    backend_status,
    buildbuddy_url,
    delete,
    develocity_url,
    environment_credential,
    forget_secret,
    keep_secret,
    no_secure_keyring_advice,
    read_stored,
    store,
    usable_backend,
)
from buildwatch.core.errors import AuthError, BuildwatchError, ConfigError
from buildwatch.core.secrets import Secret
from buildwatch.core.teamstore.location import StoreLocation

_SERVERS: tuple[ServerKind, ...] = ("develocity", "buildbuddy")
_TITLES = {"develocity": "Develocity", "buildbuddy": "BuildBuddy"}

_LOGIN_EPILOG = """\
The secret is read with hidden input at a terminal. When standard input is not a terminal, it is
read from there instead, one line each: the token or API key; for --auth basic the user name, then
the password. Example: `printenv MY_KEY | buildwatch auth login buildbuddy`.
Secrets are never accepted as command-line arguments: those end up in shell history and `ps`.
"""

_STORE_EPILOG = (
    "The password is read with hidden input at a terminal, else as one line of standard input; "
    "it is never accepted as an argument."
)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `buildwatch auth` and its subcommands."""
    auth = subparsers.add_parser(
        "auth",
        help="store, remove and inspect server credentials",
        description="Manage Develocity and BuildBuddy credentials in the OS keyring "
        "(service 'buildwatch'). Environment variables BUILDWATCH_DEVELOCITY_TOKEN, "
        "BUILDWATCH_DEVELOCITY_USERNAME/BUILDWATCH_DEVELOCITY_PASSWORD and "
        "BUILDWATCH_BUILDBUDDY_API_KEY take precedence over the keyring.",
    )
    commands = auth.add_subparsers(dest="auth_command", metavar="COMMAND", required=True)

    login = commands.add_parser(
        "login",
        help="check a secret against the server and store it in the keyring",
        description="Ask for a Develocity access key (or user name and password) or a BuildBuddy\n"
        "API key, check it with one cheap request, and store it in the keyring.",
        epilog=_LOGIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    login.add_argument("server", choices=_SERVERS, help="which server the secret is for")
    login.add_argument(
        "--auth",
        choices=("token", "basic"),
        help="Develocity authentication: access key or user name and password "
        "(default: the profile's develocity.auth, else token)",
    )
    _add_server_arguments(login)
    login.set_defaults(handler=login_command)

    logout = commands.add_parser(
        "logout",
        help="remove a stored secret from the keyring",
        description="Remove a stored secret.",
    )
    logout.add_argument("server", choices=_SERVERS, help="which server's secret to remove")
    _add_server_arguments(logout)
    logout.set_defaults(handler=logout_command)

    status = commands.add_parser(
        "status",
        help="show which credentials are set, masked, and where they come from",
        description="For each server of the profile: whether a secret is set, where it comes "
        "from (environment or keyring), masked; and which keyring backend is in use.",
    )
    _add_server_arguments(status)
    status.set_defaults(handler=status_command)

    store_password = commands.add_parser(
        "store",
        help="check the team store's password against it and keep it in the keyring",
        description="Ask for the password of the team store's role, check it by connecting, and "
        "keep it in the keyring under the store's user, host and port. buildwatch uses it when "
        "neither the URL nor PGPASSWORD or PGPASSFILE gives one.",
        epilog=_STORE_EPILOG,
    )
    add_store_argument(store_password)
    add_profile_argument(store_password)
    store_password.add_argument(
        "--remove", action="store_true", help="remove the stored password instead"
    )
    store_password.set_defaults(handler=store_command)


def login_command(args: argparse.Namespace) -> int:
    """Ask for a secret, check it against the server, then store it."""
    kind: ServerKind = args.server
    profile = profile_from_args(args)
    base_url = _server_url(kind, profile, overrides_from_args(args))
    status = usable_backend(kind)
    auth_kind = args.auth or (profile.develocity.auth if kind == "develocity" else "token")
    credential = _ask(kind, auth_kind, base_url)
    api_version = overrides_from_args(args).api_version or profile.develocity.api_version
    _verify(kind, base_url, credential, api_version)
    if not status.secure:
        print(
            f"warning: {status.name} is not a secure keyring backend; the secret is stored there "
            "only because you chose that backend explicitly",
            file=sys.stderr,
        )
    store(kind, base_url, credential)
    print(
        f"Stored the {_describe(kind, credential)} for {base_url} in the keyring ({status.name})."
    )
    _warn_if_environment_overrides(kind)
    return 0


def logout_command(args: argparse.Namespace) -> int:
    """Remove the stored secret for one server."""
    kind: ServerKind = args.server
    base_url = _server_url(kind, profile_from_args(args), overrides_from_args(args))
    if delete(kind, base_url):
        print(f"Removed the {_TITLES[kind]} secret for {base_url} from the keyring.")
    else:
        print(f"No {_TITLES[kind]} secret for {base_url} in the keyring; nothing to remove.")
    _warn_if_environment_overrides(kind)
    return 0


def status_command(args: argparse.Namespace) -> int:
    """Print the keyring backend and, per server, what is set and where it comes from."""
    profile = profile_from_args(args)
    overrides = overrides_from_args(args)
    try:
        status: BackendStatus | None = backend_status()
    except ConfigError as error:
        status = None
        print(f"keyring backend: cannot start: {error}")
    if status is not None:
        print(f"keyring backend: {status.describe()}")
        if status.problem is not None:
            print(f"  {status.problem}; {no_secure_keyring_advice()}")
    print(f"profile: {profile.name}")
    for kind in _SERVERS:
        try:
            base_url = _server_url(kind, profile, overrides)
        except ConfigError:
            print(f"{kind}: no server configured")
            continue
        print(f"{kind} {base_url}:")
        for line in _credential_lines(kind, base_url, keyring_usable=status is not None):
            print(f"  {line}")
    return 0


def store_command(args: argparse.Namespace) -> int:
    """Ask for the team store's password, check it by connecting, then keep it (or, with
    `--remove`, remove it)."""
    location = required_store(args, profile_from_args(args))
    user = location.keyring_user
    if args.remove:
        if forget_secret("store", user):
            print(f"Removed the password of {location.shown} ({user}) from the keyring.")
        else:
            print(f"No password of {location.shown} ({user}) in the keyring; nothing to remove.")
        return 0
    if location.password:
        raise ConfigError(
            f"{location.shown} carries a password: give the URL without it; nothing was stored"
        )
    status = usable_backend("store")
    password = _read_secret(f"Password for {user.removeprefix('store:')}: ")
    _check_store_password(location, password)
    keep_secret("store", user, password.reveal())
    print(f"Stored the password of {location.shown} ({user}) in the keyring ({status.name}).")
    return 0


def _check_store_password(location: StoreLocation, password: Secret) -> None:
    from buildwatch.core.teamstore.connection import connect

    with _checking("password"):
        connect(location, password).close()


def _credential_lines(kind: ServerKind, base_url: str, *, keyring_usable: bool) -> list[str]:
    lines = []
    from_environment = environment_credential(kind)
    if from_environment is not None:
        lines.append(f"{from_environment.describe()} (from the environment)")
    if keyring_usable:
        try:
            stored = read_stored(kind, base_url)
        except ConfigError as error:
            lines.append(f"keyring: {error}")
        else:
            if stored is not None:
                overridden = ", overridden by the environment" if from_environment else ""
                lines.append(f"{stored.describe()} (from the keyring{overridden})")
    return lines or ["not set"]


def _describe(kind: ServerKind, credential: Credential) -> str:
    if kind == "buildbuddy":
        return "BuildBuddy API key"
    return "Develocity access key" if credential.token else "Develocity user name and password"


def _add_server_arguments(parser: argparse.ArgumentParser) -> None:
    add_develocity_arguments(parser)
    add_buildbuddy_arguments(parser)


def _server_url(kind: ServerKind, profile: Profile, overrides: ConnectionOverrides) -> str:
    if kind == "develocity":
        return develocity_url(profile, overrides)
    return buildbuddy_url(profile, overrides)


def _ask(kind: ServerKind, auth_kind: str, base_url: str) -> Credential:
    if kind == "buildbuddy":
        return Credential(token=_read_secret(f"BuildBuddy API key for {base_url}: "))
    if auth_kind == "token":
        return Credential(token=_read_secret(f"Develocity access key for {base_url}: "))
    username = _read_line(f"Develocity user name for {base_url}: ")
    if not username:
        raise ConfigError("no user name given; nothing was stored")
    return Credential(username=username, password=_read_secret(f"Password for {username}: "))


def _read_line(prompt: str) -> str:
    try:
        return (input(prompt) if sys.stdin.isatty() else sys.stdin.readline()).strip()
    except EOFError:
        return ""


def _read_secret(prompt: str) -> Secret:
    try:
        value = getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline()
    except EOFError:
        value = ""
    secret = Secret(value.strip())
    if not secret:
        raise ConfigError("no secret given; nothing was stored")
    return secret


def _verify(
    kind: ServerKind, base_url: str, credential: Credential, api_version: Literal[1, 2]
) -> None:
    with _checking("secret"):
        run_headless(_check_access(kind, base_url, credential, api_version))


@contextmanager
def _checking(what: str) -> Iterator[None]:
    """A failure while checking `what` (the secret, the password) says nothing was stored."""
    try:
        yield
    except AuthError as error:
        raise AuthError(f"{error}; nothing was stored") from None
    except BuildwatchError as error:
        unchecked = BuildwatchError(f"could not check the {what}: {error}; nothing was stored")
        unchecked.exit_code = error.exit_code
        raise unchecked from None


async def _check_access(
    kind: ServerKind, base_url: str, credential: Credential, api_version: Literal[1, 2]
) -> None:
    # The clients are imported here so that `auth status` and `auth logout` never load httpx.
    if kind == "develocity":
        from buildwatch.core.develocity.client import DevelocityClient

        connection = DevelocityConnection(
            base_url=base_url,
            api_version=api_version,
            token=credential.token,
            username=credential.username,
            password=credential.password,
            source="keyring",
        )
        async with DevelocityClient(connection) as develocity:
            await develocity.check_access()
        return
    from buildwatch.core.buildbuddy.client import BuildBuddyClient

    async with BuildBuddyClient(
        BuildBuddyConnection(base_url=base_url, api_key=credential.token, source="keyring")
    ) as buildbuddy:
        await buildbuddy.check_access()


def _warn_if_environment_overrides(kind: ServerKind) -> None:
    if environment_credential(kind) is not None:
        print(
            f"note: a {_TITLES[kind]} secret is set in the environment, and it takes precedence "
            "over the keyring",
            file=sys.stderr,
        )
