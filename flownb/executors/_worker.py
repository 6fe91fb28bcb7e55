"""The worker side of a remote step execution: unpickling, then ``core.remote``.

A remote executor ships ``run_call`` with two blobs: the *static* part of a step (its
function, parameter names and schemas; pickled once per step with cloudpickle) and the
*dynamic* part of one execution (each parameter's plain data). ``run_call`` loads them
(the static part once per worker process) and hands them to
:func:`flownb.core.remote.run_on_worker`, which rebuilds the parameters, calls the function
and answers with an ``Outcome``; a module the worker cannot import is reported as
``MISSING`` so that the driver can send its code by value and try again.

This module imports only the standard library, pydantic and flownb's core, because it is
imported on every worker.
"""

from __future__ import annotations

import collections
import pickle
import threading
from typing import Any

from ..core.executor import MISSING, Outcome
from ..core.remote import run_on_worker

__all__ = ["Outcome", "run_call"]

_CACHE_SIZE = 256
_static_cache: collections.OrderedDict[str, tuple[Any, ...]] = collections.OrderedDict()
_lock = threading.Lock()


def run_call(token: str, static: bytes, dynamic: bytes) -> Outcome:
    """Run one step execution on this worker (the function a remote executor ships)."""
    try:
        fn, names, schemas = _load_static(token, static)
        data = pickle.loads(dynamic)
    except ModuleNotFoundError as exc:
        # The driver may be able to send that module's code by value and try again.
        return Outcome(MISSING, (exc.name, str(exc)), {})
    return run_on_worker(fn, names, schemas, data)


def _load_static(token: str, static: bytes) -> tuple[Any, ...]:
    """Unpickle a step's static part once per worker process (an LRU by content token)."""
    with _lock:
        hit = _static_cache.get(token)
        if hit is not None:
            _static_cache.move_to_end(token)
            return hit
    loaded: tuple[Any, ...] = pickle.loads(static)
    with _lock:
        _static_cache[token] = loaded
        while len(_static_cache) > _CACHE_SIZE:
            _static_cache.popitem(last=False)
    return loaded
