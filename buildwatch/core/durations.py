"""How long something took, as every screen and command writes it."""

from __future__ import annotations

import re

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_DURATION_UNITS_MS = (86_400_000, 3_600_000, 60_000, 1000)


def duration_text(seconds: float | None, *, unknown: str = "", tenths: bool = True) -> str:
    """`12.5s` (`12s` without `tenths`), `3m07s`, `2h05m`; `unknown` when not known."""
    if seconds is None:
        return unknown
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f}s" if tenths else f"{int(seconds)}s"
    minutes, second = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{second:02d}s"
    hours, minute = divmod(minutes, 60)
    return f"{hours}h{minute:02d}m"


def ms_to_seconds(ms: int | None) -> float | None:
    """Epoch-style milliseconds as seconds, keeping None."""
    return None if ms is None else ms / 1000


def parse_duration_ms(text: str) -> int | None:
    """`90s`, `5m`, `1h30m`, `2d` (units in that order, any case) in milliseconds; None for
    anything else, the empty text included."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not text.strip() or match is None:
        return None
    parts = zip(match.groups(), _DURATION_UNITS_MS, strict=True)
    return sum(int(count) * unit for count, unit in parts if count)


def rough_duration_text(seconds: float) -> str:
    """About how long, in one unit: `~45s`, `~3m`, `~1.5h`."""
    if seconds < 60:
        return f"~{round(seconds)}s"
    if seconds < 3600:
        return f"~{round(seconds / 60)}m"
    return f"~{seconds / 3600:.1f}h"
