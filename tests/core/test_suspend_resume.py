"""Suspend and resume in every position, as SPEC §3 pins it."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest
from pydantic import BaseModel

from flownb import (
    ResumeError,
    ResumeValidationError,
    create_step,
    create_workflow,
)


class Doc(BaseModel):
    text: str


class Review(BaseModel):
    approved: bool
    note: str = "none"
    level: Literal["low", "high"] = "low"


class Ask(BaseModel):
    question: str


calls: dict[str, int] = {}


def counted(name: str):
    calls.setdefault(name, 0)

    def bump() -> None:
        calls[name] += 1

    return bump


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


def review_step(step_id: str = "review"):
    bump = counted(step_id)

    def execute(input_data: Doc, resume_data: Review | None, suspend):
        bump()
        if resume_data is None:
            return suspend({"question": f"approve {input_data.text!r}?"})
        verdict = "yes" if resume_data.approved else "no"
        return {"text": f"{input_data.text}:{verdict}:{resume_data.note}"}

    return create_step(id=step_id, input_schema=Doc, output_schema=Doc, resume_schema=Review,
                       suspend_schema=Ask, execute=execute)


def plain_step(step_id: str, suffix: str):
    bump = counted(step_id)

    def execute(input_data: Doc):
        bump()
        return {"text": input_data.text + suffix}

    return create_step(id=step_id, input_schema=Doc, output_schema=Doc, execute=execute)


def linear():
    return (create_workflow(id="approval", input_schema=Doc, output_schema=Doc)
            .then(plain_step("before", "+b"))
            .then(review_step())
            .then(plain_step("after", "+a"))
            .commit())


async def test_top_level_suspend_then_resume_runs_only_what_follows():
    wf = linear()
    run = wf.create_run()
    result = await run.start(input_data={"text": "doc"})
    assert result.status == "suspended"
    assert result.suspended == [["review"]]
    assert result.steps["review"].status == "suspended"
    assert result.steps["review"].suspend_payload == Ask(question="approve 'doc+b'?")
    assert "after" not in result.steps

    result = await run.resume(resume_data={"approved": True})
    assert result.status == "success"
    assert result.result == Doc(text="doc+b:yes:none+a")
    assert calls == {"before": 1, "review": 2, "after": 1}
    assert result.steps["review"].resume_payload == Review(approved=True)
    assert result.suspended == []
    assert list(result.steps) == ["before", "review", "after"]


@pytest.mark.parametrize("how", ["step", "id", "path-str", "path-list", "omitted"])
async def test_step_may_be_named_every_way(how):
    wf = linear()
    run = wf.create_run()
    await run.start(input_data={"text": "x"})
    step = {"step": wf.steps["review"], "id": "review", "path-str": "review",
            "path-list": ["review"], "omitted": None}[how]
    result = await run.resume(resume_data={"approved": False, "note": "n"}, step=step)
    assert result.result == Doc(text="x+b:no:n+a")


async def test_invalid_resume_data_names_fields_and_leaves_the_run_untouched(store):
    wf = linear()
    run = wf.create_run()
    await run.start(input_data={"text": "x"})
    before = store.load(run.run_id).dumps()
    with pytest.raises(ResumeValidationError) as info:
        await run.resume(resume_data={"approved": "maybe", "level": "mid"})
    err = info.value
    assert {e["field"] for e in err.field_errors} == {"approved", "level"}
    assert "approved" in err.message and "level" in err.message and "review" in err.message
    assert err.workflow_id == "approval" and err.step_path == "review"
    assert store.load(run.run_id).dumps() == before
    assert run.status == "suspended"
    result = await run.resume(resume_data={"approved": True})
    assert result.status == "success"


async def test_resume_of_a_run_that_is_not_suspended_is_an_error():
    wf = linear()
    run = wf.create_run()
    await run.start(input_data={"text": "x"})
    await run.resume(resume_data={"approved": True})
    with pytest.raises(ResumeError, match="success, not suspended"):
        await run.resume(resume_data={"approved": True})


async def test_resume_of_a_step_that_is_not_suspended_lists_the_suspended_ones():
    wf = linear()
    run = wf.create_run()
    await run.start(input_data={"text": "x"})
    with pytest.raises(ResumeError, match="'before' is not suspended.*suspended: 'review'"):
        await run.resume(resume_data={"approved": True}, step="before")


def nested_workflow():
    inner = (create_workflow(id="inner", input_schema=Doc, output_schema=Doc)
             .then(plain_step("prep", "+p"))
             .then(review_step("approve"))
             .commit())
    return (create_workflow(id="outer-flow", input_schema=Doc, output_schema=Doc)
            .then(plain_step("first", "+f"))
            .then(inner)
            .then(plain_step("last", "+l"))
            .commit())


@pytest.mark.parametrize("step", [["inner", "approve"], "inner.approve", "inner", "approve",
                                  None])
async def test_nested_suspend_resumes_by_path_or_outer_id(step):
    wf = nested_workflow()
    run = wf.create_run()
    result = await run.start(input_data={"text": "d"})
    assert result.suspended == [["inner", "approve"]]
    assert result.steps["inner"].status == "suspended"
    assert result.steps["inner.approve"].status == "suspended"
    result = await run.resume(resume_data={"approved": True}, step=step)
    assert result.status == "success"
    assert result.result == Doc(text="d+f+p:yes:none+l")
    assert calls == {"first": 1, "prep": 1, "approve": 2, "last": 1}
    assert result.steps["inner"].status == "success"


async def test_parallel_branches_finish_and_run_stays_suspended_until_all_resumed():
    wf = (create_workflow(id="par", input_schema=Doc)
          .parallel([review_step("legal"), plain_step("fast", "+f"), review_step("finance")])
          .map(lambda input_data: {"text": "|".join(v.text for v in input_data.values())})
          .commit())
    run = wf.create_run()
    result = await run.start(input_data={"text": "t"})
    assert result.status == "suspended"
    assert sorted(result.suspended) == [["finance"], ["legal"]]
    assert result.steps["fast"].status == "success"

    with pytest.raises(ResumeError, match="several steps are suspended"):
        await run.resume(resume_data={"approved": True})

    result = await run.resume(resume_data={"approved": True}, step="legal")
    assert result.status == "suspended"
    assert result.suspended == [["finance"]]
    assert result.steps["legal"].status == "success"

    result = await run.resume(resume_data={"approved": False}, step="finance")
    assert result.status == "success"
    assert result.result == {"text": "t:yes:none|t+f|t:no:none"}
    assert calls == {"legal": 2, "fast": 1, "finance": 2}


async def test_suspend_inside_a_branch():
    wf = (create_workflow(id="br", input_schema=Doc)
          .branch([(lambda input_data: input_data.text == "big", review_step()),
                   (lambda input_data: True, plain_step("small", "+s"))])
          .commit())
    run = wf.create_run()
    result = await run.start(input_data={"text": "big"})
    assert result.suspended == [["review"]]
    result = await run.resume(resume_data={"approved": True})
    assert result.result == {"review": Doc(text="big:yes:none")}


async def test_suspend_inside_a_loop_resumes_the_right_iteration():
    class Counter(BaseModel):
        n: int
        log: list[str] = []

    def execute(input_data: Counter, resume_data: Review | None, suspend):
        calls["tick"] = calls.get("tick", 0) + 1
        if input_data.n == 2 and resume_data is None:
            return suspend({"question": "continue past 2?"})
        return {"n": input_data.n + 1, "log": [*input_data.log, f"{input_data.n}"]}

    tick = create_step(id="tick", input_schema=Counter, output_schema=Counter,
                       resume_schema=Review, suspend_schema=Ask, execute=execute)
    checks: list[int] = []

    def done(input_data: Counter, iteration_count: int) -> bool:
        checks.append(iteration_count)
        return input_data.n >= 4

    wf = (create_workflow(id="loop", input_schema=Counter, output_schema=Counter)
          .dountil(tick, done).commit())
    run = wf.create_run()
    result = await run.start(input_data={"n": 0})
    assert result.status == "suspended" and result.suspended == [["tick"]]
    assert checks == [1, 2]
    result = await run.resume(resume_data={"approved": True})
    assert result.status == "success"
    assert result.result.n == 4 and result.result.log == ["0", "1", "2", "3"]
    assert checks == [1, 2, 3, 4]  # earlier verdicts came from the journal
    assert calls["tick"] == 5  # 0,1,2(suspend),2(resumed),3


async def test_foreach_items_suspend_and_resume_one_by_one():
    wf = (create_workflow(id="batch", input_schema=list[Doc], output_schema=list[Doc])
          .foreach(review_step(), concurrency=2)
          .commit())
    run = wf.create_run()
    result = await run.start(input_data=[{"text": "a"}, {"text": "b"}, {"text": "c"}])
    assert result.status == "suspended"
    assert result.suspended == [["review[0]"], ["review[1]"], ["review[2]"]]
    assert result.steps["review"].status == "suspended"

    with pytest.raises(ResumeError, match="matches several"):
        await run.resume(resume_data={"approved": True}, step="review")

    result = await run.resume(resume_data={"approved": True}, step="review[1]")
    assert result.status == "suspended"
    assert result.suspended == [["review[0]"], ["review[2]"]]
    assert result.steps["review[1]"].output == Doc(text="b:yes:none")
    await run.resume(resume_data={"approved": False}, step="review[2]")
    result = await run.resume(resume_data={"approved": True, "note": "ok"})
    assert result.status == "success"
    assert result.result == [Doc(text="a:yes:ok"), Doc(text="b:yes:none"),
                             Doc(text="c:no:none")]
    assert calls["review"] == 6


async def test_nested_workflow_per_foreach_item_suspends_per_item():
    inner = (create_workflow(id="per-doc", input_schema=Doc, output_schema=Doc)
             .then(review_step("check")).then(plain_step("tag", "!")).commit())
    wf = (create_workflow(id="docs", input_schema=list[Doc], output_schema=list[Doc])
          .foreach(inner, concurrency=3).commit())
    run = wf.create_run()
    result = await run.start(input_data=[{"text": "a"}, {"text": "b"}])
    assert result.suspended == [["per-doc[0]", "check"], ["per-doc[1]", "check"]]
    result = await run.resume(resume_data={"approved": True}, step=["per-doc[1]", "check"])
    assert result.suspended == [["per-doc[0]", "check"]]
    result = await run.resume(resume_data={"approved": False}, step="per-doc[0]")
    assert result.result == [Doc(text="a:no:none!"), Doc(text="b:yes:none!")]


async def test_stream_resume_streams_only_the_resumed_part():
    wf = linear()
    run = wf.create_run()
    await run.start(input_data={"text": "x"})
    events = [e async for e in run.stream_resume(resume_data={"approved": True})]
    steps = [(e.type, e.step_path) for e in events if e.path]
    assert steps == [("step-start", "review"), ("step-result", "review"),
                     ("step-start", "after"), ("step-result", "after")]
    assert events[0].type == "workflow-start" and events[0].payload["resumed"] is True
    assert events[-1].type == "workflow-finish"
    assert events[-1].payload["status"] == "success"
    assert run.result is not None and run.result.status == "success"


async def test_suspend_payload_is_validated_against_suspend_schema():
    bad = create_step(id="bad", input_schema=Doc, output_schema=Doc, suspend_schema=Ask,
                      execute=lambda suspend: suspend({"nope": 1}))
    wf = create_workflow(id="w", input_schema=Doc).then(bad).commit()
    result = await wf.create_run().start(input_data={"text": "x"})
    assert result.status == "failed"
    assert "suspend payload" in result.error and "question" in result.error


async def test_await_suspend_and_sync_suspend_both_work():
    async def execute(resume_data, suspend):
        if resume_data is None:
            return await suspend({"question": "?"})
        return {"text": "done"}

    s = create_step(id="s", input_schema=Doc, output_schema=Doc, suspend_schema=Ask,
                    resume_schema=Review, execute=execute)
    wf = create_workflow(id="w", input_schema=Doc).then(s).commit()
    run = wf.create_run()
    assert (await run.start(input_data={"text": "x"})).status == "suspended"
    assert (await run.resume({"approved": True})).result == Doc(text="done")


async def test_suspend_is_not_swallowed_by_except_exception():
    def execute(resume_data, suspend):
        try:
            if resume_data is None:
                suspend(None)
        except Exception:
            return {"text": "swallowed"}
        return {"text": "resumed"}

    s = create_step(id="s", input_schema=Doc, output_schema=Doc, execute=execute)
    run = create_workflow(id="w", input_schema=Doc).then(s).commit().create_run()
    assert (await run.start(input_data={"text": "x"})).status == "suspended"


async def test_two_concurrent_resumes_in_one_process_exactly_one_wins():
    from flownb import ConcurrentRunError

    gate = asyncio.Event()

    async def execute(input_data: Doc, resume_data: Review | None, suspend):
        calls["slow"] = calls.get("slow", 0) + 1
        if resume_data is None:
            return suspend(None)
        await gate.wait()
        return input_data

    s = create_step(id="slow", input_schema=Doc, output_schema=Doc, resume_schema=Review,
                    execute=execute)
    wf = create_workflow(id="w", input_schema=Doc).then(s).commit()
    run = wf.create_run()
    await run.start(input_data={"text": "x"})
    twin = wf.create_run(run_id=run.run_id)  # another handle on the same stored run

    first = asyncio.ensure_future(run.resume({"approved": True}))
    await asyncio.sleep(0.01)
    with pytest.raises(ConcurrentRunError):
        await twin.resume({"approved": True})
    with pytest.raises(ConcurrentRunError):
        await run.resume({"approved": True})
    gate.set()
    assert (await first).status == "success"
    assert calls["slow"] == 2
