"""SVG through graphviz-pure (SPEC §6): stable ids, restyling without layout, display."""

from __future__ import annotations

import re
import shutil
import time
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from flownb import create_step, create_workflow
from flownb.render import dot_to_svg, svg_with_statuses, workflow_svg
from flownb.render import svg as svg_module
from flownb.render.style import STATUS_CSS

SVG = "{http://www.w3.org/2000/svg}"
GEOMETRY = re.compile(r'\s(?:d|points|cx|cy|rx|ry|x|y|width|height|viewBox|transform)="[^"]*"')


def step(step_id: str):
    return create_step(id=step_id, input_schema=Any, output_schema=Any,
                       execute=lambda input_data: input_data)


def chain(n: int, wf_id: str = "chain"):
    wf = create_workflow(id=wf_id, storage=False)
    for i in range(n):
        wf.then(step(f"s{i}"))
    return wf.commit()


def nested():
    leaf = create_workflow(id="leaf", storage=False).then(step("y")).commit()
    inner = (create_workflow(id="inner", storage=False).then(step("x"))
             .parallel([step("p"), leaf]).commit())
    return (create_workflow(id="outer", storage=False).then(step("a")).then(inner)
            .map(lambda input_data: input_data).sleep(1).commit())


def groups(svg: str) -> dict[str, str]:
    """Every SVG group id → its class."""
    return {g.get("id", ""): g.get("class", "") for g in ET.fromstring(svg).iter(f"{SVG}g")}


def test_a_ten_node_chain_renders_with_stable_ids():
    svg = chain(10).to_svg()
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg
    found = groups(svg)
    for i in range(10):
        assert found[f"step:s{i}"] == "node flownb-step status-pending"
    assert found["start"] == "node flownb-start" and found["end"] == "node flownb-end"
    assert found["graph:chain"] == "graph flownb-graph"


def test_a_nested_workflow_renders_as_clusters_with_stable_ids():
    svg = nested().to_svg({"inner": "running", "inner.x": "success"})
    found = groups(svg)
    assert found["workflow:inner"] == "cluster flownb-workflow status-running"
    assert found["workflow:inner.leaf"] == "cluster flownb-workflow status-pending"
    assert found["step:inner.x"] == "node flownb-step status-success"
    assert found["step:inner.leaf.y"] == "node flownb-step status-pending"
    assert found["map:map-1"] == "node flownb-map status-pending"
    assert found["sleep:sleep-1"] == "node flownb-sleep status-pending"
    assert {"parallel:inner.parallel-1:fork", "parallel:inner.parallel-1:join"} <= set(found)
    assert svg.count('<style data-flownb="status">') == 1 and STATUS_CSS in svg


def test_svg_with_statuses_changes_classes_and_nothing_of_the_layout():
    wf = nested()
    before = wf.to_svg()
    statuses = {"a": "success", "inner": "failed", "inner.x": "failed", "map-1": "running",
                "sleep-1": "skipped", "no.such.step": "success"}
    after = svg_with_statuses(before, statuses)
    assert after != before
    assert GEOMETRY.findall(after) == GEOMETRY.findall(before)
    # Outside the class attributes the text is the same, byte for byte.
    strip = re.compile(r' class="[^"]*"')
    assert strip.sub("", after) == strip.sub("", before)
    # The classes are what a fresh layout with these statuses has.
    assert groups(after) == groups(wf.to_svg(statuses))
    assert groups(after)["step:inner.leaf.y"] == "node flownb-step status-pending"
    # Restyling is repeatable and reversible.
    again = svg_with_statuses(after, {"a": "pending", "inner": "pending", "inner.x": "pending",
                                      "map-1": "pending", "sleep-1": "pending"})
    assert again == before


def test_svg_with_statuses_adds_the_style_sheet_once():
    plain = dot_to_svg(chain(2).to_dot())
    assert "data-flownb" not in plain
    styled = svg_with_statuses(plain, {"s0": "running"})
    assert styled.count('<style data-flownb="status">') == 1
    assert svg_with_statuses(styled, {"s0": "success"}).count("<style") == 1
    with pytest.raises(ValueError, match="unknown status 'ok'"):
        svg_with_statuses(styled, {"s0": "ok"})


def test_workflow_svg_equals_to_svg():
    wf = nested()
    assert workflow_svg(wf.graph.description, {"a": "failed"}) == wf.to_svg({"a": "failed"})


def test_repr_mimebundle_gives_svg_and_text():
    wf = chain(3)
    bundle = wf._repr_mimebundle_()
    assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert bundle["text/plain"] == repr(wf) and bundle["image/svg+xml"] == wf.to_svg()
    assert set(wf._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}
    assert set(wf._repr_mimebundle_(exclude={"image/svg+xml"})) == {"text/plain"}
    # An open workflow has no graph yet: it shows as text.
    open_wf = create_workflow(id="open", storage=False).then(step("a"))
    assert open_wf._repr_mimebundle_() == {"text/plain": repr(open_wf)}


# -- finding Graphviz -----------------------------------------------------------------------------


def hide_programs(monkeypatch, *names: str) -> None:
    real = shutil.which

    def which(cmd: str, mode: int = 1, path: str | None = None) -> str | None:
        return None if cmd in names else real(cmd, mode, path)

    monkeypatch.setattr(shutil, "which", which)


def test_missing_graphviz_names_what_to_install(monkeypatch):
    hide_programs(monkeypatch, "graphviz-pure", "dot")
    monkeypatch.delenv("FLOWNB_DOT", raising=False)
    with pytest.raises(RuntimeError) as info:
        chain(1).to_svg()
    message = str(info.value)
    assert "pip install graphviz-pure" in message
    assert "FLOWNB_DOT" in message and "'dot' on PATH" in message


def test_flownb_dot_is_the_first_fallback(monkeypatch):
    real = svg_module.find_dot()
    hide_programs(monkeypatch, "graphviz-pure", "dot")
    monkeypatch.setenv("FLOWNB_DOT", real)
    assert svg_module.find_dot() == real
    assert groups(chain(2).to_svg())["step:s1"] == "node flownb-step status-pending"
    monkeypatch.setenv("FLOWNB_DOT", "/nowhere/dot")
    with pytest.raises(RuntimeError, match="FLOWNB_DOT='/nowhere/dot' is not an executable"):
        svg_module.find_dot()


def test_a_dot_on_path_is_the_last_fallback(monkeypatch):
    real = svg_module.find_dot()
    hide_programs(monkeypatch, "graphviz-pure")
    monkeypatch.delenv("FLOWNB_DOT", raising=False)
    monkeypatch.setattr(shutil, "which", lambda cmd, mode=1, path=None:
                        real if cmd == "dot" else None)
    assert svg_module.find_dot() == real


def test_graphviz_errors_are_reported():
    with pytest.raises(RuntimeError, match=r"failed \(exit status \d+\)"):
        dot_to_svg("digraph { a -> }")


def test_to_svg_timings_are_reported(capsys):
    """Not a benchmark assertion: prints to_svg times for the closing note."""
    rows = []
    for n in (10, 100, 500):
        wf = chain(n)
        started = time.perf_counter()
        svg = wf.to_svg()
        rows.append(f"to_svg {n:>3}-node chain: {1000 * (time.perf_counter() - started):.1f} ms")
        assert f'id="step:s{n - 1}"' in svg
    with capsys.disabled():
        print("\n" + "\n".join(rows))


def test_layouts_are_cached_by_dot_text(monkeypatch):
    calls = []
    real_run = svg_module.subprocess.run

    def counting_run(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(svg_module.subprocess, "run", counting_run)
    description = chain(3, "cached-layout").graph.description
    first = workflow_svg(description)
    assert workflow_svg(description) == first and len(calls) == 1  # no second Graphviz run
    workflow_svg(description, {"s1": "running"})  # other DOT text: a layout of its own
    assert len(calls) == 2
    assert workflow_svg(description, cache=False) == first and len(calls) == 3
    for i in range(svg_module.LAYOUT_CACHE_SIZE):  # newer layouts push the oldest out
        workflow_svg(chain(1, f"other-{i}").graph.description)
    assert len(svg_module._LAYOUTS) == svg_module.LAYOUT_CACHE_SIZE
    workflow_svg(description)
    assert len(calls) == 3 + svg_module.LAYOUT_CACHE_SIZE + 1
