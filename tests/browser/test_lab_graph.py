"""A workflow's graph and a top-level ``await`` run, as JupyterLab shows them."""

from __future__ import annotations

import re

from lab import screenshot, show_svg

from flownb.storage import SQLiteStore

STEPS = {
    "validate": "check the order",
    "price": '<script>alert(1)</script> "quotes" & ampersand',
    "receipt%20line": "format the receipt",
}
GRAPH_CELL, RUN_CELL = 2, 3


def test_graph_shows_every_step_pending_and_descriptions_as_text(open_notebook, page, expect):
    nb = open_notebook("graph.ipynb")
    nb.run_all()

    # JupyterLab draws image/svg+xml as an <img> with a data URL: it must have decoded.
    image = nb.output(GRAPH_CELL).locator(".jp-RenderedSVG img")
    expect(image).to_be_visible()
    assert image.evaluate("async img => { await img.decode(); return img.naturalWidth; }") > 0
    expect(page.locator("script", has_text="alert(1)")).to_have_count(0)
    screenshot(nb.output(GRAPH_CELL), "graph-pending")

    # Its elements live inside the image: load the same SVG as a document of its own,
    # where a script from the description would run (the page fixture fails on dialogs).
    svg = show_svg(page, nb.svg(GRAPH_CELL))
    groups = svg.locator("g[id^='step:']")
    expect(groups).to_have_count(len(STEPS))
    for step, description in STEPS.items():
        group = svg.locator(f'g[id="step:{step}"]')
        expect(group).to_have_class(re.compile(r"\bflownb-step\b.*\bstatus-pending\b"))
        link = group.locator("a")
        expect(link).to_have_count(1)
        assert link.evaluate(
            "a => a.getAttributeNS('http://www.w3.org/1999/xlink', 'title')") == description
    expect(svg.locator("script")).to_have_count(0)
    expect(svg.locator('g[id="step:price"] text')).to_have_text("price")
    screenshot(svg.locator("svg"), "graph-pending-svg")


def test_top_level_await_runs_the_workflow(open_notebook, lab_server, expect):
    nb = open_notebook("graph.ipynb")
    nb.run_all()

    output = nb.output(RUN_CELL)
    expect(output).to_contain_text("status=success")
    expect(output).to_contain_text("text='tea: 7.50'")
    screenshot(output, "graph-run-result")

    run_id = re.search(r"run_id=(\w+)", nb.output_text(RUN_CELL)).group(1)
    store = SQLiteStore(lab_server.storage)  # the kernel's FLOWNB_STORAGE, from outside
    try:
        runs = {info.run_id: info for info in store.list_runs(workflow_id="shop")}
    finally:
        store.close()
    assert runs[run_id].status == "success"
