"""``log_observer``: a run's transitions, written to the workflow's logger.

A ``Registry`` (or the user) gives a workflow a ``logger``; each run then subscribes this
observer to its events: run and step transitions at info level, failures at error level.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .events import STEP_RESULT, STEP_START, STEP_SUSPENDED, WORKFLOW_FINISH, Event

__all__ = ["log_observer"]


def log_observer(logger: logging.Logger) -> Callable[[Event], None]:
    """An event observer that logs a run's transitions to ``logger``."""

    def observe(event: Event) -> None:
        where = f"run {event.run_id} of {event.workflow_id}"
        if event.type == STEP_START:
            logger.info("%s: step '%s' started", where, event.step_path)
        elif event.type == STEP_RESULT:
            status = event.payload.get("status")
            if status == "failed":
                logger.error("%s: step '%s' failed: %s", where, event.step_path,
                             event.payload.get("error"))
            else:
                logger.info("%s: step '%s' %s", where, event.step_path, status)
        elif event.type == STEP_SUSPENDED:
            logger.info("%s: step '%s' suspended", where, event.step_path)
        elif event.type == WORKFLOW_FINISH:
            status = event.payload.get("status")
            if status == "failed":
                logger.error("%s failed: %s", where, event.payload.get("error"))
            else:
                logger.info("%s finished: %s", where, status)

    return observe
