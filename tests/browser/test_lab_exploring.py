"""Exploring in a real JupyterLab (SPEC §3d, §6b "Controls"): edit a step → the plan shows
what will be reused and what runs → the re-run's live view marks the reused nodes; Fork from
here in the inspector (a form pre-filled with the step's recorded input, the fork's own live
view below it); ``flownb.compare`` marks the changed step on both graphs; a run with
``breakpoints="*"`` steps through with Continue and Edit input.

Each state is photographed in the light and the dark theme:
``test-artifacts/browser/exploring-{plan,rerun,fork-form,fork-done,compare,breakpoint,
edit-input,stepped}-{light,dark}.png``.
"""

from __future__ import annotations

import re
from typing import Any

from lab import NotebookError, screenshot, set_theme

STEPS = ("fetch", "clean", "count", "report")
TEXT = "the moon pulls the sea twice a day, the sea"  # clean's output of the test's topic
# exploring_cache.ipynb: setup, first run, the edit and its plan, the re-run, compare.
FIRST, PLAN, SECOND, COMPARE = 2, 3, 4, 5
# exploring_breakpoints.ipynb: setup, the run with breakpoints="*".
STEPPED = 2


def has(cls: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(cls)}(\s|$)")


def both_themes(page: Any, shots: dict[str, Any]) -> None:
    """Screenshot each locator of ``shots`` (name → locator) in the light then the dark
    theme, and leave the page light (the theme is a user setting the next test would get)."""
    for theme in ("light", "dark"):
        set_theme(page, theme)
        for name, locator in shots.items():
            screenshot(locator, f"exploring-{name}-{theme}")
    set_theme(page, "light")


def graph_node(view: Any, step: str) -> Any:
    """The node of ``step`` in the first graph in ``view`` (a live view's own, not that of
    a fork's view nested below it; a plan's; one side of a compare)."""
    return view.locator("svg:has(g[id^='step:'])").first.locator(f'g[id="step:{step}"]')


def row(view: Any, step: str) -> Any:
    return view.locator(".flownb-step-table").first.locator(f'tr.flownb-row[data-path="{step}"]')


def field_input(form: Any, title: str) -> Any:
    return form.locator(".flownb-field").filter(
        has=form.page.locator(f'b:text-is("{title}")')).locator("input, textarea").first


# Each label line of every node of the SVGs in an element, against its node's shape.
_LABELS = """el => [...el.querySelectorAll('svg g.node')].flatMap(g => {
  const shape = g.querySelector('path, polygon, ellipse');
  if (!shape) return [];
  const s = shape.getBoundingClientRect();
  return [...g.querySelectorAll('text')].map(t => {
    const b = t.getBoundingClientRect();
    return {node: g.id, text: t.textContent, left: b.left - s.left, right: s.right - b.right};
  });
})"""


def labels_inside(locator: Any, what: str) -> None:
    """Every label line of ``locator``'s graph nodes lies inside its node's shape (Graphviz
    measured it in another font: a static SVG has no script to fit it)."""
    labels = locator.evaluate(_LABELS)
    assert labels, f"{what}: no node labels found"
    for label in labels:
        assert label["left"] >= 0 and label["right"] >= 0, \
            f"{what}: the label {label['text']!r} leaves its node: {label}"


def tall(page: Any) -> None:
    """A viewport tall enough for a whole view with its inspector or form: an element
    screenshot taller than the page gets JupyterLab's toolbar and status bar over it."""
    page.set_viewport_size({"width": 1280, "height": 1600})


_RUN_CELL = """async ([id, index]) => {
  const app = window.jupyterapp;
  const panel = [...app.shell.widgets('main')].find(w => w.id === id);
  app.shell.activateById(id);
  panel.content.activeCellIndex = index;
  panel.content.deselectAll();
  return await app.commands.execute('notebook:run-cell');
}"""


def run_cell(nb: Any, index: int) -> None:
    """Run cell ``index`` alone (JupyterLab's run-cell command) and wait for the kernel;
    fails on an error or stderr output of that cell."""
    nb.page.evaluate(_RUN_CELL, [nb.panel_id, index])
    nb.wait_idle()
    cell = nb.cells()[index]
    bad = [o for o in cell["outputs"]
           if o.get("output_type") == "error" or o.get("name") == "stderr"]
    if bad:
        raise NotebookError(f"cell {index} did not run cleanly: {bad}")


def test_edit_then_plan_then_rerun_shows_the_reused_nodes(open_notebook, page, expect):
    tall(page)
    nb = open_notebook("exploring_cache.ipynb")
    nb.run_all()
    expect(nb.output(FIRST)).to_contain_text("first: status=success tides: 10 words")
    first = nb.output(FIRST).locator(".flownb-run-view")
    for step in STEPS:  # the first run: everything ran, nothing is marked reused
        expect(graph_node(first, step)).to_have_class(has("status-success"))
        expect(graph_node(first, step)).not_to_have_class(has("flownb-reused"))
    expect(first.locator(".flownb-reused-badge")).to_have_count(0)

    # The plan after editing `count`: fetch and clean reused, count runs (and says why),
    # report depends on it.
    plan = nb.output(PLAN).locator(".flownb-plan")
    expect(plan).to_be_visible()
    for step in ("fetch", "clean"):
        expect(graph_node(plan, step)).to_have_class(has("plan-reuse"))
        expect(graph_node(plan, step)).to_contain_text("↺ reused")
    edited = graph_node(plan, "count")
    expect(edited).to_have_class(has("plan-run"))
    expect(edited).not_to_have_class(has("plan-reuse"))
    expect(edited.locator("text", has_text="code changed: count")).to_be_visible()
    expect(graph_node(plan, "report")).to_have_class(has("plan-depends"))
    expect(plan.locator("table.flownb-plan-list tr.plan-run")).to_contain_text(
        "code changed: count")
    for path_cell in plan.locator("table.flownb-plan-list td:first-child").all():
        assert path_cell.evaluate("td => td.getClientRects().length && "
                                  "td.scrollWidth <= td.clientWidth"), "a path is cut"
        box = path_cell.locator("code").bounding_box()
        assert box is not None and box["height"] < 24, "a step's path wraps in the plan"
    labels_inside(plan, "plan")

    # The re-run: the reused nodes are marked (node and table badge), count ran.
    expect(nb.output(SECOND)).to_contain_text("second: status=success tides: 7 words")
    view = nb.output(SECOND).locator(".flownb-run-view")
    for step in ("fetch", "clean"):
        expect(graph_node(view, step)).to_have_class(has("status-success"))
        expect(graph_node(view, step)).to_have_class(has("flownb-reused"))
        expect(row(view, step).locator(".flownb-reused-badge")).to_have_text("↺ reused")
    for step in ("count", "report"):
        expect(graph_node(view, step)).to_have_class(has("status-success"))
        expect(graph_node(view, step)).not_to_have_class(has("flownb-reused"))
        expect(row(view, step).locator(".flownb-reused-badge")).to_have_count(0)

    # The inspector of a reused step says where it came from.
    graph_node(view, "fetch").click()
    inspector = view.locator(".flownb-inspector").first
    expect(inspector).to_be_visible()
    expect(inspector.locator(".flownb-inspector-head .flownb-reused-badge")).to_be_visible()
    expect(inspector).to_contain_text("reused from")
    both_themes(page, {"plan": plan, "rerun": view})


def test_fork_from_the_inspector_then_compare_marks_the_changed_step(
        open_notebook, page, expect):
    tall(page)
    nb = open_notebook("exploring_cache.ipynb")
    nb.run_all()
    expect(nb.output(SECOND)).to_contain_text("second: status=success tides: 7 words")
    expect(nb.output(COMPARE)).to_contain_text("no fork yet")
    view = nb.output(SECOND).locator(".flownb-run-view").first

    # Click the node → inspector → Fork from here → a form pre-filled with the step's input.
    graph_node(view, "count").click()
    inspector = view.locator(".flownb-inspector").first
    expect(inspector.locator(".flownb-inspector-head")).to_contain_text("count")
    fork_button = inspector.locator("button.flownb-fork")
    expect(fork_button).to_be_enabled()
    fork_button.click()
    form = view.locator(".flownb-fork-form")
    expect(form).to_be_visible()
    topic, text = field_input(form, "topic"), field_input(form, "text")
    expect(topic).to_have_value("tides")
    expect(text).to_have_value(TEXT)
    text.fill("the sea the sea the moon")
    text.press("Enter")
    both_themes(page, {"fork-form": form})

    form.locator(".flownb-submit").click()
    fork = form.locator(".flownb-run-view")
    expect(fork).to_be_visible()
    expect(fork).to_have_attribute("data-status", "success")
    for step in STEPS:
        expect(graph_node(fork, step)).to_have_class(has("status-success"))
    expect(graph_node(fork, "count")).not_to_have_class(has("flownb-reused"))  # it ran again
    expect(fork.locator(".flownb-result")).to_contain_text("tides: 3 words")
    expect(form.locator(".flownb-answered")).to_contain_text("forked")
    # The original view still shows the original run.
    expect(graph_node(view, "count")).to_have_class(has("status-success"))
    expect(view.locator(".flownb-head").first).not_to_contain_text(
        fork.locator(".flownb-head code").first.inner_text())
    both_themes(page, {"fork-done": form})

    # Compare the re-run with its fork: both graphs, count (and report after it) changed.
    run_cell(nb, COMPARE)
    diff = nb.output(COMPARE).locator(".flownb-diff")
    expect(diff).to_be_visible()
    expect(diff.locator(".fd-side svg")).to_have_count(2)
    for side in ("A", "B"):
        graphs = diff.locator(f'.fd-side[data-side="{side}"]')
        expect(graph_node(graphs, "count")).to_have_class(has("diff-changed"))
        expect(graph_node(graphs, "count")).to_contain_text("changed")
        for step in ("fetch", "clean"):
            expect(graph_node(graphs, step)).not_to_have_class(has("diff-changed"))
    labels_inside(diff, "compare")
    both_themes(page, {"compare": diff})


def test_breakpoints_step_through_with_continue_and_edit_input(open_notebook, page, expect):
    tall(page)
    nb = open_notebook("exploring_breakpoints.ipynb")
    nb.run_all()
    expect(nb.output(STEPPED)).to_contain_text("status=suspended before [['fetch']]")
    view = nb.output(STEPPED).locator(".flownb-run-view")
    pause = view.locator(".flownb-breakpoint")
    expect(pause).to_have_attribute("data-path", "fetch")
    expect(graph_node(view, "fetch")).to_have_class(has("status-suspended"))
    mark = pause.locator(".flownb-breakpoint-mark")  # a drawn pause sign, no missing glyph
    expect(mark).to_have_text("")
    box = mark.bounding_box()
    assert box is not None and box["width"] >= 8 and box["height"] >= 8, box
    bars = mark.evaluate("m => [getComputedStyle(m).borderLeftWidth, "
                         "getComputedStyle(m).borderRightWidth, m.clientWidth]")
    assert bars[0] == bars[1] == "3px" and bars[2] >= 2, f"the pause sign's two bars: {bars}"
    both_themes(page, {"breakpoint": view})

    # Continue twice: fetch runs, then clean; the pause moves on each time.
    for ran, following in (("fetch", "clean"), ("clean", "count")):
        pause.locator("button.flownb-continue").click()
        expect(pause).to_have_attribute("data-path", following)
        expect(graph_node(view, ran)).to_have_class(has("status-success"))
        expect(graph_node(view, following)).to_have_class(has("status-suspended"))
    expect(pause).to_contain_text("paused before count")

    # Edit input: the form holds the input count is about to get; change it and continue.
    pause.locator("button.flownb-edit-input").click()
    form = view.locator(".flownb-edit-input-form")
    expect(form).to_be_visible()
    text = field_input(form, "text")
    expect(text).to_have_value(TEXT)
    expect(field_input(form, "topic")).to_have_value("tides")
    text.fill("one two three two one")
    text.press("Enter")
    both_themes(page, {"edit-input": view})
    form.locator(".flownb-submit").click()
    expect(pause).to_have_attribute("data-path", "report")
    expect(graph_node(view, "count")).to_have_class(has("status-success"))
    expect(form.locator(".flownb-answered")).to_contain_text("continued with edited input")

    pause.locator("button.flownb-continue").click()
    expect(view).to_have_attribute("data-status", "success")
    expect(pause).to_have_count(0)
    expect(view.locator(".flownb-result")).to_contain_text("tides: 5 words")  # the edit
    for step in STEPS:
        expect(graph_node(view, step)).to_have_class(has("status-success"))
    both_themes(page, {"stepped": view})
