"""Reuse (SPEC §3d), the engine's side: is reuse on for a step, its fingerprint, the lookup.

A step execution is reused instead of run when an earlier successful execution in the same
store had the same fingerprint. The fingerprint (:func:`take`) is taken when the run
reaches the step, from:

* its code (``flownb.core.fingerprint``: the function, the user functions it calls, the
  values they read);
* its input and output schemas, and its validated input as canonical JSON;
* the data it declares among its injected parameters (``params.INJECTABLES``:
  ``fingerprinted``): ``state``, ``runtime_context``, ``get_init_data`` (the values),
  ``run_id`` (a step that reads its run's id is never reused: :func:`take` gives it no
  key, so no entry is looked up or written), and the outputs it
  actually read through ``get_step_result`` (``reads_outputs``), which are known only once
  it ran: each cache entry lists them (``CacheEntry.reads``) and a lookup checks them
  against this run's outputs.

The setting (:func:`cache_on`): the step's own ``cache``, else the innermost workflow
that sets one (``Scope.cache``), else the run's ``cache=True`` or ``configure(cache=…)``;
a run's ``cache=False`` and a step's ``effects=True`` turn it off.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic_core import to_json

from .codec import Unstorable, from_stored, to_stored
from .events import STEP_RESULT, STEP_START
from .params import Site
from .schema import json_shape

if TYPE_CHECKING:
    from ..storage.base import Store
    from ..storage.cache import CacheEntry
    from .execution import Execution, Scope
    from .results import StepResult

__all__ = ["MISS", "Taken", "cache_on", "default_cache", "effects_of", "find", "read_digests",
           "reuse_entry", "set_default_cache", "take"]

_default_cache = False



def set_default_cache(on: bool) -> None:
    """``flownb.configure(cache=…)`` sets this; the engine reads it when a step is reached."""
    global _default_cache
    _default_cache = on


def default_cache() -> bool:
    return _default_cache


def cache_on(step: Any, scope: Scope) -> bool:
    """Is reuse on for ``step`` in ``scope`` (see the module's docstring)?"""
    run_setting = scope.execution.cache
    if run_setting is False or step.effects:
        return False
    if step.cache is not None:
        return bool(step.cache)
    if scope.cache is not None:
        return scope.cache
    return run_setting is True or _default_cache


@dataclass(slots=True)
class Taken:
    """A step's fingerprint where the run reached it: ``key``, the ``parts`` it is made of
    (what ``wf.plan`` compares to say what changed), and what the code fingerprint counted
    by type only. ``key`` is ``None`` when it cannot be fingerprinted (``reason``)."""

    key: str | None
    parts: dict[str, Any] = field(default_factory=dict)
    by_type: tuple[str, ...] = ()
    reason: str | None = None


def take(scope: Scope, step: Any, value: Any) -> Taken:
    """The fingerprint of ``step`` about to run on the validated input ``value``."""
    declared = step.signature.fingerprinted
    if declared and any(i.name == "run_id" for i in declared):
        # its run's id is in its fingerprint: no other run can match it, so neither look
        # nor write an entry that can never be used
        return Taken(None, reason="it reads its run's id (run_id)")
    code = (_FINGERPRINT or _fingerprint()).code_fingerprint(step.execute)
    if code.digest is None:
        return Taken(None, reason=code.reason or f"the code of step '{step.id}' cannot be read")
    try:
        stored_input = to_stored(value)
    except Unstorable as exc:
        return Taken(None, reason=f"its input is not JSON data ({exc.describe()})")
    parts: dict[str, Any] = {"code": code.digest, "schema": _schema_digest(step),
                             "input": stored_input}
    if declared:
        site = Site(scope, value, (), None, 0, None, step)
        for injectable in declared:
            assert injectable.fingerprinted is not None
            digest = _data_digest(injectable.fingerprinted(site))
            if digest is None:
                return Taken(None, reason=f"its {injectable.name} is not JSON data")
            parts[injectable.name] = digest
    # The key: the step's id and every part, the input as its stored JSON text (pydantic's
    # encoder: the field order of a model is fixed, so equal inputs give equal text).
    key = hashlib.sha256(step.id.encode())
    for name, part in parts.items():
        key.update(b"\x00" + name.encode() + b"\x00")
        key.update(part.encode() if type(part) is str else to_json(part))
    return Taken(key.hexdigest()[:40], parts, code.by_type)


def find(store: Store, ex: Execution, key: str) -> CacheEntry | None:
    """The newest entry of ``key`` whose step read the same outputs this run holds."""
    for entry in store.cache_find(key):
        if all(_read_digest(ex, path) == digest for path, digest in entry.reads.items()):
            return entry
    return None


ABSENT = "-"
"""The digest of a read that found no output (the step had not run, or not succeeded):
``get_step_result`` gave ``None``, and the entry holds only while it still would."""


def read_digests(ex: Execution, paths: dict[str, None]) -> dict[str, str]:
    """Digests of the outputs at ``paths`` (what a step read), for its cache entry; a
    read that found nothing is kept too (:data:`ABSENT`): once that step has run, the
    step that read ``None`` must run again."""
    return {path: _read_digest(ex, path) for path in paths}


def _read_digest(ex: Execution, path: str) -> str:
    digest = _output_digest(ex, path)
    return ABSENT if digest is None else digest


def _output_digest(ex: Execution, path: str) -> str | None:
    sr = ex.steps.get(path)
    if sr is None or sr.status != "success":
        return None
    return _data_digest(ex.output_of(path))


def _data_digest(value: Any) -> str | None:
    try:
        digest: str = (_FINGERPRINT or _fingerprint()).value_digest(to_stored(value))
        return digest
    except Unstorable:
        return None


def _fingerprint() -> ModuleType:
    """``core.fingerprint``, imported on first use (with ``ast`` and ``dis``) and kept: an
    import statement in ``take`` cost ~0.8 µs a step, a global read nothing."""
    global _FINGERPRINT
    from . import fingerprint

    _FINGERPRINT = fingerprint
    return fingerprint


_FINGERPRINT: ModuleType | None = None


def _schema_digest(step: Any) -> str:
    try:
        return _schemas_digest(step.input_schema, step.output_schema)
    except TypeError:  # an unhashable schema object: computed each time
        return _schemas_digest.__wrapped__(step.input_schema, step.output_schema)


@lru_cache(maxsize=1024)
def _schemas_digest(input_schema: Any, output_schema: Any) -> str:
    shapes = [json_shape(input_schema), json_shape(output_schema, "serialization")]
    text = json.dumps(shapes, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:24]



def schema_digest(step: Any) -> str:
    """The digest of a step's input and output schemas (part of its fingerprint; also what
    ``core.changes`` keeps per step of a stored run)."""
    return _schema_digest(step)


# -- a hit: the step finishes with the stored output --------------------------------------------


MISS: Any = object()
"""What ``reuse_entry`` returns when the entry's output no longer validates."""


def reuse_entry(scope: Scope, step: Any, sr: StepResult, key: str, display: str,
           path: tuple[str, ...], value: Any, entry: CacheEntry) -> Any:
    """Finish ``step`` with the output of an earlier execution (``entry``) instead of
    running it; ``MISS`` if that output no longer validates."""
    ex = scope.execution
    try:
        out = from_stored(step.output_schema, entry.output)
    except ValidationError:
        return MISS
    if entry.effects:  # the state it set, set again
        schema = ex.workflow.state_schema
        state = entry.effects[_STATE]
        ex.set_state(from_stored(schema, state) if schema is not None else state)
    sr.output = out
    sr.status = "success"
    sr.attempts = 0
    sr.cached_from = entry.cached_from
    sr.ended_at = sr.started_at
    if ex.observed:
        ex.emit(STEP_START, path, {"payload": value, "resumed": False, "cached": True},
                sr.started_at)
        ex.emit(STEP_RESULT, path,
                {"status": "success", "output": out, "attempts": 0, "cached": True}, sr.ended_at)
    if key != display:
        ex.record(key, {"status": "success", "output": out})
    return out


def effects_of(ex: Execution, step: Any, state_before: Any) -> dict[str, Any]:
    """What a step did besides its output, replayed when it is reused: the state it set
    (only if it called ``set_state``: each call puts a new object in ``ex.state``)."""
    if not step.signature.sets_state or ex.state is state_before:
        return {}
    return {_STATE: to_stored(ex.state)}


_STATE = "new_state"  # CacheEntry.effects: the state a step set
