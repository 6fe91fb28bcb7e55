"""The DOT renderer (SPEC §6): one shape per construct, statuses, escaping, on the exact text."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

import pytest

from flownb import const, create_step, create_workflow, from_step
from flownb.render import dot_to_svg, node_id, workflow_dot
from flownb.render.dot import dot_string
from flownb.render.style import STATUS_FILL, STATUS_STROKE, STATUSES

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"

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


def document(nodes: str, edges: str) -> str:
    """The DOT of workflow ``w``: the shared header, ``nodes``, the end marker, ``edges``."""
    return HEAD + nodes + END + edges + "}\n"


def step(step_id: str, description: str | None = None):
    return create_step(id=step_id, input_schema=Any, output_schema=Any,
                       execute=lambda input_data: input_data, description=description)


def workflow(wf_id: str = "w", description: str | None = None):
    return create_workflow(id=wf_id, description=description, storage=False)


def is_big(input_data: Any) -> bool:
    return True


def done(input_data: Any) -> bool:
    return True


def to_prompt(input_data: Any) -> Any:
    return input_data


# -- one construct at a time --------------------------------------------------------------------


def test_then_is_a_chain_of_boxes_between_start_and_end():
    wf = workflow().then(step("a", "first step")).then(step("b")).commit()
    assert wf.to_dot() == """\
digraph "w" {
  graph [id="graph:w", class="flownb-graph", label="w", tooltip="w", labelloc="t", fontname="Helvetica,Arial,sans-serif", fontsize=12, fontcolor="#5f6368", rankdir="TB", nodesep=0.3, ranksep=0.35];
  node [shape="box", style="rounded,filled", fontname="Helvetica,Arial,sans-serif", fontsize=11, fontcolor="#202124", fillcolor="#f1f3f4", color="#9aa0a6", height=0.36, margin="0.14,0.05", penwidth=1.2];
  edge [fontname="Helvetica,Arial,sans-serif", fontsize=9, fontcolor="#80868b", color="#80868b", arrowsize=0.7];
  "start" [id="start", class="flownb-start", shape="circle", style="filled", label="", fixedsize=true, fillcolor="#3c4043", color="#3c4043", width=0.2, tooltip="start"];
  "step:a" [id="step:a", class="flownb-step status-pending", label="a", tooltip="first step"];
  "step:b" [id="step:b", class="flownb-step status-pending", label="b", tooltip="b"];
  "end" [id="end", class="flownb-end", shape="doublecircle", style="filled", label="", fixedsize=true, fillcolor="#3c4043", color="#3c4043", width=0.16, tooltip="end"];
  "start" -> "step:a";
  "step:a" -> "step:b";
  "step:b" -> "end";
}
"""  # noqa: E501


def test_parallel_is_a_fork_and_a_join_with_the_steps_between():
    wf = workflow().parallel([step("a"), step("b")]).commit()
    assert wf.to_dot() == document("""\
  "parallel:parallel-1:fork" [id="parallel:parallel-1:fork", class="flownb-fork", shape="box", style="filled", label="", width=0.9, height=0.05, fixedsize=true, fillcolor="#3c4043", color="#3c4043", tooltip="parallel-1: run all at once"];
  "step:a" [id="step:a", class="flownb-step status-pending", label="a", tooltip="a"];
  "step:b" [id="step:b", class="flownb-step status-pending", label="b", tooltip="b"];
  "parallel:parallel-1:join" [id="parallel:parallel-1:join", class="flownb-join", shape="box", style="filled", label="", width=0.9, height=0.05, fixedsize=true, fillcolor="#3c4043", color="#3c4043", tooltip="parallel-1: wait for all"];
""", """\
  "start" -> "parallel:parallel-1:fork";
  "parallel:parallel-1:fork" -> "step:a";
  "step:a" -> "parallel:parallel-1:join";
  "parallel:parallel-1:fork" -> "step:b";
  "step:b" -> "parallel:parallel-1:join";
  "parallel:parallel-1:join" -> "end";
""")  # noqa: E501


def test_branch_is_a_decision_with_each_condition_on_its_edge():
    wf = (workflow()
          .branch([(is_big, step("big")), (lambda input_data: False, step("small"))])
          .commit())
    assert wf.to_dot() == document("""\
  "branch:branch-1:decide" [id="branch:branch-1:decide", class="flownb-decision", shape="diamond", style="filled", label="", fixedsize=true, fillcolor="#ffffff", color="#3c4043", width=0.32, height=0.32, tooltip="branch-1: the first condition that holds"];
  "step:big" [id="step:big", class="flownb-step status-pending", label="big", tooltip="big"];
  "step:small" [id="step:small", class="flownb-step status-pending", label="small", tooltip="small"];
  "branch:branch-1:merge" [id="branch:branch-1:merge", class="flownb-merge", shape="diamond", style="filled", label="", fixedsize=true, fillcolor="#ffffff", color="#3c4043", width=0.2, height=0.2, tooltip="branch-1: merge"];
""", """\
  "start" -> "branch:branch-1:decide";
  "branch:branch-1:decide" -> "step:big" [label="is_big"];
  "step:big" -> "branch:branch-1:merge";
  "branch:branch-1:decide" -> "step:small" [label="cond 2"];
  "step:small" -> "branch:branch-1:merge";
  "branch:branch-1:merge" -> "end";
""")  # noqa: E501


def test_map_is_a_small_ellipse_labelled_by_function_or_mapping():
    wf = (workflow().then(step("a"))
          .map(to_prompt)
          .map({"x": from_step("a"), "y": const(1)}, id="shape")
          .map(lambda input_data: 1)
          .commit())
    assert wf.to_dot() == document("""\
  "step:a" [id="step:a", class="flownb-step status-pending", label="a", tooltip="a"];
  "map:map-1" [id="map:map-1", class="flownb-map status-pending", shape="ellipse", style="filled", fontsize=9, height=0.3, label="to_prompt", tooltip="map-1"];
  "map:shape" [id="map:shape", class="flownb-map status-pending", shape="ellipse", style="filled", fontsize=9, height=0.3, label="mapping", tooltip="shape"];
  "map:map-2" [id="map:map-2", class="flownb-map status-pending", shape="ellipse", style="filled", fontsize=9, height=0.3, label="map", tooltip="map-2"];
""", """\
  "start" -> "step:a";
  "step:a" -> "map:map-1";
  "map:map-1" -> "map:shape";
  "map:shape" -> "map:map-2";
  "map:map-2" -> "end";
""")  # noqa: E501


def test_dountil_is_a_back_edge_labelled_until_and_the_condition():
    wf = workflow().dountil(step("a"), done).dountil(step("b"), lambda input_data: True).commit()
    assert wf.to_dot() == document("""\
  "step:a" [id="step:a", class="flownb-step status-pending", label="a", tooltip="a"];
  "step:b" [id="step:b", class="flownb-step status-pending", label="b", tooltip="b"];
""", """\
  "start" -> "step:a";
  "step:a" -> "step:a" [label="until done", class="flownb-until", style="dashed", constraint=false];
  "step:a" -> "step:b";
  "step:b" -> "step:b" [label="until", class="flownb-until", style="dashed", constraint=false];
  "step:b" -> "end";
""")


def test_dowhile_is_a_back_edge_labelled_while():
    wf = workflow().dowhile(step("a"), done).commit()
    assert wf.to_dot() == document("""\
  "step:a" [id="step:a", class="flownb-step status-pending", label="a", tooltip="a"];
""", """\
  "start" -> "step:a";
  "step:a" -> "step:a" [label="while done", class="flownb-while", style="dashed", constraint=false];
  "step:a" -> "end";
""")


def test_foreach_shows_its_concurrency_and_no_items():
    wf = workflow().foreach(step("a"), concurrency=4).foreach(step("b")).commit()
    assert wf.to_dot() == document("""\
  "step:a" [id="step:a", class="flownb-step status-pending", label="a\\n× each, 4 at a time", tooltip="a"];
  "step:b" [id="step:b", class="flownb-step status-pending", label="b\\n× each, 1 at a time", tooltip="b"];
""", """\
  "start" -> "step:a";
  "step:a" -> "step:b";
  "step:b" -> "end";
""")  # noqa: E501
    # Item statuses (``a[0]``) exist in runs but are not drawn.
    assert wf.to_dot({"a[0]": "success"}) == wf.to_dot()


def test_sleep_is_a_small_tag_with_its_duration():
    wf = workflow().sleep(5).sleep(0.25, id="nap").sleep(lambda input_data: 1).commit()
    assert wf.to_dot() == document("""\
  "sleep:sleep-1" [id="sleep:sleep-1", class="flownb-sleep status-pending", shape="cds", style="filled", fontsize=9, height=0.3, label="sleep 5 s", tooltip="sleep-1"];
  "sleep:nap" [id="sleep:nap", class="flownb-sleep status-pending", shape="cds", style="filled", fontsize=9, height=0.3, label="sleep 0.25 s", tooltip="nap"];
  "sleep:sleep-2" [id="sleep:sleep-2", class="flownb-sleep status-pending", shape="cds", style="filled", fontsize=9, height=0.3, label="sleep", tooltip="sleep-2"];
""", """\
  "start" -> "sleep:sleep-1";
  "sleep:sleep-1" -> "sleep:nap";
  "sleep:nap" -> "sleep:sleep-2";
  "sleep:sleep-2" -> "end";
""")  # noqa: E501


def test_sleep_until_shows_the_time_or_the_function():
    def wake_at(input_data: Any) -> datetime:
        return datetime(2030, 1, 1)

    wf = (workflow().sleep_until(datetime(2030, 1, 2, 3, 4, 5))
          .sleep_until(wake_at).sleep_until(lambda input_data: datetime(2030, 1, 1)).commit())
    assert wf.to_dot() == document("""\
  "sleep:sleep-until-1" [id="sleep:sleep-until-1", class="flownb-sleep status-pending", shape="cds", style="filled", fontsize=9, height=0.3, label="sleep until 2030-01-02T03:04:05", tooltip="sleep-until-1"];
  "sleep:sleep-until-2" [id="sleep:sleep-until-2", class="flownb-sleep status-pending", shape="cds", style="filled", fontsize=9, height=0.3, label="sleep until wake_at", tooltip="sleep-until-2"];
  "sleep:sleep-until-3" [id="sleep:sleep-until-3", class="flownb-sleep status-pending", shape="cds", style="filled", fontsize=9, height=0.3, label="sleep until", tooltip="sleep-until-3"];
""", """\
  "start" -> "sleep:sleep-until-1";
  "sleep:sleep-until-1" -> "sleep:sleep-until-2";
  "sleep:sleep-until-2" -> "sleep:sleep-until-3";
  "sleep:sleep-until-3" -> "end";
""")  # noqa: E501


def test_nested_workflow_is_a_cluster_titled_with_its_id():
    inner = workflow("inner", "the inner one").then(step("x")).map(to_prompt).commit()
    wf = workflow().then(step("a")).then(inner).commit()
    assert wf.to_dot() == document("""\
  "step:a" [id="step:a", class="flownb-step status-pending", label="a", tooltip="a"];
  subgraph "cluster_inner" {
    graph [id="workflow:inner", class="flownb-workflow status-pending", label="inner", tooltip="the inner one", style="rounded", color="#9aa0a6", fontcolor="#5f6368", fontsize=10, labeljust="l"];
    "step:inner.x" [id="step:inner.x", class="flownb-step status-pending", label="x", tooltip="inner.x"];
    "map:inner.map-1" [id="map:inner.map-1", class="flownb-map status-pending", shape="ellipse", style="filled", fontsize=9, height=0.3, label="to_prompt", tooltip="inner.map-1"];
  }
""", """\
  "start" -> "step:a";
  "step:a" -> "step:inner.x";
  "step:inner.x" -> "map:inner.map-1";
  "map:inner.map-1" -> "end";
""")  # noqa: E501


def test_nested_workflows_in_parallel_loop_and_foreach_keep_their_clusters():
    leaf = workflow("leaf").then(step("y")).commit()
    inner = workflow("inner").then(step("x")).then(leaf).commit()
    other = workflow("other").then(step("z")).commit()
    wf = (workflow().parallel([inner, step("p")]).dowhile(other, done)
          .foreach(workflow("each").then(step("e")).commit(), concurrency=2).commit())
    assert wf.to_dot() == document("""\
  "parallel:parallel-1:fork" [id="parallel:parallel-1:fork", class="flownb-fork", shape="box", style="filled", label="", width=0.9, height=0.05, fixedsize=true, fillcolor="#3c4043", color="#3c4043", tooltip="parallel-1: run all at once"];
  subgraph "cluster_inner" {
    graph [id="workflow:inner", class="flownb-workflow status-pending", label="inner", tooltip="inner", style="rounded", color="#9aa0a6", fontcolor="#5f6368", fontsize=10, labeljust="l"];
    "step:inner.x" [id="step:inner.x", class="flownb-step status-pending", label="x", tooltip="inner.x"];
    subgraph "cluster_inner.leaf" {
      graph [id="workflow:inner.leaf", class="flownb-workflow status-pending", label="leaf", tooltip="inner.leaf", style="rounded", color="#9aa0a6", fontcolor="#5f6368", fontsize=10, labeljust="l"];
      "step:inner.leaf.y" [id="step:inner.leaf.y", class="flownb-step status-pending", label="y", tooltip="inner.leaf.y"];
    }
  }
  "step:p" [id="step:p", class="flownb-step status-pending", label="p", tooltip="p"];
  "parallel:parallel-1:join" [id="parallel:parallel-1:join", class="flownb-join", shape="box", style="filled", label="", width=0.9, height=0.05, fixedsize=true, fillcolor="#3c4043", color="#3c4043", tooltip="parallel-1: wait for all"];
  subgraph "cluster_other" {
    graph [id="workflow:other", class="flownb-workflow status-pending", label="other", tooltip="other", style="rounded", color="#9aa0a6", fontcolor="#5f6368", fontsize=10, labeljust="l"];
    "step:other.z" [id="step:other.z", class="flownb-step status-pending", label="z", tooltip="other.z"];
  }
  subgraph "cluster_each" {
    graph [id="workflow:each", class="flownb-workflow status-pending", label="each\\n× each, 2 at a time", tooltip="each", style="rounded", color="#9aa0a6", fontcolor="#5f6368", fontsize=10, labeljust="l"];
    "step:each.e" [id="step:each.e", class="flownb-step status-pending", label="e", tooltip="each.e"];
  }
""", """\
  "start" -> "parallel:parallel-1:fork";
  "parallel:parallel-1:fork" -> "step:inner.x";
  "step:inner.x" -> "step:inner.leaf.y";
  "step:inner.leaf.y" -> "parallel:parallel-1:join";
  "parallel:parallel-1:fork" -> "step:p";
  "step:p" -> "parallel:parallel-1:join";
  "parallel:parallel-1:join" -> "step:other.z";
  "step:other.z" -> "step:other.z" [label="while done", class="flownb-while", style="dashed", constraint=false];
  "step:other.z" -> "step:each.e";
  "step:each.e" -> "end";
""")  # noqa: E501


def test_the_workflow_description_is_the_graph_title_and_tooltip():
    dot = workflow(description="Greets\npeople").then(step("a")).commit().to_dot()
    assert dot.splitlines()[1].startswith(
        '  graph [id="graph:w", class="flownb-graph", label="w", tooltip="Greets\\npeople", ')


# -- statuses -------------------------------------------------------------------------------------


def status_workflow():
    inner = workflow("inner").then(step("x")).then(step("y")).commit()
    return (workflow().then(step("a")).then(inner).map(to_prompt).sleep(1)
            .then(step("b")).commit())


def node_lines(dot: str) -> dict[str, str]:
    """Each node's (or cluster's) id → its attribute line."""
    out = {}
    for line in dot.splitlines():
        if ' [id="' in line:
            out[line.split(' [id="', 1)[1].split('"', 1)[0]] = line.strip()
    return out


def test_statuses_colour_the_nodes_of_their_paths_only():
    wf = status_workflow()
    statuses = {"a": "success", "inner": "running", "inner.x": "failed", "map-1": "suspended",
                "sleep-1": "canceled"}
    lines = node_lines(wf.to_dot(statuses))
    assert lines["step:a"] == ('"step:a" [id="step:a", class="flownb-step status-success", '
                               'label="a", tooltip="a", fillcolor="#ceead6", color="#188038"];')
    assert 'class="flownb-step status-failed"' in lines["step:inner.x"]
    assert 'fillcolor="#fad2cf", color="#d93025"' in lines["step:inner.x"]
    assert 'class="flownb-map status-suspended"' in lines["map:map-1"]
    assert 'fillcolor="#feefc3", color="#e37400"' in lines["map:map-1"]
    assert 'class="flownb-sleep status-canceled"' in lines["sleep:sleep-1"]
    assert 'class="flownb-workflow status-running"' in lines["workflow:inner"]
    assert 'color="#1a73e8"' in lines["workflow:inner"]
    for pending in ("step:inner.y", "step:b"):
        assert 'status-pending"' in lines[pending] and "fillcolor" not in lines[pending]
    # Only the status parts differ from the uncoloured graph.
    plain = node_lines(wf.to_dot())
    changed = {k for k in plain if plain[k] != lines[k]}
    assert changed == {"step:a", "workflow:inner", "step:inner.x", "map:map-1", "sleep:sleep-1"}


@pytest.mark.parametrize("status", STATUSES)
def test_every_status_has_its_class_and_colours(status):
    line = node_lines(status_workflow().to_dot({"b": status}))["step:b"]
    assert f'class="flownb-step status-{status}"' in line
    if status != "pending":
        assert f'fillcolor="{STATUS_FILL[status]}", color="{STATUS_STROKE[status]}"' in line


def test_an_unknown_status_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown status 'done' for step 'a'; expected one "
                                         r"of pending, running, success"):
        status_workflow().to_dot({"a": "done"})


def test_a_stored_run_is_drawn_from_its_snapshot_alone(store):
    wf = (create_workflow(id="w").then(step("a"))
          .then(workflow("inner").then(step("x")).commit()).map(to_prompt).commit())
    result = wf.invoke(1)
    snap = store.load(result.run_id)
    statuses = {path: record["status"] for path, record in snap.steps.items()}
    assert statuses == {"a": "success", "inner": "success", "inner.x": "success",
                        "map-1": "success"}
    graph = json.loads(json.dumps(snap.graph))  # what a store hands back: plain JSON
    assert workflow_dot(graph, statuses) == wf.to_dot(statuses)


# -- escaping -------------------------------------------------------------------------------------

NASTY_ID = 'x"}; <script>alert(1)</script> & a\\b\nline2 {;}'
# Step ids cannot hold control characters (SPEC §1); everything else still goes in one.
NASTY_STEP_ID = 'x"}; <script>alert(1)</script> & a\\b line2 {;}'
NASTY_TEXT = 'say "hi" <script>alert(1)</script> &amp; C:\\path\\x\nthen }{; done'


def test_dot_string_escapes_quotes_backslashes_newlines_and_markup():
    assert dot_string(NASTY_ID) == (
        '"x\\"}; &lt;script&gt;alert(1)&lt;/script&gt; &amp; a\\\\b\\nline2 {;}"')
    # Other control characters show as their escapes (the backslash doubled for DOT).
    assert dot_string("a\r\nb\rc\x00d\x1be") == '"a\\nb\\nc\\\\x00d\\\\x1be"'
    assert dot_string("end\\") == '"end\\\\"'


def test_node_ids_are_percent_encoded_paths():
    assert node_id("step", "outer.inner") == "step:outer.inner"
    assert node_id("map", "map-1") == "map:map-1"
    assert node_id("step", NASTY_ID) == (
        "step:x%22%7D%3B%20%3Cscript%3Ealert%281%29%3C%2Fscript%3E%20%26%20a%5Cb%0Aline2"
        "%20%7B%3B%7D")


def nasty_workflow():
    inner = workflow('in"<&>', description=NASTY_TEXT).then(step("y\\N")).commit()
    return (create_workflow(id='w<&>"', description=NASTY_TEXT, storage=False)
            .then(step(NASTY_STEP_ID, NASTY_TEXT))
            .branch([(lambda input_data: True, inner)])
            .map(to_prompt, id="m}{;")
            .commit())


def test_user_text_is_escaped_in_the_dot():
    dot = nasty_workflow().to_dot()
    assert dot.splitlines()[0] == 'digraph "w&lt;&amp;&gt;\\"" {'
    lines = node_lines(dot)
    assert lines[node_id("step", NASTY_STEP_ID)] == (
        f'"{node_id("step", NASTY_STEP_ID)}" [id="{node_id("step", NASTY_STEP_ID)}", '
        'class="flownb-step status-pending", '
        'label="x\\"}; &lt;script&gt;alert(1)&lt;/script&gt; &amp; a\\\\b line2 {;}", '
        'tooltip="say \\"hi\\" &lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; '
        'C:\\\\path\\\\x\\nthen }{; done"];')
    assert "<" not in dot and ">" not in dot.replace("->", "")
    assert 'subgraph "cluster_in%22%3C%26%3E" {' in dot
    assert 'label="in\\"&lt;&amp;&gt;"' in lines["workflow:in%22%3C%26%3E"]
    assert lines["map:m%7D%7B%3B"].endswith('label="to_prompt", tooltip="m}{;"];')


def svg_texts(svg: str) -> tuple[list[str], list[str]]:
    """The text lines and the tooltips a browser shows for ``svg`` (parsed as XML)."""
    root = ET.fromstring(svg)
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    titles = [a.get(f"{XLINK}title", "") for a in root.iter(f"{SVG}a")]
    return texts, titles


def test_escaped_text_renders_as_the_original_text_and_no_markup():
    wf = nasty_workflow()
    svg = dot_to_svg(wf.to_dot())
    assert "<script" not in svg and "&lt;script&gt;" in svg
    texts, titles = svg_texts(svg)
    # The browser shows exactly the user's text.
    assert NASTY_STEP_ID in texts
    assert 'in"<&>' in texts and 'w<&>"' in texts and "y\\N" in texts
    assert NASTY_TEXT in titles and "m}{;" in titles
    ids = {g.get("id") for g in ET.fromstring(svg).iter(f"{SVG}g")}
    assert {node_id("step", NASTY_STEP_ID), "workflow:in%22%3C%26%3E", "map:m%7D%7B%3B"} <= ids


# -- determinism ----------------------------------------------------------------------------------


def test_same_graph_same_text():
    first, second = nasty_workflow(), nasty_workflow()
    statuses = {NASTY_STEP_ID: "running", "m}{;": "success"}
    assert first.to_dot(statuses) == second.to_dot(statuses)
    description = copy.deepcopy(first.graph.description)
    assert workflow_dot(description, dict(reversed(statuses.items()))) == first.to_dot(statuses)
    assert workflow_dot(description) == workflow_dot(description)


def test_a_lone_step_description_is_drawn_between_start_and_end():
    dot = workflow_dot({"id": "a", "kind": "step", "description": None})
    assert dot == document('  "step:a" [id="step:a", class="flownb-step status-pending", '
                           'label="a", tooltip="a"];\n',
                           '  "start" -> "step:a";\n  "step:a" -> "end";\n'
                           ).replace('"w"', '"a"').replace("graph:w", "graph:a")


def test_bad_descriptions_say_what_is_wrong():
    with pytest.raises(ValueError, match="unknown entry kind 'teleport'"):
        workflow_dot({"id": "w", "entries": [{"kind": "teleport"}]})
    with pytest.raises(ValueError, match="without entries"):
        workflow_dot({"id": "w", "entries": []})


# -- left to right --------------------------------------------------------------------------------


def test_left_to_right_sets_rankdir_and_stands_the_bars_upright():
    wf = workflow().then(step("a")).parallel([step("b"), step("c")]).commit()
    tb, lr = wf.to_dot(), wf.to_dot(direction="LR")
    assert wf.to_dot(direction="TB") == tb
    assert 'rankdir="TB"' in tb and 'rankdir="TB"' not in lr and 'rankdir="LR"' in lr
    flat, upright = 'width=0.9, height=0.05', 'width=0.05, height=0.9'
    assert tb.count(flat) == 2 and upright not in tb
    assert lr.count(upright) == 2 and flat not in lr
    # Nothing else changes: the same nodes, shapes and edges.
    assert lr == tb.replace('rankdir="TB"', 'rankdir="LR"').replace(flat, upright)


def test_an_unknown_direction_is_refused_with_the_allowed_ones():
    wf = workflow().then(step("a")).commit()
    for bad in ("lr", "RL", "BT", ""):
        with pytest.raises(ValueError, match=r"'TB' .*or 'LR' .*not " + repr(bad)):
            wf.to_dot(direction=bad)
    with pytest.raises(ValueError, match="'TB'.*'LR'"):
        workflow_dot(wf.graph.description, direction="sideways")


def _svg_size(svg: str) -> tuple[float, float]:
    root = ET.fromstring(svg)
    return (float(root.get("width", "0").removesuffix("pt")),
            float(root.get("height", "0").removesuffix("pt")))


def test_a_long_chain_left_to_right_is_wider_than_tall():
    wf = workflow()
    for i in range(10):
        wf = wf.then(step(f"s{i}"))
    wf = wf.commit()
    width, height = _svg_size(wf.to_svg(direction="LR"))
    assert width > 4 * height
    width, height = _svg_size(wf.to_svg())
    assert height > 4 * width
    with pytest.raises(ValueError, match="'TB'.*'LR'"):
        wf.to_svg(direction="down")
