"""The live view's graph laid out left to right (``RunView(..., direction="LR")``), and again
the other way when the browser's ↔/↕ button (or Python) changes ``view.direction``."""

from __future__ import annotations

import re
from typing import Any

import pytest

from flownb import create_step, create_workflow
from flownb.notebook import RunView
from flownb.notebook._static import bundle


def chain(n: int = 10) -> Any:
    wf = create_workflow(id="chain", input_schema=Any, output_schema=Any, storage=False)
    for i in range(n):
        wf = wf.then(create_step(id=f"s{i}", input_schema=Any, output_schema=Any,
                                 execute=lambda input_data: input_data))
    return wf.commit()


def size(svg: str) -> tuple[float, float]:
    found = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    assert found, svg[:200]
    return float(found.group(1)), float(found.group(2))


def test_a_left_to_right_view_lays_a_long_chain_out_wide():
    view = RunView(chain(), direction="LR")
    assert view.direction == "LR"
    width, height = size(view.graph["svg"])
    assert width > 4 * height and view.svg == view.graph["svg"]
    view.close()
    view = RunView(chain())
    assert view.direction == "TB"
    width, height = size(view.graph["svg"])
    assert height > 4 * width
    view.close()


async def test_the_browser_button_lays_the_graph_out_again_keeping_statuses():
    wf = chain(3)
    run = wf.create_run()
    view = RunView(run)
    await run.start({"x": 1})
    ids = view.graph["ids"]
    view.set_state({"direction": "LR"})  # what the ↔ button sends
    width, height = size(view.graph["svg"])
    assert width > height and view.graph["ids"] == ids
    assert view.step_status == {"s0": "success", "s1": "success", "s2": "success"}
    assert view.svg.count("status-success") >= 3
    view.direction = "TB"  # from Python, the same
    width, height = size(view.graph["svg"])
    assert height > width
    view.close()


def test_an_unknown_direction_is_refused_with_the_allowed_ones():
    with pytest.raises(ValueError, match=r"'TB' .*or 'LR' .*not 'RL'"):
        RunView(chain(2), direction="RL")
    view = RunView(chain(2))
    with pytest.raises(ValueError, match="'TB'.*'LR'"):
        view.direction = "down"
    assert view.direction == "TB"
    view.close()


def test_the_front_end_has_the_direction_button_beside_fit():
    esm = bundle("live")["esm"]
    assert "flownb-direction" in esm and '"direction"' in esm
