"""The query language of the filter, saved views and `buildwatch tail --query`.

    outcome:failed branch=main -user:ci duration>5m published>-2h value:"CI job"~nightly words

`parse` reads the text into terms with their positions (`parse.py`, which also holds the
grammar); `compile_query` turns them into a test of rows over a pane's fields (`match.py`;
`fields.py` says what each field reads, `folded.py` keeps it casefolded per row for a table);
`completion_at` says what the cursor is completing (`complete.py`). Every fault is a
`QueryError` with a message and a position.
"""

from buildwatch.core.panes import Pane
from buildwatch.core.query.complete import Completion, completion_at
from buildwatch.core.query.fields import (
    BUILD_FIELDS,
    FIELD_NAMES,
    INVOCATION_FIELDS,
    PANE_FIELDS,
    BuildRecord,
)
from buildwatch.core.query.match import CompiledQuery, compile_query
from buildwatch.core.query.parse import (
    FieldTerm,
    Query,
    QueryError,
    Span,
    Word,
    format_key,
    format_query,
    format_value,
    parse,
)

__all__ = [
    "BUILD_FIELDS", "FIELD_NAMES", "INVOCATION_FIELDS", "PANE_FIELDS", "BuildRecord", "CompiledQuery",
    "Completion", "FieldTerm", "Pane", "Query", "QueryError", "Span", "Word", "compile_query",
    "completion_at", "format_key", "format_query", "format_value", "parse",
]  # fmt: skip
