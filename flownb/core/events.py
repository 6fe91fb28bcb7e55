"""Events: the one stream every observer of a run (views, storage, loggers) reads."""

from __future__ import annotations

from typing import Any, NamedTuple

from .schema import to_jsonable

__all__ = ["EVENT_TYPES", "Event"]

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
