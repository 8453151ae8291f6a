"""`buildwatch completion SHELL`: tab completion of commands and options, through argcomplete.

The printed script makes the shell run `buildwatch` itself with argcomplete's environment
variables set; `complete_if_requested` answers from the real parser, so completion never drifts
from the commands. argcomplete is imported only when the shell asks.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

SHELLS = ("bash", "zsh", "fish")

_SETUP = """\
Load it in your shell's startup file:
  bash (~/.bashrc):                   eval "$(buildwatch completion bash)"
  zsh (~/.zshrc, after compinit):     eval "$(buildwatch completion zsh)"
  fish (~/.config/fish/config.fish):  buildwatch completion fish | source
"""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `buildwatch completion`."""
    completion = subparsers.add_parser(
        "completion",
        help="print the shell script that completes buildwatch's commands and options",
        description="Print a script that completes buildwatch's commands and options on Tab.",
        epilog=_SETUP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    completion.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    completion.set_defaults(handler=print_script)


def print_script(args: argparse.Namespace) -> int:
    """Print the completion script for `args.shell`."""
    from argcomplete.shell_integration import shellcode

    print(shellcode(["buildwatch"], shell=args.shell), end="")
    return 0


def completion_requested() -> bool:
    """Whether this run answers the shell's completion request rather than running a command."""
    # argcomplete marks a completion request with this variable; checking it first keeps
    # argcomplete's import off every ordinary run.
    return "_ARGCOMPLETE" in os.environ


def complete_if_requested(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request and exit, if this run is one; else return."""
    if not completion_requested():
        return
    import argcomplete

    argcomplete.autocomplete(parser)
