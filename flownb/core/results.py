"""Result shapes: ``StepResult``, ``WorkflowResult`` and ``RunInfo``."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from .schema import to_jsonable

__all__ = ["RunInfo", "StepResult", "WorkflowResult"]


@dataclass(slots=True)
class StepResult:
    """What happened to one step (or foreach item, ``"step[i]"``) of a run.

    ``status``: ``"running" | "success" | "failed" | "suspended" | "canceled"``;
    ``payload`` is the step's input, ``output`` its validated output.
    """

    status: str
    payload: Any = None
    output: Any = None
    error: str | None = None
    suspend_payload: Any = None
    resume_payload: Any = None
    started_at: float | None = None
    ended_at: float | None = None
    attempts: int = 0
    # Reused instead of run (SPEC §3d): where it actually ran, {"run_id", "path"}; else None.
    cached_from: dict[str, str] | None = None

    @property
    def duration(self) -> float | None:
        """Seconds the step ran, when it has both ends."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every field."""
        return {
            "status": self.status,
            "payload": to_jsonable(self.payload),
            "output": to_jsonable(self.output),
            "error": self.error,
            "suspend_payload": to_jsonable(self.suspend_payload),
            "resume_payload": to_jsonable(self.resume_payload),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "attempts": self.attempts,
            "cached_from": self.cached_from,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepResult:
        values: dict[str, Any] = {k: data.get(k) for k in RECORD_FIELDS}
        values["attempts"] = values["attempts"] or 0
        return cls(**values)


RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(StepResult))
"""The fields of a ``StepResult``, as a stored step record has them."""


@dataclass(slots=True)
class WorkflowResult:
    """The outcome of ``start()``/``resume()``.

    ``status`` is ``"success" | "suspended" | "failed" | "canceled"``; ``result`` holds the
    validated output on success, ``error`` the message on failure (``exception`` the
    exception itself), ``steps`` every step's ``StepResult`` in execution order and
    ``suspended`` the paths of suspended steps (``[["approve"]]``).
    """

    status: str
    run_id: str
    workflow_id: str
    steps: dict[str, StepResult] = field(default_factory=dict)
    result: Any = None
    error: str | None = None
    exception: BaseException | None = None
    suspended: list[list[str]] = field(default_factory=list)
    state: Any = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of everything but ``exception``."""
        return {
            "status": self.status,
            "run_id": self.run_id,
            "workflow_id": self.workflow_id,
            "result": to_jsonable(self.result),
            "error": self.error,
            "steps": {path: sr.to_dict() for path, sr in self.steps.items()},
            "suspended": [list(p) for p in self.suspended],
            "state": to_jsonable(self.state),
        }

    def __repr__(self) -> str:
        extra = {"success": f"result={self.result!r}", "failed": f"error={self.error!r}",
                 "suspended": f"suspended={self.suspended!r}"}.get(self.status, "")
        return (f"WorkflowResult(status={self.status!r}, run_id={self.run_id!r}"
                f"{', ' + extra if extra else ''})")


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A stored run, as listed by ``wf.runs()``."""

    run_id: str
    workflow_id: str
    status: str
    created_at: float
    updated_at: float
    suspended: list[list[str]] = field(default_factory=list)
    parent_run_id: str | None = None
    """The run this one was forked from (``run.fork``), else ``None``."""

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "workflow_id": self.workflow_id, "status": self.status,
                "created_at": self.created_at, "updated_at": self.updated_at,
                "suspended": [list(p) for p in self.suspended],
                "parent_run_id": self.parent_run_id}
