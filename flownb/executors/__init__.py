"""Executors: where step executions run (``flownb.executors``).

* ``LocalExecutor()`` — the default: ``async def`` steps on the event loop, sync steps in a
  worker thread.
* ``DaskExecutor(client)`` / ``DaskExecutor(address="tcp://…")`` — each step execution on
  a Dask distributed worker (``pip install 'flownb[dask]'``).

Select one per workflow (``create_workflow(..., executor=...)``), per foreach
(``.foreach(step, concurrency=200, executor=...)``) or for the process
(``flownb.configure(executor=...)``). Importing this package does not import Dask;
``DaskExecutor`` loads it on first use.

Another executor subclasses ``RemoteExecutor`` and implements ``submit``: ship ``run_call``
somewhere and return its ``Outcome``. The protocol itself lives in ``flownb.core.executor``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.executor import Executor, Outcome, StepCall
    from ._worker import run_call
    from .base import LocalExecutor, RemoteExecutor
    from .dask import DaskExecutor

__all__ = ["DaskExecutor", "Executor", "LocalExecutor", "Outcome", "RemoteExecutor", "StepCall",
           "run_call"]

_LAZY = {
    "Executor": "base",
    "LocalExecutor": "base",
    "Outcome": "base",
    "RemoteExecutor": "base",
    "StepCall": "base",
    "DaskExecutor": "dask",
    "run_call": "_worker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flownb.executors' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
