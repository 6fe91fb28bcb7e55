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

from pydantic import ValidationError

from ..errors import describe_field_errors, field_errors_from_pydantic
from . import clock
from .codec import Unstorable, from_stored, to_stored
from .events import STEP_RESULT, STEP_START, STEP_SUSPENDED, WORKFLOW_FINISH, Event
from .keys import special_ids, upgrade_v1_key
from .results import StepResult
from .schema import to_jsonable

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
        "state": to_stored(ex.state),
        "targets": {k: to_stored(v) for k, v in ex.targets.items()},
    }
    if result is not None:
        meta["result"] = to_stored(result)
    if error is not None:
        meta["error"] = error
    if origin is not None:
        meta["origin"] = origin
    return meta


def new_snapshot(ex: Execution, *, status: str, created_at: float,
                 origin: str | None, stored_input: Any) -> Snapshot:
    from ..storage.base import Snapshot

    snap = Snapshot(
        run_id=ex.run_id,
        workflow_id=ex.workflow_id,
        status=status,
        version=1,
        created_at=created_at,
        updated_at=created_at,
        input=stored_input,
        graph=ex.workflow.graph.description,
        meta=meta_of(ex, origin=origin),
    )
    return snap


def hydrate(ex: Execution, snap: Snapshot) -> None:
    """Fill an execution from a stored snapshot (outputs stay JSON until replay needs them)."""
    ex.replay_problems = []
    ex.input = _replay(ex, "the workflow input", ex.workflow.input_schema, snap.input)
    ex.steps = {path: StepResult.from_dict(d) for path, d in snap.steps.items()}
    journal = snap.journal
    keys = snap.meta.get("suspended_keys") or {}
    targets = snap.meta.get("targets") or {}
    if snap.schema_version < 2:  # written with the old key grammar (flownb.core.keys)
        loops, branches = special_ids(snap.graph)
        journal = {upgrade_v1_key(k, loops, branches): d for k, d in journal.items()}
        keys = {d: upgrade_v1_key(k, loops, branches) for d, k in keys.items()}
        targets = {upgrade_v1_key(k, loops, branches): d for k, d in targets.items()}
    ex.journal = {key: dict(d) for key, d in journal.items()}
    ex.stored_json = set(ex.steps) | {k for k, d in ex.journal.items() if "output" in d}
    displays = (".".join(path) for path in snap.meta.get("suspended_paths") or [])
    ex.suspended = {d: keys.get(d, d) for d in displays}
    ex.stored_targets = targets
    schema = ex.workflow.state_schema
    state = snap.meta.get("state")
    ex.state = (_replay(ex, "the workflow state", schema, state)
                if schema is not None and state is not None else state)
    ex.dirty_steps.clear()
    ex.dirty_journal.clear()


def _replay(ex: Execution, what: str, schema: Any, data: Any) -> Any:
    """Stored data validated into ``schema``; if it no longer fits (the definition changed
    since the run was stored), the raw data, with the problem noted for ``resume`` to
    report before it claims the run: reattaching never fails because code changed."""
    try:
        return from_stored(schema, data)
    except ValidationError as exc:
        fields = describe_field_errors(field_errors_from_pydantic(exc))
        ex.replay_problems.append(f"{what} no longer matches its schema: {fields}")
        return data


class Persister:
    """Writes a run's changes to its store as the run's events go by.

    A step's record is encoded when the step finishes (``__call__``), not when it is
    written: a success or suspension whose values cannot be stored raises ``Unstorable``
    right there, inside the engine, which fails that step; records of other statuses are
    encoded leniently (they are never replayed).
    """

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
        # display path -> (the StepResult, its record encoded when it finished)
        self._ready: dict[str, tuple[StepResult, dict[str, Any]]] = {}

    def __call__(self, event: Event) -> None:
        kind = event.type
        if kind in _STEP_DONE:
            display = ".".join(event.path)
            sr = self.ex.steps.get(display)
            if sr is not None:
                self._ready[display] = (sr, stored_record(sr) if sr.status in _REPLAYED
                                        else shown_record(sr))
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
        steps = {p: self._record(p, records[p]) for p in ex.dirty_steps
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


    def _record(self, display: str, sr: StepResult) -> dict[str, Any]:
        ready = self._ready.pop(display, None)
        if ready is not None and ready[0] is sr and ready[1]["status"] == sr.status:
            return ready[1]
        return shown_record(sr)


_REPLAYED = frozenset({"success", "suspended"})


def stored_record(sr: StepResult) -> dict[str, Any]:
    """``sr`` as stored JSON data that replays; raises ``Unstorable`` naming the field."""
    out: dict[str, Any] = {}
    for name in _STEP_FIELDS:
        value = getattr(sr, name)
        if value is None or type(value) in _SCALARS:
            out[name] = value
        else:
            try:
                out[name] = to_stored(value)
            except Unstorable as exc:
                raise Unstorable(exc.reason, path=exc.path, field=name) from None
    return out


def shown_record(sr: StepResult) -> dict[str, Any]:
    """``sr`` as JSON data for a record that is never replayed (running, failed,
    canceled): what cannot be stored is shown as a placeholder rather than failing."""
    out: dict[str, Any] = {}
    for name in _STEP_FIELDS:
        value = getattr(sr, name)
        if value is None or type(value) in _SCALARS:
            out[name] = value
        else:
            try:
                out[name] = to_stored(value)
            except Unstorable:
                out[name] = to_jsonable(value)
    return out


def _json_record(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v if v is None or type(v) in _SCALARS else to_stored(v)
            for k, v in record.items()}
