"""Values many builds repeat are held once, however the summaries holding them were made."""

from __future__ import annotations

import pytest

from buildwatch.core import shared_values
from buildwatch.core.develocity.summary import BuildSummary
from buildwatch.core.history.codec import summary_from_json, summary_to_json


def summary(build_id: str) -> BuildSummary:
    return BuildSummary(
        build_id=build_id, tool_type="gradle", tool_version="8.14.3", published_ms=1, outcome="success",
        project="payments-service", requested=("clean", "build"), user="ci", host="ci-agent-01",
        tags=("CI",), custom_values=(("Git branch", "main"),), links=(("CI job", "https://ci"),),
        git_commit="0" * 40, git_branch="main",
    )


def test_two_decoded_summaries_share_their_repeated_values() -> None:
    first = summary_from_json(summary_to_json(summary("a")))
    second = summary_from_json(summary_to_json(summary("b")))
    assert first is not None and second is not None
    assert first.project is second.project
    assert first.git_commit is second.git_commit
    assert first.requested is second.requested
    assert first.custom_values is second.custom_values
    assert first.links is second.links


def test_a_full_table_starts_over_rather_than_growing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_values, "LIMIT", 3)
    monkeypatch.setattr(shared_values, "_values", {})
    for number in range(10):
        shared_values.shared(f"value-{number}")
    assert len(shared_values._values) <= 3
