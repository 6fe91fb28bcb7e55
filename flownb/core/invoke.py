"""Calling user code: how each function is called, with the parameters ``params`` builds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .graph import Condition
from .params import Signature, Site, local_kwargs
from .signals import USER_ERRORS, ExitInThread, StepFailed

if TYPE_CHECKING:
    from .execution import Scope

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


# Site(...) without the Python-level __new__ of a NamedTuple: the engine makes one per step
# attempt, and that __new__ alone would cost a visible share of a step.
_site = tuple.__new__


def callable_kwargs(scope: Scope, sig: Signature, value: Any,
                    iteration: int | None) -> dict[str, Any]:
    """The parameters a condition, ``.map`` or sleep function declares (see ``params``)."""
    return local_kwargs(sig.names, _site(Site, (scope, value, (), None, 0, iteration, None)))


def step_kwargs(scope: Scope, step: Any, value: Any, resume_data: Any, attempt: int,
                path: tuple[str, ...]) -> dict[str, Any]:
    """The parameters a step's ``execute`` declares, for one attempt (see ``params``)."""
    sig = step.signature
    if sig.only_input:  # the common case, once per step: no Site to build
        return {sig.names[0]: value}
    return local_kwargs(sig.names,
                        _site(Site, (scope, value, path, resume_data, attempt, None, step)))
