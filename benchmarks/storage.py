"""Storage rows: a large value passed along a chain of steps, on disk and in time.

One string (10.5 MB; 1 MB with ``--quick``) goes through three steps that return it
unchanged, on an ``SQLiteStore``: it is the run's input, each step's payload and output,
and the result, eight places in all. The file, checkpointed (``PRAGMA
wal_checkpoint(TRUNCATE)``), is measured against the distinct bytes (the value's JSON
text, once), and the run's time against one SQLite commit of that text.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from pathlib import Path

from flownb import create_step, create_workflow
from flownb.storage import SQLiteStore

from .common import Row, paired

__all__ = ["rows"]

MB = 1e6


def _same(input_data: str) -> str:
    return input_data


async def _chain_run(text: str, sizes: list[float]) -> float:
    """ms of one run of the three-step chain on a fresh file; its size goes to ``sizes``."""
    with tempfile.TemporaryDirectory(prefix="flownb-bench-") as tmp:
        path = Path(tmp) / "runs.db"
        store = SQLiteStore(path)
        wf = create_workflow(id="pass-along", input_schema=str, output_schema=str,
                             storage=store)
        for i in range(3):
            wf.then(create_step(id=f"same{i}", input_schema=str, output_schema=str,
                                execute=_same))
        wf.commit()
        t = time.perf_counter()
        result = await wf.create_run().start(text)
        elapsed = time.perf_counter() - t
        assert result.result == text
        store.close()
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        sizes.append(path.stat().st_size / MB)
    return elapsed * 1e3


async def _one_commit(text: str) -> float:
    """ms of one SQLite commit (WAL, synchronous=NORMAL) of ``text`` into a fresh file."""
    with tempfile.TemporaryDirectory(prefix="flownb-bench-") as tmp:
        conn = sqlite3.connect(Path(tmp) / "floor.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
        t = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t VALUES (?, ?)", ("value", text))
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - t
        conn.close()
    return elapsed * 1e3


def rows(quick: bool) -> list[Row]:
    size = 1_000_000 if quick else 10_500_000
    reps = 2 if quick else 7
    text = "x" * size
    distinct = len(json.dumps(text)) / MB
    sizes: list[float] = []
    got, floor = paired(lambda: _chain_run(text, sizes), lambda: _one_commit(text), reps)
    sizes = sizes[-reps:]  # without the warm-up run's
    label = f"{size / MB:g} MB string through 3 steps, SQLite"
    return [
        Row(f"each value stored once: {label}", "MB", sizes, "distinct bytes",
            [distinct] * len(sizes), "<= 1.1x"),
        Row(f"  time of that run ({label})", "ms", got, "1 commit of the value", floor),
    ]


if __name__ == "__main__":  # a quick look: python -m benchmarks.storage
    from .common import text_table

    print(text_table(rows(quick=True)))
