"""What each field of a query reads, for the builds pane and the invocations pane.

A build is read from its listing (id, tool, when it was published) and from its summary (all
the rest). Until the summary arrives, a field that needs it reads as unknown (`None`), and a
term on an unknown field matches nothing, negated or not: `-outcome:failed` does not list a
build whose outcome is not known yet, as it is not known not to have failed. A field the
summary knows to be absent (a build with no branch) reads as the empty text instead, so
`-branch:main` lists it.

Fields read the servers' raw strings, never the sanitised ones shown on screen, so a query
means the same on screen and in a script. Text fields read a tuple: a build has several tags
and requested tasks, and a term holds if it holds for any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Generic, Literal, Protocol, TypeVar

from buildwatch.core.buildbuddy.models import Invocation
from buildwatch.core.buildbuddy.triage import invocation_result
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.panes import Pane

NumberKind = Literal["duration", "time"]
Row = TypeVar("Row")
Texts = tuple[str, ...]


class BuildRecord(Protocol):
    """A build as a query reads it: what its listing said and its summary once read
    (`buildwatch.core.monitor.store.BuildEntry` is one)."""

    @property
    def build_id(self) -> str:
        """The build's id."""
        ...

    @property
    def tool_type(self) -> str | None:
        """The tool the listing names (None over v1)."""
        ...

    @property
    def published_ms(self) -> int | None:
        """When Develocity received the build (epoch ms)."""
        ...

    @property
    def summary(self) -> BuildSummary | None:
        """The build's summary, None until it is read."""
        ...


@dataclass(frozen=True)
class TextField(Generic[Row]):
    """A field of texts, compared with `:` (contains), `=` (equals) or `~` (regular expression)."""

    name: str
    description: str
    read: Callable[[Row], Texts | None]
    needs_summary: bool = False


Pairs = tuple[tuple[str, str | None], ...]
"""Named texts: a build's custom values, `(name, value)`, a value possibly None."""


@dataclass(frozen=True)
class KeyedField(Generic[Row]):
    """A text field named by a key as well (`value:KEY`): `pairs` reads every name and value."""

    name: str
    description: str
    pairs: Callable[[Row], Pairs | None]
    needs_summary: bool = False

    def read(self, row: Row, key: str) -> Texts | None:
        """The values named `key` (casefolded; a name is compared casefolded), an absent value
        as the empty text; None while unknown."""
        pairs = self.pairs(row)
        if pairs is None:
            return None
        return tuple([value or "" for name, value in pairs if name.casefold() == key])


@dataclass(frozen=True)
class NumberField(Generic[Row]):
    """A duration (milliseconds) or a time (epoch milliseconds), compared with `>` `<` `>=` `<=`."""

    name: str
    description: str
    kind: NumberKind
    read: Callable[[Row], float | None]
    needs_summary: bool = False


Field = TextField[Row] | KeyedField[Row] | NumberField[Row]
Fields = Mapping[str, Field[Row]]


def _table(*fields: Field[Row]) -> dict[str, Field[Row]]:
    return {field.name: field for field in fields}


def _summary_text(attribute: str) -> Callable[[BuildRecord], Texts | None]:
    """A reader of one text of the summary (absent: empty): unknown until the summary arrives."""
    get = attrgetter(attribute)  # one call per row: a table has 100,000 of them

    def read(build: BuildRecord) -> Texts | None:
        summary = build.summary
        return None if summary is None else (get(summary) or "",)

    return read


def _summary_texts(attribute: str) -> Callable[[BuildRecord], Texts | None]:
    """A reader of a tuple of texts of the summary: unknown until the summary arrives."""
    get = attrgetter(attribute)

    def read(build: BuildRecord) -> Texts | None:
        summary = build.summary
        return None if summary is None else get(summary)

    return read


_OUTCOMES: dict[str, Texts] = {
    "success": ("succeeded", "success"),
    "failed": ("failed",),
    "unknown": ("unknown",),
}


def _outcome(build: BuildRecord) -> Texts | None:
    summary = build.summary
    return None if summary is None else _OUTCOMES[summary.outcome]


def _tool(build: BuildRecord) -> Texts | None:
    # A v1 listing names no tool: the summary's events tell.
    if build.tool_type:
        return (build.tool_type,)
    summary = build.summary
    return None if summary is None else (summary.tool_type or "",)


def _custom_values(build: BuildRecord) -> Pairs | None:
    summary = build.summary
    return None if summary is None else summary.custom_values


def _build_duration(build: BuildRecord) -> float | None:
    summary = build.summary
    return None if summary is None else summary.duration_ms


def _published(build: BuildRecord) -> float | None:
    return build.published_ms


BUILD_FIELDS: dict[str, Field[BuildRecord]] = _table(
    TextField("outcome", "succeeded (or success), failed or unknown", _outcome,
              needs_summary=True),
    TextField("id", "the build scan id", lambda build: (build.build_id,)),
    TextField("project", "the root project, or Bazel's workspace", _summary_text("project"),
              needs_summary=True),
    TextField("tool", "gradle, maven, bazel or npm", _tool, needs_summary=True),
    TextField("user", "who ran the build (`me`: the profile's `me` names)",
              _summary_text("user"), needs_summary=True),
    TextField("host", "the machine that ran it", _summary_text("host"), needs_summary=True),
    TextField("branch", "the Git branch", _summary_text("git_branch"), needs_summary=True),
    TextField("commit", "the Git commit", _summary_text("git_commit"), needs_summary=True),
    TextField("tag", "any of its tags", _summary_texts("tags"), needs_summary=True),
    TextField("requested", "any requested task, goal or command", _summary_texts("requested"),
              needs_summary=True),
    KeyedField("value", 'a custom value by name: value:"CI job"=nightly', _custom_values,
               needs_summary=True),
    NumberField("duration", "how long it ran: duration>5m", "duration", _build_duration,
                needs_summary=True),
    NumberField("published", "when Develocity received it: published>-2h, published<2026-12-01",
                "time", _published),
)  # fmt: skip
"""The builds pane's fields, in the order they are offered."""


def _invocation_duration(invocation: Invocation) -> float | None:
    duration = invocation.duration
    return None if duration is None else duration.total_seconds() * 1000


def _created(invocation: Invocation) -> float | None:
    created = invocation.created_at
    return None if created is None else created.timestamp() * 1000


INVOCATION_FIELDS: dict[str, Field[Invocation]] = _table(
    TextField("status", "running, succeeded, failed, cancelled, disconnected or unknown",
              lambda invocation: (invocation_result(invocation),)),
    TextField("id", "the invocation id", lambda invocation: (invocation.invocation_id,)),
    TextField("command", "build, test, run…", lambda invocation: (invocation.command,)),
    TextField("pattern", "the targets asked for", lambda invocation: (invocation.pattern,)),
    TextField("user", "who ran it (`me`: the profile's `me` names)",
              lambda invocation: (invocation.user,)),
    TextField("host", "the machine that ran it", lambda invocation: (invocation.host,)),
    TextField("role", "CI, CI_RUNNER, HOSTED_BAZEL or empty",
              lambda invocation: (invocation.role,)),
    TextField("commit", "the Git commit", lambda invocation: (invocation.commit_sha,)),
    TextField("branch", "the Git branch", lambda invocation: (invocation.branch_name,)),
    TextField("repo", "the repository URL", lambda invocation: (invocation.repo_url,)),
    NumberField("duration", "how long it ran: duration>5m", "duration", _invocation_duration),
    NumberField("created", "when it started: created>-2h, created<2026-12-01", "time", _created),
)  # fmt: skip
"""The invocations pane's fields, in the order they are offered."""

PANE_FIELDS: dict[Pane, Fields[Any]] = {"builds": BUILD_FIELDS, "invocations": INVOCATION_FIELDS}
"""Each pane's fields."""

FIELD_NAMES: dict[Pane, tuple[str, ...]] = {
    "builds": tuple(BUILD_FIELDS),
    "invocations": tuple(INVOCATION_FIELDS),
}
"""Each pane's field names, for completion and help."""


def text_of(row: Row, fields: Fields[Row]) -> str:
    """Every text field of `row` (custom values aside), casefolded, one per line: what bare
    words search where no table cells are at hand (the command line)."""
    texts: list[str] = []
    for field in fields.values():
        if isinstance(field, TextField):
            texts.extend(field.read(row) or ())
    return "\n".join(texts).casefold()
