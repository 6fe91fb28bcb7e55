"""Breakpoints (SPEC §3d): pause before listed steps, continue with or without new input."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from flownb import (
    FlownbError,
    InputValidationError,
    ResumeError,
    create_step,
    create_workflow,
)
from flownb.storage import SQLiteStore


class Num(BaseModel):
    n: int


class Answer(BaseModel):
    ok: bool


ran: list[str] = []


def adder(id: str, k: int):
    async def execute(input_data: Num) -> Num:
        ran.append(f"{id}:{input_data.n}")
        return Num(n=input_data.n + k)
    return create_step(id=id, input_schema=Num, output_schema=Num, execute=execute)


def chain(storage=None):
    return (create_workflow(id="chain", input_schema=Num, output_schema=Num, storage=storage)
            .then(adder("a", 1)).then(adder("b", 10)).then(adder("c", 100)).commit())


@pytest.fixture(autouse=True)
def _clear():
    ran.clear()


def start(wf, data, **kw):
    run = wf.create_run()
    return run, asyncio.run(run.start(input_data=data, **kw))


def test_pauses_before_the_listed_step_with_its_input_as_json():
    _run, result = start(chain(), {"n": 1}, breakpoints=["b"])
    assert result.status == "suspended"
    assert result.suspended == [["b"]]
    assert ran == ["a:1"]
    sr = result.steps["b"]
    assert sr.status == "suspended"
    assert sr.suspend_payload == {"breakpoint": "before", "input": {"n": 2}}
    assert list(result.steps) == ["a", "b"]


def test_continue_runs_the_step_with_its_input():
    run, _ = start(chain(), {"n": 1}, breakpoints=["b"])
    result = asyncio.run(run.resume(step="b"))
    assert result.status == "success"
    assert result.result == Num(n=112)
    assert ran == ["a:1", "b:2", "c:12"]
    assert result.steps["b"].status == "success"
    assert result.steps["b"].payload == Num(n=2)


def test_continue_with_other_input():
    run, _ = start(chain(), {"n": 1}, breakpoints=["b"])
    result = asyncio.run(run.resume(step="b", input_data={"n": 50}))
    assert result.result == Num(n=160)
    assert ran == ["a:1", "b:50", "c:60"]


def test_invalid_input_raises_naming_the_field_and_the_run_stays_paused(store):
    run, _ = start(chain(), {"n": 1}, breakpoints=["b"])
    before = store.load(run.run_id)
    with pytest.raises(InputValidationError) as info:
        asyncio.run(run.resume(step="b", input_data={"n": "many"}))
    assert "n" in info.value.message and "'b'" in info.value.message
    assert [e["field"] for e in info.value.field_errors] == ["n"]
    assert run.status == "suspended" and run.suspended == [["b"]]
    assert run.steps["b"].suspend_payload == {"breakpoint": "before", "input": {"n": 2}}
    after = store.load(run.run_id)
    assert (after.version, after.status, after.steps, after.meta) == (
        before.version, before.status, before.steps, before.meta)
    assert asyncio.run(run.resume(step="b")).result == Num(n=112)


def test_resume_data_at_a_breakpoint_is_refused():
    run, _ = start(chain(), {"n": 1}, breakpoints=["b"])
    with pytest.raises(ResumeError, match="breakpoint.*input_data"):
        asyncio.run(run.resume({"x": 1}, step="b"))
    assert run.status == "suspended"


def test_star_pauses_before_every_step_once():
    run, result = start(chain(), {"n": 0}, breakpoints="*")
    seen = [result.suspended]
    while result.status == "suspended":
        result = asyncio.run(run.resume(step=result.suspended[0][0]))
        seen.append(result.suspended)
    assert seen == [[["a"]], [["b"]], [["c"]], []]
    assert ran == ["a:0", "b:1", "c:11"]
    assert result.result == Num(n=111)


def test_several_listed_steps_pause_in_turn():
    run, result = start(chain(), {"n": 0}, breakpoints=["a", "c"])
    assert result.suspended == [["a"]]
    result = asyncio.run(run.resume(step="a"))
    assert result.suspended == [["c"]]
    assert result.steps["c"].suspend_payload == {"breakpoint": "before", "input": {"n": 11}}
    assert asyncio.run(run.resume(step="c")).result == Num(n=111)


def test_unknown_paths_raise_naming_the_workflow_and_its_steps(store):
    run = chain().create_run()
    with pytest.raises(FlownbError) as info:
        asyncio.run(run.start(input_data={"n": 0}, breakpoints=["b", "nope", "x.y"]))
    assert info.value.message == (
        "workflow 'chain' has no step 'nope', 'x.y' to set a breakpoint on; its steps: "
        "'a', 'b', 'c' (or '*': every step)")
    assert store.load(run.run_id) is None and ran == []


def test_foreach_pauses_before_each_item_not_before_the_foreach():
    wf = (create_workflow(id="each", input_schema=list[Num], output_schema=list[Num])
          .foreach(adder("inc", 1)).commit())
    run, result = start(wf, [{"n": 1}, {"n": 2}], breakpoints=["inc"])
    assert result.suspended == [["inc[0]"], ["inc[1]"]]
    assert result.steps["inc[1]"].suspend_payload == {"breakpoint": "before",
                                                      "input": {"n": 2}}
    assert ran == []
    result = asyncio.run(run.resume(step="inc[1]", input_data={"n": 40}))
    assert result.status == "suspended" and result.suspended == [["inc[0]"]]
    result = asyncio.run(run.resume(step="inc[0]"))
    assert result.status == "success"
    assert result.result == [Num(n=2), Num(n=41)]
    assert sorted(ran) == ["inc:1", "inc:40"]


def test_nested_path_pauses_inside_the_nested_workflow():
    inner = (create_workflow(id="outer", input_schema=Num, output_schema=Num)
             .then(adder("x", 1)).then(adder("y", 2)).commit())
    wf = (create_workflow(id="top", input_schema=Num, output_schema=Num)
          .then(inner).then(adder("z", 3)).commit())
    run, result = start(wf, {"n": 0}, breakpoints=["outer.y"])
    assert result.suspended == [["outer", "y"]]
    assert result.steps["outer.y"].suspend_payload == {"breakpoint": "before",
                                                       "input": {"n": 1}}
    assert result.steps["outer"].status == "suspended"
    result = asyncio.run(run.resume(step="outer.y", input_data={"n": 5}))
    assert result.result == Num(n=10)
    assert ran == ["x:0", "y:5", "z:7"]


def test_a_breakpoint_on_a_nested_workflow_pauses_before_it():
    inner = (create_workflow(id="outer", input_schema=Num, output_schema=Num)
             .then(adder("x", 1)).commit())
    wf = (create_workflow(id="top", input_schema=Num, output_schema=Num)
          .then(adder("w", 1)).then(inner).commit())
    run, result = start(wf, {"n": 0}, breakpoints=["outer"])
    assert result.suspended == [["outer"]]
    assert result.steps["outer"].suspend_payload == {"breakpoint": "before",
                                                     "input": {"n": 1}}
    result = asyncio.run(run.resume(step="outer", input_data={"n": 7}))
    assert result.result == Num(n=8) and ran == ["w:0", "x:7"]


def test_a_step_with_a_resume_schema_pauses_then_suspends_itself():
    async def ask(input_data: Num, resume_data: Answer | None, suspend) -> Num:
        ran.append(f"ask:{input_data.n}")
        if resume_data is None:
            return await suspend({"q": input_data.n})
        return Num(n=input_data.n if resume_data.ok else -1)

    step = create_step(id="ask", input_schema=Num, output_schema=Num, resume_schema=Answer,
                       execute=ask)
    wf = (create_workflow(id="asking", input_schema=Num, output_schema=Num)
          .then(step).then(adder("after", 1)).commit())
    run, result = start(wf, {"n": 3}, breakpoints=["ask", "after"])
    assert result.steps["ask"].suspend_payload == {"breakpoint": "before",
                                                   "input": {"n": 3}}
    result = asyncio.run(run.resume(step="ask", input_data={"n": 4}))
    assert result.suspended == [["ask"]]
    assert result.steps["ask"].suspend_payload == {"q": 4}
    with pytest.raises(ResumeError, match="input_data continues only a step paused"):
        asyncio.run(run.resume(step="ask", input_data={"n": 9}))
    result = asyncio.run(run.resume({"ok": True}, step="ask"))
    assert result.suspended == [["after"]]  # the later breakpoint still holds
    assert result.steps["after"].suspend_payload == {"breakpoint": "before",
                                                     "input": {"n": 4}}
    result = asyncio.run(run.resume(step="after"))
    assert result.result == Num(n=5)
    assert ran == ["ask:4", "ask:4", "after:4"]


def test_a_paused_run_continues_after_a_restart_through_sqlite(tmp_path):
    path = str(tmp_path / "runs.db")
    run, result = start(chain(SQLiteStore(path)), {"n": 1}, breakpoints=["b", "c"])
    assert result.suspended == [["b"]]
    stored = SQLiteStore(path).load(run.run_id)
    assert stored.status == "suspended"
    assert stored.meta["breakpoints"] == ["b", "c"]

    again = chain(SQLiteStore(path)).create_run(run_id=run.run_id)  # a fresh kernel
    assert again.status == "suspended" and again.suspended == [["b"]]
    result = asyncio.run(again.resume(step="b", input_data={"n": 20}))
    assert result.suspended == [["c"]]  # it keeps pausing at the later breakpoints
    assert result.steps["c"].suspend_payload == {"breakpoint": "before", "input": {"n": 30}}

    third = chain(SQLiteStore(path)).create_run(run_id=run.run_id)
    result = asyncio.run(third.resume(step="c"))
    assert result.status == "success" and result.result == Num(n=130)
    assert ran == ["a:1", "b:20", "c:30"]
    assert SQLiteStore(path).load(run.run_id).status == "success"


def test_stream_and_invoke_take_breakpoints():
    wf = chain()
    assert wf.invoke({"n": 0}, breakpoints=["c"]).suspended == [["c"]]

    async def go():
        run = wf.create_run()
        return [(e.type, e.path) async for e in run.stream({"n": 0}, breakpoints=["a"])]

    events = asyncio.run(go())
    assert events == [("workflow-start", ()), ("step-suspended", ("a",)),
                      ("workflow-suspended", ()), ("workflow-finish", ())]


def test_the_input_given_at_a_breakpoint_is_kept_through_sqlite(tmp_path):
    async def ask(input_data: Num, resume_data: Answer | None, suspend) -> Num:
        ran.append(f"ask:{input_data.n}")
        if resume_data is None:
            return await suspend({"q": input_data.n})
        return input_data

    def asking():
        step = create_step(id="ask", input_schema=Num, output_schema=Num,
                           resume_schema=Answer, execute=ask)
        return (create_workflow(id="asking", input_schema=Num, output_schema=Num,
                                storage=SQLiteStore(path)).then(step).commit())

    path = str(tmp_path / "runs.db")
    run, _ = start(asking(), {"n": 3}, breakpoints=["ask"])
    assert asyncio.run(run.resume(step="ask", input_data={"n": 8})).suspended == [["ask"]]
    assert SQLiteStore(path).load(run.run_id).meta["given_inputs"] == {"ask": {"n": 8}}
    again = asking().create_run(run_id=run.run_id)
    result = asyncio.run(again.resume({"ok": True}, step="ask"))
    assert result.status == "success" and result.result == Num(n=8)
    assert ran == ["ask:8", "ask:8"]


def test_a_step_that_suspends_itself_with_a_pause_like_payload_is_no_breakpoint(tmp_path):
    """The pause is told by its payload *and* by the step never having run: a step that
    asks with exactly that payload is answered like any step that asks."""

    async def mimic(input_data: Num, resume_data: Answer | None, suspend):
        if resume_data is None:
            return await suspend({"breakpoint": "before", "input": {"n": input_data.n}})
        return Num(n=input_data.n if resume_data.ok else 0)

    wf = (create_workflow(id="mimic", input_schema=Num, output_schema=Num,
                          storage=SQLiteStore(tmp_path / "m.db"))
          .then(create_step(id="ask", input_schema=Num, output_schema=Num,
                            resume_schema=Answer, execute=mimic))
          .commit())
    run, result = start(wf, {"n": 7})
    assert result.suspended == [["ask"]] and result.steps["ask"].attempts == 1
    with pytest.raises(ResumeError):
        asyncio.run(run.resume(step="ask", input_data={"n": 1}))  # not a breakpoint
    again = wf.create_run(run_id=run.run_id)  # and the same read back from the store
    assert asyncio.run(again.resume({"ok": True}, step="ask")).result == Num(n=7)
