"""Scale-out rows: CPU-bound foreach items on the local thread pool vs Dask processes.

Each item burns ~20 ms of pure-Python CPU (a loop calibrated on this machine). On the
local executor a sync step runs in a worker thread, so the items share one GIL and take
about as long as running them one after another; ``DaskExecutor`` on a
``LocalCluster(n_workers=2, processes=True)`` runs them in two processes, so on two cores
the same foreach should take about half the time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from flownb import create_step, create_workflow

from .common import Row, repeat

__all__ = ["burn", "rows"]

CONCURRENCY = 50
ITEM_MS = 20.0


def burn(input_data: int) -> int:
    """``input_data`` iterations of a pure-Python loop (CPU-bound, holds the GIL)."""
    x = 0
    for i in range(input_data):
        x = (x + i * i) % 1_000_003
    return x


def calibrate(ms: float) -> int:
    """Loop iterations that take ``ms`` milliseconds here (best of a few tries)."""
    probe = 50_000
    best = min(_timed(burn, probe) for _ in range(5))
    return max(1, int(probe * ms / 1e3 / best))


def _timed(fn: Any, arg: Any) -> float:
    t = time.perf_counter()
    fn(arg)
    return time.perf_counter() - t


def foreach_of(executor: Any) -> Any:
    step = create_step(id="burn", input_schema=int, output_schema=int, execute=burn)
    return (create_workflow(id="cpu-fan-out", input_schema=list[int], output_schema=list[int],
                            storage=False)
            .foreach(step, concurrency=CONCURRENCY, executor=executor).commit())


def seconds(wf: Any, n: int, loops: int, warm: int) -> Any:
    """A ``repeat`` callable: its first call (the warm-up ``repeat`` discards) runs only
    ``warm`` items, so the warm-up does not cost a whole measured run."""
    calls = 0

    async def run() -> float:
        nonlocal calls
        calls += 1
        items = [loops] * (warm if calls == 1 else n)
        t = time.perf_counter()
        result = await wf.create_run().start(items)
        assert result.status == "success", result.error
        return time.perf_counter() - t

    return run


def dask_map(client: Any, n: int, loops: int) -> Any:
    """The same items as bare Dask tasks (``client.map`` + ``gather``): what Dask alone
    costs, with one batched submission and one batched gather."""

    async def run() -> float:
        t = time.perf_counter()
        client.gather(client.map(burn, [loops] * n, pure=False))
        return time.perf_counter() - t

    return run


async def _serial(n: int, loops: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        burn(loops)
    return time.perf_counter() - t


def rows(quick: bool) -> list[Row]:
    from distributed import Client, LocalCluster

    from flownb.executors import DaskExecutor, LocalExecutor

    n = 60 if quick else 2000
    times = 1
    loops = calibrate(ITEM_MS)
    serial = repeat(lambda: _serial(n, loops), times, warm_up=False)
    local = repeat(seconds(foreach_of(LocalExecutor()), n, loops, 10), times)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    pairs = 1 if quick else 3
    try:
        with Client(cluster, set_as_default=False) as client:
            flow = seconds(foreach_of(DaskExecutor(client)), n, loops, 20)
            asyncio.run(flow())  # the warm-up (few items): the workers load flownb, the step
            dask: list[float] = []
            bare: list[float] = []
            for _ in range(pairs):  # in turn, so a drift of the machine's speed hits both
                dask += repeat(flow, 1, warm_up=False)
                bare += repeat(dask_map(client, n, loops), 1, warm_up=False)
    finally:
        cluster.close()
    speedup = min(local) / min(dask)
    label = f"foreach {n:,} x {ITEM_MS:g} ms CPU, conc. {CONCURRENCY}"
    return [
        Row(f"{label}, local threads", "s", local, "serial loop", serial,
            "about the serial loop (one GIL)"),
        Row(f"{label}, Dask 2 processes", "s", dask, "local threads", local,
            f"~2x faster than threads on 2 cores (now {speedup:.2f}x)"),
        Row(f"{label}, Dask 2 processes vs bare client.map", "s", dask,
            "the same items as bare client.map", bare, "<= 1.15x (the cost of flownb)"),
    ]
