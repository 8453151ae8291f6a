"""SIGTERM while a command runs: the one place that decides what it does.

A headless command unwinds as on Ctrl-C: `Terminated` is raised wherever the program is, every
`finally` runs (a partial download is removed), and the command exits 143. A full-screen app
must not be interrupted in the middle of its event loop (its tasks would be abandoned and the
terminal left in the alternate screen): SIGTERM asks it to exit as `q` does, and `Terminated`
is raised once it has.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import FrameType

EXIT_INTERRUPTED = 128 + signal.SIGINT
"""How a command interrupted by Ctrl-C exits, as a shell reports a process killed by SIGINT."""
EXIT_TERMINATED = 128 + signal.SIGTERM
"""How a command ended by SIGTERM exits, once it has cleaned up."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is so that it unwinds (and cleans up) as on Ctrl-C."""


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Turn SIGTERM into `Terminated` while a command runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


async def exiting_on_sigterm(run: Awaitable[object], ask_to_exit: Callable[[], None]) -> None:
    """Await `run` (a full-screen app) with SIGTERM calling `ask_to_exit` instead of
    interrupting it; raise `Terminated` once the app has ended, if that is why it did."""
    import asyncio  # here, not at the top: every command imports this module, few need asyncio

    loop = asyncio.get_running_loop()
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        ask_to_exit()

    previous = signal.getsignal(signal.SIGTERM)
    loop.add_signal_handler(signal.SIGTERM, terminate)
    try:
        await run
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous)
    if terminated:
        raise Terminated
