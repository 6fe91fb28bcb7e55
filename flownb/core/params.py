"""Parameter injection by name: one table of everything a user function may declare.

``execute`` functions, conditions and ``.map`` functions declare only the parameters they
use; flownb reads the signature once, when the step is built, and passes exactly those.

Every parameter flownb can inject is one :class:`Injectable` in :data:`INJECTABLES`: which
functions may declare it, how the engine builds it for a call, and how it crosses to a step
running on a remote worker (packed on the driver, rebuilt on the worker, its effects brought
back) or why it cannot. The signature parser, the engine, the driver's packing and the
worker's unpacking all read this table, so a new injectable is one new entry.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Collection
from contextvars import ContextVar
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import WorkflowDefinitionError
from .codec import Unstorable, from_stored, to_stored
from .context import RuntimeContext
from .events import STEP_OUTPUT
from .schema import validate
from .signals import bail, suspend

if TYPE_CHECKING:
    from .execution import Scope

__all__ = ["READS", "CONDITION", "CONDITION_PARAMS", "INJECTABLES", "MAP", "MAP_PARAMS", "STEP",
           "STEP_PARAMS", "Crossing", "Injectable", "Signature", "Site", "Stays", "by_name",
           "local_kwargs", "read_signature"]

# The kinds of user function that receive injected parameters.
STEP, MAP, CONDITION = "step", "map", "condition"


class Site(NamedTuple):
    """One call of user code on the driver: what its parameters are built from."""

    scope: Scope
    value: Any  # the call's input (``input_data``)
    path: tuple[str, ...] = ()  # the step's display path (its ``emit`` events)
    resume_data: Any = None
    attempt: int = 0  # ``retry_count``
    iteration: int | None = None  # a loop condition's ``iteration_count``
    step: Any = None  # the step being called (its schemas, for a remote call)


@dataclass(frozen=True, slots=True)
class Crossing:
    """How an injectable reaches a step running on a remote worker.

    ``pack`` turns the value the step would get locally into plain data sent along (``None``:
    nothing travels); ``schema`` names the schema the worker rebuilds it with;
    ``rebuild(packed, schema, effects)`` makes the value the function gets on the worker,
    appending to ``effects`` what must come back; ``apply`` replays those effects on the
    driver once the step has answered.
    """

    rebuild: Callable[[Any, Any, list[Any]], Any]
    pack: Callable[[Any], Any] | None = None
    schema: Callable[[Site], Any] | None = None
    apply: Callable[[Site, list[Any]], None] | None = None


@dataclass(frozen=True, slots=True)
class Stays:
    """An injectable that cannot reach a remote worker, and why (shown to the user)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Injectable:
    """One parameter flownb injects by name."""

    name: str
    kinds: frozenset[str]  # which functions may declare it (STEP, MAP, CONDITION)
    local: Callable[[Site], Any]  # its value for a call on the driver
    remote: Crossing | Stays
    # Reuse (core.reuse): the data it gives a step, part of the step's fingerprint; or it
    # reads other steps' outputs (each one read is recorded); or it sets the state (the
    # state it set is replayed when the step is reused).
    fingerprinted: Callable[[Site], Any] | None = None
    reads_outputs: bool = False
    sets_state: bool = False


READS: ContextVar[dict[str, None] | None] = ContextVar("flownb_reads", default=None)
"""While a step with reuse on runs: the dotted paths whose outputs it read through
``get_step_result`` (set by the engine before the call, filled by the getter below)."""


# -- how the values are made ----------------------------------------------------------------


def _always(value: Any) -> Callable[..., Any]:
    return lambda *_: value


def _init_getter(site: Site) -> Callable[[], Any]:
    scope = site.scope
    return lambda: scope.init


def _step_result_getter(site: Site) -> Callable[[Any], Any]:
    scope = site.scope
    ex = scope.execution

    def get_step_result(step_or_id: Any) -> Any:
        step_id = step_or_id if isinstance(step_or_id, str) else step_or_id.id
        local = ".".join((*scope.path_prefix, step_id))
        path = local if local in ex.steps else step_id
        reads = READS.get()
        if reads is not None:  # the step may be reused: what it read is part of that
            reads[path] = None
        return ex.output_of(path)

    return get_step_result


def _state_setter(site: Site) -> Callable[[Any], None]:
    ex = site.scope.execution
    schema = ex.workflow.state_schema

    def set_state(new_state: Any) -> None:
        state = validate(schema, new_state) if schema is not None else new_state
        if ex.storing:
            _storable(state, "set_state(): the new state")
        ex.set_state(state)

    return set_state


def _context_data(site: Site) -> dict[str, Any]:
    return dict(site.scope.execution.runtime_context)


def _emitter(site: Site) -> Callable[[Any], None]:
    ex = site.scope.execution
    path = site.path
    loop = ex.loop

    def emit(payload: Any) -> None:
        data = _event_data(payload)
        _storable(data, "emit(): the payload")  # every event must be JSON data
        if loop is not None and _in_other_thread(loop):
            loop.call_soon_threadsafe(ex.emit, STEP_OUTPUT, path, data)
        else:
            ex.emit(STEP_OUTPUT, path, data)

    return emit


def _event_data(payload: Any) -> Any:
    return payload if isinstance(payload, dict) else {"value": payload}


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


# -- how they cross to a worker and back ----------------------------------------------------


def _same(value: Any) -> Any:
    return value


def _packed(packed: Any, schema: Any, effects: list[Any]) -> Any:
    return packed


def _validated(packed: Any, schema: Any, effects: list[Any]) -> Any:
    return from_stored(schema, packed)


def _validated_if_typed(packed: Any, schema: Any, effects: list[Any]) -> Any:
    return packed if schema is None else from_stored(schema, packed)


def _validated_unless_none(packed: Any, schema: Any, effects: list[Any]) -> Any:
    return packed if packed is None or schema is None else from_stored(schema, packed)


def _stored_result(getter: Callable[[], Any]) -> Any:
    return to_stored(getter())


def _getter_of_validated(packed: Any, schema: Any, effects: list[Any]) -> Callable[[], Any]:
    return _always(from_stored(schema, packed))


def _context_copy(packed: Any, schema: Any, effects: list[Any]) -> RuntimeContext:
    return RuntimeContext(packed)


def _collecting_emit(packed: Any, schema: Any, effects: list[Any]) -> Callable[[Any], None]:
    def emit(payload: Any) -> None:
        effects.append(to_stored(_event_data(payload)))

    return emit


def _emit_collected(site: Site, payloads: list[Any]) -> None:
    """``emit()`` on a worker: its events arrive when the step ends."""
    ex = site.scope.execution
    for payload in payloads:
        ex.emit(STEP_OUTPUT, site.path, payload)


def _collecting_set_state(packed: Any, schema: Any,
                          effects: list[Any]) -> Callable[[Any], None]:
    def set_state(value: Any) -> None:
        value = validate(schema, value) if schema is not None else value
        effects[:] = [to_stored(value)]  # the last state set is the one applied

    return set_state


def _set_collected(site: Site, states: list[Any]) -> None:
    ex = site.scope.execution
    schema = ex.workflow.state_schema
    ex.set_state(from_stored(schema, states[-1]) if schema is not None else states[-1])


_ALL = frozenset({STEP, MAP, CONDITION})
_STEP = frozenset({STEP})
_STATE_SCHEMA = attrgetter("scope.execution.workflow.state_schema")

INJECTABLES: tuple[Injectable, ...] = (
    Injectable("input_data", _ALL, attrgetter("value"),
               Crossing(pack=to_stored, schema=attrgetter("step.input_schema"),
                        rebuild=_validated)),
    Injectable("resume_data", _STEP, attrgetter("resume_data"),
               Crossing(pack=to_stored, schema=attrgetter("step.resume_schema"),
                        rebuild=_validated_unless_none)),
    Injectable("suspend", _STEP, _always(suspend), Crossing(rebuild=_always(suspend))),
    Injectable("get_step_result", _ALL, _step_result_getter,
               Stays("a worker cannot read the run's records"), reads_outputs=True),
    Injectable("get_init_data", _ALL, _init_getter,
               Crossing(pack=_stored_result, schema=attrgetter("scope.workflow.input_schema"),
                        rebuild=_getter_of_validated),
               fingerprinted=attrgetter("scope.init")),
    Injectable("state", _ALL, attrgetter("scope.execution.state"),
               Crossing(pack=to_stored, schema=_STATE_SCHEMA, rebuild=_validated_if_typed),
               fingerprinted=attrgetter("scope.execution.state")),
    Injectable("set_state", _STEP, _state_setter,
               Crossing(schema=_STATE_SCHEMA, rebuild=_collecting_set_state,
                        apply=_set_collected), sets_state=True),
    Injectable("runtime_context", _ALL, attrgetter("scope.execution.runtime_context"),
               Crossing(pack=dict, rebuild=_context_copy),  # a copy: changes stay there
               fingerprinted=_context_data),
    Injectable("emit", _STEP, _emitter, Crossing(rebuild=_collecting_emit,
                                                 apply=_emit_collected)),
    Injectable("bail", _STEP, _always(bail), Crossing(rebuild=_always(bail))),
    Injectable("run_id", _ALL, attrgetter("scope.execution.run_id"),
               Crossing(pack=_same, rebuild=_packed),  # so a step that reads it is never
               fingerprinted=attrgetter("scope.execution.run_id")),  # reused in another run
    Injectable("workflow_id", _ALL, attrgetter("scope.workflow.id"),
               Crossing(pack=_same, rebuild=_packed)),
    Injectable("retry_count", _STEP, attrgetter("attempt"),
               Crossing(pack=_same, rebuild=_packed)),
    Injectable("iteration_count", frozenset({CONDITION}), attrgetter("iteration"),
               Stays("only conditions declare it, and conditions run on the driver")),
)

_BY_NAME = {i.name: i for i in INJECTABLES}
_LOCAL = {i.name: i.local for i in INJECTABLES}

STEP_PARAMS = frozenset(i.name for i in INJECTABLES if STEP in i.kinds)
MAP_PARAMS = frozenset(i.name for i in INJECTABLES if MAP in i.kinds)
CONDITION_PARAMS = frozenset(i.name for i in INJECTABLES if CONDITION in i.kinds)


def by_name(name: str) -> Injectable:
    """The injectable called ``name`` (``KeyError`` for any other name)."""
    return _BY_NAME[name]


def local_kwargs(names: tuple[str, ...], site: Site) -> dict[str, Any]:
    """The keyword arguments of a call on the driver: each of ``names`` built for ``site``."""
    out = {}
    for name in names:  # a loop, not a comprehension: one frame less per step attempt
        out[name] = _LOCAL[name](site)
    return out


@dataclass(frozen=True, slots=True)
class Signature:
    """What a user function wants injected."""

    names: tuple[str, ...]
    is_async: bool
    # It declares its input and nothing else (most steps): the engine then builds the one
    # keyword argument directly, without a Site (the value is what INJECTABLES' first
    # entry, the input, builds from a Site).
    only_input: bool = False
    # For reuse (core.reuse): what it declares that is part of its fingerprint, whether it
    # reads other steps' outputs, whether it sets the state.
    fingerprinted: tuple[Injectable, ...] = ()
    reads_outputs: bool = False
    sets_state: bool = False


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
    declared = [_BY_NAME[n] for n in names]
    return Signature(names=tuple(names), is_async=_is_async(fn),
                     only_input=tuple(names) == (INJECTABLES[0].name,),
                     fingerprinted=tuple(i for i in declared if i.fingerprinted is not None),
                     reads_outputs=any(i.reads_outputs for i in declared),
                     sets_state=any(i.sets_state for i in declared))


def _is_async(fn: Callable[..., Any]) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return call is not None and inspect.iscoroutinefunction(call)
