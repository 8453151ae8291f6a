"""Where the build listing picks up after a restart, and how the catch-up is described."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResumePoint:
    """Where to start the build listing: pass both fields to `DevelocityClient.build_batches`.

    `since_build` (exclusive) wins when set; `since` (epoch ms) is then where to fall back to if
    the server no longer knows that build.
    """

    since_build: str | None
    since: int

    @property
    def kind(self) -> str:
        """`sinceBuild` or `since`, as the Export API names the two listings."""
        return "sinceBuild" if self.since_build is not None else "since"


def choose_resume_point(
    last_build: tuple[str, int] | None, window_ms: int, now_ms: int
) -> ResumePoint:
    """Resume after `last_build` (id, published epoch ms) if it is inside the catch-up window;
    otherwise backfill the window.

    Outside the window the gap is too long to replay whole: the window is what the user asked
    to see, and the builds before it are already in the history or were never wanted.
    """
    start = max(0, now_ms - window_ms)
    if last_build is not None and last_build[1] >= start:
        return ResumePoint(since_build=last_build[0], since=start)
    return ResumePoint(since_build=None, since=start)


def catch_up_text(count: int) -> str:
    """The status line while the listing replays what was published meanwhile."""
    return f"catching up: {count:,} build{'s' * (count != 1)}"
