"""Calling user code: parameter injection by name, and how each function is called."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .codec import Unstorable, to_stored
from .events import STEP_OUTPUT
from .graph import Condition
from .params import Signature
from .schema import validate
from .signals import USER_ERRORS, ExitInThread, StepFailed, bail, suspend

if TYPE_CHECKING:
    from .engine import Execution, Scope

__all__ = ["call_condition", "call_user", "callable_kwargs", "step_kwargs"]


# -- calling user code -----------------------------------------------------------------------


async def call_user(fn: Callable[..., Any], sig: Signature, kwargs: dict[str, Any], *,
                    in_thread: bool) -> Any:
    """Call ``fn``; a sync step function runs in a worker thread."""
    if sig.is_async:
        return await fn(**kwargs)
    if in_thread:
        result = await asyncio.to_thread(_guarded, fn, kwargs)
    else:
        result = fn(**kwargs)
    if isinstance(result, Awaitable):
        result = await result
    return result


def _guarded(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    try:
        return fn(**kwargs)
    except (GeneratorExit, SystemExit) as exc:
        raise ExitInThread(exc) from exc


async def call_condition(scope: Scope, cond: Condition, value: Any, iteration: int | None,
                         what: str, step_id: str) -> Any:
    kwargs = callable_kwargs(scope, cond.signature, value, iteration)
    try:
        return await call_user(cond.fn, cond.signature, kwargs, in_thread=False)
    except USER_ERRORS as exc:
        path = ".".join((*scope.path_prefix, step_id))
        text = f"{type(exc).__name__}: {exc}"
        raise StepFailed(path, f"{what} raised {text}", exc) from exc


def callable_kwargs(scope: Scope, sig: Signature, value: Any,
                     iteration: int | None) -> dict[str, Any]:
    ex = scope.execution
    out: dict[str, Any] = {}
    for name in sig.names:
        if name == "input_data":
            out[name] = value
        elif name == "iteration_count":
            out[name] = iteration
        else:
            out[name] = _common(scope, ex, name)
    return out


def step_kwargs(scope: Scope, step: Any, value: Any, resume_data: Any, attempt: int,
                 path: tuple[str, ...]) -> dict[str, Any]:
    ex = scope.execution
    out: dict[str, Any] = {}
    for name in step.signature.names:
        if name == "input_data":
            out[name] = value
        elif name == "resume_data":
            out[name] = resume_data
        elif name == "suspend":
            out[name] = suspend
        elif name == "bail":
            out[name] = bail
        elif name == "retry_count":
            out[name] = attempt
        elif name == "emit":
            out[name] = _emitter(ex, path)
        elif name == "set_state":
            out[name] = _state_setter(scope)
        else:
            out[name] = _common(scope, ex, name)
    return out


def _common(scope: Scope, ex: Execution, name: str) -> Any:
    if name == "get_step_result":
        return _step_result_getter(scope)
    if name == "get_init_data":
        return lambda: scope.init
    if name == "state":
        return ex.state
    if name == "runtime_context":
        return ex.runtime_context
    if name == "run_id":
        return ex.run_id
    if name == "workflow_id":
        return scope.workflow.id
    raise KeyError(name)  # read_signature only lets known names through


def _step_result_getter(scope: Scope) -> Callable[[Any], Any]:
    ex = scope.execution

    def get_step_result(step_or_id: Any) -> Any:
        step_id = step_or_id if isinstance(step_or_id, str) else step_or_id.id
        local = ".".join((*scope.path_prefix, step_id))
        if local in ex.steps:
            return ex.output_of(local)
        return ex.output_of(step_id)

    return get_step_result


def _state_setter(scope: Scope) -> Callable[[Any], None]:
    ex = scope.execution
    schema = ex.workflow.state_schema

    def set_state(new_state: Any) -> None:
        state = validate(schema, new_state) if schema is not None else new_state
        if ex.storing:
            _storable(state, "set_state(): the new state")
        ex.state = state

    return set_state


def _emitter(ex: Execution, path: tuple[str, ...]) -> Callable[[Any], None]:
    loop = ex.loop

    def emit(payload: Any) -> None:
        data = payload if isinstance(payload, dict) else {"value": payload}
        _storable(data, "emit(): the payload")  # every event must be JSON data
        if loop is not None and _in_other_thread(loop):
            loop.call_soon_threadsafe(ex.emit, STEP_OUTPUT, path, data)
        else:
            ex.emit(STEP_OUTPUT, path, data)

    return emit


def _storable(value: Any, what: str) -> None:
    """Raise (inside the step, so the step fails) if ``value`` cannot be stored as JSON."""
    try:
        to_stored(value)
    except Unstorable as exc:
        raise ValueError(f"{what} cannot be stored as JSON: {exc.describe()}") from None


def _in_other_thread(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is not loop
    except RuntimeError:
        return True
