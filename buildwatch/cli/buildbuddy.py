"""`buildwatch bb …`: query the BuildBuddy API from a shell or a script.

    buildwatch bb invocations (--invocation-id ID | --commit SHA) [--json]
    buildwatch bb targets INVOCATION_ID [--target-id ID] [--tag TAG] [--label LABEL] [--json]
    buildwatch bb actions INVOCATION_ID [--target-id ID] [--configuration-id ID] [--action-id ID] [--json]
    buildwatch bb log INVOCATION_ID [--follow]
    buildwatch bb file get URI [-o PATH]
    buildwatch bb file delete URI [--yes]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from buildwatch.cli import bb_files
from buildwatch.cli.bb_run import run_with_client
from buildwatch.cli.common import add_buildbuddy_arguments
from buildwatch.core.errors import NotFoundError

if TYPE_CHECKING:
    from buildwatch.core.buildbuddy.client import BuildBuddyClient


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `bb` and its subcommands."""
    bb = subparsers.add_parser(
        "bb",
        help="query the BuildBuddy API: invocations, targets, actions, logs and files",
        description="Query the BuildBuddy API.",
    )
    commands = bb.add_subparsers(dest="bb_command", metavar="COMMAND", required=True)

    invocations = commands.add_parser("invocations", help="invocations by id or by commit")
    selector = invocations.add_mutually_exclusive_group(required=True)
    selector.add_argument("--invocation-id", metavar="ID")
    selector.add_argument("--commit", metavar="SHA")
    _finish(invocations, _invocations, json=True)

    targets = commands.add_parser("targets", help="targets of an invocation, failures first")
    targets.add_argument("invocation_id", metavar="INVOCATION_ID")
    targets.add_argument("--target-id", metavar="ID")
    targets.add_argument("--tag", metavar="TAG")
    targets.add_argument("--label", metavar="LABEL")
    _finish(targets, _targets, json=True)

    actions = commands.add_parser("actions", help="actions of an invocation and their files")
    actions.add_argument("invocation_id", metavar="INVOCATION_ID")
    actions.add_argument("--target-id", metavar="ID")
    actions.add_argument("--configuration-id", metavar="ID")
    actions.add_argument("--action-id", metavar="ID")
    _finish(actions, _actions, json=True)

    log = commands.add_parser("log", help="the whole build log of an invocation")
    log.add_argument("invocation_id", metavar="INVOCATION_ID")
    log.add_argument(
        "--follow", action="store_true", help="keep following a running invocation until it ends"
    )
    _finish(log, _log, json=False)

    bb_files.register(commands)


def _finish(
    parser: argparse.ArgumentParser, handler: Callable[[argparse.Namespace], int], *, json: bool
) -> None:
    if json:
        parser.add_argument(
            "--json", action="store_true", help="one JSON object per line, as the server sent it"
        )
    add_buildbuddy_arguments(parser)
    parser.set_defaults(handler=handler)


def _invocations(args: argparse.Namespace) -> int:
    from buildwatch.cli.bb_tables import invocation_table

    async def work(client: BuildBuddyClient) -> int:
        found = [
            invocation
            async for invocation in client.invocations(
                invocation_id=args.invocation_id, commit_sha=args.commit
            )
        ]
        if not found:
            what = args.invocation_id or f"of commit {args.commit}"
            raise NotFoundError(f"BuildBuddy knows no invocation {what}")
        _show(args, [invocation.raw for invocation in found], lambda: invocation_table(found))
        return 0

    return run_with_client(args, work)


def _targets(args: argparse.Namespace) -> int:
    from buildwatch.cli.bb_tables import target_table

    async def work(client: BuildBuddyClient) -> int:
        # Only the table needs the invocation's state (JSON lines are the server's targets
        # alone). Asked before the targets, so that those of a finished invocation are final.
        finished = not args.json and await _invocation_finished(client, args.invocation_id)
        selected = client.targets(
            args.invocation_id, target_id=args.target_id, tag=args.tag, label=args.label
        )
        found = [target async for target in selected]
        colours = sys.stdout.isatty()
        _show(args, [target.raw for target in found],
              lambda: target_table(found, colours, invocation_finished=finished))
        return 0

    return run_with_client(args, work)


async def _invocation_finished(client: BuildBuddyClient, invocation_id: str) -> bool:
    """Whether the invocation is no longer in progress; NotFoundError when there is none."""
    from buildwatch.core.buildbuddy.triage import is_running

    found = [invocation async for invocation in client.invocations(invocation_id=invocation_id)]
    if not found:
        raise NotFoundError(f"BuildBuddy knows no invocation {invocation_id}")
    return not is_running(found[0])


def _actions(args: argparse.Namespace) -> int:
    from buildwatch.cli.bb_tables import action_table

    async def work(client: BuildBuddyClient) -> int:
        selected = client.actions(
            args.invocation_id,
            target_id=args.target_id,
            configuration_id=args.configuration_id,
            action_id=args.action_id,
        )
        found = [action async for action in selected]
        _show(args, [action.raw for action in found], lambda: action_table(found))
        return 0

    return run_with_client(args, work)


def _show(
    args: argparse.Namespace, objects: Sequence[Any], table: Callable[[], list[str]]
) -> None:
    """JSON lines with `--json`, else the table (or a note on stderr when nothing matched)."""
    from buildwatch.cli.bb_output import write_json_lines

    if args.json:
        write_json_lines(objects, sys.stdout)
    elif not objects:
        print(f"buildwatch: no {args.bb_command} match", file=sys.stderr)
    else:
        sys.stdout.write("\n".join(table()) + "\n")


def _log(args: argparse.Namespace) -> int:
    from buildwatch.cli.bb_output import RawText, TerminalText
    from buildwatch.core.buildbuddy.logs import LogAssembler

    async def work(client: BuildBuddyClient) -> int:
        # The lines the server still redraws (Bazel's progress) are held back: a file ends up
        # as the log, and a terminal shows them on a status line that each new one replaces.
        assembler = LogAssembler()
        screen = TerminalText(sys.stdout) if sys.stdout.isatty() else None
        out = screen or RawText(sys.stdout.buffer)
        try:
            async for chunk in client.log(args.invocation_id, follow=args.follow):
                out.write(assembler.add(chunk))
                if screen is not None:
                    screen.show_status(assembler.progress)
            out.write(assembler.finish())
        finally:
            out.close()
        return 0

    return run_with_client(args, work)
