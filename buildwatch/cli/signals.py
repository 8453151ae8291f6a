"""SIGTERM while a command runs: the one place that decides what it does.

A headless command unwinds as on Ctrl-C: `Terminated` is raised wherever the program is, every
`finally` runs (a partial download is removed), and the command exits 143; one that runs an
event loop is cancelled inside it first (`run_headless`). A full-screen app
must not be interrupted in the middle of its event loop (its tasks would be abandoned and the
terminal left in the alternate screen): SIGTERM asks it to exit as `q` does, and `Terminated`
is raised once it has.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

T = TypeVar("T")

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


async def exiting_on_sigterm(run: Awaitable[T], ask_to_exit: Callable[[], object]) -> T:
    """Await `run` with SIGTERM calling `ask_to_exit` instead of interrupting it; raise
    `Terminated` once `run` has ended (or been cancelled by `ask_to_exit`), if that is why."""
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
        result = await run
    except asyncio.CancelledError:
        if not terminated:
            raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, previous)
    if terminated:
        raise Terminated
    return result


def run_headless(main: Coroutine[object, object, T]) -> T:
    """`asyncio.run(main)` for a headless command, SIGTERM cancelling `main` inside the loop.

    Raised from a signal handler, `Terminated` could land anywhere in the event loop's own
    code (between creating a coroutine and its task, say), leaving it unfinished; cancelling
    unwinds `main` as the loop expects, and `Terminated` is raised once it has."""
    import asyncio

    async def cancelled_on_sigterm() -> T:
        task = asyncio.current_task()
        assert task is not None  # always, inside asyncio.run
        return await exiting_on_sigterm(main, task.cancel)

    return asyncio.run(cancelled_on_sigterm())
