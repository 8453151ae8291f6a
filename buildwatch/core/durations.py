"""How long something took, as every screen and command writes it."""

from __future__ import annotations


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
