"""The worker side of a remote step execution.

A remote executor ships ``run_call`` with two blobs: the *static* part of a step (its
function, parameter names and schemas; pickled once per step with cloudpickle) and the
*dynamic* part of one execution (JSON-able data and the runtime context). ``run_call``
validates the input back into the step's schema, calls the function, and answers with a
tagged tuple that the driver turns into an output, a suspension or a bail — the
control-flow signals never cross the wire as exceptions.

This module imports only the standard library, pydantic and flownb's core, because it is
imported on every worker.
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import pickle
import threading
from collections.abc import Callable
from typing import Any

from ..core.codec import from_stored, to_stored
from ..core.context import RuntimeContext
from ..core.schema import validate
from ..core.signals import BailSignal, SuspendSignal, bail, suspend

__all__ = ["BAIL", "MISSING", "OK", "SUSPEND", "Outcome", "run_call"]

OK, SUSPEND, BAIL, MISSING = "ok", "suspend", "bail", "missing-module"

# (kind, value, emitted payloads, new state or None, whether set_state was called).
# For MISSING, value is the missing module's name and the events slot holds the message.
Outcome = tuple[str, Any, Any, Any, bool]

_CACHE_SIZE = 256
_static_cache: collections.OrderedDict[str, tuple[Any, ...]] = collections.OrderedDict()
_lock = threading.Lock()


def run_call(token: str, static: bytes, dynamic: bytes) -> Outcome:
    """Run one step execution on this worker (the function a remote executor ships)."""
    try:
        fn, names, schemas = _load_static(token, static)
        data, context = pickle.loads(dynamic)
    except ModuleNotFoundError as exc:
        # The driver may be able to send that module's code by value and try again.
        return MISSING, exc.name, str(exc), None, False
    return execute(fn, names, schemas, data, context)


def _load_static(token: str, static: bytes) -> tuple[Any, ...]:
    """Unpickle a step's static part once per worker process (an LRU by content token)."""
    with _lock:
        hit = _static_cache.get(token)
        if hit is not None:
            _static_cache.move_to_end(token)
            return hit
    loaded: tuple[Any, ...] = pickle.loads(static)
    with _lock:
        _static_cache[token] = loaded
        while len(_static_cache) > _CACHE_SIZE:
            _static_cache.popitem(last=False)
    return loaded


def execute(fn: Callable[..., Any], names: tuple[str, ...], schemas: tuple[Any, ...],
            data: dict[str, Any], context: dict[str, Any] | None) -> Outcome:
    """Call ``fn`` with its injected parameters rebuilt from plain data."""
    input_schema, resume_schema, state_schema, init_schema = schemas
    emitted: list[Any] = []
    new_state: list[Any] = []

    def emit(payload: Any) -> None:
        emitted.append(to_stored(payload if isinstance(payload, dict) else {"value": payload}))

    def set_state(value: Any) -> None:
        value = validate(state_schema, value) if state_schema is not None else value
        new_state[:] = [to_stored(value)]

    kwargs: dict[str, Any] = {}
    for name in names:
        if name == "input_data":
            kwargs[name] = from_stored(input_schema, data["input_data"])
        elif name == "resume_data":
            value = data["resume_data"]
            if value is not None and resume_schema is not None:
                value = from_stored(resume_schema, value)
            kwargs[name] = value
        elif name == "suspend":
            kwargs[name] = suspend
        elif name == "bail":
            kwargs[name] = bail
        elif name == "emit":
            kwargs[name] = emit
        elif name == "set_state":
            kwargs[name] = set_state
        elif name == "state":
            state = data["state"]
            kwargs[name] = from_stored(state_schema, state) if state_schema is not None else state
        elif name == "get_init_data":
            kwargs[name] = _constant(from_stored(init_schema, data["init"]))
        elif name == "runtime_context":
            kwargs[name] = RuntimeContext(context)
        else:  # run_id, workflow_id, retry_count
            kwargs[name] = data[name]
    try:
        out = fn(**kwargs)
        if inspect.isawaitable(out):
            # asyncio.Runner, not asyncio.run: where nest-asyncio2 was applied (a worker
            # thread of a notebook's own process) asyncio.run never closes its loop.
            with asyncio.Runner() as runner:
                out = runner.run(_wait(out))
    except SuspendSignal as sig:
        kind, value = SUSPEND, sig.payload
    except BailSignal as sig:
        kind, value = BAIL, sig.result
    else:
        kind, value = OK, out
    state_out = new_state[0] if new_state else None
    return kind, to_stored(value), emitted, state_out, bool(new_state)


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


async def _wait(awaitable: Any) -> Any:
    return await awaitable
