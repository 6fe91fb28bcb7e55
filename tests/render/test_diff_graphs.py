"""Two compared runs drawn side by side (SPEC §3d "Compare"): each run's step graph from the
graph description stored with it, the changed steps marked on both sides, a step one run
lacks marked as such; escaped; the tables alone, with one line saying why, without Graphviz
or a stored graph."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest

from flownb import compare, create_step, create_workflow
from flownb.core.compare import RunSide
from flownb.render import svg as svg_module
from flownb.render.diff import (
    diff_html,
    diff_marks,
    diff_view_html,
    side_description,
    svg_with_classes,
)
from flownb.storage import MemoryStore


def step(step_id: str, fn=lambda d: d):
    return create_step(id=step_id, input_schema=Any, output_schema=Any,
                       execute=lambda input_data: fn(input_data))


def boom(_: Any) -> Any:
    raise ValueError("boom")


def build(*steps, wf_id: str = "w", storage: Any = None):
    wf = create_workflow(id=wf_id, storage=storage)
    for s in steps:
        wf = wf.then(s)
    return wf.commit()


def sides(html: str) -> tuple[str, str]:
    """The column of run A and the column of run B."""
    _, rest = html.split('<div class="fd-side" data-side="A">')
    side_a, rest = rest.split('<div class="fd-side" data-side="B">')
    side_b = rest.split("<h4>Differences</h4>")[0]
    return side_a, side_b


def group(svg: str, node: str) -> str:
    """The opening tag of a node's group in an SVG (``node``: its id, as the SVG writes it)."""
    found = re.findall(rf'<g id="{re.escape(node)}" class="[^"]*">', svg)
    assert len(found) == 1, (node, found)
    return found[0]


def two_versions():
    """Run A of [a, b, c] and run B of [a, b', d], both stored: b's output differs, c only
    in A, d only in B."""
    first = build(step("a"), step("b", lambda d: {"score": 3}), step("c")).invoke({"x": 1})
    second = build(step("a"), step("b", lambda d: {"score": 4}), step("d")).invoke({"x": 1})
    return first, second


def test_both_graphs_side_by_side_with_the_changed_step_marked_in_both():
    first, second = two_versions()
    diff = compare(first, second)
    html = diff._repr_html_()
    assert html.count("<svg") == 2
    side_a, side_b = sides(html)
    assert side_a.count("<svg") == 1 and side_b.count("<svg") == 1
    for side in (side_a, side_b):
        assert '<div class="fd-graph"><svg' in side
        assert group(side, "step:a") == \
            '<g id="step:a" class="node flownb&#45;step status&#45;success">'
        assert group(side, "step:b") == \
            '<g id="step:b" class="node flownb&#45;step status&#45;success diff-changed">'
        assert "≠ changed: output</text>" in side
        assert "b&#10;changed: output (1 difference, listed below)" in side  # its tooltip
    assert group(side_a, "step:c") == \
        '<g id="step:c" class="node flownb&#45;step status&#45;success diff-only">'
    assert "+ only in A</text>" in side_a and "step:d" not in side_a
    assert group(side_b, "step:d") == \
        '<g id="step:d" class="node flownb&#45;step status&#45;success diff-only">'
    assert "+ only in B</text>" in side_b and "step:c" not in side_b
    # the legend, once, above the columns; the differences under them
    assert html.count('<div class="fd-legend">') == 1
    assert html.index('<div class="fd-legend">') < html.index('<div class="fd-sides">') \
        < html.index("<h4>Differences</h4>")
    assert ('<tr><td><code>output.score</code></td><td class="fd-a"><span class="fd-value">3'
            '</span></td><td class="fd-b"><span class="fd-value">4</span></td></tr>') in html


def test_a_step_the_other_run_did_not_reach_is_marked_absent_on_its_graph():
    failed = build(step("a"), step("b", boom), step("c")).invoke({"x": 1})
    done = build(step("a"), step("b"), step("c")).invoke({"x": 1})
    assert failed.status == "failed"
    side_a, side_b = sides(compare(failed, done)._repr_html_())
    assert group(side_a, "step:b") == \
        '<g id="step:b" class="node flownb&#45;step status&#45;failed diff-changed">'
    assert group(side_a, "step:c") == \
        '<g id="step:c" class="node flownb&#45;step status&#45;pending diff-absent">'
    assert "– not run in A</text>" in side_a
    assert group(side_b, "step:c") == \
        '<g id="step:c" class="node flownb&#45;step status&#45;success diff-only">'
    assert "+ only in B</text>" in side_b


def test_marks_notes_and_tooltips_exactly():
    first, second = two_versions()
    diff = compare(first, second)
    assert diff_marks(diff, "A") == (
        {"b": "diff-changed", "c": "diff-only", "d": "diff-absent"},
        {"b": "≠ changed: output", "c": "+ only in A", "d": "– not run in A"},
        {"b": "changed: output (1 difference, listed below)",
         "c": "only run A has this step",
         "d": "run A did not run this step; only run B has it"})
    classes, notes, _ = diff_marks(diff, "B")
    assert classes == {"b": "diff-changed", "c": "diff-absent", "d": "diff-only"}
    assert notes == {"b": "≠ changed: output", "c": "– not run in B", "d": "+ only in B"}
    with pytest.raises(ValueError, match="side must be 'A' or 'B'"):
        diff_marks(diff, "C")


def test_the_items_of_a_foreach_share_their_node_and_its_note_counts_them():
    def run(factor: int):
        wf = (create_workflow(id="w").then(step("split", lambda d: [1, 2, 3]))
              .foreach(step("embed", lambda n: n * (factor if n == 2 else 1))).commit())
        return wf.invoke({})

    diff = compare(run(1), run(5))
    assert diff.changed == ["embed", "embed[1]"]
    classes, notes, tips = diff_marks(diff, "A")
    assert classes == {"embed": "diff-changed"}
    assert notes == {"embed": "≠ 2 changed of 4 items"}
    assert tips["embed"].startswith("≠ 2 changed of 4 items; first: embed: changed: output")
    side_a, side_b = sides(diff._repr_html_())
    for side in (side_a, side_b):
        assert group(side, "step:embed").endswith(' diff-changed">')
        assert "≠ 2 changed of 4 items</text>" in side


def test_hostile_step_ids_and_outputs_are_escaped_in_the_graphs_and_tables():
    evil = '<img src=x onerror="alert(1)">'
    first = build(step(evil, lambda d: {"k": "<script>alert(1)</script>"})).invoke({})
    second = build(step(evil, lambda d: {"k": "</svg><b>x</b>"})).invoke({})
    html = compare(first, second)._repr_html_()
    assert html.count("<svg") == 2  # drawn, and the step is marked on both sides
    assert "<img" not in html and "<script" not in html and "<b>x" not in html
    assert html.count("</svg>") == 2
    side_a, side_b = sides(html)
    node = "step:%3Cimg%20src%3Dx%20onerror%3D%22alert%281%29%22%3E"
    for side in (side_a, side_b):
        assert group(side, node).endswith(' diff-changed">')
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</text>" in side
        assert "<code>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</code>" in side
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;/svg&gt;&lt;b&gt;x&lt;/b&gt;" in html


def test_without_graphviz_the_tables_show_with_one_line_saying_so(monkeypatch):
    first, second = two_versions()

    def no_dot() -> str:
        raise RuntimeError("no Graphviz here")

    monkeypatch.setattr(svg_module, "find_dot", no_dot)
    html = compare(first, second)._repr_html_()
    assert "<svg" not in html and '<div class="fd-legend">' not in html
    assert re.findall(r'<div class="fd-notice">[^<]*</div>', html) == [
        '<div class="fd-notice">The graphs could not be drawn: no Graphviz here</div>']
    side_a, side_b = sides(html)
    for side in (side_a, side_b):
        assert '<tr class="fd-changed" data-path="b">' in side


def test_a_run_that_is_not_stored_says_so_on_its_side():
    first = build(step("a"), storage=False).invoke({})
    second = build(step("a", lambda d: 2)).invoke({})
    html = compare(first, second)._repr_html_()
    side_a, side_b = sides(html)
    assert '<div class="fd-notice">No graph: it is not in the store.</div>' in side_a
    assert "<svg" not in side_a and side_b.count("<svg") == 1
    assert html.count('<div class="fd-legend">') == 1


def test_stored_runs_compared_by_id_are_drawn_from_their_snapshots(store):
    first, second = two_versions()
    other = MemoryStore()  # each side carries the graph stored with its run: no lookup
    assert diff_view_html(compare(first.run_id, second.run_id), store=other).count("<svg") == 2
    html = compare(first.run_id, second.run_id)._repr_html_()
    assert html.count("<svg") == 2 and html.count("success diff-changed\">") == 2


def test_where_a_graph_comes_from(store):
    first, second = two_versions()  # WorkflowResults: their graph is looked up when drawn
    assert compare(first, second).a.graph is None
    assert compare(first, second.run_id).b.graph == store.load(second.run_id).graph
    wf = build(step("a"), step("b", lambda d: {"score": 3}), step("c"))
    run = wf.create_run(run_id=first.run_id)  # a Run: the graph stored with it
    assert compare(run, second).a.graph == store.load(first.run_id).graph
    own = {"id": "own", "entries": []}
    assert side_description(SimpleNamespace(graph=own, run_id="r", workflow_id="w")) == \
        (own, None)
    graph, why = side_description(RunSide(first.run_id, "w", "success", {}))
    assert graph == store.load(first.run_id).graph and why is None
    assert side_description(RunSide(first.run_id, "other", "success", {})) == \
        (None, "the stored run of that id is of workflow 'w'")
    assert side_description(RunSide("nope", "w", None, {})) == (None, "it is not in the store")
    assert side_description(RunSide(None, "w", None, {})) == (None, "it has no run id")

    class Broken(MemoryStore):
        def load(self, run_id: str) -> Any:
            raise OSError("disk gone")

    assert side_description(RunSide("r", "w", None, {}), Broken()) == \
        (None, "its store could not be read (OSError: disk gone)")


def test_classes_are_added_to_node_groups_only():
    svg = ('<svg><g id="graph:w" class="graph flownb&#45;graph">'
           '<g id="step:a%20b" class="node flownb&#45;step status&#45;success">'
           '<g id="a_step:a%20b"><a><path/></a></g></g>'
           '<g id="cluster_x" class="cluster"><g id="workflow:x" class="cluster flownb-workflow">'
           "</g></g></svg>")
    assert svg_with_classes(svg, {"a b": "diff-changed", "x": "diff-only"}) == svg.replace(
        'status&#45;success">', 'status&#45;success diff-changed">').replace(
        'flownb-workflow">', 'flownb-workflow diff-only">')
    with pytest.raises(ValueError, match="unknown diff class 'plan-run'"):
        svg_with_classes(svg, {"a b": "plan-run"})


def test_layout_two_columns_that_wrap_and_graphs_that_never_overflow():
    first, second = two_versions()
    html = compare(first, second)._repr_html_()
    style = html.split("<style>")[1].split("</style>")[0]
    assert re.search(r"\.fd-sides \{[^}]*display: flex;[^}]*flex-wrap: wrap;", style)
    assert re.search(r"\.fd-side \{[^}]*flex: 1 1 300px; min-width: 0; max-width: 100%;", style)
    assert re.search(r"\.fd-graph > svg \{[^}]*max-width: 100%; height: auto;", style)


def test_pure_html_takes_the_svgs_and_notices_it_is_given():
    first, second = two_versions()
    diff = compare(first, second)
    html = diff_html(diff, {"A": ("<svg>A</svg>", None), "B": (None, "No graph: <why>.")})
    side_a, side_b = sides(html)
    assert '<div class="fd-graph"><svg>A</svg></div>' in side_a
    assert '<div class="fd-notice">No graph: &lt;why&gt;.</div>' in side_b
    bare = diff_html(diff)
    assert '<div class="fd-graph">' not in bare and '<div class="fd-notice">' not in bare
