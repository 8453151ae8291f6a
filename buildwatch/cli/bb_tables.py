"""The readable tables of `buildwatch bb`: invocations by time, targets failures first, files.

Rows are built from the same display forms the TUI uses (`core.buildbuddy.triage`).
"""

from __future__ import annotations

from collections.abc import Sequence

from buildwatch.cli.bb_output import Cell, Coloured, format_table
from buildwatch.core.buildbuddy.models import Action, Invocation, Target
from buildwatch.core.buildbuddy.triage import (
    duration_text,
    enum_text,
    file_rows,
    invocation_result,
    target_row,
)

_RED, _GREEN = "31", "32"


def invocation_table(invocations: Sequence[Invocation]) -> list[str]:
    """Oldest first (the server returns a commit's invocations in no order), each with its result
    in words (`succeeded`, `running`, ...) and Bazel's exit code when the server has one."""
    ordered = sorted(invocations, key=lambda i: (i.created_at is None, i.created_at))
    rows: list[list[Cell]] = []
    for invocation in ordered:
        created = invocation.created_at
        rows.append([
            created.astimezone().strftime("%Y-%m-%d %H:%M:%S") if created else "",
            invocation.invocation_id,
            invocation_result(invocation),
            enum_text(invocation.bazel_exit_code),
            duration_text(invocation.duration),
            invocation.role,
            invocation.user,
            invocation.host,
            f"{invocation.command} {invocation.pattern}".strip(),
        ])
    headers = ["CREATED", "INVOCATION", "RESULT", "EXIT CODE", "DURATION", "ROLE", "USER", "HOST",
               "COMMAND"]
    return format_table(headers, rows)


def target_table(
    targets: Sequence[Target], colours: bool, *, invocation_finished: bool
) -> list[str]:
    """Status first, failures on top, then by label; failures red and successes green.
    Targets of a finished invocation still building show as not built (see `target_row`)."""
    shown = sorted((target_row(target, invocation_finished=invocation_finished)
                    for target in targets), key=lambda r: (r.rank, r.label))
    rows: list[list[Cell]] = []
    for row in shown:
        sgr = _RED if row.failed else _GREEN if row.passed else None
        rows.append([
            Coloured(row.status, sgr) if colours and sgr else row.status,
            row.label or row.key,
            row.rule_type,
            row.duration,
            row.tags,
        ])
    return format_table(["STATUS", "LABEL", "RULE", "DURATION", "TAGS"], rows)


def action_table(actions: Sequence[Action]) -> list[str]:
    """One row per file, with the URI `bb file get` takes; an action without files gets one row."""
    rows: list[list[Cell]] = [
        [row.target, row.action, row.name or "-", row.size, row.file.uri if row.file else ""]
        for action in actions
        for row in file_rows(action)
    ]
    return format_table(["TARGET", "ACTION", "FILE", "SIZE", "URI"], rows)
