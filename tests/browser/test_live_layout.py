"""The live view as a person sees it, in JupyterLab's light and dark themes: a small graph, a
wide one (a parallel of six long ids) and a 300-item foreach of a nested workflow.

Checked from the DOM: the graph never leaves the view, every node's label stays inside its
shape, status pills are readable (contrast >= 4.5:1 from the computed colours), clicking a
node shows its output in the inspector, a foreach's progress bar rises while it runs, and
Re-run starts the same input again in the same view.
Screenshots: ``test-artifacts/browser/live-{small,wide,foreach}-{light,dark}.png``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from lab import screenshot, set_theme, write_notebook

SETUP = '''
import asyncio
from pydantic import BaseModel
from flownb import create_step, create_workflow


class Doc(BaseModel):
    text: str


class N(BaseModel):
    n: int


async def shout(input_data: Doc):
    return {"text": input_data.text.upper() + "!"}


async def polish(input_data: Doc):
    return {"text": input_data.text + " (polished)"}


small = (create_workflow(id="small-flow", input_schema=Doc, output_schema=Doc)
         .then(create_step(id="shout", input_schema=Doc, output_schema=Doc, execute=shout))
         .then(create_step(id="polish", input_schema=Doc, output_schema=Doc, execute=polish))
         .commit())

LONG = ["fetch_customer_profile_0001", "score_credit_risk_model_02", "lookup_shipping_address_03",
        "check_inventory_levels_004", "estimate_delivery_window_5", "notify_account_manager_006"]
wide = (create_workflow(id="wide-flow", input_schema=Doc, output_schema=dict)
        .parallel([create_step(id=i, input_schema=Doc, output_schema=Doc, execute=shout)
                   for i in LONG])
        .commit())


async def square(input_data: N):
    await asyncio.sleep(0.03)
    return {"n": input_data.n * input_data.n}


async def plus_one(input_data: N):
    return {"n": input_data.n + 1}


def check_total(input_data: Doc):
    raise ValueError(f"total of {input_data.text!r} does not add up")


fails = (create_workflow(id="fails-flow", input_schema=Doc, output_schema=Doc)
         .then(create_step(id="shout", input_schema=Doc, output_schema=Doc, execute=shout))
         .then(create_step(id="check_total", input_schema=Doc, output_schema=Doc,
                           execute=check_total))
         .commit())


async def wait_long(input_data: Doc):
    await asyncio.sleep(60)
    return input_data


slow = (create_workflow(id="slow-flow", input_schema=Doc, output_schema=Doc)
        .then(create_step(id="wait_long", input_schema=Doc, output_schema=Doc,
                          execute=wait_long))
        .then(create_step(id="after", input_schema=Doc, output_schema=Doc, execute=shout))
        .commit())


per_item = (create_workflow(id="per-item", input_schema=N, output_schema=N)
            .then(create_step(id="square", input_schema=N, output_schema=N, execute=square))
            .then(create_step(id="plus-one", input_schema=N, output_schema=N, execute=plus_one))
            .commit())
batch = (create_workflow(id="batch-flow", input_schema=list[N], output_schema=list[N])
         .foreach(per_item, concurrency=4)
         .commit())
'''

CELLS = [
    SETUP,
    "small_run = small.create_run()\nsmall_run",
    'await small_run.start({"text": "hello"})',
    "wide_run = wide.create_run()\nwide_run",
    'await wide_run.start({"text": "x"})',
    "fails_run = fails.create_run()\nfails_run",
    'await fails_run.start({"text": "books"})',
    "slow_run = slow.create_run()\nslow_run",
    "slow_task = asyncio.ensure_future(slow_run.start({'text': 'x'}))",
    "batch_run = batch.create_run()\nbatch_run",
    # In the background: the test watches the progress bar while the items run.
    "batch_task = asyncio.ensure_future(batch_run.start([{'n': i} for i in range(300)]))",
]
SMALL, WIDE, FAILS, SLOW, BATCH = 1, 3, 5, 7, 9


def notebook(folder: Path) -> Path:
    return write_notebook(folder / "live_layout.ipynb", CELLS)


# Every box the layout must keep inside another, from the DOM (client rectangles).
_GEOMETRY = """view => {
  const r = (n) => { const b = n.getBoundingClientRect();
                     return {l: b.left, t: b.top, r: b.right, b: b.bottom}; };
  const svg = view.querySelector('div.flownb-graph svg');
  const labels = [];
  const graph = view.querySelector('div.flownb-graph');
  const shapeOf = (g) => {  // a cluster's title is drawn apart, over the edges
    const of = g.getAttribute('data-cluster');
    const owner = of === null ? g : graph.querySelector(`g.cluster[data-path="${of}"]`);
    return owner.querySelector('path, polygon, ellipse');
  };
  for (const g of graph.querySelectorAll(
      'g.node[data-path], g.cluster[data-path], g.flownb-cluster-label')) {
    const shape = shapeOf(g);
    for (const text of g.querySelectorAll('text')) {
      labels.push({path: g.getAttribute('data-path'), text: text.textContent,
                   shape: r(shape), box: r(text)});
    }
  }
  return {view: r(view), canvas: r(view.querySelector('div.flownb-graph')), svg: r(svg),
          side: r(view.querySelector('.flownb-side')), labels,
          stacked: view.querySelector('.flownb-body').classList.contains('flownb-stacked')};
}"""

# Foreground and background of every status pill, as computed (rgb() or color(srgb ...)),
# the background mixed over the view's own.
_PILLS = """view => [...view.querySelectorAll('.flownb-pill')].map(p => {
  const s = getComputedStyle(p);
  return {status: p.textContent, fg: s.color, bg: s.backgroundColor,
          base: getComputedStyle(view).backgroundColor};
})"""


def _rgb(text: str) -> tuple[float, float, float, float]:
    """``rgb(...)``, ``rgba(...)`` or ``color(srgb ...)`` as 0..1 floats and alpha."""
    text = text.strip()
    if text.startswith("color(srgb"):
        parts = text[len("color(srgb"):].rstrip(")").replace("/", " ").split()
        values = [float(p) for p in parts]
        return values[0], values[1], values[2], values[3] if len(values) > 3 else 1.0
    inner = text[text.index("(") + 1:].rstrip(")").replace("/", " ").replace(",", " ").split()
    values = [float(p) for p in inner]
    return (values[0] / 255, values[1] / 255, values[2] / 255,
            values[3] if len(values) > 3 else 1.0)


def _over(top: tuple[float, ...], under: tuple[float, ...]) -> tuple[float, float, float]:
    a = top[3]
    return tuple(top[i] * a + under[i] * (1 - a) for i in range(3))  # type: ignore[return-value]


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: str, bg: str, base: str) -> float:
    under = _rgb(base)
    back = _over(_rgb(bg), (*under[:3], 1.0))
    front = _over(_rgb(fg), (*back, 1.0))
    high, low = sorted((_luminance(front), _luminance(back)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def check_layout(view: Any, name: str) -> dict[str, Any]:
    geo = view.evaluate(_GEOMETRY)
    slack = 1.0
    v, svg = geo["view"], geo["svg"]
    assert svg["r"] - svg["l"] > 20, f"{name}: the graph is not drawn: {geo}"
    for side in ("l", "t"):
        assert svg[side] >= v[side] - slack, f"{name}: the graph leaves the view ({side}): {geo}"
    for side in ("r", "b"):
        assert svg[side] <= v[side] + slack, f"{name}: the graph leaves the view ({side}): {geo}"
    assert geo["side"]["r"] <= v["r"] + slack, f"{name}: the table leaves the view: {geo}"
    assert geo["labels"], f"{name}: no node labels found"
    for label in geo["labels"]:
        box, shape = label["box"], label["shape"]
        inside = (box["l"] >= shape["l"] - slack and box["r"] <= shape["r"] + slack
                  and box["t"] >= shape["t"] - slack and box["b"] <= shape["b"] + slack)
        assert inside, f"{name}: label {label['text']!r} of {label['path']} leaves its shape: " \
                       f"{label}"
    for pill in view.evaluate(_PILLS):
        ratio = contrast(pill["fg"], pill["bg"], pill["base"])
        assert ratio >= 4.5, f"{name}: the {pill['status']} pill's contrast is {ratio:.2f}"
    return geo


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_live_views_fit_read_and_answer_clicks(open_notebook, page, expect, tmp_path, theme):
    page.set_viewport_size({"width": 1280, "height": 1500})  # each view whole on screen
    nb = open_notebook(notebook(tmp_path))
    set_theme(page, theme)
    nb.run_all()

    # First the foreach, which runs on in the background after the cells ran.
    batch = nb.output(BATCH).locator(".flownb-run-view")
    bar = batch.locator('tr[data-path="per-item"] .flownb-progress')
    expect(bar).to_have_attribute("aria-valuemax", "300")
    elapsed = batch.locator(".flownb-head .flownb-elapsed")
    seen, ticks = [], set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = elapsed.inner_text()
        if text.endswith("…"):  # still running: the browser counts the time up
            ticks.add(text)
        value = bar.get_attribute("aria-valuenow")
        if value is not None and (not seen or int(value) != seen[-1]):
            seen.append(int(value))
        if seen and seen[-1] == 300:
            break
        if len(seen) == 2:
            screenshot(batch, f"live-foreach-running-{theme}")
        page.wait_for_timeout(60)
    assert seen and seen[-1] == 300, f"the foreach never finished: {seen}"
    assert len(seen) >= 3 and seen == sorted(seen), f"the bar did not rise: {seen}"
    assert len(ticks) >= 2, f"the run's time did not count up: {ticks}"
    expect(batch.locator(".flownb-head .flownb-pill")).to_have_text("success")
    check_layout(batch, f"foreach/{theme}")
    batch.locator('tr[data-path="per-item"]').click()
    items = batch.locator(".flownb-inspector .flownb-item")
    expect(items).to_have_count(50)  # one page of 300
    screenshot(batch, f"live-foreach-{theme}")

    slow = nb.output(SLOW).locator(".flownb-run-view")
    expect(slow.locator('g[data-path="wait_long"]')).to_have_class(re.compile("status-running"))
    slow.locator(".flownb-cancel").click()
    expect(slow.locator(".flownb-head .flownb-pill")).to_have_text("canceled")
    expect(slow.locator('g[data-path="wait_long"]')).to_have_class(re.compile("status-canceled"))
    expect(slow.locator(".flownb-cancel")).to_have_count(0)
    check_layout(slow, f"canceled/{theme}")
    screenshot(slow, f"live-canceled-{theme}")

    small = nb.output(SMALL).locator(".flownb-run-view")
    expect(small.locator(".flownb-head .flownb-pill")).to_have_text("success")
    check_layout(small, f"small/{theme}")
    small.locator('div.flownb-graph g[data-path="shout"]').click()
    inspector = small.locator(".flownb-inspector")
    expect(inspector).to_be_visible()
    expect(inspector).to_contain_text("HELLO!")
    fork = inspector.locator(".flownb-fork")  # a step that ran can be forked from (§3d)
    expect(fork).to_be_enabled()
    expect(fork).to_have_attribute("title", re.compile("runs this step again"))
    screenshot(small, f"live-small-{theme}")
    small.locator('.flownb-tab[data-tab="timeline"]').click()
    expect(small.locator(".flownb-gantt-row")).to_have_count(2)  # one bar per step
    screenshot(small, f"live-timeline-{theme}")
    # Re-run: a new run with the same input, followed by the same view.
    first_id = small.locator(".flownb-head code").inner_text()
    small.locator(".flownb-rerun").click()
    expect(small.locator(".flownb-head code")).not_to_have_text(first_id)
    expect(small.locator(".flownb-head .flownb-pill")).to_have_text("success")
    expect(small.locator('g[data-path="polish"]')).to_have_class(re.compile("status-success"))
    expect(small.locator(".flownb-rerun")).to_be_enabled()  # offered again
    small.locator('.flownb-tab[data-tab="steps"]').click()
    expect(small.locator('tr[data-path="shout"]')).to_contain_text("HELLO!")
    check_layout(small, f"rerun/{theme}")
    screenshot(small, f"live-rerun-{theme}")
    # ↔ lays the graph out left to right (on the kernel side), the statuses carried over.
    small_svg = small.locator("div.flownb-graph svg")
    tall = [float(v) for v in small_svg.get_attribute("viewBox").split()]
    assert tall[3] > tall[2], "a two-step chain is taller than wide top to bottom"
    small.locator(".flownb-direction").click()
    expect(small.locator(".flownb-direction")).to_have_text("↕")
    # The new layout replaces the SVG element: ask the locator again until it is wide.
    for _ in range(150):
        box = [float(v) for v in small_svg.get_attribute("viewBox").split()]
        if box[2] > box[3]:
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError(f"the graph is still laid out top to bottom: viewBox {box}")
    expect(small.locator('g[data-path="polish"]')).to_have_class(re.compile("status-success"))
    check_layout(small, f"left to right/{theme}")
    screenshot(small, f"live-lr-{theme}")
    small.locator(".flownb-direction").click()  # and back
    expect(small.locator(".flownb-direction")).to_have_text("↔")

    wide = nb.output(WIDE).locator(".flownb-run-view")
    expect(wide.locator(".flownb-head .flownb-pill")).to_have_text("success")
    geo = check_layout(wide, f"wide/{theme}")
    assert geo["stacked"], "a wide graph puts the table below it"
    # The table below is as wide as the view: nothing in it breaks across lines.
    assert geo["side"]["r"] - geo["side"]["l"] > 0.9 * (geo["view"]["r"] - geo["view"]["l"])
    screenshot(wide, f"live-wide-{theme}")
    canvas_svg = wide.locator("div.flownb-graph svg")
    fitted = canvas_svg.get_attribute("viewBox")
    wide.locator(".flownb-tool", has_text="+").click()
    wide.locator(".flownb-tool", has_text="+").click()
    assert canvas_svg.get_attribute("viewBox") != fitted  # zoomed in: a part of the graph
    check_layout(wide, f"wide zoomed/{theme}")  # the drawing stays inside the view
    wide.locator(".flownb-fit").click()
    assert canvas_svg.get_attribute("viewBox") == fitted

    failed = nb.output(FAILS).locator(".flownb-run-view")
    expect(failed.locator(".flownb-head .flownb-pill")).to_have_text("failed")
    check_layout(failed, f"failed/{theme}")
    failed.locator('div.flownb-graph g[data-path="check_total"]').click()
    trace = failed.locator(".flownb-inspector .flownb-section", has_text="traceback")
    expect(trace).to_contain_text('raise ValueError(f"total of')  # the user's own line
    expect(trace).to_contain_text(re.compile(r"Cell In\[\d+\], line \d+, in check_total"))
    screenshot(failed, f"live-failed-{theme}")

