"""The simulated company both simulated servers describe.

One monorepo is built by Gradle, Maven, npm and Bazel on CI and on developers' machines. The
Develocity side and the BuildBuddy side draw users, hosts, branches and above all commits from
this one `World`, so that a commit seen in a Develocity build's `Git commit id` custom value also
has BuildBuddy invocations. Everything here is a pure function of the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

REPO_URL = "https://github.com/acme/monorepo"

LogText = Literal["mixed", "ascii", "utf8"]
"""What big builds' bulk log lines are written in: `mixed` (a tenth of them carry accented
names, CJK and symbols), `ascii` (none do) or `utf8` (every one does, emoji included)."""

_USERS = (
    "ci", "ci", "ci", "alice", "bob", "carol", "dmitri", "eve", "farah", "gustavo", "hana",
    "ivan", "jules",
)
_CI_HOSTS = tuple(f"ci-agent-{n:02d}" for n in range(1, 13))
_DEV_HOSTS = ("alice-mbp", "bob-thinkpad", "carol-ws", "dmitri-mbp", "eve-linux", "farah-mbp")
_BRANCHES = (
    "main", "main", "main", "release/4.2", "feature/search-index", "fix/flaky-login-test",
    "feature/payments-v2", "chore/bump-deps", "feature/dark-mode",
)
_GRADLE_PROJECTS = ("payments-service", "search-api", "mobile-backend", "auth-gateway")
_MAVEN_PROJECTS = ("billing-batch", "ledger-core")
_NPM_PROJECTS = ("web-frontend", "admin-console")


@dataclass(frozen=True)
class Commit:
    """A commit of the monorepo, with the branch it was pushed to and who wrote it."""

    sha: str
    branch: str
    author: str


@dataclass
class World:
    """Deterministic people, machines and history shared by both simulated servers."""

    seed: int
    log_text: LogText = "mixed"
    """The script of the bulk log output of big builds (see `LogText`)."""
    repo_url: str = REPO_URL
    commits: list[Commit] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(f"world:{self.seed}")
        self.commits = [
            Commit(
                sha=f"{rng.getrandbits(160):040x}",
                branch=rng.choice(_BRANCHES),
                author=rng.choice(_USERS[3:]),
            )
            for _ in range(60)
        ]

    users = _USERS
    ci_hosts = _CI_HOSTS
    dev_hosts = _DEV_HOSTS
    gradle_projects = _GRADLE_PROJECTS
    maven_projects = _MAVEN_PROJECTS
    npm_projects = _NPM_PROJECTS

    def commit_for(self, rng: random.Random) -> Commit:
        """Pick a commit, favouring recent ones so that several builds share each commit."""
        recent = self.commits[-20:]
        return rng.choice(recent) if rng.random() < 0.8 else rng.choice(self.commits)

    def host_for(self, user: str, rng: random.Random) -> str:
        """The machine a user's build runs on: CI agents for `ci`, laptops otherwise."""
        if user == "ci":
            return rng.choice(self.ci_hosts)
        matching = [host for host in self.dev_hosts if host.startswith(user)]
        return matching[0] if matching else f"{user}-laptop"
