"""Where runs are kept: an abstract ``Store`` of JSON ``Snapshot``s and two backends.

``MemoryStore()`` keeps runs in this process; ``SQLiteStore(path)`` keeps them in an
SQLite file (WAL), shared safely by threads and processes, so a suspended run can be
resumed by another process. Both apply every update as a compare-and-swap on the run's
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

from .base import Snapshot, Store, Update
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["MemoryStore", "SQLiteStore", "Snapshot", "Store", "Update"]
