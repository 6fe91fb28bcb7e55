"""The engine's rows: step overhead, SQLite persistence, foreach, suspend/resume, import."""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import flownb
from flownb import create_step, create_workflow
from flownb.storage import SQLiteStore

from .common import Row, paired, python_ms, repeat

__all__ = ["Num", "chain", "foreach_ms", "foreach_wf", "per_step", "rows"]


class Num(BaseModel):
    n: int


def chain(n: int, storage: Any, *, id: str | None = None) -> flownb.Workflow:
    """``n`` trivial async steps in a row, each validating ``Num`` in and out."""

    async def inc(input_data: Num) -> dict[str, int]:
        return {"n": input_data.n + 1}

    wf = create_workflow(id=id or f"chain-{n}", input_schema=Num, output_schema=Num,
                         storage=storage)
    for i in range(n):
        wf.then(create_step(id=f"s{i}", input_schema=Num, output_schema=Num, execute=inc))
    return wf.commit()


async def per_step(wf: flownb.Workflow, n: int) -> float:
    """µs per step of one run of ``chain(n)``."""
    t = time.perf_counter()
    result = await wf.create_run().start({"n": 0})
    assert result.result.n == n
    return (time.perf_counter() - t) / n * 1e6


async def floor_plain(n: int) -> float:
    async def inc(x: int) -> int:
        return x + 1

    t = time.perf_counter()
    x = 0
    for _ in range(n):
        x = await inc(x)
    return (time.perf_counter() - t) / n * 1e6


async def floor_pydantic(n: int) -> float:
    async def inc(x: Num) -> dict[str, int]:
        return {"n": x.n + 1}

    t = time.perf_counter()
    x = Num(n=0)
    for _ in range(n):
        x = Num.model_validate(await inc(Num.model_validate(x)))
    return (time.perf_counter() - t) / n * 1e6


async def floor_sqlite(n: int, path: Path) -> float:
    """One SQLite commit per step: WAL, ``synchronous=NORMAL``, a small upsert each."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v TEXT)")
    t = time.perf_counter()
    for i in range(n):
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT OR REPLACE INTO t VALUES (?, ?)", (f"s{i}", '{"n": 1}'))
        con.execute("COMMIT")
    elapsed = (time.perf_counter() - t) / n * 1e6
    con.close()
    return elapsed


async def runs_per_step(wf: flownb.Workflow, runs: int, steps: int, *,
                        together: bool) -> float:
    """µs per step of ``runs`` runs of ``chain(steps)``: started together (``gather``) or
    one after another."""
    t = time.perf_counter()
    if together:
        results = await asyncio.gather(*(wf.create_run().start({"n": 0}) for _ in range(runs)))
    else:
        results = [await wf.create_run().start({"n": 0}) for _ in range(runs)]
    assert all(r.status == "success" and r.result.n == steps for r in results)
    return (time.perf_counter() - t) / (runs * steps) * 1e6


def foreach_wf(concurrency: int, sleep: float, *, id: str = "fan-out",
               yield_each: bool = False, storage: Any = False) -> flownb.Workflow:
    """A foreach over ``Num`` items, without persistence unless ``storage`` is a store.
    Items sleep ``sleep`` seconds, or yield to the loop once when ``yield_each``."""

    async def work(input_data: Num) -> dict[str, int]:
        if sleep or yield_each:
            await asyncio.sleep(sleep)
        return {"n": input_data.n * 2}

    item = create_step(id="item", input_schema=Num, output_schema=Num, execute=work)
    return (create_workflow(id=id, input_schema=list[Num], output_schema=list[Num],
                            storage=storage)
            .foreach(item, concurrency=concurrency).commit())


async def foreach_ms(wf: flownb.Workflow, items: int) -> float:
    data = [{"n": i} for i in range(items)]
    t = time.perf_counter()
    result = await wf.create_run().start(data)
    assert len(result.result) == items
    return (time.perf_counter() - t) * 1e3


async def floor_gather(items: int, concurrency: int, sleep: float) -> float:
    sem = asyncio.Semaphore(concurrency)

    async def work(x: int) -> int:
        async with sem:
            if sleep:
                await asyncio.sleep(sleep)
            return x * 2

    t = time.perf_counter()
    await asyncio.gather(*(work(i) for i in range(items)))
    return (time.perf_counter() - t) * 1e3


class _Ok(BaseModel):
    ok: bool


async def suspend_resume_ms(store: SQLiteStore) -> float:
    """Reattach a suspended run by id and resume it to the end (a sync step, so the
    resumed step runs in the loop's worker thread)."""

    def gate(input_data: Num, resume_data: _Ok | None, suspend: Any) -> Any:
        return input_data if resume_data else suspend(None)

    step = create_step(id="gate", input_schema=Num, output_schema=Num, resume_schema=_Ok,
                       execute=gate)
    wf = create_workflow(id="hitl", input_schema=Num, output_schema=Num,
                         storage=store).then(step).commit()
    run = wf.create_run()
    await run.start({"n": 1})
    # `repeat` gives each repetition a fresh event loop, whose default executor would
    # start its worker thread inside the timing (~0.2 ms); a notebook's loop has one.
    await asyncio.to_thread(int)
    t = time.perf_counter()
    result = await wf.create_run(run_id=run.run_id).resume({"ok": True})
    assert result.status == "success"
    return (time.perf_counter() - t) * 1e3


def import_ms(module: str, then: str = "") -> float:
    return python_ms(f"import time; t=time.perf_counter(); import {module}; {then or 'pass'}; "
                     "print(time.perf_counter()-t)")


def rows(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="flownb-bench-") as tmp:
        return _rows(quick, Path(tmp))


def _rows(quick: bool, tmp: Path) -> list[Row]:
    # These rows take milliseconds a run: many runs make their medians steady on a busy
    # machine, and figures alternate with their floors (`paired`).
    reps = 3 if quick else 41
    n = 100
    out: list[Row] = []

    mem_chain = chain(n, False)
    got, floor = paired(lambda: per_step(mem_chain, n), lambda: floor_pydantic(n), reps)
    out.append(Row("100-step chain, no persistence", "us/step", got,
                   "async + pydantic in/out", floor, "<= 2x floor"))
    out.append(Row("  (floor) plain async", "us/step", repeat(lambda: floor_plain(n), reps)))
    # Where a SQLite chain step goes (callgrind, 2026-12-06; instructions per step, GC
    # off): ~262k, of which the engine ~29k, SQLite and its driver ~85k (BEGIN IMMEDIATE,
    # the header's compare-and-swap, one upsert of the finished and the starting step's
    # records, COMMIT: two B-tree leaf pages, as the floor's two), and the recording in
    # Python the rest: events and the recorder ~95k (to_stored of the output ~12k), the
    # store's encoding (two records through pydantic-core, ~12k each) and calls ~50k. The
    # floor is ~51k. Before: ~336k (an insert and a rewrite statement per record, each an
    # executemany; a cursor made per statement; the frozen Update's __init__ ~17k).
    chain_store = SQLiteStore(tmp / "chain.db")
    sqlite_chain = chain(n, chain_store)
    got, floor = paired(lambda: per_step(sqlite_chain, n),
                        lambda: floor_sqlite(n, tmp / "floor.db"), reps)
    out.append(Row("100-step chain, SQLite store", "us/step", got, "1 commit/step", floor,
                   "<= 1.5x floor"))
    chain_store.close()
    # Started together, every step of the 100 runs shares one commit (update_many gets
    # batches of 100). Run ids are time-ordered (UUID 7), so the 100 runs' records share
    # B-tree pages and a commit writes a few pages, not one per run (with random ids the
    # store took ~46 us a step together, now ~20); what is left is the recording in
    # Python, per step whatever the batching (~16 us), hence ~2.5x, not 4x.
    many_store = SQLiteStore(tmp / "many.db")
    many = chain(10, many_store, id="chain-10")
    together, alone = paired(partial(runs_per_step, many, 100, 10, together=True),
                             partial(runs_per_step, many, 100, 10, together=False),
                             3 if quick else 9)
    gain = statistics.median(alone) / statistics.median(together)
    out.append(Row("100 runs x 10 steps started together, SQLite", "us/step", together,
                   "same runs one by one", alone, ">= 4x the one-by-one throughput",
                   note=f"now {gain:.1f}x (group commit)"))
    many_store.close()
    fe = foreach_wf(10, 0)
    got, floor = paired(lambda: foreach_ms(fe, 1000), lambda: floor_gather(1000, 10, 0), reps)
    out.append(Row("foreach 1,000 trivial items, conc. 10", "ms", got, "gather+semaphore",
                   floor, "<= 15 ms"))
    # The same foreach on the default store: every item stored before its worker's next
    # item starts. The items of the ten workers that finish in one loop turn share one
    # commit (~100 commits; one per item, 1,000, until 2026-12-07: 2x slower).
    fe_store = SQLiteStore(tmp / "foreach.db")
    durable = foreach_wf(10, 0, id="fan-out-stored", storage=fe_store)
    got, floor = paired(lambda: foreach_ms(durable, 1000), lambda: foreach_ms(fe, 1000), reps)
    out.append(Row("foreach 1,000 trivial items, conc. 10, SQLite store", "ms", got,
                   "no persistence", floor))
    fe_store.close()
    items = 50 if quick else 200
    serial = 0.0
    for conc in (1, 10, 50):
        wf = foreach_wf(conc, 0.01)
        times = 1 if quick else 3
        # no warm-up run: the rows above warmed every cache these runs touch
        got, floor = paired(partial(foreach_ms, wf, items),
                            partial(floor_gather, items, conc, 0.01), times, warm_up=False)
        serial = serial or statistics.median(got)
        speedup = serial / statistics.median(got) / conc
        out.append(Row(f"foreach {items} x 10 ms sleep, conc. {conc}", "ms", got,
                       "gather+semaphore", floor, ">= 0.9 x ideal speed-up",
                       note=f"now {speedup:.2f}"))
    store = SQLiteStore(tmp / "hitl.db")
    out.append(Row("suspend -> resume round trip, SQLite", "ms",
                   repeat(lambda: suspend_resume_ms(store), reps), goal="<= 1 ms"))
    store.close()
    fresh = 1 if quick else 9  # each one a new interpreter
    imp = [import_ms("flownb") for _ in range(fresh)]
    out.append(Row("import flownb (fresh process)", "ms", imp, "import pydantic",
                   [import_ms("pydantic") for _ in range(fresh)], "<= 120 ms"))
    # flownb's names load lazily; the first workflow pays for pydantic and asyncio.
    first = ("flownb.create_workflow(id='w').then(flownb.create_step(id='s', "
             "input_schema=int, output_schema=int, execute=lambda input_data: 1)).commit()")
    out.append(Row("import flownb + build a workflow", "ms",
                   [import_ms("flownb", first) for _ in range(fresh)], "pydantic BaseModel",
                   [import_ms("pydantic", "pydantic.BaseModel") for _ in range(fresh)]))
    return out
