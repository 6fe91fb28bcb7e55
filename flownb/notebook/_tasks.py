"""Running coroutines from widget callbacks without blocking the kernel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("flownb")

_running: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
    """Run ``coro`` in the background on the running loop (the kernel's, in a button
    callback), so the kernel keeps handling messages and views keep updating meanwhile.

    Without a running loop (a plain script calling ``button.click()``) it runs to the end
    before returning, through ``flownb.run_sync``; then the result is ``None``.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        from ..core.aio import run_sync

        run_sync(coro)
        return None
    task = loop.create_task(coro)
    _running.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("flownb: a background task of a notebook widget failed",
                  exc_info=task.exception())
