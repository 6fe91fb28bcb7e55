"""The driver's side of remote step executions (``flownb.executors``).

Which executor runs a step is resolved once per scope: the closest setting wins — a
foreach's ``executor=``, then the workflow that directly contains the step, then the
enclosing workflows, then ``flownb.configure(executor=...)``. ``None`` in a scope means the
engine's own inline path (the ``LocalExecutor``), which stays exactly as fast as before.

A remote step receives plain data: its input and resume data as JSON (re-validated into
their schemas on the worker), a copy of the state and of the runtime context,
``get_init_data()`` precomputed, and worker-side ``suspend``/``bail``/``emit``/
``set_state`` whose effects come back with the result. ``get_step_result`` needs the run's
records, so a step that declares it cannot run remotely.
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .. import config
from ..errors import WorkflowDefinitionError
from ..executors._worker import BAIL, SUSPEND
from ..executors.base import Executor, RemoteExecutor, StepCall
from .codec import from_stored, to_stored
from .events import STEP_OUTPUT
from .graph import Entry, ForeachEntry, entry_steps
from .signals import BailSignal, SuspendSignal

if TYPE_CHECKING:
    from .engine import Scope

__all__ = ["as_remote", "check_executor", "item_scope", "nested_executor", "remote_problems",
           "run_remote", "top_executor"]

UNSUPPORTED = ("get_step_result",)


def check_executor(executor: Any, what: str) -> Executor | None:
    """``executor`` when it is ``None`` or an ``Executor``; a clear error otherwise."""
    if executor is None or isinstance(executor, Executor):
        return executor
    raise WorkflowDefinitionError(
        f"{what}: executor must be a flownb.executors.Executor (LocalExecutor(), "
        f"DaskExecutor(client)) or None, got {type(executor).__name__}")


def as_remote(executor: Executor | None) -> RemoteExecutor | None:
    """The executor a scope holds: ``None`` stands for the local (inline) path."""
    if executor is None or not executor.remote:
        return None
    assert isinstance(executor, RemoteExecutor)
    return executor


def top_executor(workflow: Any) -> RemoteExecutor | None:
    """Where the steps of a run's top workflow run: its own setting, else the global one."""
    own = workflow.executor
    if own is None:
        own = config.default_executor()
    return as_remote(own) if own is not None else None


def nested_executor(workflow: Any, inherited: RemoteExecutor | None) -> RemoteExecutor | None:
    """A nested workflow's own setting wins over the one it runs under."""
    own = workflow.executor
    return inherited if own is None else as_remote(own)


def item_scope(scope: Scope, entry: ForeachEntry) -> Scope:
    """The scope a foreach's items run in (its own ``executor=`` when it has one)."""
    if entry.executor is None:
        return scope
    return type(scope)(scope.execution, scope.workflow, scope.key_prefix, scope.path_prefix,
                       scope.init, as_remote(entry.executor))


# -- what a remote step may use ---------------------------------------------------------------

_info: weakref.WeakKeyDictionary[Any, tuple[tuple[str, ...], list[str]]] = \
    weakref.WeakKeyDictionary()


def _remote_info(step: Any) -> tuple[tuple[str, ...], list[str]]:
    """(the parameters a remote execution of ``step`` gets, the unsupported ones it
    declares). A ``**kwargs`` function gets every parameter a worker can provide."""
    info = _info.get(step)
    if info is None:
        try:
            declared = inspect.signature(step.execute).parameters
        except (TypeError, ValueError):
            declared = {}  # type: ignore[assignment]
        names = tuple(n for n in step.signature.names if n not in UNSUPPORTED)
        info = _info[step] = (names, [n for n in UNSUPPORTED if n in declared])
    return info


def _unsupported(step: Any) -> list[str]:
    return _remote_info(step)[1]


def _problem(path: str, names: list[str], executor: Any) -> str:
    return (f"step '{path}' declares {', '.join(names)}, which a step running on {executor!r} "
            "cannot use (a worker cannot read the run's records); hand the value on as input "
            "(e.g. with .map) or keep this step local (executor=LocalExecutor())")


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
            elif _unsupported(step):
                problems.append(_problem(prefix + step.id, _unsupported(step), here))
    return problems


# -- one remote execution -----------------------------------------------------------------------


async def run_remote(scope: Scope, executor: RemoteExecutor, step: Any,
                     kwargs: dict[str, Any], path: tuple[str, ...]) -> Any:
    """Run one attempt of ``step`` through ``executor``; returns its (JSON) output or
    raises the suspend/bail signal the worker reported."""
    ex = scope.execution
    display = ".".join(path)
    names, bad = _remote_info(step)
    if bad:  # only reachable through flownb.configure(executor=...): commit checks the rest
        raise WorkflowDefinitionError(
            f"workflow '{scope.workflow.id}': {_problem(display, bad, executor)}",
            workflow_id=scope.workflow.id, step_path=display)
    data: dict[str, Any] = {}
    input_schema = resume_schema = state_schema = init_schema = None
    context = None
    for name in names:
        if name == "input_data":
            data[name], input_schema = to_stored(kwargs[name]), step.input_schema
        elif name == "resume_data":
            data[name], resume_schema = to_stored(kwargs[name]), step.resume_schema
        elif name in ("state", "set_state"):
            state_schema = ex.workflow.state_schema
            if name == "state":
                data[name] = to_stored(ex.state)
        elif name == "get_init_data":
            data["init"], init_schema = to_stored(scope.init), scope.workflow.input_schema
        elif name == "runtime_context":
            context = dict(ex.runtime_context)
        elif name in ("run_id", "workflow_id", "retry_count"):
            data[name] = kwargs[name]
    call = StepCall(step, display, names, (input_schema, resume_schema, state_schema,
                                           init_schema), data, context)
    if step.timeout is None:
        outcome = await executor.run(call)
    else:
        async with asyncio.timeout(step.timeout):
            outcome = await executor.run(call)
    kind, value, emitted, new_state, state_set = outcome
    for payload in emitted:  # emit() on a worker: the events arrive when the step ends
        ex.emit(STEP_OUTPUT, path, payload)
    if state_set:
        schema = ex.workflow.state_schema
        ex.state = from_stored(schema, new_state) if schema is not None else new_state
    if kind == SUSPEND:
        raise SuspendSignal(value)
    if kind == BAIL:
        raise BailSignal(value)
    try:  # the worker sent stored JSON data: read it back as the engine reads a snapshot
        return from_stored(step.output_schema, value)
    except ValidationError:
        return value  # the engine's own validation reports it, naming the fields
