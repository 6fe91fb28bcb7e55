"""Drawing rows: the SVG of generated workflows of 10, 100 and 500 step nodes."""

from __future__ import annotations

import subprocess
import time
from typing import Any

from flownb import create_step, create_workflow
from flownb.render import workflow_dot, workflow_svg
from flownb.render.svg import find_dot

from .common import Row, repeat_sync
from .core import Num

__all__ = ["mixed_workflow", "rows"]


def mixed_workflow(nodes: int) -> Any:
    """A committed workflow of ``nodes`` step nodes: runs of ``then`` steps, ``parallel``
    triples and two-way ``branch``es, each fork followed by a ``map`` that joins it."""

    async def inc(input_data: Num) -> dict[str, int]:
        return {"n": input_data.n + 1}

    def step(i: int) -> Any:
        return create_step(id=f"s{i}", input_schema=Num, output_schema=Num, execute=inc)

    def join(input_data: Any) -> dict[str, int]:
        return {"n": 0}

    wf = create_workflow(id=f"drawn-{nodes}", input_schema=Num, output_schema=Num,
                         storage=False)
    i = k = 0
    while i < nodes:
        kind, k = k % 4, k + 1
        if kind == 1 and nodes - i >= 3:
            wf.parallel([step(i), step(i + 1), step(i + 2)]).map(join)
            i += 3
        elif kind == 3 and nodes - i >= 2:
            wf.branch([(lambda input_data: True, step(i)),
                       (lambda input_data: False, step(i + 1))]).map(join)
            i += 2
        else:
            wf.then(step(i))
            i += 1
    return wf.commit()


def rows(quick: bool) -> list[Row]:
    sizes = (10, 100, 500)
    try:
        program = find_dot()
    except RuntimeError:
        return [Row(f"SVG of a {nodes}-node workflow", "ms", [],
                    note="n/a (no Graphviz program: pip install graphviz-pure)")
                for nodes in sizes]
    out = []
    for nodes in sizes:
        description = mixed_workflow(nodes).graph.description
        dot = workflow_dot(description)

        def svg_ms(description: Any = description) -> float:
            t = time.perf_counter()
            workflow_svg(description, cache=False)
            return (time.perf_counter() - t) * 1e3

        def layout_ms(dot: str = dot) -> float:
            t = time.perf_counter()
            subprocess.run([program, "-Tsvg"], input=dot.encode(), capture_output=True,
                           check=True)
            return (time.perf_counter() - t) * 1e3

        times = 1 if quick else (7 if nodes <= 100 else 3)
        warm = not quick
        out.append(Row(f"SVG of a {nodes}-node workflow", "ms",
                       repeat_sync(svg_ms, times, warm_up=warm), "graphviz-pure alone",
                       repeat_sync(layout_ms, times, warm_up=warm),
                       "<= 100 ms" if nodes == 100 else ""))
    return out
