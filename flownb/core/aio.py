"""``run_sync``: run a coroutine to completion from sync code, notebooks included."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from typing import TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")


def run_sync(awaitable: Awaitable[T]) -> T:
    """Run ``awaitable`` to completion and return its result.

    Without a running event loop this is ``asyncio.run``. Inside one (a Jupyter cell, a
    widget callback) the loop is made re-entrant with nest-asyncio2, only then, so the
    call still returns the result synchronously.

    >>> async def answer(): return 42
    >>> run_sync(answer())
    42
    """
    coro = awaitable if isinstance(awaitable, Coroutine) else _wrap(awaitable)
    try:
        loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        # Outside the ``except`` block: what the run raises must not be chained to that
        # RuntimeError ("During handling of the above exception, another exception
        # occurred" in every traceback of a failed step). asyncio.Runner rather than
        # asyncio.run: once nest-asyncio2 is applied anywhere in the process it replaces
        # asyncio.run with a version that never closes its loop.
        with asyncio.Runner() as runner:
            return runner.run(coro)
    import nest_asyncio2

    nest_asyncio2.apply(loop)
    return loop.run_until_complete(coro)


async def _wrap(awaitable: Awaitable[T]) -> T:
    return await awaitable


