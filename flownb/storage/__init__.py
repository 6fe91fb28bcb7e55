"""Where runs are kept: an abstract ``Store`` of JSON ``Snapshot``s and its backends.

``MemoryStore()`` keeps runs in this process; ``SQLiteStore(path)`` keeps them in an
SQLite file (WAL), shared safely by threads and processes, so a suspended run can be
resumed by another process; ``PostgresStore(conninfo)`` keeps them in a PostgreSQL
database that a team shares (``pip install flownb[postgres]``; psycopg is imported only
when the name is first used). All apply every update as a compare-and-swap on the run's
version: of two concurrent resumes, one wins and the other raises ``ConcurrentRunError``.
``store.update_many([Update(...), ...])`` applies the updates of many runs at once, each
with its own check (``SQLiteStore``: one transaction, one commit).

>>> from flownb.storage import SQLiteStore, Snapshot
>>> store = SQLiteStore(":memory:")          # or SQLiteStore(".flownb/runs.db")
>>> store.insert(Snapshot(run_id="r1", workflow_id="greet", status="running", version=1,
...                       created_at=0.0, updated_at=0.0, input={"name": "Ada"}, graph={}))
>>> store.update("r1", expected_version=1, status="suspended", updated_at=1.0,
...              meta={"suspended_paths": [["approve"]]})
2
>>> [(info.run_id, info.status, info.suspended) for info in store.list_runs()]
[('r1', 'suspended', [['approve']])]
>>> store.close()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import Snapshot, Store, Update
from .memory import MemoryStore
from .sqlite import SQLiteStore

if TYPE_CHECKING:
    from .postgres import PostgresStore

__all__ = ["MemoryStore", "PostgresStore", "SQLiteStore", "Snapshot", "Store", "Update"]


def __getattr__(name: str) -> Any:
    """``PostgresStore`` loads psycopg: only when it is asked for."""
    if name == "PostgresStore":
        try:
            from .postgres import PostgresStore
        except ImportError as exc:
            if exc.name not in ("psycopg", "psycopg_pool"):
                raise
            raise ImportError(
                f"PostgresStore needs psycopg 3 and psycopg_pool ({exc.name} is missing): "
                "pip install 'flownb[postgres]'", name=exc.name) from exc
        return PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
