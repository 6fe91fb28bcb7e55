"""``run.to_html()`` opened in Chromium with the network off (SPEC §6b, Export): the graph and
the step table render from the file alone, in light and dark, and hostile text stays text.
No JupyterLab is needed: the report is a file."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from lab import ARTIFACTS

from flownb import create_step, create_workflow

HOSTILE = "<script>alert('x')</script>\x1b]0;pwned\x07"


def _step(step_id: str, fn: Any = None) -> Any:
    return create_step(id=step_id, input_schema=Any, output_schema=Any,
                       description=f"does {HOSTILE}",
                       execute=fn or (lambda input_data: input_data))


def _boom(input_data: Any) -> Any:
    raise ValueError(f"no way {HOSTILE}")


def _finished_run() -> Any:
    inner = create_workflow(id="enrich", storage=False).then(_step("lookup")).commit()
    wf = (create_workflow(id="report-demo", storage=False)
          .then(_step("load", lambda input_data: [{"n": i, "note": HOSTILE} for i in range(24)]))
          .foreach(_step("score"), concurrency=4)
          .then(_step("summarize", lambda input_data: {"count": len(input_data)}))
          .parallel([_step("publish-to-a-rather-long-destination-name"), inner])
          .then(_step("notify", _boom))
          .commit())
    run = wf.create_run()
    # Playwright's sync API keeps its loop as the main thread's running loop: run elsewhere.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run.start({"title": f"weekly {HOSTILE}"})).result()
    return run


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_report_renders_offline_from_the_file(browser, tmp_path, scheme):
    path = tmp_path / "report.html"
    run = _finished_run()
    run.to_html(path)

    context = browser.new_context(viewport={"width": 1100, "height": 900}, color_scheme=scheme)
    requests: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            requests.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    context.set_offline(True)
    dialogs: list[str] = []
    context.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page = context.new_page()
        page.goto(path.as_uri())
        graph = page.locator(".graph > svg")
        graph.wait_for()
        box = graph.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
        assert page.locator('.graph svg g[id="step:load"]').get_attribute("class").endswith(
            "status-success")
        assert "status-failed" in page.locator('.graph svg g[id="step:notify"]').get_attribute(
            "class")
        rows = page.locator("table.steps tbody tr")
        assert rows.count() == len(run.result.steps) - 24  # each item is under its foreach
        assert page.locator("table.steps").inner_text().count("notify") == 1
        assert page.locator(".timeline .tl-bar").count() == rows.count()
        # One script, the report's own label fitting: no user text became markup.
        assert page.locator("script").count() == 1
        assert "alert" not in page.locator("script").inner_text()
        assert "<script>alert" not in path.read_text(encoding="utf-8")
        outside = page.evaluate("""() => [...document.querySelectorAll(
                '.graph svg g.node')].flatMap(g => {
            const shape = g.querySelector('path, polygon, ellipse');
            if (!shape) return [];
            const o = shape.getBoundingClientRect();
            return [...g.querySelectorAll('text')].filter(t => {
                const i = t.getBoundingClientRect();
                return i.left < o.left - 0.5 || i.right > o.right + 0.5;
            }).map(t => t.textContent);
        })""")
        assert outside == []
        assert "<script>alert('x')</script>\\x1b]0;pwned\\x07" in page.locator(
            ".values").inner_text()
        # Node fill and label colours come from the page's scheme.
        fill, text = page.evaluate("""() => {
            const g = document.querySelector('.graph svg g[id="step:load"]');
            return [getComputedStyle(g.querySelector('path, polygon')).fill,
                    getComputedStyle(g.querySelector('text')).fill];
        }""")
        assert (text == "rgb(232, 234, 237)") == (scheme == "dark"), (fill, text)
        page.locator('details.step[id="step-notify"] > summary').click()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / f"report-{scheme}.png", full_page=True)
    finally:
        context.close()
    assert requests == [] and dialogs == []
