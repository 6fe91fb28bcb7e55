"""A plan drawn (SPEC §3d): marks and notes in the DOT, on the exact text; the HTML display;
the "reused" mark in the view model and the HTML report."""

from __future__ import annotations

from typing import Any

import pytest

from flownb import create_step, create_workflow
from flownb.core.plan import Plan, PlanItem
from flownb.render.dot import workflow_dot
from flownb.render.model import RunModeler
from flownb.render.plan import plan_dot, plan_html, plan_marks, plan_mimebundle, plan_rows
from flownb.render.report import run_report
from flownb.storage import MemoryStore

HEAD = """\
digraph "w" {
  graph [id="graph:w", class="flownb-graph", label="w", tooltip="w", labelloc="t", fontname="Helvetica,Arial,sans-serif", fontsize=12, fontcolor="#5f6368", rankdir="TB", nodesep=0.3, ranksep=0.35];
  node [shape="box", style="rounded,filled", fontname="Helvetica,Arial,sans-serif", fontsize=11, fontcolor="#202124", fillcolor="#f1f3f4", color="#9aa0a6", height=0.36, margin="0.14,0.05", penwidth=1.2];
  edge [fontname="Helvetica,Arial,sans-serif", fontsize=9, fontcolor="#80868b", color="#80868b", arrowsize=0.7];
  "start" [id="start", class="flownb-start", shape="circle", style="filled", label="", fixedsize=true, fillcolor="#3c4043", color="#3c4043", width=0.2, tooltip="start"];
"""  # noqa: E501
END = """\
  "end" [id="end", class="flownb-end", shape="doublecircle", style="filled", label="", fixedsize=true, fillcolor="#3c4043", color="#3c4043", width=0.16, tooltip="end"];
"""  # noqa: E501


def step(step_id: str):
    return create_step(id=step_id, input_schema=Any, output_schema=Any,
                       execute=lambda input_data: input_data)


def chain(*ids: str, wf_id: str = "w"):
    wf = create_workflow(id=wf_id, storage=False)
    for i in ids:
        wf = wf.then(step(i))
    return wf.commit()


FROM = {"run_id": "3f2a9c01ffff", "path": "a"}
ITEMS = {
    "a": PlanItem("reuse", "unchanged since run 3f2a9c01", FROM),
    "b": PlanItem("run", "code changed: b"),
    "c": PlanItem("depends", "its input comes from a step that will run (after 'b')"),
}


def test_a_small_plan_is_marked_and_noted_on_the_exact_dot():
    wf = chain("a", "b", "c")
    assert plan_dot(wf.graph.description, ITEMS) == HEAD + """\
  "step:a" [id="step:a", class="flownb-step status-pending plan-reuse", label=<a<BR/><FONT POINT-SIZE="8.5" COLOR="#5f6368">↺ reused</FONT>>, tooltip="a\\nreuse: unchanged since run 3f2a9c01", fillcolor="#f8f9fa", color="#dadce0", fontcolor="#80868b"];
  "step:b" [id="step:b", class="flownb-step status-pending plan-run", label=<b<BR/><FONT POINT-SIZE="8.5" COLOR="#5f6368">▶ code changed: b</FONT>>, tooltip="b\\nrun: code changed: b", fillcolor="#d2e3fc", color="#1a73e8", fontcolor="#202124", penwidth=2];
  "step:c" [id="step:c", class="flownb-step status-pending plan-depends", label=<c<BR/><FONT POINT-SIZE="8.5" COLOR="#5f6368">⋯ after 'b' runs</FONT>>, tooltip="c\\ndepends: its input comes from a step that will run (after 'b')", style="rounded,filled,dashed", fillcolor="#e8f0fe", color="#669df6", fontcolor="#202124"];
""" + END + """\
  "start" -> "step:a";
  "step:a" -> "step:b";
  "step:b" -> "step:c";
  "step:c" -> "end";
}
"""  # noqa: E501


def test_without_marks_or_notes_the_dot_is_unchanged():
    wf = chain("a", "b")
    assert workflow_dot(wf.graph.description, marks={}, notes={}) == \
        workflow_dot(wf.graph.description)


def test_user_text_in_notes_and_ids_is_escaped_in_the_html_label():
    wf = chain('x<b>&"y"')
    items = {'x<b>&"y"': PlanItem("run", 'code changed: </FONT><b>\x1b[2J\n"q"')}
    dot = plan_dot(wf.graph.description, items)
    line = next(ln for ln in dot.splitlines() if "plan-run" in ln)
    assert ('label=<x&lt;b&gt;&amp;&quot;y&quot;<BR/><FONT POINT-SIZE="8.5" COLOR="#5f6368">'
            "▶ code changed: &lt;/FONT&gt;&lt;b&gt;\\x1b[2J\\n&quot;q&quot;</FONT>>") in line
    assert 'tooltip="x&lt;b&gt;&amp;\\"y\\"\\nrun: code changed: &lt;/FONT&gt;&lt;b&gt;' in line
    assert "\x1b" not in dot and "<b>" not in dot and "</FONT><b>" not in dot
    long = plan_dot(wf.graph.description, {'x<b>&"y"': PlanItem("run", "x" * 50)})
    assert "▶ " + "x" * 31 + "…</FONT>" in long and "x" * 50 in long  # cut; whole in tooltip


def test_an_unknown_mark_is_refused():
    wf = chain("a")
    with pytest.raises(ValueError, match="unknown plan mark 'maybe'"):
        workflow_dot(wf.graph.description, marks={"a": "maybe"})


def test_foreach_items_share_their_node_with_the_mark_that_matters_most():
    items = {"each[0]": PlanItem("reuse", "unchanged since run 1", FROM),
             "each[1]": PlanItem("run", "input changed: input"),
             "each[2]": PlanItem("reuse", "unchanged since run 1", FROM),
             "after": PlanItem("depends", "its input comes from a step that will run "
                                          "(after 'each[1]')")}
    marks, notes, tips = plan_marks(items)
    assert marks == {"each": "run", "after": "depends"}
    assert notes == {"each": "▶ 3 items: 1 runs, 2 reused", "after": "⋯ after 'each[1]' runs"}
    assert tips["each"] == "each[1]: run: input changed: input"


def test_plan_rows_say_where_a_reused_step_comes_from():
    assert [(r.path, r.status, r.reused_from) for r in plan_rows(ITEMS)] == [
        ("a", "reuse", "run 3f2a9c01ffff"), ("b", "run", ""), ("c", "depends", "")]
    # a foreach item reused from another index says which
    moved = {"each[3]": PlanItem("reuse", "unchanged", {"run_id": "3f2a", "path": "each[7]"})}
    assert plan_rows(moved)[0].reused_from == "run 3f2a · each[7]"


def test_plan_html_escapes_and_lists_every_step():
    items = {"<i>a</i>": PlanItem("run", "code changed: <script>")}
    html = plan_html("<wf>", items, None, notice="no <graph>")
    assert "<script>" not in html and "<i>a</i>" not in html and "<wf>" not in html
    assert "&lt;script&gt;" in html and "&lt;i&gt;a&lt;/i&gt;" in html
    assert "no &lt;graph&gt;" in html
    assert "--jp-ui-font-color1" in html  # theme colours, light and dark
    assert "<span class=\"flownb-plan-muted\">1 runs</span>" in html  # no "0 reused"


def test_the_mimebundle_is_text_and_html_with_the_graph():
    wf = chain("a", "b")
    plan = Plan(wf, dict(list(ITEMS.items())[:2]))
    bundle = plan_mimebundle(plan)
    assert bundle["text/plain"] == repr(plan) == "Plan(workflow='w', reuse=1, run=1, depends=0)"
    html = bundle["text/html"]
    assert "<svg" in html and 'class="node flownb&#45;step status&#45;pending plan&#45;reuse"' \
        in html
    assert "<th>reused from</th>" in html and "<code>run 3f2a9c01ffff</code>" in html
    nothing_reused = plan_mimebundle(Plan(wf, {"b": ITEMS["b"]}))["text/html"]
    assert "reused from</th>" not in nothing_reused  # no column of empty cells
    assert set(plan._repr_mimebundle_(exclude={"text/html"})) == {"text/plain"}


def cached_workflow(store):
    a = create_step(id="a", input_schema=int, output_schema=int,
                    execute=lambda input_data: input_data + 1)
    b = create_step(id="b", input_schema=int, output_schema=int,
                    execute=lambda input_data: input_data * 2)
    return create_workflow(id="w", input_schema=int, output_schema=int, storage=store,
                           cache=True).then(a).then(b).commit()


def test_a_real_plan_draws_after_a_run():
    store = MemoryStore()
    wf = cached_workflow(store)
    assert plan_marks(wf.plan(1))[0] == {"a": "run", "b": "depends"}
    first = wf.invoke(1)
    marks, notes, _ = plan_marks(wf.plan(1))
    assert marks == {"a": "reuse", "b": "reuse"} and notes["a"] == "↺ reused"
    assert plan_marks(wf.plan(2))[0] == {"a": "run", "b": "depends"}
    assert first.steps["a"].cached_from is None


def test_the_model_marks_reused_steps_and_the_report_shows_it():
    store = MemoryStore()
    wf = cached_workflow(store)
    first = wf.invoke(1)
    run = wf.create_run()
    from flownb import run_sync

    run_sync(run.start(input_data=1))
    model = RunModeler(wf.graph.description).of_run(run)
    assert model.reused == ["a", "b"]
    assert model.nodes["a"].reused and model.nodes["a"].cached_from == {
        "run_id": first.run_id, "path": "a"}
    html = run_report(run, input_data=1, graph=lambda d, s: "<svg></svg>")
    assert html.count("↺ reused</span>") == 4  # the step table and the details, each step
    assert f"run {first.run_id} · a" in html
    fresh = RunModeler(wf.graph.description).of_snapshot(store.load(first.run_id))
    assert fresh.reused == [] and not fresh.nodes["a"].reused
