"""Parameter injection by name.

``execute`` functions, conditions and ``.map`` functions declare only the parameters they
use; flownb reads the signature once, when the step is built, and passes exactly those.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from ..errors import WorkflowDefinitionError

__all__ = ["STEP_PARAMS", "CONDITION_PARAMS", "MAP_PARAMS", "Signature", "read_signature"]

STEP_PARAMS = frozenset(
    {
        "input_data",
        "resume_data",
        "suspend",
        "get_step_result",
        "get_init_data",
        "state",
        "set_state",
        "runtime_context",
        "emit",
        "bail",
        "run_id",
        "workflow_id",
        "retry_count",
    }
)
MAP_PARAMS = frozenset(
    {"input_data", "get_step_result", "get_init_data", "runtime_context", "state",
     "run_id", "workflow_id"}
)
CONDITION_PARAMS = MAP_PARAMS | {"iteration_count"}


@dataclass(frozen=True, slots=True)
class Signature:
    """What a user function wants injected."""

    names: tuple[str, ...]
    is_async: bool


def read_signature(fn: Callable[..., Any], allowed: Collection[str], *, what: str) -> Signature:
    """Read ``fn``'s parameters; unknown required names are a definition error.

    ``what`` names the function's owner in the error ("step 'format-step'").
    """
    if not callable(fn):
        raise WorkflowDefinitionError(f"{what}: expected a function, got {type(fn).__name__}")
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError) as exc:
        raise WorkflowDefinitionError(f"{what}: cannot read the signature of {fn!r}") from exc
    names: list[str] = []
    for p in params.values():
        if p.kind is p.VAR_KEYWORD:
            names.extend(n for n in sorted(allowed) if n not in names)
        elif p.kind is p.VAR_POSITIONAL:
            continue
        elif p.name in allowed:
            if p.kind is p.POSITIONAL_ONLY:
                raise WorkflowDefinitionError(
                    f"{what}: parameter '{p.name}' is positional-only; flownb passes "
                    "parameters by name"
                )
            if p.name not in names:
                names.append(p.name)
        elif p.default is p.empty:
            known = ", ".join(sorted(allowed))
            raise WorkflowDefinitionError(
                f"{what}: parameter '{p.name}' cannot be injected. Functions receive their "
                f"parameters by name; declare only some of: {known}"
            )
    return Signature(names=tuple(names), is_async=_is_async(fn))


def _is_async(fn: Callable[..., Any]) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return call is not None and inspect.iscoroutinefunction(call)
