"""``flownb.compare(a, b)``: two runs step by step (SPEC §3d "Compare"), on exact values."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from pydantic import BaseModel

import flownb
from flownb import RunDiff, RunNotFoundError, StepDiff, compare, create_step, create_workflow
from flownb.core.compare import MISSING, Difference
from flownb.core.results import StepResult, WorkflowResult
from flownb.storage import SQLiteStore


class Topic(BaseModel):
    topic: str
    items: list[int] = []


class Draft(BaseModel):
    text: str
    items: list[int]


class Score(BaseModel):
    score: int
    note: str


def pipeline(bonus: int = 0, *, fail: bool = False, extra: bool = False,
             storage: Any = None) -> flownb.Workflow:
    """draft -> score (score = len(text) + bonus) [-> publish]; the same id every time."""

    def draft(input_data: Topic) -> dict[str, Any]:
        return {"text": input_data.topic, "items": input_data.items}

    def score(input_data: Draft) -> dict[str, Any]:
        if fail:
            raise ValueError("scorer down")
        return {"score": len(input_data.text) + bonus, "note": "ok"}

    wf = (create_workflow(id="pipeline", input_schema=Topic, output_schema=Score,
                          storage=storage)
          .then(create_step(id="draft", input_schema=Topic, output_schema=Draft,
                            execute=draft))
          .then(create_step(id="score", input_schema=Draft, output_schema=Score,
                            execute=score)))
    if extra:
        wf = wf.then(create_step(id="publish", input_schema=Score, output_schema=Score,
                                 execute=lambda input_data: input_data))
    return wf.commit()


def test_the_same_run_twice_is_the_same_at_every_step():
    a = pipeline().invoke({"topic": "tides"})
    b = pipeline().invoke({"topic": "tides"})
    diff = compare(a, b)
    assert isinstance(diff, RunDiff)
    assert list(diff) == ["draft", "score"]
    assert [diff[p].status for p in diff] == ["same", "same"]
    assert diff["score"] == StepDiff("score", "same")
    assert (diff.changed, diff.only_a, diff.only_b, diff.same) == ([], [], [], True)
    assert len(diff) == 2 and "score" in diff and "publish" not in diff


def test_a_changed_output_field_is_named_by_its_json_path():
    a = pipeline().invoke({"topic": "tides"})
    b = pipeline(bonus=2).invoke({"topic": "tides"})
    diff = compare(a, b)
    assert diff.changed == ["score"]
    step = diff["score"]
    assert (step.status, step.fields, step.paths) == ("changed", ("output",), ("output.score",))
    assert step.differences == (Difference("output.score", 5, 7),)
    assert diff["draft"].status == "same"


def test_a_changed_input_list_item_is_named_with_its_index():
    a = pipeline().invoke({"topic": "tides", "items": [1, 2, 3]})
    b = pipeline().invoke({"topic": "tides", "items": [1, 2, 4, 5]})
    diff = compare(a, b)
    assert diff.changed == ["draft", "score"]
    assert diff["draft"].fields == ("input", "output")
    assert diff["draft"].paths == ("input.items[2]", "input.items[3]",
                                   "output.items[2]", "output.items[3]")
    assert diff["draft"].differences[1] == Difference("input.items[3]", MISSING, 5)
    assert diff["score"].paths == ("input.items[2]", "input.items[3]")


def test_a_step_only_one_run_has():
    a = pipeline().invoke({"topic": "tides"})
    b = pipeline(extra=True).invoke({"topic": "tides"})
    diff = compare(a, b)
    assert list(diff) == ["draft", "score", "publish"]
    assert diff["publish"] == StepDiff("publish", "only_b")
    assert (diff.changed, diff.only_b) == ([], ["publish"])
    back = compare(b, a)
    assert list(back) == ["draft", "score", "publish"]
    assert back["publish"].status == "only_a" and back.only_a == ["publish"]


def test_a_failed_step_against_a_succeeded_one():
    a = pipeline().invoke({"topic": "tides"})
    b = pipeline(fail=True).invoke({"topic": "tides"})
    assert b.status == "failed"
    step = compare(a, b)["score"]
    assert step.status == "changed"
    assert step.fields == ("output", "status", "error")
    assert step.paths == ("output", "status", "error")
    assert step.differences[0] == Difference("output", {"score": 5, "note": "ok"}, None)
    assert step.differences[1] == Difference("status", "success", "failed")
    assert step.differences[2].a is None and "scorer down" in step.differences[2].b


class Item(BaseModel):
    n: int


def reviews(offset: int) -> flownb.Workflow:
    split = create_step(id="split", input_schema=Topic, output_schema=list[Item],
                        execute=lambda input_data: [{"n": n} for n in input_data.items])

    def review(input_data: Item) -> dict[str, int]:
        return {"n": input_data.n + (offset if input_data.n == 3 else 0)}

    return (create_workflow(id="reviews", input_schema=Topic, output_schema=list[Item])
            .then(split)
            .foreach(create_step(id="review", input_schema=Item, output_schema=Item,
                                 execute=review))
            .commit())


def test_a_foreach_item_is_its_own_path():
    a = reviews(0).invoke({"topic": "t", "items": [1, 2, 3]})
    b = reviews(10).invoke({"topic": "t", "items": [1, 2, 3]})
    diff = compare(a, b)
    assert list(diff) == ["split", "review", "review[0]", "review[1]", "review[2]"]
    assert diff.changed == ["review", "review[2]"]
    assert diff["review[2]"].paths == ("output.n",)
    assert diff["review"].paths == ("output[2].n",)


def test_json_data_rules_keys_order_bools_numbers_and_odd_keys():
    def result(run_id: str, output: Any) -> WorkflowResult:
        return WorkflowResult("success", run_id, "wf",
                              steps={"s": StepResult("success", output=output)})

    same = compare(result("a", {"x": 1, "y": 2.0}), result("b", {"y": 2, "x": 1}))
    assert same["s"].status == "same"
    diff = compare(result("a", {"flag": True, "a.b": 1, "k": [1]}),
                   result("b", {"flag": 1, "a.b": 2, "k": {"0": 1}, "new": None}))
    assert diff["s"].paths == ("output.flag", 'output["a.b"]', "output.k", "output.new")
    assert diff["s"].differences[3] == Difference("output.new", MISSING, None)
    assert diff["s"].differences[3].to_dict() == {"path": "output.new", "b": None}


def test_timings_and_attempts_do_not_count():
    a = WorkflowResult("success", "a", "wf", steps={
        "s": StepResult("success", output=1, started_at=1.0, ended_at=2.0, attempts=1)})
    b = WorkflowResult("success", "b", "wf", steps={
        "s": StepResult("success", output=1, started_at=5.0, ended_at=9.0, attempts=3)})
    assert compare(a, b)["s"].status == "same"


def test_a_run_a_result_and_a_run_id_compare_alike_through_sqlite(tmp_path):
    store = SQLiteStore(str(tmp_path / "runs.db"))
    first = pipeline(storage=store).invoke({"topic": "tides"})
    run = pipeline(bonus=1, storage=store).create_run()
    flownb.run_sync(run.start(input_data={"topic": "tides"}))
    expected = ["score"]
    assert compare(first, run).changed == expected
    assert compare(first.run_id, run.run_id, store=store).changed == expected
    assert compare(first, run.run_id, store=store).changed == expected
    reloaded = pipeline(storage=store).create_run(run_id=first.run_id)
    diff = compare(reloaded, run)
    assert diff.changed == expected and diff["score"].paths == ("output.score",)
    assert (diff.a.run_id, diff.b.run_id) == (first.run_id, run.run_id)
    assert (diff.a.workflow_id, diff.a.status) == ("pipeline", "success")


def test_a_run_id_uses_the_default_store(store):
    a = pipeline().invoke({"topic": "tides"})
    b = pipeline(bonus=1).invoke({"topic": "tides"})
    assert compare(a.run_id, b.run_id).changed == ["score"]


def test_an_unknown_run_id_raises_run_not_found_naming_it(tmp_path):
    store = SQLiteStore(str(tmp_path / "runs.db"))
    a = pipeline(storage=store).invoke({"topic": "tides"})
    with pytest.raises(RunNotFoundError, match="no stored run 'nope'") as info:
        compare(a, "nope", store=store)
    assert info.value.run_id == "nope"


def test_something_that_is_not_a_run_is_refused():
    with pytest.raises(flownb.FlownbError, match="b must be a Run, a WorkflowResult or a run "
                                                 "id, got int"):
        compare(WorkflowResult("success", "a", "wf"), 3)


def test_repr_to_dict_and_missing_survive_reading():
    a = pipeline().invoke({"topic": "tides"})
    b = pipeline(bonus=2, extra=True).invoke({"topic": "tides"})
    diff = compare(a, b)
    assert repr(diff) == (f"RunDiff(a={a.run_id!r}, b={b.run_id!r}, steps=3, "
                          "changed=['score'], only_a=[], only_b=['publish'])")
    assert repr(diff["score"]) == ("StepDiff(path='score', status='changed', "
                                   "fields=('output',), paths=('output.score',))")
    assert diff.to_dict()["steps"][1] == {
        "path": "score", "status": "changed", "fields": ["output"], "paths": ["output.score"],
        "differences": [{"path": "output.score", "a": 5, "b": 7}]}
    assert diff.to_dict()["b"] == {"run_id": b.run_id, "workflow_id": "pipeline",
                                   "status": "success"}
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING and repr(MISSING) == "MISSING"
