"""When the workflow changed (SPEC §4b): ``run.changes()``, and ``migrate=`` on resume and
restart."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

from flownb import WorkflowDefinitionError, create_step, create_workflow
from flownb.storage import MemoryStore


class Num(BaseModel):
    n: int


class Wide(BaseModel):
    n: int
    label: str


class Review(BaseModel):
    ok: bool


class Calls:
    """What ran, in order (a plain object: fingerprints count it by its type only)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def append(self, item: str) -> None:
        self.items.append(item)


calls = Calls()


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.items.clear()


def add(step_id: str, amount: int, output_schema: Any = Num):
    def execute(input_data: Num):
        calls.append(f"{step_id}:{input_data.n}")
        return {"n": input_data.n + amount}

    return create_step(id=step_id, input_schema=Num, output_schema=output_schema,
                       execute=execute)


def edited(step_id: str, amount: int = 0, output_schema: Any = Num):
    """``step_id`` after an edit of its function (other code, same id and schemas)."""
    def execute(input_data: Num):
        calls.append(f"{step_id}(edited):{input_data.n}")
        return {"n": input_data.n - amount}

    return create_step(id=step_id, input_schema=Num, output_schema=output_schema,
                       execute=execute)


def double(input_data: Num):
    return {"n": input_data.n * 2}


def build(*steps, wf_id: str = "chain", storage=None):
    wf = create_workflow(id=wf_id, input_schema=Num, output_schema=Num, storage=storage)
    for s in steps:
        wf = wf.then(s)
    return wf.commit()


def started(wf, data: Any):
    run = wf.create_run()
    return run, asyncio.run(run.start(data))


def kinds(run) -> list[tuple[str, str]]:
    return [(c["path"], c["kind"]) for c in run.changes()]


# -- run.changes() ------------------------------------------------------------------------------


def test_no_changes_right_after_a_run_and_when_reattached_unchanged(store):
    run, _ = started(build(add("a", 1), add("b", 10)), {"n": 0})
    assert run.changes() == []
    again = build(add("a", 1), add("b", 10)).create_run(run_id=run.run_id)
    assert again.changes() == []


def test_a_run_never_started_has_no_changes(store):
    assert build(add("a", 1)).create_run().changes() == []


def test_changed_code_is_kind_code_with_its_path(store):
    run, _ = started(build(add("a", 1), add("b", 10)), {"n": 0})
    again = build(add("a", 1), edited("b")).create_run(run_id=run.run_id)
    changes = again.changes()
    assert [(c["path"], c["kind"]) for c in changes] == [("b", "code")]
    assert set(changes[0]) == {"path", "kind", "detail"}
    assert "'b'" in changes[0]["detail"]
    assert "does not run it again" in changes[0]["detail"]  # it completed
    assert "fork" in changes[0]["detail"]


def test_changed_schema_is_kind_schema(store):
    def make(step_id, schema):
        return create_step(id=step_id, input_schema=Num, output_schema=schema,
                           execute=double)

    class Num2(BaseModel):
        n: int
        extra: int = 0

    run, _ = started(build(make("a", Num), make("b", Num)), {"n": 1})
    again = build(make("a", Num2), make("b", Num)).create_run(run_id=run.run_id)
    assert kinds(again) == [("a", "schema")]
    assert "schema" in again.changes()[0]["detail"]


def test_added_removed_and_renamed_steps_in_graph_order(store):
    run, _ = started(build(add("a", 1), add("b", 10), add("c", 100)), {"n": 0})
    added = build(add("a", 1), add("new", 5), add("b", 10), add("c", 100))
    assert kinds(added.create_run(run_id=run.run_id)) == [("new", "added")]
    removed = build(add("a", 1), add("c", 100))
    assert kinds(removed.create_run(run_id=run.run_id)) == [("b", "removed")]
    renamed = build(add("a", 1), add("bee", 10), add("c", 100))
    assert sorted(kinds(renamed.create_run(run_id=run.run_id))) == [("b", "removed"),
                                                                    ("bee", "added")]
    several = build(add("z", 2), edited("a"), add("c", 100))
    got = kinds(several.create_run(run_id=run.run_id))
    assert [c for c in got if c[1] != "removed"] == [("z", "added"), ("a", "code")]
    assert ("b", "removed") in got
    # Graph order among what is there now: z before a.
    assert got.index(("z", "added")) < got.index(("a", "code"))


def test_changes_in_nested_workflows_use_dotted_paths(store):
    def nested(make):
        inner = build(add("i1", 1), make("i2", 10), wf_id="inner")
        return build(add("pre", 0), inner)

    run, _ = started(nested(add), {"n": 0})
    assert kinds(nested(edited).create_run(run_id=run.run_id)) == [("inner.i2", "code")]


def test_a_step_that_did_not_complete_is_not_said_to_be_kept(store):
    def ask(input_data: Num, resume_data: Review | None, suspend):
        if resume_data is None:
            return suspend(None)
        return input_data

    def wf(make):
        return build(make("a", 1),
                     create_step(id="ask", input_schema=Num, output_schema=Num,
                                 resume_schema=Review, execute=ask),
                     make("after", 1))

    run, result = started(wf(add), {"n": 0})
    assert result.status == "suspended"
    changes = {c["path"]: c for c in wf(edited).create_run(run_id=run.run_id).changes()}
    assert set(changes) == {"a", "after"}
    assert "does not run it again" in changes["a"]["detail"]
    assert "does not run it again" not in changes["after"]["detail"]


def test_reattaching_never_fails_because_code_or_schema_changed(store):
    run, _ = started(build(add("a", 1), add("b", 10)), {"n": 0})
    again = build(add("a", 1, output_schema=Wide), edited("b")).create_run(run_id=run.run_id)
    assert again.status == "success"
    assert {c["path"] for c in again.changes()} == {"a", "b"}


# -- resume with a changed output schema ----------------------------------------------------------


def waiting(a_schema: Any = Num, storage=None):
    """a (output a_schema) -> ask (suspends) -> last."""
    def a(input_data: Num):
        calls.append("a")
        out = {"n": input_data.n + 1}
        return {**out, "label": "new"} if a_schema is Wide else out

    def ask(input_data: Any, resume_data: Review | None, suspend):
        calls.append("ask")
        if resume_data is None:
            return suspend(None)
        return input_data

    def last(input_data: Any, get_step_result):
        got = get_step_result("a")
        calls.append(f"last:{got!r}")
        return {"n": got.n * 10}

    return (create_workflow(id="waiting", input_schema=Num, output_schema=Num, storage=storage)
            .then(create_step(id="a", input_schema=Num, output_schema=a_schema, execute=a))
            .then(create_step(id="ask", input_schema=a_schema, output_schema=a_schema,
                              resume_schema=Review, execute=ask))
            .then(create_step(id="last", input_schema=a_schema, output_schema=Num,
                              execute=last))
            .commit())


def test_resume_refuses_a_stored_output_that_no_longer_fits_and_changes_nothing(store):
    run, _ = started(waiting(), {"n": 1})
    before = store.load(run.run_id).to_json()
    again = waiting(Wide).create_run(run_id=run.run_id)
    with pytest.raises(WorkflowDefinitionError) as caught:
        asyncio.run(again.resume({"ok": True}))
    text = str(caught.value)
    assert "'a'" in text and "label" in text
    assert store.load(run.run_id).to_json() == before
    assert again.status == "suspended"
    # Still resumable by the definition that made it.
    calls.items.clear()
    result = asyncio.run(waiting().create_run(run_id=run.run_id).resume({"ok": True}))
    assert result.status == "success" and result.result == Num(n=20)
    assert calls.items == ["ask", "last:Num(n=2)"]


def test_resume_with_migrate_converts_the_stored_output(store):
    run, _ = started(waiting(), {"n": 1})
    again = waiting(Wide).create_run(run_id=run.run_id)
    seen: list[Any] = []

    def convert(old):
        seen.append(old)
        return {**old, "label": "migrated"}

    calls.items.clear()
    result = asyncio.run(again.resume({"ok": True}, migrate={"a": convert}))
    assert seen == [{"n": 2}]  # the stored JSON
    assert result.status == "success" and result.result == Num(n=20)
    assert calls.items == ["ask", "last:Wide(n=2, label='migrated')"]
    assert result.steps["a"].output == Wide(n=2, label="migrated")
    stored = store.load(run.run_id)
    assert stored.steps["a"]["output"] == {"n": 2, "label": "migrated"}
    assert stored.status == "success"


@pytest.mark.parametrize("convert, match", [
    (lambda old: old, "label"),  # returns data that does not fit
    (lambda old: {**old, "label": ["no"]}, "label"),
    (lambda old: 1 / 0, "ZeroDivisionError"),
])
def test_a_migrate_that_fails_names_the_step_and_changes_nothing(store, convert, match):
    run, _ = started(waiting(), {"n": 1})
    before = store.load(run.run_id).to_json()
    again = waiting(Wide).create_run(run_id=run.run_id)
    with pytest.raises(WorkflowDefinitionError, match=match) as caught:
        asyncio.run(again.resume({"ok": True}, migrate={"a": convert}))
    assert "'a'" in str(caught.value)
    assert store.load(run.run_id).to_json() == before
    # The same handle can still be used once the conversion is right.
    result = asyncio.run(again.resume({"ok": True},
                                      migrate={"a": lambda old: {**old, "label": "x"}}))
    assert result.status == "success"


def test_migrate_of_an_unknown_step_or_not_a_function_is_refused(store):
    run, _ = started(waiting(), {"n": 1})
    before = store.load(run.run_id).to_json()
    again = waiting(Wide).create_run(run_id=run.run_id)
    with pytest.raises(WorkflowDefinitionError, match="no step 'zz'"):
        asyncio.run(again.resume({"ok": True}, migrate={"zz": lambda old: old}))
    with pytest.raises(WorkflowDefinitionError, match="not a function"):
        asyncio.run(again.resume({"ok": True}, migrate={"a": "label"}))
    assert store.load(run.run_id).to_json() == before


def test_migrate_when_nothing_changed_still_validates(store):
    run, _ = started(waiting(), {"n": 1})
    result = asyncio.run(waiting().create_run(run_id=run.run_id).resume(
        {"ok": True}, migrate={"a": lambda old: {"n": old["n"] + 100}}))
    assert result.result == Num(n=1020)


def test_a_completed_step_whose_code_changed_is_not_rerun_by_resume(store):
    run, _ = started(waiting(), {"n": 1})

    def wf2():
        wf = waiting()
        # The same ids with changed code for a: a's closure reads another amount.
        a2 = create_step(id="a", input_schema=Num, output_schema=Num,
                         execute=lambda input_data: {"n": input_data.n + 1000})
        return (create_workflow(id="waiting", input_schema=Num, output_schema=Num)
                .then(a2).then(wf.steps["ask"]).then(wf.steps["last"]).commit())

    again = wf2().create_run(run_id=run.run_id)
    assert kinds(again) == [("a", "code")]
    calls.items.clear()
    result = asyncio.run(again.resume({"ok": True}))
    assert result.result == Num(n=20)  # a's stored output, not re-run
    assert calls.items == ["ask", "last:Num(n=2)"]


# -- restart with migrate= ------------------------------------------------------------------------


def died_mid_run(store: MemoryStore) -> str:
    """A run of ``hanging`` whose process 'died' inside step b: its stored snapshot (status
    running, a done) copied into ``store`` while it ran."""
    source = MemoryStore()
    release = asyncio.Event

    async def go():
        gate = release()

        async def b(input_data: Any):
            await gate.wait()
            return input_data

        wf = (create_workflow(id="hanging", input_schema=Num, output_schema=Num,
                              storage=source)
              .then(create_step(id="a", input_schema=Num, output_schema=Num,
                                execute=lambda input_data: {"n": input_data.n + 1}))
              .then(create_step(id="b", input_schema=Num, output_schema=Num, execute=b))
              .commit())
        run = wf.create_run()
        task = asyncio.ensure_future(run.start({"n": 1}))
        for _ in range(400):
            await asyncio.sleep(0.005)
            snap = source.load(run.run_id)
            if snap is not None and snap.steps.get("a", {}).get("status") == "success" \
                    and snap.steps.get("b", {}).get("status") == "running":
                break
        store.insert(snap)  # what a killed process leaves behind
        await run.cancel()
        await task
        return run.run_id

    return asyncio.run(go())


def hanging(a_schema: Any = Num):
    def a(input_data: Num):
        calls.append("a")
        return {"n": input_data.n + 1, "label": "new"}

    def b(input_data: Any):
        calls.append(f"b:{input_data!r}")
        return {"n": input_data.n * 10}

    return (create_workflow(id="hanging", input_schema=Num, output_schema=Num)
            .then(create_step(id="a", input_schema=Num, output_schema=a_schema, execute=a))
            .then(create_step(id="b", input_schema=a_schema, output_schema=Num, execute=b))
            .commit())


def test_restart_with_a_changed_schema_needs_migrate(store):
    run_id = died_mid_run(store)
    snap = store.load(run_id)
    assert snap.status == "running" and snap.steps["a"]["output"] == {"n": 2}
    before = snap.to_json()
    again = hanging(Wide).create_run(run_id=run_id)
    with pytest.raises(WorkflowDefinitionError, match="'a'.*label"):
        asyncio.run(again.restart())
    with pytest.raises(WorkflowDefinitionError, match="'a'"):
        asyncio.run(again.restart(migrate={"a": lambda old: old}))
    with pytest.raises(WorkflowDefinitionError, match="'a'.*RuntimeError"):
        asyncio.run(again.restart(migrate={"a": _raise}))
    assert store.load(run_id).to_json() == before
    assert calls.items == []
    result = asyncio.run(again.restart(migrate={"a": lambda old: {**old, "label": "old"}}))
    assert result.status == "success" and result.result == Num(n=20)
    assert calls.items == ["b:Wide(n=2, label='old')"]  # a is not re-run
    stored = store.load(run_id)
    assert stored.status == "success"
    assert stored.steps["a"]["output"] == {"n": 2, "label": "old"}


def test_restart_by_the_old_definition_still_works_after_a_refusal(store):
    run_id = died_mid_run(store)
    with pytest.raises(WorkflowDefinitionError):
        asyncio.run(hanging(Wide).create_run(run_id=run_id).restart())
    result = asyncio.run(hanging().create_run(run_id=run_id).restart())
    assert result.status == "success" and result.result == Num(n=20)
    assert calls.items == ["b:Num(n=2)"]


def _raise(old):
    raise RuntimeError("cannot convert")
