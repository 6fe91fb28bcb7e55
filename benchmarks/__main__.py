"""flownb core benchmarks: every figure beside a floor measured in the same run.

    python -m benchmarks            # full run (~30 s)
    python -m benchmarks --quick    # a few seconds: smoke test, same rows

Prints a table: median (min-max) of repeated runs, and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel

import flownb
from flownb import create_step, create_workflow
from flownb.storage import SQLiteStore

from .common import Row, repeat


class Num(BaseModel):
    n: int


def chain(n: int, storage: object) -> flownb.Workflow:
    async def inc(input_data: Num) -> dict[str, int]:
        return {"n": input_data.n + 1}

    wf = create_workflow(id=f"chain-{n}", input_schema=Num, output_schema=Num,
                         storage=storage)  # type: ignore[arg-type]
    for i in range(n):
        wf.then(create_step(id=f"s{i}", input_schema=Num, output_schema=Num, execute=inc))
    return wf.commit()


async def per_step(wf: flownb.Workflow, n: int) -> float:
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


def foreach_wf(concurrency: int, sleep: float) -> flownb.Workflow:
    async def work(input_data: Num) -> dict[str, int]:
        if sleep:
            await asyncio.sleep(sleep)
        return {"n": input_data.n * 2}

    item = create_step(id="item", input_schema=Num, output_schema=Num, execute=work)
    return (create_workflow(id="fan-out", input_schema=list[Num], output_schema=list[Num],
                            storage=False)
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


async def suspend_resume_ms(store: SQLiteStore) -> float:
    class Ok(BaseModel):
        ok: bool

    def gate(input_data: Num, resume_data: Ok | None, suspend):  # type: ignore[no-untyped-def]
        return input_data if resume_data else suspend(None)

    step = create_step(id="gate", input_schema=Num, output_schema=Num, resume_schema=Ok,
                       execute=gate)
    wf = create_workflow(id="hitl", input_schema=Num, output_schema=Num,
                         storage=store).then(step).commit()
    run = wf.create_run()
    await run.start({"n": 1})
    t = time.perf_counter()
    result = await wf.create_run(run_id=run.run_id).resume({"ok": True})
    assert result.status == "success"
    return (time.perf_counter() - t) * 1e3


def import_ms(module: str, then: str = "") -> float:
    code = (f"import time; t=time.perf_counter(); import {module}; {then or 'pass'}; "
            "print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return float(out.stdout) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few repetitions (smoke test)")
    args = parser.parse_args(argv)
    reps = 3 if args.quick else 15
    n = 100
    tmp = Path(tempfile.mkdtemp(prefix="flownb-bench-"))
    rows: list[Row] = []

    mem_chain = chain(n, False)
    rows.append(Row("100-step chain, no persistence", "us/step",
                    repeat(lambda: per_step(mem_chain, n), reps), "plain async",
                    repeat(lambda: floor_plain(n), reps), "<= 8 us/step"))
    rows.append(Row("  (floor) async + pydantic in/out", "us/step",
                    repeat(lambda: floor_pydantic(n), reps)))
    sqlite_chain = chain(n, SQLiteStore(tmp / "chain.db"))
    rows.append(Row("100-step chain, SQLite store", "us/step",
                    repeat(lambda: per_step(sqlite_chain, n), reps), "1 commit/step",
                    repeat(lambda: floor_sqlite(n, tmp / "floor.db"), reps), "<= 150 us/step"))
    fe = foreach_wf(10, 0)
    rows.append(Row("foreach 1,000 trivial items, conc. 10", "ms",
                    repeat(lambda: foreach_ms(fe, 1000), reps), "gather+semaphore",
                    repeat(lambda: floor_gather(1000, 10, 0), reps), "<= 15 ms"))
    items = 50 if args.quick else 200
    serial = 0.0
    for conc in (1, 10, 50):
        wf = foreach_wf(conc, 0.01)
        times = 1 if args.quick else 3
        got = repeat(lambda wf=wf: foreach_ms(wf, items), times)
        floor = repeat(lambda conc=conc: floor_gather(items, conc, 0.01), times)
        serial = serial or statistics.median(got)
        speedup = serial / statistics.median(got) / conc
        rows.append(Row(f"foreach {items} x 10 ms sleep, conc. {conc}", "ms", got,
                        "gather+semaphore", floor,
                        f">= 0.9 x ideal speed-up (now {speedup:.2f})"))
    store = SQLiteStore(tmp / "hitl.db")
    rows.append(Row("suspend -> resume round trip, SQLite", "ms",
                    repeat(lambda: suspend_resume_ms(store), reps), goal="<= 1 ms"))
    imp = [import_ms("flownb") for _ in range(reps)]
    rows.append(Row("import flownb (fresh process)", "ms", imp, "import pydantic",
                    [import_ms("pydantic") for _ in range(reps)], "<= 120 ms"))
    # flownb's names load lazily; the first workflow pays for pydantic and asyncio.
    first = "flownb.create_workflow(id='w').then(flownb.create_step(id='s', " \
            "input_schema=int, output_schema=int, execute=lambda input_data: 1)).commit()"
    rows.append(Row("import flownb + build a workflow", "ms",
                    [import_ms("flownb", first) for _ in range(reps)],
                    "pydantic BaseModel",
                    [import_ms("pydantic", "pydantic.BaseModel") for _ in range(reps)]))

    header = ["measure", "median", "min-max", "floor (median)", "ratio", "goal"]
    table = [header] + [r.cells() for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for k, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
