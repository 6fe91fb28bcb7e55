"""Fork from here in the live view, headless (SPEC §3d, §6b): offered only for a step that ran,
the form is pre-filled with the step's recorded input (never with a value the current
constraints reject), bad input shows inline and stores nothing, a submit forks, shows the
fork's own view below the form and runs it; run lists mark forks."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, Field

from flownb import create_step, create_workflow
from flownb.core.fork import fork_points
from flownb.notebook import RunView
from flownb.notebook._html import run_table
from flownb.notebook.forms import ForkForm
from flownb.notebook.playground import WorkflowPanel


class N(BaseModel):
    n: int = Field(ge=0, le=100, description="a small number")


def chain(limit: int = 100, calls: list[str] | None = None) -> Any:
    """add one, then double; ``limit`` is the input's upper bound for ``double``."""
    seen = calls if calls is not None else []

    class Capped(BaseModel):
        n: int = Field(ge=0, le=limit)

    def add(input_data: N) -> dict[str, int]:
        seen.append(f"add {input_data.n}")
        return {"n": input_data.n + 1}

    def double(input_data: Capped) -> dict[str, int]:
        seen.append(f"double {input_data.n}")
        return {"n": input_data.n * 2}

    return (create_workflow(id="chain", input_schema=N, output_schema=N)
            .then(create_step(id="add", input_schema=N, output_schema=N, execute=add))
            .then(create_step(id="double", input_schema=Capped, output_schema=N,
                              execute=double))
            .commit())


async def finished(view: RunView) -> str:
    for _ in range(2_000):
        run, state = view.run, view.state
        assert run is not None
        if state["run_id"] == run.run_id and state["status"] in (
                "success", "failed", "canceled", "suspended"):
            return str(state["status"])
        await asyncio.sleep(0.005)
    raise AssertionError("the run never finished")


async def test_fork_from_here_is_offered_only_for_a_step_that_ran():
    wf = chain()
    run = wf.create_run()
    view = RunView(run)
    assert not view.can_fork("add")  # never started
    view.select("add")
    assert view.inspected["can_fork"] is False
    await run.start({"n": 3})
    assert view.can_fork("add") and view.can_fork("double")
    assert view.inspected["can_fork"] is True  # the open inspector says so after the run
    assert not view.can_fork("nope")
    try:
        view.fork_form("nope")
    except ValueError as exc:
        assert "cannot fork from 'nope'" in str(exc)
    else:
        raise AssertionError("fork_form of an unknown step")
    view.close()


async def test_the_fork_form_is_prefilled_and_a_submit_forks_and_runs_with_its_own_view(store):
    calls: list[str] = []
    wf = chain(calls=calls)
    run = wf.create_run()
    view = RunView(run)
    await run.start({"n": 3})
    form = view.fork_form("double")
    assert isinstance(form, ForkForm)
    assert view.fork_form("double") is form  # one open form per step
    assert form in view.forms
    assert form.fields["n"].value == 4  # what double got
    form.fields["n"].value = 10
    calls.clear()

    result = await form.submit()
    assert result is not None and result.status == "success"
    assert result.result == N(n=20)
    assert calls == ["double 10"]  # add was copied, not run again
    fork = form.fork
    assert fork is not None and fork.parent_run_id == run.run_id and fork.forked_at == "double"
    assert form.view is not None and form.view.run is fork  # the fork's own view, below
    assert await finished(form.view) == "success"
    assert view.run is run and run.result.result == N(n=8)  # this view keeps the original
    assert form.submitted and form in view.forms
    card = form._static_html()
    assert "forked at" in card and fork.run_id in card
    infos = {i.run_id: i for i in wf.runs()}
    assert infos[fork.run_id].parent_run_id == run.run_id
    view.close()


async def test_bad_fork_input_shows_inline_and_stores_nothing(store):
    wf = chain()
    run = wf.create_run()
    view = RunView(run)
    await run.start({"n": 3})
    form = view.fork_form("add")
    form.fields["n"].value = 500
    before = {i.run_id for i in wf.runs()}
    assert await form.submit() is None
    assert "n" in form.errors and "100" in form.errors["n"]
    assert form.fork is None and not form.submitted
    assert {i.run_id for i in wf.runs()} == before  # nothing stored
    form.fields["n"].value = ""
    assert await form.submit() is None
    assert form.errors == {"n": "Field required"}
    view.close()


async def test_a_recorded_input_the_constraints_now_reject_is_not_prefilled():
    wf = chain()
    run = wf.create_run()
    await run.start({"n": 60})  # double got 61
    tighter = chain(limit=50)  # double now takes at most 50
    stored = tighter.create_run(run_id=run.run_id)
    view = RunView(stored)
    form = view.fork_form("double")
    assert form.fields["n"].value is None  # empty, not 61
    assert form.missing() == ["n"]
    form.fields["n"].value = 7
    result = await form.submit()
    assert result is not None and result.result == N(n=14)
    view.close()


async def test_the_fork_button_sends_a_message_and_close_drops_the_form():
    wf = chain()
    run = wf.create_run()
    view = RunView(run)
    await run.start({"n": 1})
    view._handle_custom_msg({"kind": "fork", "path": "add"}, [])  # the inspector's button
    (form,) = view.fork_forms
    assert form.step_path == "add" and view.forms == [form]
    form.dismiss()  # its Close button
    assert view.fork_forms == [] and view.forms == []
    assert form.closed
    view._handle_custom_msg({"kind": "fork", "path": "missing"}, [])  # ignored
    assert view.forms == []
    view.close()


async def test_forks_are_marked_in_run_lists(store):
    wf = chain()
    run = wf.create_run(run_id="parent-1")
    await run.start({"n": 1})
    fork = run.fork("double", input_data={"n": 5}, run_id="fork-1")
    await fork.start()
    run.fork("add", input_data={"n": 2}, run_id="fork-2")  # stored, not started yet
    runs = wf.runs()
    points = fork_points(runs, store)
    assert set(points) == {"fork-1", "fork-2"}  # only forks are looked up
    assert points["fork-2"] == "add"
    table = run_table(runs, forks=points)
    assert "⑂ fork of parent-1 at add" in table
    assert table.count("⑂ fork of parent-1") == 2

    panel = WorkflowPanel(wf)
    labels = {value: label for label, value in panel.runs.options}
    assert "⑂ fork of parent-1 at add" in labels["fork-2"]
    assert "⑂ fork of parent-1" in labels["fork-1"]
    assert "fork of" not in labels["parent-1"]
    panel.close()


def test_a_fork_label_is_escaped():
    from flownb.core.results import RunInfo

    info = RunInfo(run_id="f", workflow_id="w", status="success", created_at=0.0,
                   updated_at=0.0, parent_run_id="<b>p</b>")
    table = run_table([info], forks={"f": "<i>s</i>"})
    assert "<b>p</b>" not in table and "&lt;b&gt;p&lt;/b&gt;" in table
    assert "&lt;i&gt;s&lt;/i&gt;" in table
