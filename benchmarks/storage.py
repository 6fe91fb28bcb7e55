"""Storage rows: a large value passed along a chain of steps, on disk and in time.

One string (10.5 MB; 1 MB with ``--quick``) goes through three steps that return it
unchanged, on an ``SQLiteStore``: it is the run's input, each step's payload and output,
and the result, eight places in all. The file, checkpointed (``PRAGMA
wal_checkpoint(TRUNCATE)``), is measured against the distinct bytes (the value's JSON
text, once), and the run's time against one SQLite commit of that text.

PostgreSQL rows run only when ``FLOWNB_BENCH_PG`` holds a conninfo (a database the rows may
fill with tables and runs; a local server: ``tests/postgres_server.py`` starts one): a
100-step chain on ``PostgresStore`` against one PostgreSQL commit of a small row per step,
and 100 runs x 10 steps started together against the same runs one by one (group commit), and
a suspended run reattached by id and resumed to the end, beside one commit.

A watcher of an idle stored run (``storage.base.watch_versions``, what ``RunView(run_id)``
and ``flownb watch`` follow a run with): the process's CPU time over a few seconds of
watching, as a share of one core, beside an event loop that only sleeps as long.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from flownb import create_step, create_workflow
from flownb.storage import SQLiteStore
from flownb.storage.base import watch_versions

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


def _postgres_rows(quick: bool) -> list[Row]:
    import os
    import statistics
    from functools import partial

    conninfo = os.environ.get("FLOWNB_BENCH_PG", "").strip()
    labels = ("100-step chain, PostgreSQL store", "100 runs x 10 steps started together, "
              "PostgreSQL", "suspend -> resume round trip, PostgreSQL")
    if not conninfo:
        note = "n/a: set FLOWNB_BENCH_PG to a PostgreSQL conninfo to run"
        return [Row(label, "ms" if "resume" in label else "us/step", [], note=note)
                for label in labels]
    import psycopg

    from flownb.storage.postgres import PostgresStore

    from .core import chain, per_step, runs_per_step, suspend_resume_ms

    reps = 3 if quick else 15
    store = PostgresStore(conninfo)
    conn = psycopg.connect(conninfo, autocommit=True)
    conn.execute("CREATE TABLE IF NOT EXISTS flownb_bench_floor (k text PRIMARY KEY, v text)")

    async def floor(n: int) -> float:
        """One commit per step: an autocommit upsert of a small row."""
        t = time.perf_counter()
        for i in range(n):
            conn.execute("INSERT INTO flownb_bench_floor VALUES (%s, %s) ON CONFLICT (k) "
                         "DO UPDATE SET v = excluded.v", (f"s{i}", '{"n": 1}'))
        return (time.perf_counter() - t) / n * 1e6

    try:
        wf = chain(100, store, id="pg-chain-100")
        got, base = paired(lambda: per_step(wf, 100), lambda: floor(100), reps)
        many = chain(10, store, id="pg-chain-10")
        together, alone = paired(partial(runs_per_step, many, 100, 10, together=True),
                                 partial(runs_per_step, many, 100, 10, together=False),
                                 2 if quick else 5)
        resumed, commit = paired(lambda: suspend_resume_ms(store),  # type: ignore[arg-type]
                                 lambda: floor(20), reps)
    finally:
        conn.close()
        store.close()
    gain = statistics.median(alone) / statistics.median(together)
    return [
        Row(labels[0], "us/step", got, "1 commit/step", base, "<= 1.5x floor"),
        Row(labels[1], "us/step", together, "same runs one by one", alone,
            ">= 4x the one-by-one throughput", note=f"now {gain:.1f}x (group commit)"),
        Row(labels[2], "ms", resumed, "1 commit", [c / 1e3 for c in commit], "<= 3 ms"),
    ]


def rows(quick: bool) -> list[Row]:
    return [*_sqlite_rows(quick), _idle_watch_row(quick), *_postgres_rows(quick)]


async def _cpu_share(seconds: float, watch: Any = None) -> float:
    """% of one core this process used over ``seconds`` of wall time: watching, or idle."""
    task = asyncio.ensure_future(_drain(watch)) if watch is not None else None
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    used = (time.process_time() - cpu) / (time.perf_counter() - wall) * 100
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return used


async def _drain(versions: Any) -> None:
    async for _ in versions:
        raise AssertionError("the idle run changed")


def _idle_watch_row(quick: bool) -> Row:
    seconds, reps = (1.0, 2) if quick else (4.0, 5)
    with tempfile.TemporaryDirectory(prefix="flownb-bench-") as tmp:
        store = SQLiteStore(Path(tmp) / "idle.db")
        try:
            wf = create_workflow(id="idle", input_schema=str, output_schema=str,
                                 storage=store).then(
                create_step(id="same", input_schema=str, output_schema=str, execute=_same))
            run = wf.commit().create_run()
            asyncio.run(run.start("x"))
            version = store.version_of(run.run_id)
            got, floor = paired(
                lambda: _cpu_share(seconds, watch_versions(store, run.run_id, version)),
                lambda: _cpu_share(seconds), reps, warm_up=False)
        finally:
            store.close()
    return Row("watching an idle run, SQLite (4 checks a second)", "% of a core", got,
               "a loop that only sleeps", floor, "<= 1% of a core", show_ratio=False)


def _sqlite_rows(quick: bool) -> list[Row]:
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
