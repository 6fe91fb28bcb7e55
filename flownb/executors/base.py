"""Executors: where the engine runs step executions (``flownb.core.executor`` is the protocol).

``LocalExecutor`` is the default: the engine itself awaits an ``async def`` step on the
event loop and runs a sync step in a worker thread. A ``RemoteExecutor`` ships each step
execution elsewhere (``DaskExecutor``: to Dask workers); everything else — validation,
events, journal, persistence, suspend/resume bookkeeping — stays with the run, on the
driver.
"""

from __future__ import annotations

import hashlib
import site
import sys
import sysconfig
import threading
import weakref
from abc import ABC, abstractmethod
from pathlib import Path
from types import ModuleType
from typing import Any

from ..core.executor import MISSING, Executor, Outcome, StepCall

__all__ = ["Executor", "LocalExecutor", "RemoteExecutor", "StepCall"]


class LocalExecutor(Executor):
    """The default: ``async def`` steps on the run's event loop, sync steps in a thread.

    Name it explicitly to keep one foreach (or nested workflow) local inside a workflow
    whose other steps go to Dask:

    >>> from flownb.executors import LocalExecutor
    >>> LocalExecutor()
    LocalExecutor()
    """

    remote = False

    def __repr__(self) -> str:
        return "LocalExecutor()"


class RemoteExecutor(Executor, ABC):
    """An executor that runs step functions in other processes.

    Subclasses implement :meth:`submit`: send ``flownb.executors.run_call`` with the token
    and the two blobs somewhere, and return its answer. This base pickles the step's
    function and schemas once per step (cloudpickle), and when a worker cannot import a
    module the step needs (a test module, a script beside the notebook), sends that
    module's code by value and tries again.
    """

    remote = True
    _MAX_MODULE_RETRIES = 8

    def __init__(self) -> None:
        self._packed: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], str, bytes]] = \
            weakref.WeakKeyDictionary()

    @abstractmethod
    async def submit(self, call: StepCall, token: str, static: bytes,
                     dynamic: bytes) -> Outcome:
        """Run ``run_call(token, static, dynamic)`` on a worker and return its result.

        A worker failure raises (the step attempt fails); cancelling the awaiting task must
        cancel the remote work.
        """

    async def run(self, call: StepCall) -> Outcome:
        """Pickle ``call``, submit it, and answer for modules the workers lack."""
        dynamic = _dumps_data(call)
        for _ in range(self._MAX_MODULE_RETRIES):
            token, static = self._static(call)
            outcome = await self.submit(call, token, static, dynamic)
            if outcome.kind != MISSING:
                return outcome
            module, message = outcome.value
            if not _send_by_value(module):
                raise ModuleNotFoundError(
                    f"step '{call.path}' cannot be loaded on the worker: {message}. Install "
                    "that module on the workers (the same environment as the driver)",
                    name=module)
            self._packed.pop(call.step, None)
        raise ModuleNotFoundError(f"step '{call.path}' cannot be loaded on the worker: too "
                                  "many modules missing there")

    def _static(self, call: StepCall) -> tuple[str, bytes]:
        packed = self._packed.get(call.step)
        if packed is not None and all(a is b for a, b in zip(packed[0], call.schemas,
                                                             strict=True)):
            return packed[1], packed[2]
        blob = _dumps((call.step.execute, call.names, call.schemas), call.path,
                      "its function or schemas")
        token = hashlib.sha256(blob).hexdigest()[:32]
        self._packed[call.step] = (call.schemas, token, blob)
        return token, blob


def _dumps_data(call: StepCall) -> bytes:
    """Pickle ``call.data``; when that fails, name the parameter whose value cannot be."""
    try:
        return _dumps(call.data, call.path, "its parameters")
    except TypeError:
        for name, value in call.data.items():
            _dumps(value, call.path, f"its {name}")
        raise


def _dumps(value: Any, path: str, what: str) -> bytes:
    try:
        import cloudpickle
    except ImportError as exc:  # pragma: no cover - installed with flownb[dask]
        raise ImportError("remote executors need cloudpickle: pip install 'flownb[dask]'") \
            from exc
    try:
        return cloudpickle.dumps(value)  # type: ignore[no-any-return]
    except Exception as exc:
        raise TypeError(f"step '{path}' cannot be sent to a worker: {what} cannot be "
                        f"pickled ({type(exc).__name__}: {exc})") from exc


_by_value: set[str] = set()
_by_value_lock = threading.Lock()


def _send_by_value(name: str | None) -> bool:
    """Pickle module ``name`` (or its top package) by value from now on, when it is the
    user's own source code; False when that cannot help."""
    if not name:
        return False
    module = sys.modules.get(name) or sys.modules.get(name.split(".", 1)[0])
    if module is None or not _is_own_source(module):
        return False
    with _by_value_lock:
        if module.__name__ in _by_value:
            return False  # already sent by value: the worker lacks something else
        import cloudpickle

        cloudpickle.register_pickle_by_value(module)
        _by_value.add(module.__name__)
    return True


def _is_own_source(module: ModuleType) -> bool:
    """A module loaded from a .py file outside the standard library and site-packages."""
    file = getattr(module, "__file__", None)
    if not file or not file.endswith(".py"):
        return False
    path = Path(file).resolve()
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    roots.update(site.getsitepackages())
    roots.add(site.getusersitepackages())
    return not any(path.is_relative_to(Path(r).resolve()) for r in roots if r)
