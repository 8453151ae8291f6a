"""When to try again: exponential backoff with full jitter, and `Retry-After`.

Shared by every client so that the Develocity stream, the BuildBuddy poller and the per-build
event fetches all back off the same way. The random source and the waiting are injectable so
tests can check the waits without sleeping.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

MAX_DELAY_S = 60.0
"""No server hint or exponent ever makes us wait longer than this."""
CUT_DELAY_S = 0.25
"""The wait after a stream that brought bytes but was cut before its next message: the server
is up, only the connection broke, so long waits are left to outages. Not zero, so that a server
that always cuts at the same byte cannot drive a tight loop."""
CUT_MAX_DELAY_S = 4.0
"""The longest wait after such cuts in a row (see `Backoff.cut_delay`)."""
_JITTER = random.Random()
"""The jitter's source shared by every backoff: seeding one costs a read of the system's
entropy, and the clients make a backoff for every request they stream."""


@dataclass(frozen=True)
class RetryNotice:
    """A request or stream failed in a way worth retrying; the client tries again after `delay_s`."""

    cause: str
    delay_s: float
    failures: int
    """Failures in a row so far (0: a stream that made progress before it ended)."""


@dataclass
class Backoff:
    """Delays for consecutive failures: `U(0, min(cap, base * 2**attempt))`.

    `attempt` grows with each failure and goes back to zero when `reset()` reports progress (a
    stream delivered a new message): resetting on a mere connect would let a server that accepts
    and closes at once drive a tight loop.
    """

    base_s: float = 1.0
    cap_s: float = 30.0
    rng: random.Random = field(default_factory=lambda: _JITTER)
    attempt: int = 0
    cut_base_s: float = CUT_DELAY_S
    cut_cap_s: float = CUT_MAX_DELAY_S

    def cut_delay(self, cuts: int) -> float:
        """The wait after the `cuts`-th stream in a row cut before its next message:
        `cut_base_s`, then twice as long each time up to `cut_cap_s`, so that a server that
        always cuts is asked again every few seconds rather than four times a second."""
        return min(self.cut_base_s * 2.0 ** (cuts - 1), self.cut_cap_s)

    def next_delay(self, at_least_s: float = 0.0) -> float:
        """The delay before the next try; never shorter than a server's `Retry-After`."""
        ceiling = min(self.cap_s, self.base_s * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return min(MAX_DELAY_S, max(at_least_s, self.rng.uniform(0.0, ceiling)))

    def set_base(self, retry_ms: int) -> None:
        """Adopt a server's SSE `retry:` hint, clamped to 0.5-60 s."""
        self.base_s = min(MAX_DELAY_S, max(0.5, retry_ms / 1000.0))

    def reset(self) -> None:
        """Forget past failures: the last try made progress."""
        self.attempt = 0

    async def wait(self, delay_s: float) -> None:
        """Wait `delay_s` before the next try (a test's backoff records it instead)."""
        # Imported here: whatever waits runs in asyncio already, and the commands that import
        # this module to report retries start faster without it (`--help` included).
        import asyncio

        await asyncio.sleep(delay_s)


def parse_retry_after(value: str | None, now: float | None = None) -> float:
    """Seconds to wait from a `Retry-After` header (delay-seconds or an HTTP date).

    Junk, negative values and dates in the past give 0; anything beyond `MAX_DELAY_S` is clamped.
    """
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return min(MAX_DELAY_S, float(value))
    # Imported here: the email package is heavy, and every command imports this module.
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    reference = time.time() if now is None else now
    return min(MAX_DELAY_S, max(0.0, when.timestamp() - reference))
