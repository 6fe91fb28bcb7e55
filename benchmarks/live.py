"""The live-view row: a run of ~10,000 events with ``flownb.notebook.RunView`` attached,
against the same run headless, and how many front-end updates the view pushed per second.

The view runs without a kernel (ipywidgets widgets exist without a front end), so this
measures flownb's side of a live view: the event handling, the throttle and building each
update, not the browser's rendering.
"""

from __future__ import annotations

import time
from typing import Any

from .common import Row, paired, repeat
from .core import foreach_wf

__all__ = ["rows"]


def _run_view() -> Any:
    try:
        from flownb.notebook import RunView
    except (ImportError, AttributeError):
        return None
    return RunView


# The dense run never waits (its items only yield), so its time is the loop thread's CPU
# time: on a shared machine that moves far less than wall time, and it is the cost the
# ratio is about.
_cpu = time.thread_time


async def _headless_ms(wf: Any, data: list[dict[str, int]]) -> float:
    run = wf.create_run()
    t = _cpu()
    await run.start(data)
    return (_cpu() - t) * 1e3


async def _attached_ms(view_class: Any, wf: Any, data: list[dict[str, int]],
                       seen: list[tuple[int, int, float]]) -> float:
    run = wf.create_run()
    view = view_class(run)  # lays out the graph once: not part of the run's time
    before = view.stats
    t, wall = _cpu(), time.perf_counter()
    await run.start(data)
    elapsed, wall = _cpu() - t, time.perf_counter() - wall
    after = view.stats
    view.close()  # widgets stay registered (and keep their run) until closed
    seen.append((after["updates"] - before["updates"], after["events"] - before["events"],
                 wall))
    return elapsed * 1e3


def rows(quick: bool) -> list[Row]:
    items = 1_000 if quick else 5_000
    measure = f"live view on a {2 * items:,}-event run"
    goal = "<= 1.2x, <= 10 updates/s"
    view_class = _run_view()
    if view_class is None:
        return [Row(measure, "ms", [], note="n/a (flownb.notebook not available)")]
    data = [{"n": i} for i in range(items)]
    # The ratio: each item emits step-start and step-result and yields to the loop once,
    # so the run is as dense in events as it gets and the view's timer still gets turns.
    dense = foreach_wf(10, 0, id="live", yield_each=True)
    # The update rate: the same events spread over a longer run (items sleep 2 ms), since
    # over a run of a fraction of a second the one final update would dominate the rate.
    paced = foreach_wf(10, 0.002, id="live-paced")
    # A run this short moves by ±40% from one run to the next on a shared VM: many pairs.
    reps = 2 if quick else 61
    seen: list[tuple[int, int, float]] = []
    try:
        attached, headless = paired(lambda: _attached_ms(view_class, dense, data, seen),
                                    lambda: _headless_ms(dense, data), reps)
        repeat(lambda: _attached_ms(view_class, paced, data, seen), 1, warm_up=False)
    except Exception as exc:  # the view is young: show why the row is missing, go on
        return [Row(measure, "ms", [], note=f"n/a (RunView failed: {type(exc).__name__}: "
                                            f"{exc})")]
    updates, events, seconds = seen[-1]
    note = (f"{updates / seconds:.1f} updates/s: {updates} updates, {events:,} events seen "
            f"in a {seconds:.1f} s run")
    return [Row(measure, "ms", attached, "headless", headless, goal, note=note)]
