"""`buildwatch sim`: run the Develocity and BuildBuddy simulator until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
from typing import TYPE_CHECKING, Any

from buildwatch.cli.signals import run_headless
from buildwatch.core.errors import ConfigError

if TYPE_CHECKING:
    from buildwatch.sim.config import SimConfig


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `buildwatch sim`."""
    parser = subparsers.add_parser(
        "sim",
        help="serve simulated Develocity and BuildBuddy APIs locally",
        description="Serve a simulated Develocity Export API and BuildBuddy API on one local port, "
        "print their base URLs and credentials, and run until interrupted.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on (default: any free port)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="data seed; the same seed serves the same data"
    )
    parser.add_argument("--builds", type=_count, default=200, help="builds published before start")
    parser.add_argument(
        "--huge-build",
        type=_count,
        default=0,
        metavar="EVENTS",
        help="also publish one Gradle build of this many events, last (default: none)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        metavar="PER_MIN",
        help="new builds published per minute (default: none)",
    )
    parser.add_argument(
        "--log-text",
        choices=("mixed", "ascii", "utf8"),
        default="mixed",
        help="big builds' log lines: a tenth non-ASCII, all ASCII, or all UTF-8 (default: mixed)",
    )
    parser.add_argument(
        "--world",
        choices=("default", "triage"),
        default="default",
        help="failures by chance, or scripted so that every kind of failure group shows "
        "(recurring, new, flaky on a commit, passed on retry) (default: %(default)s)",
    )
    parser.add_argument("--token", default="sim-token", help="Develocity access key to accept")
    parser.add_argument("--api-key", default="sim-api-key", help="BuildBuddy API key to accept")
    parser.add_argument(
        "--faults",
        default="",
        metavar="SPEC",
        help="faults to inject, e.g. drop=0.3,rst=0.5,cut-within=4096,stall=0.1,packets",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; a taken port or a bad fault spec is a one-line error."""
    from buildwatch.sim import FaultSpec, SimConfig

    if args.rate < 0:
        raise ConfigError(f"--rate must not be negative, got {args.rate}")
    config = SimConfig(
        seed=args.seed,
        builds=args.builds,
        huge_build_events=args.huge_build,
        rate_per_min=args.rate,
        log_text=args.log_text,
        world=args.world,
        token=args.token,
        api_key=args.api_key,
        faults=FaultSpec.parse(args.faults),
    )

    # Ctrl-C (or SIGTERM) is how this command is meant to end, so it ends successfully.
    with contextlib.suppress(KeyboardInterrupt):
        run_headless(_serve(config, args.host, args.port))
    return 0


async def _serve(config: SimConfig, host: str, port: int) -> None:
    import asyncio

    from buildwatch.sim import Simulator

    simulator = Simulator(config)
    await simulator.start(host, port)
    try:
        print(
            f"Develocity:  {simulator.develocity_url}  (access key: {config.token}; "
            f"basic auth: {config.username} / {config.password})"
        )
        print(f"BuildBuddy:  {simulator.buildbuddy_url}  (API key: {config.api_key})")
        print(
            f"Seed {config.seed}, {config.builds} builds, {config.rate_per_min:g} new per minute, "
            f"faults: {config.faults}. Press Ctrl-C to stop.",
            flush=True,
        )
        await asyncio.Event().wait()  # until cancelled by Ctrl-C or SIGTERM
    finally:
        await simulator.stop()


def _count(raw: str) -> int:
    if not raw.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number, got {raw!r}")
    return int(raw)
