"""How long a query takes to compile and to apply to a big builds table.

Target (the views issue): applying a query to 100,000 builds takes at most 150 ms. The builds
(`history_load.build`: summaries of realistic size, one in seven failed) are rows of the app's
`TableModel`, made by the builds pane's own `build_row`, and folded for queries as the pane
folds them as they arrive (`FoldedRows`, timed once); a query is applied as the pane applies
it, `TableModel.set_test` with the query's test of the folded rows and the rows that pass
(`CompiledQuery.passing`, tested all at once). The baseline, in the same run, is the table's
bare-word filter (`TableModel.set_filter`) over the same rows, which the query language
replaces. Figures are CPU times (a busy machine stretches wall times, much less CPU times),
medians over `--runs`.

    python bench/query_apply.py [--builds 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
from operator import attrgetter
from time import process_time

from history_load import START_MS, build
from tui_harness import median, report

from buildwatch.core.monitor.store import BuildEntry
from buildwatch.core.query import BUILD_FIELDS, BuildRecord, compile_query
from buildwatch.core.query.folded import FoldedRows
from buildwatch.tui.rows import BUILD_COLUMNS, build_row
from buildwatch.tui.widgets.table_model import TableModel

ME = ("user7", "user8")
QUERIES = (
    ("bare word", "service-3"),
    ("field:value", "project:service-3"),
    ("field=value", "branch=main"),
    ("negation", "-outcome:failed"),
    ("regular expression", "project~^service-3\\d$"),
    ("duration", "duration>1m"),
    ("time ago", "published>-2h"),
    ("custom value", 'value:"Git branch"=main'),
    ("custom value's regular expression", 'value:"Git branch"~^ma'),
    ("me", "user:me"),
    ("fields", "branch=main outcome:failed -tag:CI"),
    ("fields", "user:me duration>1m published>-2h"),
    ("fields", 'value:"Git branch"=main project~^service-3\\d$'),
    ("words and a field", "outcome:failed service-1 -ci-agent-2"),
)
"""A query of each kind, and a few of several terms, with what kind it is; the builds of users
7 and 8 are `me`'s."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    entries: list[BuildEntry] = []
    for number in range(args.builds):
        listed, summary = build(number)
        entries.append(BuildEntry(
            listed.build_id, listed.tool_type, listed.tool_version, listed.timestamp, summary
        ))
    now_ms = START_MS + args.builds * 1_000
    table = TableModel(BUILD_COLUMNS)
    table.upsert((build_row(entry, now_ms, None) for entry in entries), now=0.0)
    started = process_time()
    folded: FoldedRows[BuildRecord] = FoldedRows(BUILD_FIELDS, attrgetter("build_id"))
    for entry in entries:
        folded.note(entry)
    print(f"{args.builds:,} builds in a table, folded for queries in "
          f"{(process_time() - started) * 1e3:.0f} ms")

    def filtered(word: str) -> float:
        table.set_filter("")  # from everything, not narrowing what the last filter showed
        started = process_time()
        table.set_filter(word)
        return process_time() - started

    baseline = median([filtered("service-3") for _ in range(args.runs)]) * 1e3
    for kind, text in QUERIES:
        compiling, applying = [], []
        for _ in range(args.runs):
            table.set_test("", None)
            started = process_time()
            query = compile_query(text, BUILD_FIELDS, me=ME, now_ms=now_ms)
            compiled = process_time()
            table.set_test(text, query.by_key(folded), query.passing(folded))
            applying.append(process_time() - compiled)
            compiling.append(compiled - started)
        print(f"{kind}, {text!r}: {table.shown:,} shown, compiled in "
              f"{median(compiling) * 1e6:.0f} µs")
        report("  applied", median(applying) * 1e3, baseline, "ms", "<= 150 ms")


if __name__ == "__main__":
    main()
