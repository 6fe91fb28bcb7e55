"""Global configuration: ``configure()`` and the default store.

The store a workflow's runs go to is, in order: the workflow's own ``storage=``; the one
given to ``flownb.configure(storage=...)``; the ``FLOWNB_STORAGE`` environment variable
(a path, ``:memory:``, or a PostgreSQL URI ``postgresql://…`` / ``postgres://…``, which
selects ``PostgresStore``); else ``SQLiteStore(".flownb/runs.db")`` in the working directory.
``storage=False`` (per workflow or in ``configure``) keeps runs in memory only.

The executor a workflow's steps run on is its own ``executor=`` (or a foreach's), else the
one given to ``flownb.configure(executor=...)``, else the local executor. That default is
kept in ``flownb.core.executor``, where the engine reads it when a run starts: this module
sets it, so the import points down. The default of step reuse (``cache=``) is kept the same
way, in ``flownb.core.reuse``.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.executor import Executor, default_executor, set_default_executor
from .core.reuse import set_default_cache

if TYPE_CHECKING:
    from .storage.base import Store

__all__ = ["DEFAULT_PATH", "configure", "default_executor", "resolve_store"]

DEFAULT_PATH = ".flownb/runs.db"
_UNSET: Any = object()
_configured: Any = _UNSET
_lock = threading.Lock()
_sqlite_stores: dict[str, Store] = {}
_postgres_stores: dict[str, Store] = {}
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_memory_store: Store | None = None


def configure(*, storage: Store | str | bool | None = _UNSET,
              executor: Executor | None = _UNSET, cache: bool | None = _UNSET) -> None:
    """Set process-wide defaults; a keyword left out keeps its current setting.

    ``storage``: a ``Store``, a path to an SQLite file, ``":memory:"``, a PostgreSQL URI
    (``"postgresql://user@host/db"``: a ``PostgresStore``), ``False`` (no persistence) or
    ``None`` (back to the environment/default).
    ``executor``: where steps run unless a workflow or foreach says otherwise, e.g.
    ``DaskExecutor(client)``; ``None`` goes back to the local executor.
    ``cache``: reuse earlier executions of steps whose code and input did not change
    (SPEC §3d) unless a step or workflow says otherwise; ``None`` or ``False``: off.

    >>> import flownb
    >>> flownb.configure(storage=":memory:")
    """
    global _configured
    if executor is not _UNSET:
        set_default_executor(executor)
    if cache is not _UNSET:
        if cache is not None and not isinstance(cache, bool):
            raise TypeError(f"configure(cache=...) takes True, False or None, not {cache!r}")
        set_default_cache(bool(cache))
    if storage is _UNSET:
        return
    if isinstance(storage, (str, Path)):
        storage = _store_for(str(storage))
    _configured = _UNSET if storage is None else storage


def resolve_store(explicit: Store | bool | None) -> Store | None:
    """The store for a workflow whose own setting is ``explicit``."""
    if explicit is False:
        return None
    if explicit is not None and explicit is not True:
        return explicit
    if _configured is not _UNSET:
        return None if _configured is False else _configured
    env = os.environ.get("FLOWNB_STORAGE", "").strip()
    return _store_for(env or DEFAULT_PATH)


def _store_for(spec: str) -> Store:
    global _memory_store
    with _lock:
        if spec == ":memory:":
            if _memory_store is None:
                from .storage.memory import MemoryStore

                _memory_store = MemoryStore()
            return _memory_store
        if spec.startswith(_POSTGRES_SCHEMES):
            store = _postgres_stores.get(spec)
            if store is None:
                from .storage import postgres  # psycopg: loaded only for this

                store = _postgres_stores[spec] = postgres.PostgresStore(spec)
            return store
        path = str(Path(spec).expanduser().resolve())
        store = _sqlite_stores.get(path)
        if store is None:
            from .storage.sqlite import SQLiteStore

            store = _sqlite_stores[path] = SQLiteStore(path)
        return store
