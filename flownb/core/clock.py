"""Clock, sleep and id factories: module-level so tests can patch them."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

__all__ = ["new_run_id", "now", "sleep"]


now: Callable[[], float] = time.time
"""Wall-clock time in epoch seconds: ``time.time`` itself, not a function around it, since a
run reads it for every step start, result and event (tests replace it with their own)."""


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def new_run_id() -> str:
    """A new run id: a UUID of version 7 (RFC 9562) as 32 hex digits.

    Its first 12 digits are the milliseconds since the epoch, the 3 after the version digit
    (``7``) the fraction of that millisecond, the last 16 (after 2 variant bits) random:
    ids sort in the order runs were made. A store keeps each run's rows under its id, so
    the runs a cell starts together (a batch over an evaluation set) write their rows side
    by side in every index, a few pages a commit, rather than one page per run scattered
    through the file (a random id's). Runs made close in time share the leading digits:
    the trailing ones tell them apart.

    >>> a, b = new_run_id(), new_run_id()
    >>> len(a), a[12], a < b
    (32, '7', True)
    """
    ms, rest = divmod(time.time_ns(), 1_000_000)
    random = int.from_bytes(os.urandom(8), "big") & _RANDOM_BITS
    return f"{ms << 80 | 0x7 << 76 | (rest << 12) // 1_000_000 << 64 | 0b10 << 62 | random:032x}"


_RANDOM_BITS = (1 << 62) - 1
