"""``run.fork(step, …)`` as SPEC §3d pins it: copy what ran before, re-run the step, run the rest
with the current definition; the original never changes."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from pydantic import BaseModel

import flownb
from flownb import (
    ConcurrentRunError,
    FlownbError,
    InputValidationError,
    ResumeError,
    RunNotFoundError,
    WorkflowDefinitionError,
    create_step,
    create_workflow,
)
from flownb.storage import SQLiteStore


class Num(BaseModel):
    n: int


class Doc(BaseModel):
    text: str


class Review(BaseModel):
    ok: bool


class Count(BaseModel):
    count: int = 0


class Wide(BaseModel):
    n: int
    label: str


class Calls:
    """What ran, in order. A plain object, so step fingerprints (reuse) count it by its type
    only, not by what it holds (a list would change every fingerprint as it grows)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def append(self, item: str) -> None:
        self.items.append(item)

    def clear(self) -> None:
        self.items.clear()

    def __iter__(self):
        return iter(list(self.items))

    def __contains__(self, item: object) -> bool:
        return item in self.items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, list) and self.items == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.items)


calls = Calls()


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


def add(step_id: str, amount: int, **kw: Any):
    def execute(input_data: Num):
        calls.append(f"{step_id}:{input_data.n}")
        return {"n": input_data.n + amount}

    return create_step(id=step_id, input_schema=Num, output_schema=Num, execute=execute, **kw)


def chain(storage=None, *, c_amount: int = 100, wf_id: str = "chain", **kw: Any):
    return (create_workflow(id=wf_id, input_schema=Num, output_schema=Num, storage=storage,
                            **kw)
            .then(add("a", 1)).then(add("b", 10)).then(add("c", c_amount)).commit())


def started(wf, input_data: Any, **kw: Any):
    run = wf.create_run()
    result = asyncio.run(run.start(input_data, **kw))
    return run, result


def outputs(result) -> dict[str, Any]:
    return {path: sr.output for path, sr in result.steps.items()}


# -- a chain ----------------------------------------------------------------------------------


def test_fork_at_a_middle_step_copies_before_and_runs_the_step_and_after(store):
    wf = chain()
    run, result = started(wf, {"n": 0})
    assert result.result == Num(n=111)
    calls.clear()

    fork = run.fork("b", input_data={"n": 5})
    assert calls == []  # fork() runs nothing
    assert fork.run_id != run.run_id
    assert fork.parent_run_id == run.run_id and fork.forked_at == "b"
    assert fork.status == "pending"
    stored = store.load(fork.run_id)
    assert stored is not None and stored.status == "pending"
    assert stored.meta["parent_run_id"] == run.run_id and stored.meta["forked_at"] == "b"
    assert list(stored.steps) == ["a"]  # only what ran before b is copied

    infos = {info.run_id: info for info in wf.runs()}
    assert infos[fork.run_id].parent_run_id == run.run_id
    assert infos[run.run_id].parent_run_id is None

    forked = asyncio.run(fork.start())
    assert forked.status == "success" and forked.result == Num(n=115)
    assert calls == ["b:5", "c:15"]  # a was copied, not re-run
    assert outputs(forked) == {"a": Num(n=1), "b": Num(n=15), "c": Num(n=115)}
    assert list(forked.steps) == ["a", "b", "c"]
    assert forked.steps["a"].started_at == result.steps["a"].started_at  # the copy
    assert store.load(fork.run_id).status == "success"
    assert {i.run_id: i.parent_run_id for i in wf.runs()}[fork.run_id] == run.run_id


def test_a_fork_reruns_the_step_with_its_original_input_by_default(store):
    run, _ = started(chain(), {"n": 0})
    calls.clear()
    result = asyncio.run(run.fork("b").start())
    assert calls == ["b:1", "c:11"]
    assert result.result == Num(n=111)


def test_fork_takes_a_step_object_or_a_list_path(store):
    wf = chain()
    run, _ = started(wf, {"n": 0})
    assert run.fork(wf.steps["c"]).forked_at == "c"
    assert run.fork(["b"]).forked_at == "b"


def test_start_of_a_fork_takes_no_input_and_only_one_start_wins(store):
    run, _ = started(chain(), {"n": 0})
    fork = run.fork("b", input_data={"n": 5})
    with pytest.raises(FlownbError, match="fork"):
        asyncio.run(fork.start({"n": 3}))
    with pytest.raises(FlownbError, match="fork"):
        asyncio.run(fork.start(initial_state={}))
    assert store.load(fork.run_id).status == "pending"  # still startable
    assert asyncio.run(fork.start()).result == Num(n=115)
    with pytest.raises(ConcurrentRunError):
        asyncio.run(fork.start())
    again = chain().create_run(run_id=fork.run_id)
    with pytest.raises(ConcurrentRunError):
        asyncio.run(again.start())


def test_a_fork_reattached_by_id_starts_there(store):
    run, _ = started(chain(), {"n": 0})
    fork = run.fork("c", input_data={"n": 7})
    again = chain().create_run(run_id=fork.run_id)  # a fresh kernel, say
    assert again.status == "pending"
    assert again.parent_run_id == run.run_id and again.forked_at == "c"
    calls.clear()
    result = asyncio.run(again.start())
    assert result.result == Num(n=107) and calls == ["c:7"]
    with pytest.raises(ConcurrentRunError):  # the first handle lost
        asyncio.run(fork.start())
    assert calls == ["c:7"]


def test_two_starts_of_one_stored_fork_from_two_handles_one_wins(store):
    run, _ = started(chain(), {"n": 0})
    fork = run.fork("b")
    one = chain().create_run(run_id=fork.run_id)
    two = chain().create_run(run_id=fork.run_id)

    async def both():
        return await asyncio.gather(one.start(), two.start(), return_exceptions=True)

    calls.clear()
    results = asyncio.run(both())
    assert sorted(type(r).__name__ for r in results) == ["ConcurrentRunError",
                                                          "WorkflowResult"]
    assert calls == ["b:1", "c:11"]


def test_a_started_fork_keeps_its_parent_when_reattached(store):
    run, _ = started(approval(), {"text": "x"})
    fork = run.fork("before")
    assert asyncio.run(fork.start()).status == "suspended"
    assert store.load(fork.run_id).meta.get("parent_run_id") == run.run_id
    again = approval().create_run(run_id=fork.run_id)
    assert (again.parent_run_id, again.forked_at) == (run.run_id, "before")
    asyncio.run(again.resume({"ok": True}))
    assert (again.parent_run_id, again.forked_at) == (run.run_id, "before")


def test_fork_of_a_fork(store):
    run, _ = started(chain(), {"n": 0})
    first = run.fork("b", input_data={"n": 5})
    asyncio.run(first.start())
    calls.clear()
    second = first.fork("c", input_data={"n": 1})
    assert second.parent_run_id == first.run_id
    result = asyncio.run(second.start())
    assert calls == ["c:1"]
    assert outputs(result) == {"a": Num(n=1), "b": Num(n=15), "c": Num(n=101)}


# -- the original never changes ---------------------------------------------------------------


def test_the_original_is_byte_for_byte_unchanged(store):
    wf = chain()
    run, _ = started(wf, {"n": 0})
    before = store.load(run.run_id).to_json()
    fork = run.fork("b", input_data={"n": 5})
    assert store.load(run.run_id).to_json() == before
    asyncio.run(fork.start())
    assert store.load(run.run_id).to_json() == before
    assert run.status == "success" and run.result.result == Num(n=111)
    assert outputs(run.result)["b"] == Num(n=11)


def _rows(path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in tables}
    finally:
        conn.close()


def _without(rows: dict[str, list[tuple[Any, ...]]], run_id: str) -> dict[str, list[Any]]:
    """Every row of every table but those of run ``run_id``."""
    return {t: [r for r in rs if not any(isinstance(c, str) and run_id in c for c in r)]
            for t, rs in rows.items()}


def test_the_original_is_unchanged_in_sqlite(tmp_path):
    path = tmp_path / "runs.db"
    wf = chain(SQLiteStore(path))
    run, _ = started(wf, {"n": 0})
    store = SQLiteStore(path)
    before = store.load(run.run_id).to_json()
    rows = _rows(path)  # every row of every table
    assert any(run.run_id in r for r in rows["runs"])
    fork = run.fork("b", input_data={"n": 5})
    asyncio.run(fork.start())
    assert SQLiteStore(path).load(run.run_id).to_json() == before
    after = _rows(path)
    assert after != rows  # the fork is stored
    assert _without(after, fork.run_id) == rows  # and nothing else changed
    again = chain(SQLiteStore(path)).create_run(run_id=fork.run_id)
    assert again.status == "success" and again.result.result == Num(n=115)
    assert {i.run_id: i.parent_run_id for i in chain(SQLiteStore(path)).runs()} == {
        run.run_id: None, fork.run_id: run.run_id}


# -- what fork() refuses ----------------------------------------------------------------------


def test_invalid_input_raises_naming_the_field_and_stores_nothing(store):
    run, _ = started(chain(), {"n": 0})
    listed = store.list_runs()
    with pytest.raises(InputValidationError) as caught:
        run.fork("b", input_data={"n": "many"})
    assert "n" in str(caught.value) and "'b'" in str(caught.value)
    assert [f["field"] for f in caught.value.field_errors] == ["n"]
    with pytest.raises(InputValidationError):
        run.fork("b", input_data={"m": 1})
    assert store.list_runs() == listed


def test_a_step_that_never_ran_raises_resume_error_listing_forkable_steps(store):
    wf = (create_workflow(id="halts", input_schema=Num, output_schema=Num)
          .then(add("a", 1))
          .then(create_step(id="boom", input_schema=Num, output_schema=Num,
                            execute=lambda input_data: 1 / 0))
          .then(add("c", 100)).commit())
    run, result = started(wf, {"n": 0})
    assert result.status == "failed"
    listed = store.list_runs()
    with pytest.raises(ResumeError) as caught:
        run.fork("c")
    text = str(caught.value)
    assert "'c'" in text and "'a'" in text and "'boom'" in text
    with pytest.raises(ResumeError, match="never ran"):
        run.fork("nope")
    assert store.list_runs() == listed


def test_a_run_never_started_raises_run_not_found(store):
    run = chain().create_run()
    with pytest.raises(RunNotFoundError):
        run.fork("b")
    with pytest.raises(RunNotFoundError):
        chain().create_run(run_id="nobody").fork("b")
    assert store.list_runs() == []


def test_run_id_is_used_and_a_taken_one_raises(store):
    wf = chain()
    run, _ = started(wf, {"n": 0})
    fork = run.fork("b", run_id="my-fork")
    assert fork.run_id == "my-fork" and store.load("my-fork").status == "pending"
    listed = store.list_runs()
    snaps = {i.run_id: store.load(i.run_id).to_json() for i in listed}
    with pytest.raises(ConcurrentRunError):
        run.fork("c", run_id="my-fork")
    with pytest.raises(ConcurrentRunError):
        run.fork("c", run_id=run.run_id)
    assert store.list_runs() == listed
    assert {i.run_id: store.load(i.run_id).to_json() for i in listed} == snaps
    calls.clear()
    assert asyncio.run(fork.start()).result == Num(n=111) and calls == ["b:1", "c:11"]


def test_a_fork_of_another_workflows_run_is_refused(store):
    run, _ = started(chain(), {"n": 0})
    with pytest.raises(RunNotFoundError, match="belongs to workflow 'chain'"):
        chain(wf_id="other").create_run(run_id=run.run_id).fork("b")


# -- nested workflows, foreach items, loops, branches -----------------------------------------


def test_fork_at_a_nested_step(store):
    inner = (create_workflow(id="outer", input_schema=Num, output_schema=Num)
             .then(add("i1", 1)).then(add("i2", 10)).then(add("i3", 100)).commit())
    wf = (create_workflow(id="nest", input_schema=Num, output_schema=Num)
          .then(add("pre", 1000)).then(inner).then(add("post", 10000)).commit())
    run, result = started(wf, {"n": 0})
    assert result.result == Num(n=11111)
    calls.clear()
    fork = run.fork("outer.i2", input_data={"n": 2})
    assert fork.forked_at == "outer.i2"
    result = asyncio.run(fork.start())
    assert calls == ["i2:2", "i3:12", "post:112"]
    assert result.result == Num(n=10112)
    assert result.steps["outer.i1"].output == Num(n=1001)
    assert run.fork("i2").forked_at == "outer.i2"  # a unique id names it too
    assert run.fork(["outer", "i3"]).forked_at == "outer.i3"


def review_items():
    def make(input_data: Num):
        calls.append("make")
        return [{"text": f"d{i}"} for i in range(input_data.n)]

    def review(input_data: Doc):
        calls.append(f"review:{input_data.text}")
        return {"text": input_data.text.upper()}

    def after(input_data: list[Doc]):
        calls.append("after")
        return {"text": ",".join(d.text for d in input_data)}

    return (create_workflow(id="items", input_schema=Num, output_schema=Doc)
            .then(create_step(id="make", input_schema=Num, output_schema=list[Doc],
                              execute=make))
            .foreach(create_step(id="review", input_schema=Doc, output_schema=Doc,
                                 execute=review), concurrency=2)
            .then(create_step(id="after", input_schema=list[Doc], output_schema=Doc,
                              execute=after))
            .commit())


def test_fork_at_a_foreach_item_reruns_only_that_item(store):
    wf = review_items()
    run, result = started(wf, {"n": 4})
    assert result.result == Doc(text="D0,D1,D2,D3")
    calls.clear()
    fork = run.fork("review[2]", input_data={"text": "new"})
    assert fork.forked_at == "review[2]"
    result = asyncio.run(fork.start())
    assert calls == ["review:new", "after"]
    assert result.result == Doc(text="D0,D1,NEW,D3")
    calls.clear()
    result = asyncio.run(run.fork("review[0]").start())  # its original item
    assert calls == ["review:d0", "after"] and result.result == Doc(text="D0,D1,D2,D3")


def test_fork_at_a_whole_foreach_reruns_every_item(store):
    wf = review_items()
    run, _ = started(wf, {"n": 3})
    calls.clear()
    result = asyncio.run(run.fork("review", input_data=None).start())
    assert sorted(calls) == ["after", "review:d0", "review:d1", "review:d2"]
    assert result.result == Doc(text="D0,D1,D2")


def test_fork_at_a_loop_step_copies_the_iterations_before(store):
    inc = add("inc", 1)
    wf = (create_workflow(id="loop", input_schema=Num, output_schema=Num)
          .then(add("pre", 0))
          .dountil(inc, lambda input_data: input_data.n >= 3)
          .then(add("post", 100)).commit())
    run, result = started(wf, {"n": 0})
    assert result.result == Num(n=103)
    assert calls == ["pre:0", "inc:0", "inc:1", "inc:2", "post:3"]
    calls.clear()
    result = asyncio.run(run.fork("inc").start())  # its last iteration, as it was
    assert calls == ["inc:2", "post:3"] and result.result == Num(n=103)
    calls.clear()
    result = asyncio.run(run.fork("inc", input_data={"n": -3}).start())
    assert calls == ["inc:-3", "inc:-2", "inc:-1", "inc:0", "inc:1", "inc:2", "post:3"]
    assert result.result == Num(n=103)
    assert run.loop_iterations == {"inc": 3}


def test_fork_after_a_branch_keeps_the_decision(store):
    decided: list[int] = []

    def positive(input_data: Num) -> bool:
        decided.append(input_data.n)
        return input_data.n > 0

    class Either(BaseModel):
        pos: Num | None = None
        neg: Num | None = None

    def post(input_data: Either):
        calls.append("post")
        chosen = input_data.pos or input_data.neg
        return {"n": chosen.n * 2}

    wf = (create_workflow(id="branchy", input_schema=Num, output_schema=Num)
          .then(add("pre", 0))
          .branch([(positive, add("pos", 1)), (lambda input_data: True, add("neg", -1))])
          .then(create_step(id="post", input_schema=Either, output_schema=Num, execute=post))
          .commit())
    run, result = started(wf, {"n": 5})
    assert result.result == Num(n=12) and decided == [5]
    calls.clear()
    result = asyncio.run(run.fork("post").start())
    assert calls == ["post"] and decided == [5]  # the decision and pos were copied
    assert result.result == Num(n=12)
    calls.clear()
    # At the chosen step itself: the decision stays, whatever the new input says.
    result = asyncio.run(run.fork("pos", input_data={"n": -10}).start())
    assert calls == ["pos:-10", "post"] and decided == [5]
    assert result.result == Num(n=-18) and "neg" not in result.steps


def test_fork_of_a_failed_run_with_fixed_input_succeeds(store):
    def fragile(input_data: Num):
        calls.append(f"fragile:{input_data.n}")
        if input_data.n < 0:
            raise ValueError("negative")
        return input_data

    wf = (create_workflow(id="fragile", input_schema=Num, output_schema=Num)
          .then(add("a", -5))
          .then(create_step(id="fragile", input_schema=Num, output_schema=Num,
                            execute=fragile))
          .then(add("c", 100)).commit())
    run, result = started(wf, {"n": 1})
    assert result.status == "failed"
    calls.clear()
    result = asyncio.run(run.fork("fragile", input_data={"n": 4}).start())
    assert result.status == "success" and result.result == Num(n=104)
    assert calls == ["fragile:4", "c:4"]
    calls.clear()
    result = asyncio.run(run.fork("fragile").start())  # same input: fails again
    assert result.status == "failed" and calls == ["fragile:-4"]


def approval():
    def review(input_data: Doc, resume_data: Review | None, suspend):
        calls.append(f"review:{input_data.text}")
        if resume_data is None:
            return suspend({"q": input_data.text})
        return {"text": f"{input_data.text}:{resume_data.ok}"}

    def step(step_id, suffix):
        def execute(input_data: Doc):
            calls.append(f"{step_id}:{input_data.text}")
            return {"text": input_data.text + suffix}

        return create_step(id=step_id, input_schema=Doc, output_schema=Doc, execute=execute)

    return (create_workflow(id="approval", input_schema=Doc, output_schema=Doc)
            .then(step("before", "+b"))
            .then(create_step(id="review", input_schema=Doc, output_schema=Doc,
                              resume_schema=Review, execute=review))
            .then(step("after", "+a"))
            .commit())


def test_fork_of_a_suspended_run(store):
    wf = approval()
    run, result = started(wf, {"text": "x"})
    assert result.status == "suspended"
    before = store.load(run.run_id).to_json()
    calls.clear()
    fork = run.fork("before", input_data={"text": "y"})
    result = asyncio.run(fork.start())
    assert result.status == "suspended" and result.suspended == [["review"]]
    assert calls == ["before:y", "review:y+b"]
    result = asyncio.run(fork.resume({"ok": True}))
    assert result.result == Doc(text="y+b:True+a")
    assert store.load(run.run_id).to_json() == before
    # The original is still waiting, and still resumable.
    result = asyncio.run(wf.create_run(run_id=run.run_id).resume({"ok": False}))
    assert result.result == Doc(text="x+b:False+a")


def test_resume_data_answers_the_forked_step_if_it_suspends(store):
    wf = approval()
    run, _ = started(wf, {"text": "x"})
    asyncio.run(run.resume({"ok": False}))
    calls.clear()
    result = asyncio.run(run.fork("review", resume_data={"ok": True}).start())
    assert result.status == "success" and result.result == Doc(text="x+b:True+a")
    assert calls == ["review:x+b", "after:x+b:True"]
    assert result.steps["review"].resume_payload == Review(ok=True)


def test_without_resume_data_the_fork_suspends_again_and_resumes_normally(store):
    wf = approval()
    run, _ = started(wf, {"text": "x"})
    asyncio.run(run.resume({"ok": True}))
    calls.clear()
    fork = run.fork("review", input_data={"text": "z"})
    result = asyncio.run(fork.start())
    assert result.status == "suspended" and result.suspended == [["review"]]
    assert result.steps["review"].suspend_payload == {"q": "z"}
    again = approval().create_run(run_id=fork.run_id)
    result = asyncio.run(again.resume({"ok": False}))
    assert result.result == Doc(text="z:False+a")
    assert calls == ["review:z", "review:z", "after:z:False"]


class Verdict(BaseModel):
    verdict: str


def test_a_forks_resume_data_that_no_longer_fits_is_refused_at_start(store):
    run, _ = started(approval(), {"text": "x"})
    fork = run.fork("review", resume_data={"ok": True})
    before = store.load(fork.run_id).to_json()

    def review(input_data: Doc, resume_data: Verdict | None, suspend):
        return suspend(None) if resume_data is None else input_data

    def first(input_data: Doc) -> Doc:
        return Doc(text=input_data.text + "+b")

    changed = (create_workflow(id="approval", input_schema=Doc, output_schema=Doc)
               .then(create_step(id="before", input_schema=Doc, output_schema=Doc,
                                 execute=first))
               .then(create_step(id="review", input_schema=Doc, output_schema=Doc,
                                 resume_schema=Verdict, execute=review))
               .commit())
    again = changed.create_run(run_id=fork.run_id)
    with pytest.raises(WorkflowDefinitionError, match="cannot start run .*'review'.*verdict"):
        asyncio.run(again.start())
    assert store.load(fork.run_id).to_json() == before  # still pending, as it was


def test_invalid_resume_data_for_a_fork_stores_nothing(store):
    from flownb import ResumeValidationError

    run, _ = started(approval(), {"text": "x"})
    listed = store.list_runs()
    with pytest.raises(ResumeValidationError, match="ok"):
        run.fork("review", resume_data={"ok": "perhaps"})
    assert store.list_runs() == listed


def test_fork_of_a_canceled_run(store):
    gate = {"hang": True}

    async def slow(input_data: Num):
        calls.append(f"slow:{input_data.n}")
        if gate["hang"]:
            await asyncio.sleep(60)
        return input_data

    wf = (create_workflow(id="cancels", input_schema=Num, output_schema=Num)
          .then(add("a", 1))
          .then(create_step(id="slow", input_schema=Num, output_schema=Num, execute=slow))
          .then(add("c", 100)).commit())

    async def go():
        run = wf.create_run()
        task = asyncio.ensure_future(run.start({"n": 0}))
        while "slow:1" not in calls:
            await asyncio.sleep(0.005)
        await run.cancel()
        return run, await task

    run, result = asyncio.run(go())
    assert result.status == "canceled"
    gate["hang"] = False
    calls.clear()
    result = asyncio.run(run.fork("slow").start())
    assert result.status == "success" and result.result == Num(n=101)
    assert calls == ["slow:1", "c:1"]


# -- state --------------------------------------------------------------------------------------


def counting(step_id: str):
    def execute(input_data: Num, state: Count, set_state):
        calls.append(f"{step_id}:{state.count}")
        set_state({"count": state.count + 1})
        return input_data

    return create_step(id=step_id, input_schema=Num, output_schema=Num, execute=execute)


def stateful():
    return (create_workflow(id="stateful", input_schema=Num, output_schema=Num,
                            state_schema=Count)
            .then(counting("a")).then(counting("b")).commit())


def test_state_given_to_fork_is_used(store):
    run, result = started(stateful(), {"n": 0})
    assert result.state == Count(count=2)
    calls.clear()
    result = asyncio.run(run.fork("b", state={"count": 40}).start())
    assert calls == ["b:40"] and result.state == Count(count=41)


def test_invalid_state_raises_and_stores_nothing(store):
    run, _ = started(stateful(), {"n": 0})
    listed = store.list_runs()
    with pytest.raises(InputValidationError, match="count"):
        run.fork("b", state={"count": "lots"})
    assert store.list_runs() == listed


def test_a_forks_default_state_is_the_state_the_step_saw(store):
    run, _ = started(stateful(), {"n": 0})
    calls.clear()
    asyncio.run(run.fork("b").start())
    assert calls == ["b:1"]


def test_a_fork_of_a_suspended_run_sees_its_stored_state(store):
    def ask(input_data: Num, state: Count, resume_data: Review | None, suspend):
        calls.append(f"ask:{state.count}")
        if resume_data is None:
            return suspend(None)
        return input_data

    wf = (create_workflow(id="stateask", input_schema=Num, output_schema=Num,
                          state_schema=Count)
          .then(counting("a"))
          .then(create_step(id="ask", input_schema=Num, output_schema=Num,
                            resume_schema=Review, execute=ask)).commit())
    run, _ = started(wf, {"n": 0})
    calls.clear()
    result = asyncio.run(run.fork("ask", resume_data={"ok": True}).start())
    assert calls == ["ask:1"] and result.status == "success"


# -- the current definition ---------------------------------------------------------------------


def test_steps_after_the_fork_run_with_the_current_definition(store):
    run, _ = started(chain(), {"n": 0})
    wf2 = chain(c_amount=7)  # c changed in its cell; same ids
    calls.clear()
    result = asyncio.run(wf2.create_run(run_id=run.run_id).fork("b").start())
    assert calls == ["b:1", "c:11"]
    assert result.result == Num(n=18)
    assert store.load(run.run_id).meta["result"] == {"n": 111}


# -- reuse --------------------------------------------------------------------------------------


def test_with_reuse_on_the_unchanged_steps_after_are_reused_but_never_the_forked_one(store):
    wf = chain(cache=True)
    run, _ = started(wf, {"n": 0})
    calls.clear()
    result = asyncio.run(run.fork("b").start())  # same input: b runs, c is reused
    assert calls == ["b:1"]
    assert result.steps["b"].cached_from is None
    assert result.steps["c"].cached_from == {"run_id": run.run_id, "path": "c"}
    calls.clear()
    result = asyncio.run(run.fork("b", input_data={"n": 2}).start())
    assert calls == ["b:2", "c:12"] and result.steps["c"].cached_from is None


def test_a_forked_step_is_not_reused_even_at_a_fork_of_a_fork(store):
    wf = chain(cache=True)
    run, _ = started(wf, {"n": 0})
    first = run.fork("b")
    asyncio.run(first.start())
    calls.clear()
    result = asyncio.run(first.fork("b").start())
    assert calls == ["b:1"] and result.steps["b"].cached_from is None


# -- migrate= ---------------------------------------------------------------------------------


def widened(storage=None):
    def a(input_data: Num):
        calls.append("a")
        return {"n": input_data.n + 1, "label": "new"}

    def b(input_data: Wide):
        calls.append(f"b:{input_data.label}")
        return {"n": input_data.n + 10}

    return (create_workflow(id="chain", input_schema=Num, output_schema=Num, storage=storage)
            .then(create_step(id="a", input_schema=Num, output_schema=Wide, execute=a))
            .then(create_step(id="b", input_schema=Wide, output_schema=Num, execute=b))
            .then(add("c", 100)).commit())


def test_a_stored_output_that_no_longer_fits_needs_migrate(store):
    run, _ = started(chain(), {"n": 0})
    before = store.load(run.run_id).to_json()
    listed = store.list_runs()
    again = widened().create_run(run_id=run.run_id)
    with pytest.raises(WorkflowDefinitionError) as caught:
        again.fork("c")
    assert "'a'" in str(caught.value) and "label" in str(caught.value)
    assert store.list_runs() == listed
    with pytest.raises(WorkflowDefinitionError, match="'a'"):
        again.fork("c", migrate={"a": lambda old: {**old, "label": 3}})  # still invalid
    with pytest.raises(WorkflowDefinitionError, match="'a'.*KeyError"):
        again.fork("c", migrate={"a": lambda old: old["missing"]})
    with pytest.raises(WorkflowDefinitionError, match="no step 'zz'"):
        again.fork("c", migrate={"zz": lambda old: old})
    assert store.list_runs() == listed

    calls.clear()
    fork = again.fork("c", migrate={"a": lambda old: {**old, "label": "old"}})
    assert store.load(fork.run_id).steps["a"]["output"] == {"n": 1, "label": "old"}
    result = asyncio.run(fork.start())
    assert calls == ["c:11"] and result.result == Num(n=111)
    assert result.steps["a"].output == Wide(n=1, label="old")
    assert store.load(fork.run_id).steps["a"]["output"] == {"n": 1, "label": "old"}
    assert store.load(run.run_id).to_json() == before  # never the original


def test_a_forked_steps_original_input_must_fit_its_current_schema(store):
    run, _ = started(chain(), {"n": 0})
    listed = store.list_runs()
    again = widened().create_run(run_id=run.run_id)
    migrate = {"a": lambda old: {**old, "label": "old"}}
    # b's original input was {"n": 1}: its input schema now wants a label too.
    with pytest.raises(InputValidationError, match="original input.*label") as caught:
        again.fork("b", migrate=migrate)
    assert caught.value.step_path == "b"
    assert store.list_runs() == listed
    calls.clear()
    result = asyncio.run(again.fork("b", input_data={"n": 4, "label": "given"},
                                    migrate=migrate).start())
    assert calls == ["b:given", "c:14"] and result.result == Num(n=114)


def test_a_fork_at_the_changed_step_needs_no_migrate_for_it(store):
    run, _ = started(chain(), {"n": 0})
    calls.clear()
    result = asyncio.run(widened().create_run(run_id=run.run_id).fork("a").start())
    assert calls == ["a", "b:new", "c:11"] and result.result == Num(n=111)


def test_flownb_exports_what_forks_use():
    assert flownb.ResumeError is ResumeError


def test_stored_parallel_siblings_are_not_rerun_by_a_fork(store):
    """SPEC §2: a failing .parallel branch does not cancel its siblings, and stored
    siblings are not re-run by a fork (they ended after the failed branch started)."""

    async def slow(input_data: Num):
        calls.append(f"slow:{input_data.n}")
        await asyncio.sleep(0.05)
        return input_data

    def fails(input_data: Num):
        calls.append(f"fails:{input_data.n}")
        if input_data.n < 10:
            raise ValueError("too small")
        return input_data

    class Both(BaseModel):
        slow: Num
        fails: Num

    def join(input_data: Both):
        calls.append("join")
        return {"n": input_data.slow.n + input_data.fails.n}

    wf = (create_workflow(id="par", input_schema=Num, output_schema=Num)
          .parallel([create_step(id="slow", input_schema=Num, output_schema=Num,
                                 execute=slow),
                     create_step(id="fails", input_schema=Num, output_schema=Num,
                                 execute=fails)])
          .then(create_step(id="join", input_schema=Both, output_schema=Num, execute=join))
          .commit())
    run, result = started(wf, {"n": 1})
    assert result.status == "failed" and result.steps["slow"].status == "success"
    calls.clear()
    result = asyncio.run(run.fork("fails", input_data={"n": 20}).start())
    assert result.status == "success" and result.result == Num(n=21)
    assert calls == ["fails:20", "join"]


def test_a_fork_inside_a_nested_parallel_branch_copies_the_other_branch(store):
    async def slow(input_data: Num):
        calls.append(f"slow:{input_data.n}")
        await asyncio.sleep(0.05)
        return input_data

    inner = (create_workflow(id="outer", input_schema=Num, output_schema=Num)
             .then(add("i1", 1)).then(add("i2", 10)).commit())

    class Both(BaseModel):
        slow: Num
        outer: Num

    wf = (create_workflow(id="nestpar", input_schema=Num, output_schema=Num)
          .parallel([create_step(id="slow", input_schema=Num, output_schema=Num,
                                 execute=slow), inner])
          .then(create_step(id="join", input_schema=Both, output_schema=Num,
                            execute=lambda input_data: {
                                "n": input_data.slow.n + input_data.outer.n}))
          .commit())
    run, result = started(wf, {"n": 0})
    assert result.result == Num(n=11)
    calls.clear()
    result = asyncio.run(run.fork("outer.i2", input_data={"n": 100}).start())
    assert calls == ["i2:100"] and result.result == Num(n=110)
