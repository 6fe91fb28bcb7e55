"""``wf.plan(...)`` (SPEC §3d): what a run would reuse and what it would run, and why;
it runs nothing and stores nothing.

Steps count their calls through a ``Calls`` object (counted by type only in a fingerprint,
so counting does not change it)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import BaseModel

import flownb
from flownb import InputValidationError, Plan, PlanItem, create_step, create_workflow


class Topic(BaseModel):
    topic: str
    n: int = 1


class Calls:
    def __init__(self) -> None:
        self.n: dict[str, int] = {}

    def hit(self, name: str) -> None:
        self.n[name] = self.n.get(name, 0) + 1


@pytest.fixture(autouse=True)
def _cache_default_off():
    flownb.configure(cache=None)
    yield
    flownb.configure(cache=None)


@pytest.fixture
def calls() -> Calls:
    return Calls()


def mk(calls: Calls, id: str, suffix: str = "", **kw: Any):
    async def execute(input_data: Topic) -> Topic:
        calls.hit(id)
        return Topic(topic=input_data.topic + suffix, n=input_data.n)

    return create_step(id=id, input_schema=Topic, output_schema=Topic, execute=execute, **kw)


SOURCE = '''
async def execute(input_data: Topic) -> Topic:
    calls.hit("score")
    return Topic(topic=input_data.topic + {suffix!r}, n=input_data.n)
'''


def exec_step(calls: Calls, suffix: str, **kw: Any):
    """The ``score`` step built from source text, as a notebook cell edited and re-run."""
    namespace: dict[str, Any] = {"Topic": Topic, "calls": calls}
    exec(compile(SOURCE.format(suffix=suffix), "<cell>", "exec"), namespace)
    return create_step(id="score", input_schema=Topic, output_schema=Topic,
                       execute=namespace["execute"], **kw)


def pipeline(calls: Calls, *, score_suffix: str = "!", score_kw: dict | None = None,
             **wf_kw: Any):
    wf_kw.setdefault("cache", True)
    return (create_workflow(id="pipe", input_schema=Topic, output_schema=Topic, **wf_kw)
            .then(mk(calls, "draft", "d"))
            .then(exec_step(calls, score_suffix, **(score_kw or {})))
            .then(mk(calls, "publish", "p"))
            .commit())


def statuses(plan: Plan) -> dict[str, str]:
    return {path: item.status for path, item in plan.items()}


# ----------------------------------------------------------------------- statuses and reasons


def test_empty_store_first_step_runs_the_rest_depend(calls):
    plan = pipeline(calls).plan({"topic": "tides"})
    assert statuses(plan) == {"draft": "run", "score": "depends", "publish": "depends"}
    assert plan["draft"].reason == "no earlier run"
    assert plan["draft"].cached_from is None
    assert "draft" in plan["score"].reason


def test_after_a_run_everything_is_reused(calls):
    wf = pipeline(calls)
    done = wf.invoke({"topic": "tides"})
    plan = wf.plan({"topic": "tides"})
    assert statuses(plan) == {"draft": "reuse", "score": "reuse", "publish": "reuse"}
    for path in plan:
        assert plan[path].cached_from == {"run_id": done.run_id, "path": path}
        assert plan[path].reason.startswith(f"unchanged since run …{done.run_id[-8:]}")
    assert plan.will_run == []


def test_reuse_through_a_chain_names_the_run_where_it_ran(calls):
    wf = pipeline(calls)
    first = wf.invoke({"topic": "tides"})
    wf.invoke({"topic": "tides"})
    plan = wf.plan({"topic": "tides"})
    assert plan["publish"].cached_from == {"run_id": first.run_id, "path": "publish"}


def test_edited_step_runs_with_code_changed_and_later_ones_depend(calls):
    pipeline(calls).invoke({"topic": "tides"})
    plan = pipeline(calls, score_suffix="?").plan({"topic": "tides"})
    assert statuses(plan) == {"draft": "reuse", "score": "run", "publish": "depends"}
    assert plan["score"].reason == "code changed: score"
    assert plan["score"].cached_from is None
    assert plan["publish"].cached_from is None


LIMIT = 3


def test_changed_global_is_code_changed(calls, monkeypatch):
    async def cut(input_data: Topic) -> Topic:
        calls.hit("cut")
        return Topic(topic=input_data.topic[:LIMIT], n=input_data.n)

    wf = (create_workflow(id="g", input_schema=Topic, output_schema=Topic, cache=True)
          .then(mk(calls, "draft", "d"))
          .then(create_step(id="cut", input_schema=Topic, output_schema=Topic, execute=cut))
          .then(mk(calls, "publish", "p")).commit())
    wf.invoke({"topic": "tides"})
    assert statuses(wf.plan({"topic": "tides"})) == dict.fromkeys(
        ("draft", "cut", "publish"), "reuse")
    monkeypatch.setitem(globals(), "LIMIT", 4)
    plan = wf.plan({"topic": "tides"})
    assert statuses(plan) == {"draft": "reuse", "cut": "run", "publish": "depends"}
    assert plan["cut"].reason == "code changed: cut"


def test_input_field_change_is_named(calls):
    wf = pipeline(calls)
    wf.invoke({"topic": "tides", "n": 1})
    plan = wf.plan({"topic": "waves", "n": 1})
    assert statuses(plan) == {"draft": "run", "score": "depends", "publish": "depends"}
    assert plan["draft"].reason == "input changed: topic"
    assert wf.plan({"topic": "tides", "n": 2})["draft"].reason == "input changed: n"


def test_cache_off_is_not_cached(calls):
    wf = pipeline(calls, cache=None)
    wf.invoke({"topic": "tides"})
    plan = wf.plan({"topic": "tides"})
    assert plan["draft"] == PlanItem("run", "not cached")
    assert plan["score"].status == "depends"


def test_step_cache_false_is_not_cached_and_dependents_depend(calls):
    wf = pipeline(calls, score_kw={"cache": False})
    wf.invoke({"topic": "tides"})
    plan = wf.plan({"topic": "tides"})
    assert statuses(plan) == {"draft": "reuse", "score": "run", "publish": "depends"}
    assert plan["score"].reason == "not cached"


def test_configure_cache_decides_for_plan_too(calls):
    wf = pipeline(calls, cache=None)
    flownb.configure(cache=True)
    wf.invoke({"topic": "tides"})
    assert statuses(wf.plan({"topic": "tides"})) == dict.fromkeys(
        ("draft", "score", "publish"), "reuse")


def test_effects(calls):
    wf = pipeline(calls, score_kw={"effects": True})
    wf.invoke({"topic": "tides"})
    plan = wf.plan({"topic": "tides"})
    assert statuses(plan) == {"draft": "reuse", "score": "run", "publish": "depends"}
    assert plan["score"].reason == "effects"


def test_cause_order_effects_before_not_cached(calls):
    wf = pipeline(calls, score_kw={"effects": True, "cache": False})
    wf.invoke({"topic": "tides"})
    assert wf.plan({"topic": "tides"})["score"].reason == "effects"


def test_cause_order_not_cached_before_code_changed(calls):
    pipeline(calls).invoke({"topic": "tides"})
    plan = pipeline(calls, score_suffix="?", score_kw={"cache": False}).plan({"topic": "tides"})
    assert plan["score"].reason == "not cached"


def test_cause_order_code_changed_before_input_changed(calls):
    pipeline(calls).invoke({"topic": "tides"})
    plan = pipeline(calls, score_suffix="?").plan({"topic": "waves"})
    assert plan["draft"].reason == "input changed: topic"
    # score is fed by draft, which runs: depends wins over its own causes
    assert plan["score"].status == "depends"
    wf = (create_workflow(id="pipe", input_schema=Topic, output_schema=Topic, cache=True)
          .then(exec_step(calls, "?")).commit())
    (create_workflow(id="pipe", input_schema=Topic, output_schema=Topic, cache=True)
     .then(exec_step(calls, "!")).commit()).invoke({"topic": "tides"})
    assert wf.plan({"topic": "waves"})["score"].reason == "code changed: score"


def test_cause_order_input_changed_before_no_earlier_run(calls):
    wf = pipeline(calls)
    wf.invoke({"topic": "tides"})
    wf.invoke({"topic": "waves"})
    assert wf.plan({"topic": "sand"})["draft"].reason == "input changed: topic"


# ----------------------------------------------------------------------- runs and stores nothing


def test_plan_runs_nothing_and_stores_nothing(calls, store):
    wf = pipeline(calls)
    wf.plan({"topic": "tides"})
    assert calls.n == {}
    assert store.list_runs() == []
    wf.invoke({"topic": "tides"})
    before_runs = store.list_runs()
    before_calls = dict(calls.n)
    wf.plan({"topic": "tides"})
    pipeline(calls, score_suffix="?").plan({"topic": "waves"})
    assert calls.n == before_calls
    assert store.list_runs() == before_runs
    assert len(store.cache_find(store.cache_last("pipe", "draft").key)) == 1


def test_invalid_input_raises(calls, store):
    with pytest.raises(InputValidationError) as info:
        pipeline(calls).plan({"topic": 3})
    assert "topic" in str(info.value)
    assert store.list_runs() == []


def test_parallel_one_branch_reused_the_other_runs(calls):
    def build(suffix: str):
        namespace: dict[str, Any] = {"Topic": Topic, "calls": calls}
        exec(compile(SOURCE.format(suffix=suffix).replace('"score"', '"right"'), "<cell>",
                     "exec"), namespace)
        right = create_step(id="right", input_schema=Topic, output_schema=Topic,
                            execute=namespace["execute"])
        return (create_workflow(id="par", input_schema=Topic, cache=True)
                .then(mk(calls, "draft", "d"))
                .parallel([mk(calls, "left", "l"), right])
                .map(lambda input_data: input_data["left"])
                .then(mk(calls, "join"))
                .commit())

    build("!").invoke({"topic": "tides"})
    plan = build("?").plan({"topic": "tides"})
    assert statuses(plan) == {"draft": "reuse", "left": "reuse", "right": "run",
                              "join": "depends"}
    assert plan["right"].reason == "code changed: right"


def test_foreach_items_are_listed(calls):
    async def each(input_data: Topic) -> Topic:
        calls.hit(input_data.topic)
        return Topic(topic=input_data.topic.upper())

    item = create_step(id="each", input_schema=Topic, output_schema=Topic, execute=each)
    wf = (create_workflow(id="fe", input_schema=list[Topic], cache=True)
          .foreach(item).then(create_step(id="after", input_schema=list[Topic],
                                          output_schema=list[Topic],
                                          execute=lambda input_data: input_data))
          .commit())
    done = wf.invoke([{"topic": "a"}, {"topic": "b"}])
    plan = wf.plan([{"topic": "a"}, {"topic": "c"}])
    assert list(plan) == ["each[0]", "each[1]", "after"]
    assert plan["each[0]"].status == "reuse"
    assert plan["each[0]"].cached_from == {"run_id": done.run_id, "path": "each[0]"}
    assert plan["each[1]"].status == "run"
    assert plan["each[1]"].reason == "input changed: topic"
    assert plan["after"].status == "depends"
    assert calls.n == {"a": 1, "b": 1}


def test_nested_workflow_steps_are_dotted(calls):
    def build(suffix: str):
        inner = (create_workflow(id="inner", input_schema=Topic, output_schema=Topic)
                 .then(mk(calls, "x", "x")).then(exec_step(calls, suffix)).commit())
        return (create_workflow(id="outer", input_schema=Topic, output_schema=Topic,
                                cache=True)
                .then(mk(calls, "draft", "d")).then(inner).then(mk(calls, "last")).commit())

    empty = build("!").plan({"topic": "t"})
    assert list(empty) == ["draft", "inner.x", "inner.score", "last"]
    done = build("!").invoke({"topic": "t"})
    plan = build("?").plan({"topic": "t"})
    assert statuses(plan) == {"draft": "reuse", "inner.x": "reuse", "inner.score": "run",
                              "last": "depends"}
    assert plan["inner.x"].cached_from == {"run_id": done.run_id, "path": "inner.x"}
    assert plan["inner.score"].reason == "code changed: score"


def test_sleep_is_not_waited_for(calls):
    wf = (create_workflow(id="sl", input_schema=Topic, output_schema=Topic, cache=True)
          .then(mk(calls, "draft", "d")).sleep(30).then(mk(calls, "last")).commit())
    began = time.monotonic()
    plan = wf.plan({"topic": "t"})
    assert time.monotonic() - began < 5
    assert statuses(plan) == {"draft": "run", "last": "depends"}


def test_sleep_after_reused_step_is_not_waited_for(calls, monkeypatch):
    wf = (create_workflow(id="sl", input_schema=Topic, output_schema=Topic, cache=True)
          .then(mk(calls, "draft", "d")).sleep(0.01).then(mk(calls, "last")).commit())
    wf.invoke({"topic": "t"})
    slow = (create_workflow(id="sl", input_schema=Topic, output_schema=Topic, cache=True)
            .then(mk(calls, "draft", "d")).sleep(30).then(mk(calls, "last")).commit())
    began = time.monotonic()
    plan = slow.plan({"topic": "t"})
    assert time.monotonic() - began < 5
    assert statuses(plan) == {"draft": "reuse", "last": "reuse"}


def test_state_and_runtime_context_are_planned_on(calls):
    async def moody(input_data: Topic, state, runtime_context) -> Topic:
        calls.hit("moody")
        return input_data

    wf = (create_workflow(id="mood", input_schema=Topic, output_schema=Topic, cache=True)
          .then(create_step(id="moody", input_schema=Topic, output_schema=Topic,
                            execute=moody)).commit())
    wf.invoke({"topic": "t"}, initial_state={"m": 1}, runtime_context={"lang": "en"})
    same = wf.plan({"topic": "t"}, state={"m": 1}, runtime_context={"lang": "en"})
    assert same["moody"].status == "reuse"
    state = wf.plan({"topic": "t"}, state={"m": 2}, runtime_context={"lang": "en"})
    assert state["moody"] == PlanItem("run", "input changed: state")
    ctx = wf.plan({"topic": "t"}, state={"m": 1}, runtime_context={"lang": "fr"})
    assert ctx["moody"] == PlanItem("run", "input changed: runtime_context")


def test_run_id_declared_is_not_cached(calls):
    async def rid(input_data: Topic, run_id: str) -> Topic:
        calls.hit("rid")
        return input_data

    wf = (create_workflow(id="rid", input_schema=Topic, output_schema=Topic, cache=True)
          .then(mk(calls, "draft")).then(create_step(id="rid", input_schema=Topic,
                                                     output_schema=Topic, execute=rid))
          .then(mk(calls, "last")).commit())
    wf.invoke({"topic": "t"})
    plan = wf.plan({"topic": "t"})
    assert statuses(plan) == {"draft": "reuse", "rid": "run", "last": "depends"}
    assert plan["rid"].reason.startswith("not cached: ")
    assert "run_id" in plan["rid"].reason


def test_changed_output_read_through_get_step_result_is_named(calls):
    async def zero(input_data: Topic) -> Topic:
        return Topic(topic="")

    async def reader(input_data: Topic, get_step_result) -> Topic:
        calls.hit("reader")
        return Topic(topic=get_step_result("draft").topic)

    def build(reader_cache: bool | None = None):
        return (create_workflow(id="reads", input_schema=Topic, output_schema=Topic,
                                cache=True)
                .then(mk(calls, "draft", "d"))
                .then(create_step(id="zero", input_schema=Topic, output_schema=Topic,
                                  execute=zero))
                .then(create_step(id="reader", input_schema=Topic, output_schema=Topic,
                                  execute=reader, cache=reader_cache))
                .commit())

    wf = build()
    wf.invoke({"topic": "t"})
    build(reader_cache=False).invoke({"topic": "v"})  # draft's entry for v; none of reader
    plan = wf.plan({"topic": "v"})
    assert statuses(plan) == {"draft": "reuse", "zero": "reuse", "reader": "run"}
    assert plan["reader"].reason == "input changed: draft"
    assert statuses(wf.plan({"topic": "t"})) == dict.fromkeys(("draft", "zero", "reader"),
                                                              "reuse")
    # draft runs on new input; reader is not reached (it runs after a step that runs)
    assert wf.plan({"topic": "u"})["reader"].status == "depends"
    wf.invoke({"topic": "u"})
    calls.n.clear()
    # both inputs seen: every step finds its entry
    assert statuses(wf.plan({"topic": "t"})) == dict.fromkeys(("draft", "zero", "reader"),
                                                              "reuse")
    assert calls.n == {}


def test_storage_false_workflow_plans_without_a_store(calls):
    wf = pipeline(calls, storage=False)
    wf.invoke({"topic": "t"})
    plan = wf.plan({"topic": "t"})
    assert statuses(plan) == {"draft": "run", "score": "depends", "publish": "depends"}


# ----------------------------------------------------------------------- the Plan object


def test_plan_is_a_mapping_in_graph_order(calls):
    wf = pipeline(calls)
    wf.invoke({"topic": "tides"})
    plan = pipeline(calls, score_suffix="?").plan({"topic": "tides"})
    assert isinstance(plan, Mapping)
    assert len(plan) == 3
    assert list(plan) == ["draft", "score", "publish"]
    assert "score" in plan and "nope" not in plan
    with pytest.raises(KeyError):
        plan["nope"]
    assert plan.will_run == ["score", "publish"]
    item = plan["score"]
    assert isinstance(item, PlanItem)
    assert (item.status, item.reason, item.cached_from) == ("run", "code changed: score",
                                                            None)
    with pytest.raises(AttributeError):
        item.status = "reuse"  # type: ignore[misc]
    doc = plan.to_dict()
    assert json.loads(json.dumps(doc)) == doc
    assert list(doc) == ["draft", "score", "publish"]
    assert doc["draft"]["status"] == "reuse"
    assert doc["draft"]["cached_from"]["path"] == "draft"
    assert doc["score"] == {"status": "run", "reason": "code changed: score",
                            "cached_from": None}
    assert "reuse=1" in repr(plan) and "run=1" in repr(plan) and "depends=1" in repr(plan)


def test_a_branch_arm_decided_against_is_not_listed_as_depends(calls):
    def branchy(suffix: str) -> flownb.Workflow:
        return (create_workflow(id="branchy", input_schema=Topic, output_schema=Any,
                                cache=True)
                .then(mk(calls, "first"))
                .branch([(lambda input_data: input_data.n > 0, mk(calls, "pos", suffix)),
                         (lambda input_data: input_data.n <= 0, mk(calls, "neg"))])
                .map(lambda input_data: next(iter(input_data.values())))
                .then(mk(calls, "last")).commit())

    branchy("+").invoke({"topic": "t", "n": 1})
    plan = branchy("++").plan({"topic": "t", "n": 1})  # pos's code changed
    assert {p: i.status for p, i in plan.items()} == {
        "first": "reuse", "pos": "run", "last": "depends"}  # no "neg": it will not run
    assert plan["pos"].reason == "code changed: pos"
