"""Between an ``Execution`` and a stored ``Snapshot``: the persistence observer.

Persistence is one more observer of the run's event stream. It sends the records that
changed since its last write, as one compare-and-swap update:

* when a step finishes or suspends, a write is due: it happens before the next step
  starts, or on the event loop's next turn, whichever comes first; so every finished
  step is stored before anything after it runs, and many foreach items finishing in the
  same turn share one write;
* when the run finishes (or suspends), the last write carries the final status.

This runs once per step, so it is kept lean (see docs/benchmarks.md): one callback per
loop turn rather than one per step, and step records serialized without going through
pydantic's ``TypeAdapter`` wrapper.
"""

from __future__ import annotations

import asyncio
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from . import clock
from .events import STEP_RESULT, STEP_START, STEP_SUSPENDED, WORKFLOW_FINISH, Event
from .results import StepResult
from .schema import to_jsonable, validate

if TYPE_CHECKING:
    from ..storage.base import Snapshot, Store
    from .engine import Execution

__all__ = ["Persister", "hydrate", "meta_of", "new_snapshot"]

_STEP_DONE = frozenset({STEP_RESULT, STEP_SUSPENDED})
_STEP_FIELDS = tuple(f.name for f in fields(StepResult))
_SCALARS = frozenset({str, int, float, bool})


def meta_of(ex: Execution, *, result: Any = None, error: str | None = None,
            origin: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "suspended_paths": ex.suspended_paths(),
        # Only the journal keys that differ from the path (a loop iteration, "inc@2"):
        # the rest follow from suspended_paths.
        "suspended_keys": {d: k for d, k in ex.suspended.items() if k != d},
        "state": to_jsonable(ex.state),
        "targets": {k: to_jsonable(v) for k, v in ex.targets.items()},
    }
    if result is not None:
        meta["result"] = to_jsonable(result)
    if error is not None:
        meta["error"] = error
    if origin is not None:
        meta["origin"] = origin
    return meta


def new_snapshot(ex: Execution, *, status: str, created_at: float,
                 origin: str | None) -> Snapshot:
    from ..storage.base import Snapshot

    snap = Snapshot(
        run_id=ex.run_id,
        workflow_id=ex.workflow_id,
        status=status,
        version=1,
        created_at=created_at,
        updated_at=created_at,
        input=to_jsonable(ex.input),
        graph=ex.workflow.graph.description,
        meta=meta_of(ex, origin=origin),
    )
    return snap


def hydrate(ex: Execution, snap: Snapshot) -> None:
    """Fill an execution from a stored snapshot (outputs stay JSON until replay needs them)."""
    ex.input = validate(ex.workflow.input_schema, snap.input)
    ex.steps = {path: StepResult.from_dict(d) for path, d in snap.steps.items()}
    ex.journal = {key: dict(d) for key, d in snap.journal.items()}
    ex.stored_json = set(ex.steps) | {k for k, d in ex.journal.items() if "output" in d}
    keys = snap.meta.get("suspended_keys") or {}
    displays = (".".join(path) for path in snap.meta.get("suspended_paths") or [])
    ex.suspended = {d: keys.get(d, d) for d in displays}
    schema = ex.workflow.state_schema
    state = snap.meta.get("state")
    ex.state = validate(schema, state) if schema is not None and state is not None else state
    ex.dirty_steps.clear()
    ex.dirty_journal.clear()


class Persister:
    """Writes a run's changes to its store as the run's events go by."""

    def __init__(self, store: Store, ex: Execution, version: int, origin: str | None) -> None:
        self.store = store
        self.ex = ex
        self.version = version
        self.origin = origin
        self.status = "running"
        self.result: Any = None
        self.error: str | None = None
        self._sent_status: str | None = None  # what the store holds, to send only changes
        self._sent_meta: dict[str, Any] | None = None
        self._due = False  # a finished step waits to be written
        self._soon: asyncio.Handle | None = None
        self._error: BaseException | None = None  # raised by a write on the loop's turn

    def __call__(self, event: Event) -> None:
        kind = event.type
        if kind in _STEP_DONE:
            self._due = True
            # One callback per loop turn, not per step: a flush leaves it scheduled, and
            # it writes only if a step finished since (steps that finish without a turn
            # in between, as in a chain of quick async steps, share it).
            if self._soon is None:
                self._soon = asyncio.get_running_loop().call_soon(self._write_due)
        elif kind == STEP_START:
            if self._due:  # the starting step's own record waits for the next write
                self.flush(keep=".".join(event.path))
        elif kind == WORKFLOW_FINISH:
            self.flush()

    def _write_due(self) -> None:
        self._soon = None
        if self._due and self._error is None:
            try:
                self.flush()
            except BaseException as exc:  # surfaced by the next write, in the run's task
                self._error = exc

    def flush(self, status: str | None = None, keep: str | None = None) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        self._due = False
        ex = self.ex
        if status is not None:
            self.status = status
        records = ex.steps
        steps = {p: _step_record(records[p]) for p in ex.dirty_steps
                 if p != keep and p in records}
        journal = {k: _json_record(ex.journal[k]) for k in ex.dirty_journal if k in ex.journal}
        meta = meta_of(ex, result=self.result, error=self.error, origin=self.origin)
        self.version = self.store.update(
            ex.run_id,
            expected_version=self.version,
            status=None if self.status == self._sent_status else self.status,
            updated_at=clock.now(),
            meta=None if meta == self._sent_meta else meta,
            steps=steps,
            journal=journal,
        )
        self._sent_status, self._sent_meta = self.status, meta
        ex.dirty_steps.clear()
        ex.dirty_journal.clear()
        if keep is not None and keep in records:
            ex.dirty_steps[keep] = None


def _step_record(sr: StepResult) -> dict[str, Any]:
    """What ``sr.to_dict()`` gives (every field, JSON-safe): built for every step written,
    so ``_jsonable``'s two common cases are spelled out here, without a call per field."""
    out: dict[str, Any] = {}
    for name in _STEP_FIELDS:
        value = getattr(sr, name)
        if value is None or type(value) in _SCALARS:
            out[name] = value
        elif isinstance(value, BaseModel):
            out[name] = value.__pydantic_serializer__.to_python(value, mode="json",
                                                                 by_alias=True)
        else:
            out[name] = to_jsonable(value)
    return out


def _jsonable(value: Any) -> Any:
    """``to_jsonable`` with its two common cases first: plain values, and one model,
    dumped by the model's own pydantic-core serializer (what the ``Any`` adapter would
    pick, minus the ``TypeAdapter`` call and the type inference)."""
    if value is None or type(value) in _SCALARS:
        return value
    if isinstance(value, BaseModel):
        return value.__pydantic_serializer__.to_python(value, mode="json", by_alias=True)
    return to_jsonable(value)


def _json_record(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _jsonable(v) for k, v in record.items()}
