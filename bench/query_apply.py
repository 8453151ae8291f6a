"""How long a query takes to compile and to apply to a big builds table.

Target (the views issue): applying a query to 100,000 builds takes at most 150 ms. The builds
(`history_load.build`: summaries of realistic size, one in seven failed) are rows of the app's
`TableModel`, made by the builds pane's own `build_row`; a query is applied as the pane would,
to every row with its entry and the table's haystack. The baseline, in the same run, is the
table's bare-word filter (`TableModel.set_filter`) over the same rows, which the query language
replaces. Figures are CPU times (a busy machine stretches wall times, much less CPU times),
medians over `--runs`.

    python bench/query_apply.py [--builds 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
from time import process_time

from history_load import START_MS, build
from tui_harness import median, report

from buildwatch.core.monitor.store import BuildEntry
from buildwatch.core.query import BUILD_FIELDS, compile_query
from buildwatch.tui.rows import BUILD_COLUMNS, build_row
from buildwatch.tui.widgets.table_model import TableModel

QUERIES = (
    "service-3",
    "outcome:failed",
    "branch=main outcome:failed -tag:CI",
    "user:me duration>1m published>-2h",
    'value:"Git branch"=main project~^service-3\\d$',
    "outcome:failed service-1 -ci-agent-2",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    entries: dict[str, BuildEntry] = {}
    for number in range(args.builds):
        listed, summary = build(number)
        entries[listed.build_id] = BuildEntry(
            listed.build_id, listed.tool_type, listed.tool_version, listed.timestamp, summary
        )
    now_ms = START_MS + args.builds * 1_000
    table = TableModel(BUILD_COLUMNS)
    table.upsert((build_row(entry, now_ms, None) for entry in entries.values()), now=0.0)
    keys = list(entries)
    print(f"{args.builds:,} builds in a table")

    def filtered(word: str) -> float:
        table.set_filter("")  # from everything, not narrowing what the last filter showed
        started = process_time()
        table.set_filter(word)
        return process_time() - started

    baseline = median([filtered("service-3") for _ in range(args.runs)]) * 1e3
    for text in QUERIES:
        compiling, applying = [], []
        for _ in range(args.runs):
            started = process_time()
            query = compile_query(text, BUILD_FIELDS, me=("user7", "user8"), now_ms=now_ms)
            compiled = process_time()
            shown = [key for key in keys if query.matches(entries[key], table.record(key).haystack)]
            applying.append(process_time() - compiled)
            compiling.append(compiled - started)
        print(f"{text!r}: {len(shown):,} shown, compiled in {median(compiling) * 1e6:.0f} µs")
        report("  applied", median(applying) * 1e3, baseline, "ms", "<= 150 ms")


if __name__ == "__main__":
    main()
