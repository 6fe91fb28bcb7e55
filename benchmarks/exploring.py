"""Exploring's rows (SPEC §3d, issue 17): reuse is never the slow path, a miss costs little,
an edited pipeline re-runs in a fraction of the time, a plan is quick.

* A fully reused 100-step SQLite chain beside the same chain executed (goal: no slower).
* The same chain with reuse on where every step misses (each run has a new input), beside
  reuse off (goal: at most 15 % more per step).
* Notebook 07's pipeline (one slow step among six) re-run after editing its last step, with
  reuse, beside the same re-run without reuse (goal: at least 10x faster).
* ``wf.plan`` of a 100-step workflow whose steps are all reusable (goal: at most 20 ms),
  beside one run of that chain without persistence.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from pathlib import Path
from typing import Any

import flownb
from flownb import create_step, create_workflow
from flownb.storage import SQLiteStore

from .common import Row, paired
from .core import Num, chain, per_step

__all__ = ["rows"]

STEPS = 100


def _chain(n: int, store: Any, *, cache: bool, id: str) -> flownb.Workflow:
    wf = chain(n, store, id=id)
    wf.cache = cache
    return wf


async def _run_ms(wf: flownb.Workflow, value: Any) -> float:
    t = time.perf_counter()
    result = await wf.create_run().start(value)
    assert result.status == "success", result.error
    return (time.perf_counter() - t) * 1e3


def _pipeline(store: Any, slow: float, factor: int, *, cache: bool) -> flownb.Workflow:
    """Notebook 07's shape: fetch (slow) → clean → score → rank → summarize → report; the
    last step's code reads ``factor`` (a closure value: editing it edits that step)."""

    async def fetch(input_data: Num) -> Num:
        await asyncio.sleep(slow)
        return Num(n=input_data.n + 1)

    async def light(input_data: Num) -> Num:
        return Num(n=input_data.n + 1)

    async def report(input_data: Num) -> Num:
        return Num(n=input_data.n * factor)

    wf = create_workflow(id="pipeline", input_schema=Num, output_schema=Num, storage=store,
                         cache=cache)
    wf.then(create_step(id="fetch", input_schema=Num, output_schema=Num, execute=fetch))
    for name in ("clean", "score", "rank", "summarize"):
        wf.then(create_step(id=name, input_schema=Num, output_schema=Num, execute=light))
    wf.then(create_step(id="report", input_schema=Num, output_schema=Num, execute=report))
    return wf.commit()


def rows(quick: bool) -> list[Row]:
    reps = 3 if quick else 9
    slow = 0.05 if quick else 0.3
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "runs.db")
        try:
            return _rows(store, reps, slow)
        finally:
            store.close()


def _rows(store: SQLiteStore, reps: int, slow: float) -> list[Row]:
    reused_wf = _chain(STEPS, store, cache=True, id="reused")
    asyncio.run(per_step(reused_wf, STEPS))  # fills the cache: every later run reuses all
    plain_wf = _chain(STEPS, store, cache=False, id="plain")
    reused, executed = paired(lambda: per_step(reused_wf, STEPS),
                              lambda: per_step(plain_wf, STEPS), reps)

    counter = itertools.count(1_000)  # a new input each run: every step misses

    async def missing() -> float:
        t = time.perf_counter()
        result = await miss_wf.create_run().start({"n": next(counter)})
        assert result.status == "success" and result.steps["s0"].cached_from is None
        return (time.perf_counter() - t) / STEPS * 1e6

    miss_wf = _chain(STEPS, store, cache=True, id="miss")
    miss, off = paired(missing, lambda: per_step(plain_wf, STEPS), reps)

    first = _pipeline(store, slow, 2, cache=True)
    asyncio.run(_run_ms(first, {"n": 0}))
    edits = itertools.count(3)

    async def rerun(cache: bool) -> float:
        edited = _pipeline(store, slow, next(edits), cache=cache)  # the last step edited
        return await _run_ms(edited, {"n": 0})

    with_reuse, without = paired(lambda: rerun(True), lambda: rerun(False), reps)

    plan_ms: list[float] = []
    run_ms: list[float] = []
    free = _chain(STEPS, False, cache=False, id="free")
    for _ in range(reps + 1):
        t = time.perf_counter()
        plan = reused_wf.plan({"n": 0})
        plan_ms.append((time.perf_counter() - t) * 1e3)
        assert all(item.status == "reuse" for item in plan.values())
        run_ms.append(asyncio.run(_run_ms(free, {"n": 0})))
    return [
        Row(f"fully reused {STEPS}-step chain, SQLite", "µs/step", reused,
            "executing it", executed, "<= 1.0x"),
        Row(f"{STEPS}-step chain, reuse on, every step a miss, SQLite", "µs/step", miss,
            "reuse off", off, "<= 1.15x"),
        Row("notebook 07 pipeline re-run after editing its last step, reuse", "ms",
            with_reuse, "without reuse", without, "<= 0.1x"),
        Row(f"wf.plan of a {STEPS}-step workflow", "ms", plan_ms[1:],
            "one run of it, no persistence", run_ms[1:], "<= 20 ms"),
    ]


if __name__ == "__main__":  # a quick look: python -m benchmarks.exploring
    from .common import text_table

    print(text_table(rows(quick=True)))
