"""``%flow plan`` through IPython's shell (no kernel), and the "reused" mark the live view
sends to the browser."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell

from flownb import create_step, create_workflow, run_sync
from flownb.core.plan import Plan
from flownb.notebook import live
from flownb.render.model import RunModeler
from flownb.storage import MemoryStore


def cached_workflow(store):
    a = create_step(id="a", input_schema=int, output_schema=int,
                    execute=lambda input_data: input_data + 1)
    b = create_step(id="b", input_schema=int, output_schema=int,
                    execute=lambda input_data: input_data * 2)
    return create_workflow(id="planned", input_schema=int, output_schema=int, storage=store,
                           cache=True).then(a).then(b).commit()


@pytest.fixture
def ip():  # type: ignore[no-untyped-def]
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "flownb")
    shell.user_ns["pwf"] = cached_workflow(MemoryStore())
    yield shell
    for name in ("pwf", "pl"):
        shell.user_ns.pop(name, None)


def test_flow_plan_displays_the_plan_and_stores_it(ip, monkeypatch):
    shown = []
    monkeypatch.setattr("flownb.notebook.magics.display", shown.append)
    assert ip.run_cell("%flow plan pwf --input 1 -o pl", store_history=False).success
    plan = ip.user_ns["pl"]
    assert shown == [plan] and isinstance(plan, Plan)
    assert {p: i.status for p, i in plan.items()} == {"a": "run", "b": "depends"}
    ip.user_ns["pwf"].invoke(1)
    assert ip.run_cell("%%flow plan pwf -o pl\n1\n", store_history=False).success
    assert {p: i.status for p, i in ip.user_ns["pl"].items()} == {"a": "reuse", "b": "reuse"}
    bundle = ip.user_ns["pl"]._repr_mimebundle_()
    assert "plan-reuse" in bundle["text/html"]


def test_flow_plan_bad_input_is_one_line(ip, capsys):
    out = ip.run_cell("%flow plan pwf --input '\"x\"'", store_history=False)
    assert not out.success
    assert "invalid input for workflow 'planned'" in str(out.error_in_exec)
    out = ip.run_cell("%flow plan pwf --input 1 --state '{'", store_history=False)
    assert "--state is not valid JSON" in str(out.error_in_exec)


def test_the_live_state_lists_reused_steps_and_the_inspector_says_from_where():
    wf = cached_workflow(MemoryStore())
    first = wf.invoke(1)
    run = wf.create_run()
    run_sync(run.start(input_data=1))
    model = RunModeler(wf.graph.description).of_run(run)
    state = live.model_state(model, now=None)
    assert state["reused"] == ["a", "b"]
    info = live.inspect_step("a", status="success", steps=run.steps)
    assert info["cached_from"] == {"run_id": first.run_id, "path": "a"}
    assert live.bounded_inspector(info)["cached_from"] == info["cached_from"]
    fresh = RunModeler(wf.graph.description).of_run(wf.create_run())
    assert live.model_state(fresh, now=None)["reused"] == []
    assert live.inspect_step("a", status="success", steps=first.steps)["cached_from"] is None
