"""A build's summary and, for a failed build, what failed in it, read one after the other: as
`buildwatch tail --summary` prints builds and as the triage refresh records them.

Each read may fail on its own. A failure is said through `warn` in one line naming the build,
and the reading goes on with what it has; refused credentials (`AuthError`) stop everything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from buildwatch.core.develocity.failure_details import FailureDetails, read_failure_details
from buildwatch.core.develocity.summary import BuildSummary, SummaryBuilder
from buildwatch.core.develocity.summary_reader import read_summary
from buildwatch.core.errors import AuthError, BuildwatchError

if TYPE_CHECKING:
    from buildwatch.core.develocity.client import DevelocityClient
    from buildwatch.core.develocity.git_values import GitValueNames
    from buildwatch.core.develocity.models import Build


@dataclass(frozen=True)
class BuildReading:
    """What could be read of a build."""

    summary: BuildSummary
    """Its summary, as far as it was read: what the listing said and the events that came."""
    whole: bool
    """Whether the summary was read whole (or was given)."""
    wanted: bool
    """Whether the caller wanted the build once its summary was read: only then were its
    failures read."""
    failures: FailureDetails | None = None
    """A failed build's failed work and tests; None for one that did not fail, whose tool's
    events name none, whose failures were not asked for, or could not be read."""
    failures_lost: bool = False
    """Whether the build failed but its failures could not be read."""


def _every(_summary: BuildSummary | None) -> bool:
    return True


async def read_build(
    client: DevelocityClient,
    build: Build,
    git_names: GitValueNames,
    warn: Callable[[str], None],
    *,
    summary: BuildSummary | None = None,
    wanted: Callable[[BuildSummary | None], bool] = _every,
    failures: bool = True,
) -> BuildReading:
    """Read `build`'s summary (unless `summary` gives it), then, if `wanted` takes the build
    (given its summary if read whole, else None) and `failures` asks for them, a failed
    build's failed work and tests (one request more). Raises `AuthError`; any other error of a
    read is said through `warn` and leaves that part out."""
    whole = True
    if summary is None:
        builder = SummaryBuilder(build, git_names)
        try:
            await read_summary(client, builder)
        except AuthError:
            raise
        except BuildwatchError as error:
            warn(f"no summary for {build.build_id}: {error}")
            whole = False
        summary = builder.result()
    if not wanted(summary if whole else None):
        return BuildReading(summary, whole, wanted=False)
    if not failures or summary.outcome != "failed":
        return BuildReading(summary, whole, wanted=True)
    try:
        details = await read_failure_details(client, build.build_id, summary.tool_type)
    except AuthError:
        raise
    except BuildwatchError as error:
        warn(f"no failed tasks or tests for {build.build_id}: {error}")
        return BuildReading(summary, whole, wanted=True, failures_lost=True)
    return BuildReading(summary, whole, wanted=True, failures=details)
