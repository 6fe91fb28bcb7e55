"""Screens of issue 16 that no other browser test photographs, light and dark, each with the
check that would catch its regression:

* a foreach of a workflow that runs a foreach (nested clusters, long ids): the graph stays
  inside the view and every label inside its shape (item 2; its own notebook);
* ``%flow runs`` of 25 runs: the latest 20 rows and a line saying 5 more (item 8);
* ``%flow inspect`` of a resumed run: the suspension, its payload and the answer, every
  cell left-aligned (items 8, 9); of a run with a 120-item result: cut at 50 (item 8);
* a playground of a workflow nobody ran: "no runs yet", and its graph on the theme's
  background, not a white card, in the dark theme; one of 25 runs: a page of 20 rows, each
  read whole, and a picked run opened once (item 10);
* every text of these outputs readable (WCAG contrast >= 4.5:1) in both themes (item 3).

Screenshots: ``test-artifacts/browser/screens-{nested-foreach,runs,inspect-resumed,
inspect-long,playground-empty,playground-runs}-{light,dark}.png``. See docs/screenshots.md.
"""

from __future__ import annotations

from typing import Any

from lab import screenshot, set_theme
from test_live_layout import _luminance, _rgb, check_layout, contrast

RUNS, INSPECT_RESUMED, INSPECT_LONG, PLAYGROUND, PLAYGROUND_RUNS = 2, 3, 4, 5, 6
NESTED = 2  # in screens_nested_foreach.ipynb

# Every piece of text of an output against the background it is drawn on (the first one up
# its ancestors that is not transparent).
_TEXTS = """(root, selector) => {
  const back = (n) => {
    for (; n; n = n.parentElement) {
      const c = getComputedStyle(n).backgroundColor;
      if (c && c !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(c)) return c;
    }
    return getComputedStyle(document.body).backgroundColor;
  };
  const out = [];
  for (const n of root.querySelectorAll(selector)) {
    if (!n.textContent.trim() || n.closest('svg')) continue;
    out.push({text: n.textContent.trim().slice(0, 40), fg: getComputedStyle(n).color,
              bg: back(n)});
  }
  return out;
}"""
_CELLS = "td, th, .flownb-badge, .flownb-more, .flownb-result, code, b"

# The left/right alignment of every table cell of an output.
_ALIGN = """root => [...root.querySelectorAll('td, th')].map(
  c => getComputedStyle(c).textAlign).filter(a => a !== 'left' && a !== 'start')"""

# The colour the graph's background polygon and its labels are painted with.
_GRAPH_PAINT = """root => {
  const svg = root.querySelector('svg');
  const back = svg.querySelector('g.graph > polygon, g.graph > g > a > polygon');
  const text = svg.querySelector('g.node text');
  const page = (n) => {
    for (; n; n = n.parentElement) {
      const c = getComputedStyle(n).backgroundColor;
      if (c && c !== 'transparent' && !/rgba\\(.*,\\s*0\\)$/.test(c)) return c;
    }
    return getComputedStyle(document.body).backgroundColor;
  };
  const node = svg.querySelector('g.node.flownb-step path, g.node.flownb-step polygon');
  return {back: getComputedStyle(back).fill, svg: getComputedStyle(svg).backgroundColor,
          text: getComputedStyle(text).fill, node: getComputedStyle(node).fill,
          page: page(svg.parentElement)};
}"""


def readable(root: Any, what: str, selector: str = _CELLS) -> None:
    texts = root.evaluate(_TEXTS, selector)
    assert texts, f"{what}: no text found"
    for t in texts:
        ratio = contrast(t["fg"], t["bg"], t["bg"])
        assert ratio >= 4.5, f"{what}: {t['text']!r} has a contrast of {ratio:.2f}: {t}"


def _paint(value: str) -> tuple[float, float, float, float]:
    if value in ("none", "transparent"):
        return (0.0, 0.0, 0.0, 0.0)
    return _rgb(value)


def test_issue16_screens_light_and_dark(open_notebook: Any, page: Any, expect: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 1400})
    nb = open_notebook("screens_issue16.ipynb")
    nb.run_all()

    runs = nb.output(RUNS)
    rows = runs.locator("table.flownb-run-table tbody tr")
    expect(rows).to_have_count(20)  # the latest 20 of 25
    expect(runs.locator(".flownb-more")).to_contain_text("5 more")
    resumed = nb.output(INSPECT_RESUMED)
    answers = resumed.locator("table.flownb-suspensions")
    expect(answers).to_contain_text("publish this draft?")  # what it asked
    expect(answers).to_contain_text("Ada Lovelace")  # the answer
    expect(resumed.locator("table.flownb-timeline")).to_contain_text("step-resumed")
    assert resumed.evaluate(_ALIGN) == [], "a %flow inspect cell is not left-aligned"
    long = nb.output(INSPECT_LONG)
    expect(long.locator(".flownb-result")).to_contain_text("… and 70 more items")
    playground = nb.output(PLAYGROUND).locator(".flownb-workflow-panel")
    expect(playground.locator(".flownb-run-count")).to_contain_text("no runs yet")
    expect(playground.locator(".flownb-run-list")).to_be_hidden()
    graph = playground.locator(".flownb-themed-graph")
    expect(graph.locator("svg")).to_be_visible()
    listed = nb.output(PLAYGROUND_RUNS).locator(".flownb-workflow-panel")
    expect(listed.locator(".flownb-run-count")).to_contain_text("1–20 of 25")
    select = listed.locator(".flownb-run-list select")
    expect(select.locator("option")).to_have_count(20)
    select.select_option(index=1)
    select.select_option(index=1)  # picked again: still one view of the run
    expect(listed.locator(".flownb-run-view")).to_have_count(1)
    expect(listed.locator(".flownb-run-view .flownb-head .flownb-pill")).to_have_text("success")

    problems: list[str] = []  # every check runs, so that every screenshot is taken

    def check(what: Any, *args: Any) -> None:
        try:
            what(*args)
        except AssertionError as exc:
            problems.append(str(exc).splitlines()[0])

    for theme in ("light", "dark"):
        set_theme(page, theme)
        for output, name in ((runs, "runs"), (resumed, "inspect-resumed"),
                             (long, "inspect-long")):
            output.scroll_into_view_if_needed()
            screenshot(output, f"screens-{name}-{theme}")
            check(readable, output, f"{name}/{theme}")
        playground.scroll_into_view_if_needed()
        screenshot(playground, f"screens-playground-empty-{theme}")
        check(graph_on_theme, graph, theme)
        check(readable, playground, f"playground/{theme}", ".flownb-run-count, b, p")
        listed.scroll_into_view_if_needed()
        screenshot(listed, f"screens-playground-runs-{theme}")
        check(rows_fit, select, theme)
    set_theme(page, "light")
    assert not problems, "\n".join(problems)


def test_nested_foreach_labels_stay_in_their_shapes(open_notebook: Any, page: Any,
                                                     expect: Any) -> None:
    """A foreach of a workflow that runs a foreach, with long ids: the graph inside the
    view, every label (the clusters' "× each, N at a time" too) inside its shape."""
    page.set_viewport_size({"width": 1280, "height": 1400})
    nb = open_notebook("screens_nested_foreach.ipynb")
    nb.run_all()
    nested = nb.output(NESTED).locator(".flownb-run-view")
    expect(nested.locator(".flownb-head .flownb-pill")).to_have_text("success")
    # The inner steps' rows: named under their parent's row, indented, distinct (their full
    # paths, cut at the column's width, would both read "per_group_of_numbers.s…").
    names = nested.locator(".flownb-step-table .flownb-path").evaluate_all(
        "cells => cells.map(c => [c.textContent, c.firstChild.title,"
        " parseFloat(getComputedStyle(c.firstChild).paddingLeft)])")
    assert [n[:2] for n in names] == [
        ["per_group_of_numbers", "per_group_of_numbers"],
        ["↳ split_group_into_items", "per_group_of_numbers.split_group_into_items"],
        ["↳ square_every_number_in_group", "per_group_of_numbers.square_every_number_in_group"],
    ], names
    assert names[0][2] == 0 and names[1][2] == names[2][2] > 0, names
    problems = []
    for theme in ("light", "dark"):
        set_theme(page, theme)
        screenshot(nested, f"screens-nested-foreach-{theme}")  # taken before the check
        try:
            check_layout(nested, f"nested foreach/{theme}")
        except AssertionError as exc:
            problems.append(str(exc).splitlines()[0])
    set_theme(page, "light")
    assert not problems, "\n".join(problems)


def rows_fit(select: Any, theme: str) -> None:
    """Every row of a playground's runs list is read whole: its text fits the list."""
    cut = select.evaluate("""select => {
        const style = getComputedStyle(select);
        const ctx = document.createElement("canvas").getContext("2d");
        ctx.font = `${style.fontSize} ${style.fontFamily}`;
        const room = select.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight) - 8;
        return [...select.options].map(o => [o.text, ctx.measureText(o.text).width, room])
            .filter(([, width, space]) => width > space);
    }""")
    assert cut == [], f"{theme}: runs list rows are cut: {cut}"


def graph_on_theme(graph: Any, theme: str) -> None:
    """The playground's graph: no background of its own (no white card in the dark theme),
    pending nodes dark in the dark theme, labels readable on them."""
    paint = graph.evaluate(_GRAPH_PAINT)
    assert _paint(paint["back"])[3] == 0, f"{theme}: the graph has a background: {paint}"
    assert _paint(paint["svg"])[3] == 0, f"{theme}: the graph has a background: {paint}"
    page_lum = _luminance(_rgb(paint["page"])[:3])
    assert page_lum < 0.2 if theme == "dark" else page_lum > 0.8, paint
    if theme == "dark":
        node_lum = _luminance(_paint(paint["node"])[:3])
        assert node_lum < 0.2, f"dark: a pending node of the graph is a light box: {paint}"
    ratio = contrast(paint["text"], paint["node"], paint["page"])
    assert ratio >= 4.5, f"{theme}: a node label's contrast is {ratio:.2f}: {paint}"
