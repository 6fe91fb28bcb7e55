"""Events: the one stream every observer of a run (views, storage, loggers) reads."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from .schema import to_jsonable

__all__ = ["EVENT_TYPES", "Event", "EventFeed"]

WORKFLOW_START = "workflow-start"
STEP_START = "step-start"
STEP_RESULT = "step-result"
STEP_SUSPENDED = "step-suspended"
STEP_OUTPUT = "step-output"
STEP_WAITING = "step-waiting"
WORKFLOW_SUSPENDED = "workflow-suspended"
WORKFLOW_FINISH = "workflow-finish"

EVENT_TYPES = (WORKFLOW_START, STEP_START, STEP_RESULT, STEP_SUSPENDED, STEP_OUTPUT,
               STEP_WAITING, WORKFLOW_SUSPENDED, WORKFLOW_FINISH)


class Event(NamedTuple):
    """One thing that happened in a run (immutable).

    ``path`` is the step path as a tuple (``("outer", "inner")``, ``("review[1]",)``;
    empty for workflow-level events). ``payload`` depends on the type: ``step-result``
    has ``status`` and ``output`` or ``error``; ``workflow-finish`` has the whole
    ``WorkflowResult.to_dict()``.

    A named tuple rather than a frozen dataclass: a run of thousands of steps makes one per
    step start and result, and a tuple is made three times faster.
    """

    type: str
    run_id: str
    workflow_id: str
    path: tuple[str, ...]
    payload: dict[str, Any]
    timestamp: float

    @property
    def step_path(self) -> str:
        """The path as one dotted string (``"outer.inner"``)."""
        return ".".join(self.path)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict of the event."""
        return {
            "type": self.type,
            "run_id": self.run_id,
            "workflow_id": self.workflow_id,
            "path": list(self.path),
            "payload": to_jsonable(self.payload),
            "timestamp": self.timestamp,
        }


RawEvent = tuple[str, tuple[str, ...], dict[str, Any], float]
"""``(type, path, payload, timestamp)``: an event as an ``EventFeed`` keeps it."""


class EventFeed:
    """What flownb's own views read of a run's events (``Run._observe``).

    A view redraws on a timer, not per event, so it is not called for each step event:
    the run counts every event here (``count``) and keeps the last ones as raw tuples
    (``recent``, turned into ``Event`` objects only when a log is drawn). ``callbacks`` get
    the run-level events (``workflow-start``, ``workflow-suspended``, ``workflow-finish``)
    as ``Event`` objects, to start and stop the timer and draw the final state at once.
    Appending a tuple costs a fraction of building an ``Event`` and calling an observer,
    which is what a view attached to a run of thousands of quick steps pays per event.
    """

    __slots__ = ("callbacks", "count", "recent")

    def __init__(self, keep: int) -> None:
        self.count = 0
        self.recent: deque[RawEvent] = deque(maxlen=keep)
        self.callbacks: tuple[Callable[[Event], Any], ...] = ()

    def keep(self, n: int) -> None:
        """Keep at least the last ``n`` events."""
        if n > (self.recent.maxlen or 0):
            self.recent = deque(self.recent, maxlen=n)

    def events(self, run_id: str, workflow_id: str, last: int | None = None) -> list[Event]:
        """The kept events (the last ``last`` of them), oldest first, as ``Event`` objects."""
        raw = list(self.recent)
        if last is not None:
            raw = raw[-last:] if last > 0 else []
        return [Event(type, run_id, workflow_id, path, payload, timestamp)
                for type, path, payload, timestamp in raw]
