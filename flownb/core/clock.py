"""Clock, sleep and id factories: module-level so tests can patch them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

__all__ = ["new_run_id", "now", "sleep"]


now: Callable[[], float] = time.time
"""Wall-clock time in epoch seconds: ``time.time`` itself, not a function around it, since a
run reads it for every step start, result and event (tests replace it with their own)."""


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def new_run_id() -> str:
    return uuid.uuid4().hex
