"""How a simulated build names its Git data: each naming real builds use, spread over builds.

Build scans carry the commit, branch and repository as custom values, named by whichever
plugin, CI system or script recorded them. Half the builds use the Common Custom User Data
plugin's names; the others one of the rest, chosen from the build's own random stream (seeded
by the seed and the build's position), so the rest of the build is the same whichever it gets.
"""

from __future__ import annotations

import random
from typing import NamedTuple


class GitNaming(NamedTuple):
    """The custom value names one build uses for its commit, branch and repository."""

    commit: str
    branch: str
    repository: str | None
    branch_as_ref: bool = False
    """Whether the branch is recorded as a ref (`refs/heads/main`)."""


COMMON_CUSTOM_USER_DATA = GitNaming("Git commit id", "Git branch", "Git repository")
NAMINGS: tuple[GitNaming, ...] = (
    COMMON_CUSTOM_USER_DATA,
    GitNaming("Git Commit ID", "Git Branch Name", "Git repo"),
    GitNaming("Git commit", "Git branch", "Git repository", branch_as_ref=True),
    GitNaming("GIT_COMMIT", "GIT_BRANCH", "GIT_URL"),  # Jenkins
    GitNaming("GITHUB_SHA", "GITHUB_REF_NAME", "Git repository"),  # GitHub Actions, and the plugin
    GitNaming("CI_COMMIT_SHA", "CI_COMMIT_REF_NAME", "CI_PROJECT_URL"),  # GitLab CI
    GitNaming("BUILDKITE_COMMIT", "BUILDKITE_BRANCH", "BUILDKITE_REPO"),
)
"""Namings for Gradle, Maven and npm builds (`UserNamedValue` and the like)."""

BAZEL_NAMINGS: tuple[GitNaming, ...] = (
    GitNaming("COMMIT_SHA", "BRANCH_NAME", "REPO_URL"),  # --build_metadata
    GitNaming("STABLE_GIT_COMMIT", "BRANCH_NAME", "REPO_URL"),  # workspace status
    GitNaming("BUILD_SCM_REVISION", "BUILD_SCM_BRANCH", None),  # workspace status
)
"""Namings for Bazel builds: the first is `--build_metadata`, the others workspace status."""


def git_naming(seed: int, index: int, namings: tuple[GitNaming, ...] = NAMINGS) -> GitNaming:
    """The naming the `index`-th build of `seed` uses: the first of `namings` for half of them."""
    rng = random.Random(f"develocity-git:{seed}:{index}")
    return namings[0] if rng.random() < 0.5 else rng.choice(namings[1:])


def branch_value(naming: GitNaming, branch: str) -> str:
    """The branch as `naming` records it."""
    return f"refs/heads/{branch}" if naming.branch_as_ref else branch
