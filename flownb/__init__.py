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
"""

from __future__ import annotations

from .config import configure
from .core.aio import run_sync
from .core.context import RuntimeContext
from .core.events import Event
from .core.mapping import const, from_context, from_init, from_step
from .core.results import RunInfo, StepResult, WorkflowResult
from .core.run import Run
from .core.step import RetryConfig, Step, clone_step, create_step, step
from .core.workflow import Workflow, create_workflow
from .errors import (
    ConcurrentRunError,
    FlownbError,
    InputValidationError,
    ResumeError,
    ResumeValidationError,
    RunNotFoundError,
    SchemaMismatchError,
    WorkflowDefinitionError,
)

__version__ = "0.1.0"

__all__ = [
    "ConcurrentRunError",
    "Event",
    "FlownbError",
    "InputValidationError",
    "ResumeError",
    "ResumeValidationError",
    "RetryConfig",
    "Run",
    "RunInfo",
    "RunNotFoundError",
    "RuntimeContext",
    "SchemaMismatchError",
    "Step",
    "StepResult",
    "Workflow",
    "WorkflowDefinitionError",
    "WorkflowResult",
    "__version__",
    "clone_step",
    "configure",
    "const",
    "create_step",
    "create_workflow",
    "from_context",
    "from_init",
    "from_step",
    "run_sync",
    "step",
]

