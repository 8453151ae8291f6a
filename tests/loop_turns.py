"""Whether code ran off the event loop: the loop's turns, counted while that code runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


class LoopTurns:
    """Counts the turns of an event loop: a callback that schedules itself again each time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.count = 0
        self._loop = loop
        self._handle = loop.call_soon(self._turn)

    def _turn(self) -> None:
        self.count += 1
        self._handle = self._loop.call_soon(self._turn)

    def stop(self) -> None:
        self._handle.cancel()

    def watched(self, function: Callable[..., Any], turned: list[bool]) -> Callable[..., Any]:
        """`function`, first waiting for the loop to turn a few times and appending to `turned`
        whether it did: it can only if the call runs in another thread (on the loop, the wait
        lasts to its deadline and appends False)."""
        def waiting(*args: Any, **kwargs: Any) -> Any:
            began, deadline = self.count, time.monotonic() + 2.0
            while self.count < began + 3 and time.monotonic() < deadline:
                time.sleep(0.001)
            turned.append(self.count >= began + 3)
            return function(*args, **kwargs)
        return waiting
