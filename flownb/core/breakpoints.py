"""Breakpoints (SPEC §3d): the engine pauses a run before a listed step, as a suspension
whose payload is ``{"breakpoint": "before", "input": …}`` and whose step never ran; a resume
of it continues the step (with the input a person gave, if any)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from . import clock
from .codec import Unstorable, to_stored
from .events import STEP_SUSPENDED
from .keys import strip_items
from .results import StepResult
from .schema import validate
from .signals import Suspended

if TYPE_CHECKING:
    from .execution import Execution, Scope

__all__ = ["BREAKPOINT", "at_breakpoint", "is_breakpoint_payload", "is_breakpoint_pause",
           "listed", "pause"]

SUSPENDED = "suspended"


BREAKPOINT = "before"


def is_breakpoint_payload(payload: Any) -> bool:
    """Is ``payload`` what a breakpoint's pause records (not a step's own suspend)?"""
    return (isinstance(payload, dict) and payload.get("breakpoint") == BREAKPOINT
            and set(payload) == {"breakpoint", "input"})


def is_breakpoint_pause(sr: StepResult | None) -> bool:
    """Is ``sr`` a breakpoint's pause? Its payload has the pause's shape and the step never
    ran (no attempt): a step that suspends itself with that very payload ran once."""
    return (sr is not None and sr.status == SUSPENDED and not sr.attempts
            and is_breakpoint_payload(sr.suspend_payload))


def at_breakpoint(ex: Execution, key: str, display: str) -> bool:
    """Is the suspended execution at ``key`` paused at a breakpoint?"""
    sr = ex.steps.get(display)
    if key != display and not is_breakpoint_payload(
            ex.journal.get(key, {}).get("suspend_payload")):
        return False
    return is_breakpoint_pause(sr)


def listed(ex: Execution, step: Any, display: str) -> bool:
    if "*" in ex.breakpoints:
        return not step.is_workflow  # "*": every step that runs code, one at a time
    return strip_items(display) in ex.breakpoints


def pause(scope: Scope, step: Any, value: Any, key: str, path: tuple[str, ...],
           display: str) -> None:
    """Suspend before ``step`` runs: its breakpoint. The payload shows the input it would
    get, as JSON data; an input its schema refuses is left for the step to fail on."""
    ex = scope.execution
    try:
        value = validate(step.input_schema, value)
        shown = to_stored(value)
    except (ValidationError, Unstorable):
        return
    payload = {"breakpoint": BREAKPOINT, "input": shown}
    now = clock.now()
    sr = StepResult(SUSPENDED, payload=value, suspend_payload=payload, started_at=now,
                    ended_at=now)
    ex.set_step(display, sr)
    ex.emit(STEP_SUSPENDED, path, {"suspend_payload": payload})
    if key != display:
        ex.record(key, {"status": SUSPENDED, "suspend_payload": payload})
    ex.suspended[display] = key
    raise Suspended()
