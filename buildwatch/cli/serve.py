"""`buildwatch serve`: the live monitor in a web browser, for a team wallboard.

textual-serve runs a small web server; every browser visit starts its own `buildwatch` process
(the monitor, or the demo with `--demo`) and streams its screen over a websocket. The server has
no authentication, so it binds to loopback unless told otherwise, and says loudly when it is not.
textual-serve is imported inside the handler: the other commands never pay for it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shlex
import socket
import sys
from typing import Any

from buildwatch.cli.common import add_profile_argument, monitor_profile_from_args, warn
from buildwatch.cli.develocity import parse_since
from buildwatch.cli.tui import branches_from_args, commits_from_args
from buildwatch.core.errors import ConfigError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
_WILDCARD_HOSTS = ("0.0.0.0", "::")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `buildwatch serve`."""
    serve = subparsers.add_parser(
        "serve",
        help="serve the monitor to web browsers (a team wallboard)",
        description="Serve the live monitor over HTTP with textual-serve: each browser visit "
        "starts its own monitor process. There is no login page, and every visitor uses this "
        "machine's credentials, so the server listens on loopback unless --host says otherwise. "
        "With --demo it serves the monitor on the built-in simulator, which needs no account.",
    )
    serve.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to listen on (default: %(default)s; anything else warns, as there is no "
        "authentication)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port to listen on (default: %(default)s)",
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use to reach this server, when it differs from http://HOST:PORT "
        "(behind a proxy, or listening on 0.0.0.0)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="serve the monitor on the built-in simulator (like `buildwatch demo`)",
    )
    add_profile_argument(serve)
    serve.add_argument(
        "--since",
        metavar="WHEN",
        help="passed to each monitor: where the build listing starts (see `buildwatch --help`)",
    )
    serve.add_argument(
        "--watch-commit",
        action="append",
        default=[],
        metavar="SHA",
        help="passed to each monitor: watch this commit's invocations (repeatable)",
    )
    serve.add_argument(
        "--watch-branch",
        action="append",
        default=[],
        metavar="PATH[@BRANCH]",
        help="passed to each monitor: watch a git branch's newest commits (repeatable)",
    )
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Serve the monitor until interrupted."""
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    command = shlex.join(app_command(args))
    if not is_loopback(args.host):
        warn(
            f"serving on {args.host}: there is no authentication, so anyone "
            "who can reach this port can use the monitor with this machine's credentials"
        )
    from textual_serve.server import Server

    server = Server(
        command,
        host=args.host,
        port=args.port,
        title="buildwatch",
        public_url=args.public_url or _default_public_url(args.host, args.port),
    )
    try:
        server.serve()
    except OSError as error:
        # asyncio wraps the bind error in a sentence that repeats the address; keep the cause.
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {reason}") from None
    return 0


def app_command(args: argparse.Namespace) -> list[str]:
    """The command each browser visit runs, its options checked now rather than per visit."""
    command = [sys.executable, "-m", "buildwatch"]
    if args.demo:
        return [*command, "demo"]
    profile = monitor_profile_from_args(args)
    if args.profile is not None:
        command += ["--profile", args.profile]
    if args.since is not None:
        parse_since(args.since)
        command += ["--since", args.since]
    for sha in commits_from_args(args.watch_commit):
        command += ["--watch-commit", sha]
    branches_from_args(profile, args.watch_branch)
    command += [f"--watch-branch={value}" for value in args.watch_branch]
    return command


def is_loopback(host: str) -> bool:
    """Whether `host` names only this machine (`localhost`, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _default_public_url(host: str, port: int) -> str:
    # The page tells the browser where the websocket is; a wildcard address is not one it can
    # connect to, so name the machine instead.
    name = socket.gethostname() if host in _WILDCARD_HOSTS else host
    if ":" in name:
        name = f"[{name}]"
    return f"http://{name}:{port}"
