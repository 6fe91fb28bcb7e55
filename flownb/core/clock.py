"""Clock, sleep and id factories: module-level so tests can patch them."""

from __future__ import annotations

import asyncio
import time
import uuid

__all__ = ["new_run_id", "now", "sleep"]


def now() -> float:
    """Wall-clock time in epoch seconds."""
    return time.time()


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def new_run_id() -> str:
    return uuid.uuid4().hex
