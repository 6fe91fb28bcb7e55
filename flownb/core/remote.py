"""Both ends of a remote step execution (``flownb.core.executor`` is the protocol).

Which executor runs a step is resolved once per scope: the closest setting wins — a
foreach's ``executor=``, then the workflow that directly contains the step, then the
enclosing workflows, then ``flownb.configure(executor=...)``. ``None`` in a scope means the
engine's own inline path (the ``LocalExecutor``), which stays exactly as fast as before.

A remote step receives plain data: on the driver :func:`run_remote` packs each parameter the
step declares as the table of injectables (``params.INJECTABLES``) says, and on the worker
:func:`run_on_worker` rebuilds them (validated back into their schemas) and reports what
``emit``/``set_state`` collected, which the driver then applies. A parameter that cannot
cross (``get_step_result`` needs the run's records) keeps its step local.
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import WorkflowDefinitionError
from .codec import from_stored, to_stored
from .executor import BAIL, OK, SUSPEND, Executor, Outcome, StepCall, default_executor
from .graph import Entry, ForeachEntry, entry_steps
from .params import INJECTABLES, Crossing, Site, Stays, by_name
from .signals import BailSignal, SuspendSignal

if TYPE_CHECKING:
    from .execution import Scope

__all__ = ["as_remote", "item_scope", "nested_executor", "remote_problems", "run_on_worker",
           "run_remote", "top_executor"]


def as_remote(executor: Executor | None) -> Executor | None:
    """The executor a scope holds: ``None`` stands for the local (inline) path."""
    if executor is None or not executor.remote:
        return None
    return executor


def top_executor(workflow: Any) -> Executor | None:
    """Where the steps of a run's top workflow run: its own setting, else the global one."""
    own = workflow.executor
    if own is None:
        own = default_executor()
    return as_remote(own)


def nested_executor(workflow: Any, inherited: Executor | None) -> Executor | None:
    """A nested workflow's own setting wins over the one it runs under."""
    own = workflow.executor
    return inherited if own is None else as_remote(own)


def item_scope(scope: Scope, entry: ForeachEntry) -> Scope:
    """The scope a foreach's items run in (its own ``executor=`` when it has one)."""
    if entry.executor is None:
        return scope
    return type(scope)(scope.execution, scope.workflow, scope.key_prefix, scope.path_prefix,
                       scope.init, as_remote(entry.executor), scope.cache)


# -- what a remote step may use ---------------------------------------------------------------


class _Plan:
    """How one step's parameters travel: computed once per step."""

    __slots__ = ("crossings", "names", "staying")

    def __init__(self, step: Any) -> None:
        try:
            declared = inspect.signature(step.execute).parameters
        except (TypeError, ValueError):
            declared = {}  # type: ignore[assignment]
        names: list[str] = []
        crossings: list[Crossing] = []
        self.staying: list[str] = []  # declared by name: the step cannot run remotely
        for name in step.signature.names:
            how = by_name(name).remote
            if isinstance(how, Crossing):
                names.append(name)
                crossings.append(how)
            elif name in declared:  # a ``**kwargs`` function just goes without it
                self.staying.append(name)
        self.names = tuple(names)
        self.crossings = tuple(crossings)


_plans: weakref.WeakKeyDictionary[Any, _Plan] = weakref.WeakKeyDictionary()


def _plan(step: Any) -> _Plan:
    plan = _plans.get(step)
    if plan is None:
        plan = _plans[step] = _Plan(step)
    return plan


def _problem(path: str, names: list[str], executor: Any) -> str:
    reasons = dict.fromkeys(how.reason for n in names
                            if isinstance(how := by_name(n).remote, Stays))
    return (f"step '{path}' declares {', '.join(names)}, which a step running on {executor!r} "
            f"cannot use ({'; '.join(reasons)}); hand the value on as input (e.g. with .map) "
            "or keep this step local (executor=LocalExecutor())")


def remote_problems(entries: Iterable[Entry], executor: Executor | None,
                    prefix: str = "") -> list[str]:
    """Steps that would run remotely under ``executor`` but cannot (checked at commit)."""
    problems: list[str] = []
    for entry in entries:
        here = executor
        if isinstance(entry, ForeachEntry) and entry.executor is not None:
            here = entry.executor
        if as_remote(here) is None:
            continue  # local here; nested workflows checked their own foreach at commit
        for step in entry_steps(entry):
            if step.is_workflow:
                if step.executor is None:  # else checked when it was committed
                    problems.extend(remote_problems(step.graph.entries, here,
                                                    f"{prefix}{step.id}."))
            elif _plan(step).staying:
                problems.append(_problem(prefix + step.id, _plan(step).staying, here))
    return problems


# -- the driver's end ---------------------------------------------------------------------------


async def run_remote(scope: Scope, executor: Executor, step: Any, kwargs: dict[str, Any],
                     path: tuple[str, ...]) -> Any:
    """Run one attempt of ``step`` through ``executor``; returns its output or raises the
    suspend/bail signal the worker reported. ``kwargs`` are the parameters the step would
    get locally: each is packed from there."""
    display = ".".join(path)
    plan = _plan(step)
    if plan.staying:  # only through flownb.configure(executor=...): commit checks the rest
        raise WorkflowDefinitionError(
            f"workflow '{scope.workflow.id}': {_problem(display, plan.staying, executor)}",
            workflow_id=scope.workflow.id, step_path=display)
    site = Site(scope, None, path, step=step)
    schemas = tuple(c.schema(site) if c.schema is not None else None for c in plan.crossings)
    data = {name: c.pack(kwargs[name]) for name, c in zip(plan.names, plan.crossings,
                                                          strict=True) if c.pack is not None}
    call = StepCall(step, display, plan.names, schemas, data)
    if step.timeout is None:
        outcome = await executor.run(call)
    else:
        async with asyncio.timeout(step.timeout):
            outcome = await executor.run(call)
    kind, value, effects = outcome
    for injectable in INJECTABLES:  # in the table's order: events before the new state
        collected = effects.get(injectable.name)
        how = injectable.remote
        if collected and isinstance(how, Crossing) and how.apply is not None:
            how.apply(site, collected)
    if kind == SUSPEND:
        raise SuspendSignal(value)
    if kind == BAIL:
        raise BailSignal(value)
    try:  # the worker sent stored JSON data: read it back as the engine reads a snapshot
        return from_stored(step.output_schema, value)
    except ValidationError:
        return value  # the engine's own validation reports it, naming the fields


# -- the worker's end ---------------------------------------------------------------------------


def run_on_worker(fn: Callable[..., Any], names: tuple[str, ...], schemas: tuple[Any, ...],
                  data: dict[str, Any]) -> Outcome:
    """Call a step's function where a remote executor landed it: rebuild the parameters
    ``names`` from ``data`` (a :class:`StepCall`'s), call, and report how it ended."""
    effects: dict[str, list[Any]] = {}
    kwargs: dict[str, Any] = {}
    for name, schema in zip(names, schemas, strict=True):
        how = by_name(name).remote
        assert isinstance(how, Crossing), f"{name} cannot cross to a worker"
        kwargs[name] = how.rebuild(data.get(name), schema, effects.setdefault(name, []))
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
    return Outcome(kind, to_stored(value), {n: got for n, got in effects.items() if got})


async def _wait(awaitable: Any) -> Any:
    return await awaitable
