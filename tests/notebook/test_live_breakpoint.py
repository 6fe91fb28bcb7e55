"""Breakpoints in the live view, headless (SPEC §3d, §6b): a run paused before a step shows
Continue and Edit input instead of a resume form; Continue runs the step as it is, Edit input
with a form pre-filled with the pause's input (bad input inline, the run stays paused); with
"*" a class steps through the whole run, one pause after the other."""

from __future__ import annotations

import time
from typing import Any

from nb_workflows import review_workflow
from pydantic import BaseModel, Field

from flownb import create_step, create_workflow
from flownb.notebook import RunView
from flownb.notebook.forms import EditInputForm


class N(BaseModel):
    n: int = Field(ge=0, le=100)


def chain(calls: list[str]) -> Any:
    def add(input_data: N) -> dict[str, int]:
        calls.append(f"add {input_data.n}")
        return {"n": input_data.n + 1}

    def double(input_data: N) -> dict[str, int]:
        calls.append(f"double {input_data.n}")
        return {"n": input_data.n * 2}

    return (create_workflow(id="chain", input_schema=N, output_schema=N)
            .then(create_step(id="add", input_schema=N, output_schema=N, execute=add))
            .then(create_step(id="double", input_schema=N, output_schema=N, execute=double))
            .commit())


async def test_a_paused_run_shows_continue_and_edit_input_not_a_resume_form():
    calls: list[str] = []
    run = chain(calls).create_run()
    view = RunView(run)
    result = await run.start({"n": 3}, breakpoints=["double"])
    assert result.status == "suspended" and calls == ["add 3"]
    assert view.breakpoints == ["double"]
    assert view.state["breakpoints"] == [{"path": "double", "input": '{"n": 4}'}]
    assert view.resume_forms == {} and view.forms == []  # no resume form for a pause
    assert not view.can_fork("double")  # paused, never ran

    result = await view.continue_step("double")
    assert result.status == "success" and result.result == N(n=8)
    assert calls == ["add 3", "double 4"]
    assert view.breakpoints == [] and view.state["breakpoints"] == []
    view.close()


async def test_star_steps_through_the_run_with_continue_from_the_browser():
    calls: list[str] = []
    run = chain(calls).create_run()
    view = RunView(run)
    await run.start({"n": 1}, breakpoints="*")
    assert view.breakpoints == ["add"] and calls == []
    view._handle_custom_msg({"kind": "continue", "path": "add"}, [])  # the Continue button
    deadline = time.monotonic() + 30  # the resume runs as a task: wait for it, however busy
    while view.breakpoints != ["double"] and time.monotonic() < deadline:
        await _tick()
    assert view.breakpoints == ["double"] and calls == ["add 1"]
    assert view.state["breakpoints"][0]["path"] == "double"  # the next pause's controls
    await view.continue_step()  # the one step paused
    assert run.status == "success" and calls == ["add 1", "double 2"]
    view.close()


async def test_edit_input_continues_with_the_edited_input():
    calls: list[str] = []
    run = chain(calls).create_run()
    view = RunView(run)
    await run.start({"n": 3}, breakpoints=["double"])
    view._handle_custom_msg({"kind": "edit_input", "path": "double"}, [])  # its button
    form = view.edit_input_form("double")
    assert isinstance(form, EditInputForm) and view.forms == [form]
    assert form.fields["n"].value == 4  # the input it was about to get

    form.fields["n"].value = 500  # too big: inline, and the run stays paused
    assert await form.submit() is None
    assert "n" in form.errors
    assert run.status == "suspended" and view.breakpoints == ["double"]
    assert calls == ["add 3"]

    form.fields["n"].value = 20
    result = await form.submit()
    assert result is not None and result.status == "success" and result.result == N(n=40)
    assert calls == ["add 3", "double 20"]
    assert form.submitted and form in view.forms  # its card stays
    assert "continued with edited input at" in form._static_html()
    view.close()


async def test_an_unused_edit_form_goes_when_the_run_moves_on():
    calls: list[str] = []
    run = chain(calls).create_run()
    view = RunView(run)
    await run.start({"n": 3}, breakpoints="*")
    form = view.edit_input_form()
    assert form.step_path == "add"
    await view.continue_step("add")
    assert view.breakpoints == ["double"]
    assert view.forms == [] and form.closed
    form.dismiss()  # closing twice is harmless
    try:
        await view.continue_step("add")
    except ValueError as exc:
        assert "not paused at a breakpoint before 'add'" in str(exc)
    else:
        raise AssertionError("continued a step that is not paused")
    view.close()


async def test_a_self_suspending_step_still_gets_its_resume_form():
    wf = review_workflow()
    run = wf.create_run()
    view = RunView(run)
    await run.start({"text": "hi"}, breakpoints=["review"])
    assert view.breakpoints == ["review"] and view.resume_forms == {}
    await view.continue_step("review")
    assert run.status == "suspended" and view.breakpoints == []
    assert list(view.resume_forms) == ["review"]  # it suspended itself: the resume form
    view.close()


async def _tick() -> None:
    import asyncio

    await asyncio.sleep(0.005)
