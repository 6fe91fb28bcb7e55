"""flownb: Mastra-style typed workflows for Python, at home in Jupyter.

>>> from pydantic import BaseModel
>>> from flownb import create_step, create_workflow
>>> class Msg(BaseModel):
...     message: str
>>> upper = create_step(id="upper", input_schema=Msg, output_schema=Msg,
...                     execute=lambda input_data: {"message": input_data.message.upper()})
>>> wf = create_workflow(id="demo", input_schema=Msg, output_schema=Msg,
...                      storage=False).then(upper).commit()
>>> wf.invoke({"message": "hello"}).result
Msg(message='HELLO')

The public names load on first use (PEP 562), so ``import flownb`` costs almost nothing
until a workflow is built; the notebook and terminal layers load only when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    ConcurrentRunError,
    FlownbError,
    InputValidationError,
    ResumeError,
    ResumeValidationError,
    RunNotFoundError,
    SchemaMismatchError,
    StorageError,
    WorkflowDefinitionError,
)

if TYPE_CHECKING:
    from .config import configure
    from .core.aio import run_sync
    from .core.compare import RunDiff, StepDiff, compare
    from .core.context import RuntimeContext
    from .core.events import Event
    from .core.feed import RunFeed
    from .core.mapping import const, from_context, from_init, from_step
    from .core.plan import Plan, PlanItem
    from .core.results import RunInfo, StepResult, WorkflowResult
    from .core.run import Run
    from .core.step import RetryConfig, Step, clone_step, create_step, step
    from .core.workflow import Workflow, create_workflow
    from .registry import Registry

__version__ = "0.1.0"

_LAZY = {
    "configure": "config",
    "run_sync": "core.aio",
    "RunDiff": "core.compare",
    "StepDiff": "core.compare",
    "compare": "core.compare",
    "RuntimeContext": "core.context",
    "Event": "core.events",
    "RunFeed": "core.feed",
    "const": "core.mapping",
    "from_context": "core.mapping",
    "from_init": "core.mapping",
    "from_step": "core.mapping",
    "Plan": "core.plan",
    "PlanItem": "core.plan",
    "RunInfo": "core.results",
    "StepResult": "core.results",
    "WorkflowResult": "core.results",
    "Run": "core.run",
    "RetryConfig": "core.step",
    "Step": "core.step",
    "clone_step": "core.step",
    "create_step": "core.step",
    "step": "core.step",
    "Workflow": "core.workflow",
    "create_workflow": "core.workflow",
    "Registry": "registry",
}

__all__ = [
    "ConcurrentRunError",
    "Event",
    "FlownbError",
    "InputValidationError",
    "Plan",
    "PlanItem",
    "Registry",
    "ResumeError",
    "ResumeValidationError",
    "RetryConfig",
    "Run",
    "RunDiff",
    "RunFeed",
    "RunInfo",
    "RunNotFoundError",
    "RuntimeContext",
    "SchemaMismatchError",
    "Step",
    "StepDiff",
    "StepResult",
    "StorageError",
    "Workflow",
    "WorkflowDefinitionError",
    "WorkflowResult",
    "__version__",
    "clone_step",
    "compare",
    "configure",
    "const",
    "create_step",
    "create_workflow",
    "from_context",
    "from_init",
    "from_step",
    "run_sync",
    "step",
    "load_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext flownb``: registers the ``%flow`` magics (imported only now)."""
    from .notebook.magics import register

    register(ipython)


def __getattr__(name: str) -> Any:
    if name == "executors":  # the subpackage, loaded on first use (it never imports dask)
        return importlib.import_module(".executors", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flownb' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"executors"})
