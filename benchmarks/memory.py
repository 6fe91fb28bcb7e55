"""Memory rows: peak RSS of one big run in a fresh process, and whether memory retained
after a run grows from run to run.

Each figure comes from a fresh interpreter (``python -m benchmarks.memory KIND SIZE
RUNS``), so nothing measured before (caches, other workflows) counts:

* **peak RSS**: the process's resident-set high-water mark (``VmHWM``) during its first
  run, reset just before it (``/proc/self/clear_refs``) where Linux allows; the floor is
  the same data pushed through plain ``asyncio`` in its own fresh process;
* **growth per run**: then the same workflow runs ``RUNS`` more times in one event loop
  (as in a notebook kernel); after each run and a full collection, ``tracemalloc``
  reports the bytes still allocated. Growth is the difference from one run to the next
  (the first run filled the caches). A leak of anything per event would show as
  thousands of bytes per run; tens of bytes are the measurement's own list of figures.

Runs keep no store (``storage=False``): this is the engine's memory, not SQLite's.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from .common import Row

__all__ = ["rows"]

MB = 1024 * 1024
_REPO = Path(__file__).resolve().parents[1]


# -- what runs in the fresh process ---------------------------------------------------------


def _workload(kind: str, size: int) -> Callable[[], Coroutine[Any, Any, Any]]:
    """An async callable doing one run of ``kind`` over ``size`` items or steps."""
    from .core import Num, chain, foreach_wf

    if kind == "foreach":
        wf = foreach_wf(10, 0, id="memory-foreach")
        data = [{"n": i} for i in range(size)]

        async def run_foreach() -> Any:
            return (await wf.create_run().start(data)).status

        return run_foreach
    if kind == "chain":
        wf = chain(size, False, id="memory-chain")

        async def run_chain() -> Any:
            return (await wf.create_run().start({"n": 0})).status

        return run_chain
    if kind == "gather":  # the foreach's data through asyncio.gather + a semaphore
        data = [{"n": i} for i in range(size)]

        async def run_gather() -> Any:
            sem = asyncio.Semaphore(10)

            async def work(item: dict[str, int]) -> Num:
                async with sem:
                    x = Num.model_validate(item)
                    return Num.model_validate({"n": x.n * 2})

            return await asyncio.gather(*(work(item) for item in data))

        return run_gather
    if kind == "awaits":  # the chain's data through plain awaits, validated in and out
        async def inc(x: Num) -> dict[str, int]:
            return {"n": x.n + 1}

        async def run_awaits() -> Any:
            x = Num(n=0)
            for _ in range(size):
                x = Num.model_validate(await inc(Num.model_validate(x)))
            return x

        return run_awaits
    raise SystemExit(f"unknown workload {kind!r}")


def _status_bytes(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def measure(kind: str, size: int, runs: int) -> dict[str, Any]:
    """In a fresh process: the peak RSS of one run of ``kind``, then (``runs`` > 0) the
    bytes ``tracemalloc`` sees retained after each of ``runs`` more runs in one loop."""
    import resource

    one_run = _workload(kind, size)
    gc.collect()
    try:  # start the high-water mark afresh: only the run's peak counts
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        pass
    before = _status_bytes("VmRSS")
    asyncio.run(one_run())
    peak = _status_bytes("VmHWM")
    if peak is None or before is None:  # not Linux: ru_maxrss (bytes on macOS)
        scale = 1 if sys.platform == "darwin" else 1024
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        before = before or 0
    retained: list[int] = []

    async def again() -> None:
        for _ in range(runs):
            await one_run()
            gc.collect()
            retained.append(tracemalloc.get_traced_memory()[0])

    if runs:
        tracemalloc.start()
        asyncio.run(again())
        tracemalloc.stop()
    return {"before": before, "peak": peak, "retained": retained}


# -- the rows ----------------------------------------------------------------------------------


def _fresh(kind: str, size: int, runs: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "benchmarks.memory", kind, str(size), str(runs)],
                         capture_output=True, text=True, check=True, cwd=_REPO)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _samples(kind: str, size: int, reps: int, runs: int) -> list[dict[str, Any]]:
    return [_fresh(kind, size, runs if i == 0 else 0) for i in range(reps)]


def _peak_row(measure: str, got: list[dict[str, Any]], floor_name: str,
              floor: list[dict[str, Any]]) -> Row:
    def added(samples: list[dict[str, Any]]) -> float:
        added: list[int] = sorted(s["peak"] - s["before"] for s in samples)
        return added[len(added) // 2] / MB

    return Row(measure, "MB", [s["peak"] / MB for s in got], floor_name,
               [s["peak"] / MB for s in floor],
               note=f"the run adds {added(got):.1f} MB, the floor's {added(floor):.1f} MB",
               digits=1)


def _growth_row(measure: str, got: list[dict[str, Any]], floor_name: str,
                floor: list[dict[str, Any]], events: int) -> Row:
    def diffs(samples: list[dict[str, Any]]) -> list[float]:
        retained = samples[0]["retained"]
        return [float(b - a) for a, b in itertools.pairwise(retained)]

    row = Row(measure, "B/run", diffs(got), floor_name, diffs(floor), "~0 B/run", digits=0,
              show_ratio=False)
    row.note = f"{row.median / events:.3f} B/event"
    return row


def rows(quick: bool) -> list[Row]:
    items = 1_000 if quick else 10_000
    steps = 200 if quick else 1_000
    reps = 1 if quick else 3
    runs = 3 if quick else 6
    foreach, gather = (_samples(k, items, reps, runs) for k in ("foreach", "gather"))
    chained, awaits = (_samples(k, steps, reps, runs) for k in ("chain", "awaits"))
    return [
        _peak_row(f"peak RSS, foreach {items:,} items", foreach, "asyncio.gather", gather),
        _peak_row(f"peak RSS, {steps:,}-step chain", chained, "plain awaits", awaits),
        _growth_row(f"growth per run, foreach {items:,} items", foreach, "asyncio.gather",
                    gather, 2 * items + 2),
        _growth_row(f"growth per run, {steps:,}-step chain", chained, "plain awaits", awaits,
                    2 * steps + 2),
    ]


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
