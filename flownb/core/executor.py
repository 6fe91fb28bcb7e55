"""The executor protocol: what the engine asks of whatever runs its step executions.

The engine runs a step itself (``async def`` on the run's loop, ``def`` in a thread) unless
the executor in effect is *remote*. Then it packs the execution into a :class:`StepCall`
(the step, the parameters its function declares, their schemas, plain data) and awaits
``executor.run(call)``, which answers with an :class:`Outcome`. How a call travels (pickling,
a cluster, modules a worker lacks) is the executor's business: ``flownb.executors``
implements this protocol. What happens where the call lands is
:func:`flownb.core.remote.run_on_worker`, the same for every executor.

This module imports only the standard library and ``flownb.errors``, so any layer may import
it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, NamedTuple

from ..errors import WorkflowDefinitionError

__all__ = ["BAIL", "MISSING", "OK", "SUSPEND", "Executor", "Outcome", "StepCall",
           "check_executor", "default_executor", "set_default_executor"]

# The kinds of answer a remote execution gives; control-flow signals never cross the wire
# as exceptions.
OK, SUSPEND, BAIL, MISSING = "ok", "suspended", "bailed", "missing-module"


class Outcome(NamedTuple):
    """How one remote step execution ended.

    ``kind`` is ``OK`` (``value`` is the output), ``SUSPEND`` (the suspend payload), ``BAIL``
    (the bail result), all as stored JSON data; or ``MISSING`` when the worker could not load
    the step (``value`` is ``(module name, the import error's text)``). ``effects`` holds what
    parameters collected on the worker, by name (``emit``'s payloads, ``set_state``'s
    states), for the driver to apply.
    """

    kind: str
    value: Any
    effects: dict[str, list[Any]]


@dataclass(frozen=True, slots=True)
class StepCall:
    """One execution of a step, as a remote executor receives it.

    ``names`` are the parameters the step's function declares (those a worker can provide),
    ``schemas`` the schema each of them is rebuilt with (``None``: none), and ``data`` the
    value each one carries, by name: JSON data for ``input_data``, ``resume_data``,
    ``state``, ``get_init_data``, ``run_id``, ``workflow_id``, ``retry_count``, and a plain
    copy of the runtime context (pickled, so its values need only be picklable).
    """

    step: Any
    path: str
    names: tuple[str, ...]
    schemas: tuple[Any, ...]
    data: dict[str, Any]


class Executor:
    """Where a workflow's step executions run.

    Choose one per workflow (``create_workflow(..., executor=...)``), per foreach
    (``.foreach(step, executor=...)``) or for the process (``flownb.configure(executor=...)``).
    An executor whose ``remote`` is false leaves the engine to run steps itself; a remote
    one implements :meth:`run`.
    """

    remote: ClassVar[bool] = False

    async def run(self, call: StepCall) -> Outcome:
        """Run one step execution elsewhere (called only when ``remote`` is true).

        Answer with what :func:`flownb.core.remote.run_on_worker` returned where the call
        ran; raise when the work failed (the step attempt fails); cancel the work when the
        awaiting task is cancelled.
        """
        raise NotImplementedError(f"{type(self).__name__} runs no steps of its own")

    def close(self) -> None:
        """Release what the executor holds (a client it created, ...)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def check_executor(executor: Any, what: str) -> Executor | None:
    """``executor`` when it is ``None`` or an ``Executor``; a clear error otherwise."""
    if executor is None or isinstance(executor, Executor):
        return executor
    raise WorkflowDefinitionError(
        f"{what}: executor must be a flownb.executors.Executor (LocalExecutor(), "
        f"DaskExecutor(client)) or None, got {type(executor).__name__}")


# The process-wide default (``flownb.configure(executor=...)`` sets it): kept here, where the
# engine reads it when a run starts, so the layer above writes down instead of core
# reaching up.
_default: Executor | None = None


def default_executor() -> Executor | None:
    """The executor set with ``flownb.configure(executor=...)``, or ``None`` (local)."""
    return _default


def set_default_executor(executor: Executor | None) -> None:
    """Make ``executor`` the process-wide default (``None``: the local executor)."""
    global _default
    _default = check_executor(executor, "flownb.configure()")
