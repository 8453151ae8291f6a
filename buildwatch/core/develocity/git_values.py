"""Which custom values name a build's Git commit, branch and repository.

No event of the Develocity event model is about Git: builds record it as custom values
(`UserNamedValue`, Bazel's `--build_metadata` and workspace status), and every plugin, CI
system and team names them its own way. These are the names buildwatch knows, tried in this
order and matched case-insensitively (`Git Commit ID` is `Git commit id`):

| what | names |
| --- | --- |
| commit | `Git commit id`, `Git commit`, `GIT_COMMIT`, `GITHUB_SHA`, `CI_COMMIT_SHA`, `BUILDKITE_COMMIT`, `STABLE_GIT_COMMIT`, `BUILD_SCM_REVISION`, `COMMIT_SHA` |
| branch | `Git branch`, `Git Branch Name`, `GITHUB_REF_NAME`, `GIT_BRANCH`, `CI_COMMIT_REF_NAME`, `BUILDKITE_BRANCH`, `BUILD_SCM_BRANCH`, `BRANCH_NAME` |
| repository | `Git repository`, `Git repo`, `GIT_URL`, `CI_PROJECT_URL`, `BUILDKITE_REPO`, `REPO_URL` |

A profile adds its own names (`[profiles.NAME.custom_values]`, `commit = ["My SHA"]`), tried
after these. A branch recorded as a ref (`refs/heads/main`) reads as its name (`main`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

GitField = Literal["commit", "branch", "repository"]
GIT_FIELDS: tuple[GitField, ...] = ("commit", "branch", "repository")

_BUILT_IN: dict[GitField, tuple[str, ...]] = {
    "commit": (
        "Git commit id",  # Common Custom User Data plugin; also spelled `Git Commit ID`
        "Git commit",
        "GIT_COMMIT",  # Jenkins
        "GITHUB_SHA",  # GitHub Actions
        "CI_COMMIT_SHA",  # GitLab CI
        "BUILDKITE_COMMIT",
        "STABLE_GIT_COMMIT",  # Bazel workspace status
        "BUILD_SCM_REVISION",  # Bazel workspace status
        "COMMIT_SHA",  # Bazel --build_metadata, as BuildBuddy documents it
    ),
    "branch": (
        "Git branch",
        "Git Branch Name",
        "GITHUB_REF_NAME",
        "GIT_BRANCH",
        "CI_COMMIT_REF_NAME",
        "BUILDKITE_BRANCH",
        "BUILD_SCM_BRANCH",
        "BRANCH_NAME",
    ),
    "repository": (
        "Git repository",
        "Git repo",
        "GIT_URL",
        "CI_PROJECT_URL",
        "BUILDKITE_REPO",
        "REPO_URL",
    ),
}
_BRANCH_REF = "refs/heads/"


@dataclass(frozen=True)
class GitValueNames:
    """The custom value names of each Git field, in the order they are tried."""

    commit: tuple[str, ...] = _BUILT_IN["commit"]
    branch: tuple[str, ...] = _BUILT_IN["branch"]
    repository: tuple[str, ...] = _BUILT_IN["repository"]

    def names(self, git_field: GitField) -> tuple[str, ...]:
        """The names of `git_field`, built-in ones first."""
        names: tuple[str, ...] = getattr(self, git_field)
        return names

    def with_extra(self, extra: dict[GitField, tuple[str, ...]]) -> GitValueNames:
        """These names followed by `extra` ones (a profile's own)."""
        return GitValueNames(
            *(self.names(git_field) + extra.get(git_field, ()) for git_field in GIT_FIELDS)
        )

    def extra(self) -> dict[GitField, tuple[str, ...]]:
        """The names beyond the built-in ones, per field (what a profile added)."""
        return {
            git_field: tuple(
                name for name in self.names(git_field) if name not in _BUILT_IN[git_field]
            )
            for git_field in GIT_FIELDS
        }

    def find(
        self, git_field: GitField, values: Iterable[tuple[str, str | None]]
    ) -> str | None:
        """The value of the first name of `git_field` that `values` (key, value) set non-empty."""
        by_key: dict[str, str] = {}
        for key, value in values:
            if value:
                by_key.setdefault(key.casefold(), value)
        for name in self.names(git_field):
            found = by_key.get(name.casefold())
            if found is not None:
                return _branch_name(found) if git_field == "branch" else found
        return None


def _branch_name(value: str) -> str:
    return value.removeprefix(_BRANCH_REF) or value


DEFAULT_GIT_VALUE_NAMES = GitValueNames()
"""The built-in names only."""
