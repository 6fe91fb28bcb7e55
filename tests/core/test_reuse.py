"""Reuse, the step cache (SPEC §3d): settings and their precedence, what is never reused,
what the fingerprint takes in, cached_from and events, foreach items and nested workflows,
forgetting entries.

Steps count their calls through a ``Calls`` object they close over: a plain object counts
by its type only in a fingerprint, so counting does not change the step's fingerprint (a
module-level list that grows would)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel

import flownb
from flownb import create_step, create_workflow, step


class Num(BaseModel):
    n: int


class Calls:
    """Calls per step id (an object: its contents are not part of any fingerprint)."""

    def __init__(self) -> None:
        self.n: dict[str, int] = {}
        self.fail = False
        self.suspend = False

    def hit(self, name: str) -> None:
        self.n[name] = self.n.get(name, 0) + 1

    def __getitem__(self, name: str) -> int:
        return self.n.get(name, 0)


@pytest.fixture(autouse=True)
def _cache_default_off():
    flownb.configure(cache=None)
    yield
    flownb.configure(cache=None)


@pytest.fixture
def calls() -> Calls:
    return Calls()


def adder(calls: Calls, id: str, k: int, **kw: Any):
    async def execute(input_data: Num) -> Num:
        calls.hit(id)
        return Num(n=input_data.n + k)

    return create_step(id=id, input_schema=Num, output_schema=Num, execute=execute, **kw)


def chain(*steps, id: str = "chain", **kw: Any):
    wf = create_workflow(id=id, input_schema=Num, output_schema=Num, **kw)
    for s in steps:
        wf = wf.then(s)
    return wf.commit()


def ab(calls: Calls, *, a: dict | None = None, b: dict | None = None, **wf_kw: Any):
    return chain(adder(calls, "a", 1, **(a or {})), adder(calls, "b", 10, **(b or {})),
                 **wf_kw)


def twice(wf, data: Any = None, **kw: Any):
    data = {"n": 1} if data is None else data
    first = wf.invoke(data, **kw)
    second = wf.invoke(data, **kw)
    assert first.status == second.status == "success", (first.error, second.error)
    return first, second


# ----------------------------------------------------------------------- settings


def test_default_is_off(calls):
    twice(ab(calls))
    assert calls.n == {"a": 2, "b": 2}


def test_workflow_cache_true_reuses_every_step(calls):
    first, second = twice(ab(calls, cache=True))
    assert calls.n == {"a": 1, "b": 1}
    assert second.result == first.result == Num(n=12)
    assert first.steps["a"].cached_from is None
    assert second.steps["a"].cached_from == {"run_id": first.run_id, "path": "a"}
    assert second.steps["b"].cached_from == {"run_id": first.run_id, "path": "b"}


def test_step_false_beats_workflow_true(calls):
    twice(ab(calls, b={"cache": False}, cache=True))
    assert calls.n == {"a": 1, "b": 2}


def test_step_true_beats_workflow_false(calls):
    twice(ab(calls, a={"cache": True}, cache=False))
    assert calls.n == {"a": 1, "b": 2}


def test_step_true_beats_configure_off_and_false_beats_configure_on(calls):
    twice(ab(calls, a={"cache": True}))
    assert calls.n == {"a": 1, "b": 2}
    flownb.configure(cache=True)
    other = Calls()
    twice(ab(other, a={"cache": False}))
    assert other.n == {"a": 2, "b": 1}


def test_configure_true_turns_it_on(calls):
    flownb.configure(cache=True)
    twice(ab(calls))
    assert calls.n == {"a": 1, "b": 1}


def test_workflow_false_beats_configure_true(calls):
    flownb.configure(cache=True)
    twice(ab(calls, cache=False))
    assert calls.n == {"a": 2, "b": 2}


def nested(calls: Calls, *, inner_cache: bool | None, outer_cache: bool | None):
    inner = chain(adder(calls, "x", 1), id="inner", cache=inner_cache)
    return chain(adder(calls, "o", 1), inner, id="outer", cache=outer_cache)


def test_innermost_workflow_beats_outer(calls):
    twice(nested(calls, inner_cache=False, outer_cache=True))
    assert calls.n == {"o": 1, "x": 2}
    other = Calls()
    twice(nested(other, inner_cache=True, outer_cache=False))
    assert other.n == {"o": 2, "x": 1}


def test_inner_workflow_none_inherits_outer(calls):
    twice(nested(calls, inner_cache=None, outer_cache=True))
    assert calls.n == {"o": 1, "x": 1}


def test_inner_workflow_beats_configure(calls):
    flownb.configure(cache=True)
    twice(nested(calls, inner_cache=False, outer_cache=None))
    assert calls.n == {"o": 1, "x": 2}


def test_run_cache_false_turns_everything_off(calls):
    flownb.configure(cache=True)
    wf = ab(calls, a={"cache": True}, cache=True)
    wf.invoke({"n": 1})
    second = wf.invoke({"n": 1}, cache=False)
    assert calls.n == {"a": 2, "b": 2}
    assert second.steps["a"].cached_from is None


def test_run_cache_true_turns_it_on(calls):
    twice(ab(calls), cache=True)
    assert calls.n == {"a": 1, "b": 1}


def test_run_cache_true_keeps_steps_and_workflows_that_say_false(calls):
    twice(ab(calls, b={"cache": False}), cache=True)
    assert calls.n == {"a": 1, "b": 2}
    other = Calls()
    twice(ab(other, cache=False), cache=True)
    assert other.n == {"a": 2, "b": 2}
    third = Calls()
    twice(nested(third, inner_cache=False, outer_cache=None), cache=True)
    assert third.n == {"o": 1, "x": 2}


def test_run_cache_true_does_not_leak_into_the_next_run(calls):
    wf = ab(calls)
    wf.invoke({"n": 1}, cache=True)
    wf.invoke({"n": 1})  # settings decide: off
    assert calls.n == {"a": 2, "b": 2}


def test_decorator_cache_and_effects():
    counter = Calls()

    @step(cache=True)
    async def plain(input_data: Num) -> Num:
        counter.hit("plain")
        return input_data

    @step(cache=True, effects=True)
    async def mailer(input_data: Num) -> Num:
        counter.hit("mailer")
        return input_data

    assert plain.cache is True and mailer.effects is True
    twice(chain(plain, mailer))
    assert counter.n == {"plain": 1, "mailer": 2}


def test_bad_cache_settings_are_refused(calls):
    with pytest.raises(flownb.WorkflowDefinitionError):
        adder(calls, "a", 1, cache="yes")
    with pytest.raises(flownb.WorkflowDefinitionError):
        create_workflow(id="w", cache=1)
    with pytest.raises(TypeError):
        flownb.configure(cache="on")
    with pytest.raises(TypeError):
        ab(calls).invoke({"n": 1}, cache="on")


# ----------------------------------------------------------------------- never reused


def test_effects_step_is_never_reused(calls):
    flownb.configure(cache=True)
    twice(ab(calls, b={"effects": True, "cache": True}))
    assert calls.n == {"a": 1, "b": 2}


def flaky(calls: Calls, id: str = "f"):
    async def execute(input_data: Num) -> Num:
        calls.hit(id)
        if calls.fail:
            raise RuntimeError("boom")
        return Num(n=input_data.n * 2)

    return create_step(id=id, input_schema=Num, output_schema=Num, execute=execute)


def test_failed_execution_is_never_reused(calls):
    wf = chain(flaky(calls), id="flaky", cache=True)
    calls.fail = True
    assert wf.invoke({"n": 3}).status == "failed"
    calls.fail = False
    ok = wf.invoke({"n": 3})
    assert ok.status == "success" and ok.steps["f"].cached_from is None
    assert calls["f"] == 2
    again = wf.invoke({"n": 3})
    assert calls["f"] == 2
    assert again.steps["f"].cached_from == {"run_id": ok.run_id, "path": "f"}


def asker(calls: Calls):
    class Answer(BaseModel):
        ok: bool

    async def execute(input_data: Num, resume_data: Answer | None, suspend) -> Num:
        calls.hit("ask")
        if resume_data is None:
            return await suspend({"question": "ok?"})
        return Num(n=input_data.n + (1 if resume_data.ok else 0))

    return create_step(id="ask", input_schema=Num, output_schema=Num, resume_schema=Answer,
                       execute=execute)


def test_suspended_then_resumed_step_is_not_reused_later(calls):
    wf = chain(asker(calls), adder(calls, "after", 1), id="ask", cache=True)

    async def go():
        run = wf.create_run()
        first = await run.start(input_data={"n": 1})
        assert first.status == "suspended"
        done = await run.resume(step="ask", resume_data={"ok": True})
        assert done.status == "success" and done.result == Num(n=3)
        later = await wf.create_run().start(input_data={"n": 1})
        return later

    later = asyncio.run(go())
    assert calls["ask"] == 3  # suspended, resumed, and asked again in the later run
    assert later.status == "suspended"
    assert later.steps["ask"].status == "suspended"
    assert later.steps["ask"].cached_from is None


def test_bailed_step_is_not_reused(calls):
    async def execute(input_data: Num, bail) -> Num:
        calls.hit("quit")
        return bail(Num(n=input_data.n + 100))

    quitter = create_step(id="quit", input_schema=Num, output_schema=Num, execute=execute)
    wf = chain(adder(calls, "a", 1), quitter, adder(calls, "c", 1), id="bail", cache=True)
    first, second = twice(wf)
    assert first.result == second.result == Num(n=102)
    assert calls.n == {"a": 1, "quit": 2}
    assert second.steps["quit"].cached_from is None


def test_run_id_declared_is_never_reused(calls, store):
    async def execute(input_data: Num, run_id: str) -> Num:
        calls.hit("rid")
        return input_data

    rid = create_step(id="rid", input_schema=Num, output_schema=Num, execute=execute)
    twice(chain(rid, adder(calls, "b", 1), id="rid", cache=True))
    assert calls.n == {"rid": 2, "b": 1}  # b's input did not change
    assert store.cache_last("rid", "rid") is None  # no entry that could never be used
    assert store.cache_last("rid", "b") is not None


def test_storage_false_workflow_never_reuses_and_does_not_fail(calls):
    wf = ab(calls, cache=True, storage=False)
    _first, second = twice(wf)
    assert calls.n == {"a": 2, "b": 2}
    assert second.steps["a"].cached_from is None


# ----------------------------------------------------------------------- chains


def test_steps_after_a_reused_one_are_reused(calls):
    wf = chain(adder(calls, "a", 1), adder(calls, "b", 10), adder(calls, "c", 100),
               cache=True)
    first, second = twice(wf)
    assert calls.n == {"a": 1, "b": 1, "c": 1}
    assert [second.steps[p].status for p in "abc"] == ["success"] * 3
    assert all(second.steps[p].cached_from["run_id"] == first.run_id for p in "abc")


def test_rerun_step_with_the_same_output_lets_later_steps_be_reused(calls):
    def clamp(limit: int):
        async def execute(input_data: Num) -> Num:
            calls.hit("clamp")
            return Num(n=min(input_data.n, limit))

        return create_step(id="clamp", input_schema=Num, output_schema=Num, execute=execute)

    def build(limit: int):
        return chain(adder(calls, "a", 1), clamp(limit), adder(calls, "c", 100), cache=True)

    first = build(5).invoke({"n": 1})
    second = build(7).invoke({"n": 1})  # clamp's code changed; its output (2) did not
    assert calls.n == {"a": 1, "clamp": 2, "c": 1}
    assert second.steps["a"].cached_from == {"run_id": first.run_id, "path": "a"}
    assert second.steps["clamp"].cached_from is None
    assert second.steps["c"].cached_from == {"run_id": first.run_id, "path": "c"}
    assert second.result == Num(n=102)


# ----------------------------------------------------------------------- the fingerprint


def test_changed_closure_value_reruns_that_step_and_its_dependents(calls):
    def build(k: int):
        return chain(adder(calls, "a", 1), adder(calls, "b", k), adder(calls, "c", 100),
                     cache=True)

    build(10).invoke({"n": 1})
    second = build(20).invoke({"n": 1})
    assert calls.n == {"a": 1, "b": 2, "c": 2}
    assert second.result == Num(n=122)
    assert second.steps["a"].cached_from is not None
    assert second.steps["b"].cached_from is None and second.steps["c"].cached_from is None


FACTOR = 2


def _double(n: int) -> int:
    return n * 2


def _triple(n: int) -> int:
    return n * 3


helper = _double


def globals_chain(calls: Calls):
    async def scale(input_data: Num) -> Num:
        calls.hit("scale")
        return Num(n=input_data.n * FACTOR)

    async def via_helper(input_data: Num) -> Num:
        calls.hit("via_helper")
        return Num(n=helper(input_data.n))

    return chain(adder(calls, "a", 1),
                 create_step(id="scale", input_schema=Num, output_schema=Num, execute=scale),
                 create_step(id="via_helper", input_schema=Num, output_schema=Num,
                             execute=via_helper),
                 adder(calls, "z", 0), cache=True)


def test_changed_global_reruns_that_step_without_rebuilding(calls, monkeypatch):
    wf = globals_chain(calls)
    wf.invoke({"n": 1})
    monkeypatch.setitem(globals(), "FACTOR", 3)
    second = wf.invoke({"n": 1})  # the same workflow object: the fingerprint is taken now
    assert calls.n == {"a": 1, "scale": 2, "via_helper": 2, "z": 2}
    assert second.result == Num(n=12)
    assert second.steps["a"].cached_from is not None


def test_changed_helper_function_reruns_only_its_caller_and_dependents(calls, monkeypatch):
    wf = globals_chain(calls)
    wf.invoke({"n": 1})
    monkeypatch.setitem(globals(), "helper", _triple)
    second = wf.invoke({"n": 1})
    assert calls.n == {"a": 1, "scale": 1, "via_helper": 2, "z": 2}
    assert second.result == Num(n=12)
    third = wf.invoke({"n": 1})
    assert calls.n == {"a": 1, "scale": 1, "via_helper": 2, "z": 2}
    assert third.steps["via_helper"].cached_from == {"run_id": second.run_id,
                                                     "path": "via_helper"}


def test_changed_input_runs_again(calls):
    wf = ab(calls, cache=True)
    wf.invoke({"n": 1})
    wf.invoke({"n": 2})
    assert calls.n == {"a": 2, "b": 2}
    wf.invoke({"n": 1})  # the first run's entries are still there
    assert calls.n == {"a": 2, "b": 2}


def declaring(calls: Calls, name: str):
    """A step declaring the injected parameter ``name``, which leaves it out of its output."""
    if name == "state":
        async def execute(input_data: Num, state) -> Num:
            calls.hit("d")
            return input_data
    elif name == "runtime_context":
        async def execute(input_data: Num, runtime_context) -> Num:
            calls.hit("d")
            return input_data
    else:
        async def execute(input_data: Num, get_init_data) -> Num:
            calls.hit("d")
            return input_data
    return create_step(id="d", input_schema=Num, output_schema=Num, execute=execute)


def test_declared_state_is_part_of_the_fingerprint(calls):
    wf = chain(declaring(calls, "state"), cache=True)
    wf.invoke({"n": 1}, initial_state={"mood": "calm"})
    wf.invoke({"n": 1}, initial_state={"mood": "calm"})
    assert calls["d"] == 1
    wf.invoke({"n": 1}, initial_state={"mood": "busy"})
    assert calls["d"] == 2


def test_declared_runtime_context_is_part_of_the_fingerprint(calls):
    wf = chain(declaring(calls, "runtime_context"), cache=True)
    wf.invoke({"n": 1}, runtime_context={"lang": "en"})
    wf.invoke({"n": 1}, runtime_context={"lang": "en"})
    assert calls["d"] == 1
    wf.invoke({"n": 1}, runtime_context={"lang": "fr"})
    assert calls["d"] == 2


def test_undeclared_state_and_context_are_not_part_of_it(calls):
    wf = ab(calls, cache=True)
    wf.invoke({"n": 1}, initial_state={"mood": "calm"}, runtime_context={"lang": "en"})
    wf.invoke({"n": 1}, initial_state={"mood": "busy"}, runtime_context={"lang": "fr"})
    assert calls.n == {"a": 1, "b": 1}


def test_declared_init_data_is_part_of_the_fingerprint(calls):
    # the first step turns any input into n=0, so the declaring step's input is the same
    async def zero(input_data: Num) -> Num:
        calls.hit("zero")
        return Num(n=0)

    wf = chain(create_step(id="zero", input_schema=Num, output_schema=Num, execute=zero),
               declaring(calls, "init"), adder(calls, "plain", 1), cache=True)
    wf.invoke({"n": 1})
    wf.invoke({"n": 1})
    assert calls.n == {"zero": 1, "d": 1, "plain": 1}
    wf.invoke({"n": 2})
    assert calls.n == {"zero": 2, "d": 2, "plain": 1}  # plain: input n=1 both times


def test_get_step_result_reuse_only_when_what_it_read_is_unchanged(calls):
    async def first(input_data: Num) -> Num:
        calls.hit("first")
        return input_data

    async def zero(input_data: Num) -> Num:
        calls.hit("zero")
        return Num(n=0)

    async def reader(input_data: Num, get_step_result) -> Num:
        calls.hit("reader")
        return Num(n=input_data.n + get_step_result("first").n)

    wf = chain(create_step(id="first", input_schema=Num, output_schema=Num, execute=first),
               create_step(id="zero", input_schema=Num, output_schema=Num, execute=zero),
               create_step(id="reader", input_schema=Num, output_schema=Num, execute=reader),
               cache=True)
    one = wf.invoke({"n": 1})
    assert one.result == Num(n=1)
    two = wf.invoke({"n": 2})  # reader's input (n=0) is the same; what it read is not
    assert two.result == Num(n=2)
    assert calls["reader"] == 2
    assert two.steps["reader"].cached_from is None
    again = wf.invoke({"n": 1})  # the first run's entry fits again
    assert again.result == Num(n=1)
    assert calls["reader"] == 2
    assert again.steps["reader"].cached_from == {"run_id": one.run_id, "path": "reader"}


def test_reused_step_that_set_state_sets_it_again(calls):
    async def setter(input_data: Num, set_state) -> Num:
        calls.hit("setter")
        set_state({"seen": input_data.n})
        return input_data

    async def user(input_data: Num, state) -> Num:
        calls.hit("user")
        return Num(n=input_data.n + state["seen"])

    wf = chain(create_step(id="setter", input_schema=Num, output_schema=Num, execute=setter),
               create_step(id="user", input_schema=Num, output_schema=Num, execute=user),
               cache=True)
    first = wf.invoke({"n": 5}, initial_state={})
    second = wf.invoke({"n": 5}, initial_state={})
    assert calls.n == {"setter": 1, "user": 1}
    assert first.state == second.state == {"seen": 5}
    assert second.result == first.result == Num(n=10)
    assert second.steps["setter"].cached_from is not None
    assert second.steps["user"].cached_from is not None


# ----------------------------------------------------------------------- results and events


def test_cached_from_names_the_run_where_it_ran_through_a_chain(calls):
    wf = ab(calls, cache=True)
    runs = [wf.invoke({"n": 1}) for _ in range(3)]
    assert calls.n == {"a": 1, "b": 1}
    for later in runs[1:]:
        sr = later.steps["b"]
        assert sr.status == "success"
        assert sr.output == Num(n=12)
        assert sr.cached_from == {"run_id": runs[0].run_id, "path": "b"}
    assert runs[0].steps["b"].cached_from is None


def test_reused_step_events_say_cached(calls):
    wf = ab(calls, cache=True)
    wf.invoke({"n": 1})

    async def go():
        run = wf.create_run()
        return [e async for e in run.stream(input_data={"n": 1})]

    events = asyncio.run(go())
    results = [e for e in events if e.type == "step-result"]
    assert [e.path for e in results] == [("a",), ("b",)]
    for e in results:
        assert e.payload["cached"] is True
        assert e.payload["status"] == "success"
    assert results[1].payload["output"] == Num(n=12)
    watched: list = []

    async def fresh():
        run = ab(Calls(), cache=False).create_run()
        run.watch(watched.append)
        await run.start(input_data={"n": 1})

    asyncio.run(fresh())
    ran = [e for e in watched if e.type == "step-result"]
    assert ran and not any(e.payload.get("cached") for e in ran)


def test_stored_record_of_a_reused_step_has_cached_from(calls, store):
    wf = ab(calls, cache=True)
    first = wf.invoke({"n": 1})
    second = wf.invoke({"n": 1})
    snap = store.load(second.run_id)
    assert snap.steps["b"]["cached_from"] == {"run_id": first.run_id, "path": "b"}
    assert snap.steps["b"]["status"] == "success"
    assert store.load(first.run_id).steps["b"].get("cached_from") is None


# ----------------------------------------------------------------------- foreach, nested


def test_foreach_reuses_per_item(calls):
    async def each(input_data: Num) -> Num:
        calls.hit(f"each:{input_data.n}")
        return Num(n=input_data.n * 10)

    item = create_step(id="each", input_schema=Num, output_schema=Num, execute=each)
    wf = (create_workflow(id="fe", input_schema=list[Num], output_schema=list[Num], cache=True)
          .foreach(item).commit())
    first = wf.invoke([{"n": 1}, {"n": 2}, {"n": 3}])
    second = wf.invoke([{"n": 1}, {"n": 5}, {"n": 3}])
    assert second.status == "success"
    assert second.result == [Num(n=10), Num(n=50), Num(n=30)]
    assert calls.n == {"each:1": 1, "each:2": 1, "each:3": 1, "each:5": 1}
    assert second.steps["each[0]"].cached_from == {"run_id": first.run_id, "path": "each[0]"}
    assert second.steps["each[1]"].cached_from is None
    assert second.steps["each[2]"].cached_from == {"run_id": first.run_id, "path": "each[2]"}


def test_nested_workflow_steps_are_reused_with_dotted_paths(calls):
    wf = nested(calls, inner_cache=None, outer_cache=True)
    first, second = twice(wf)
    assert calls.n == {"o": 1, "x": 1}
    assert second.steps["inner.x"].status == "success"
    assert second.steps["inner.x"].cached_from == {"run_id": first.run_id,
                                                   "path": "inner.x"}


# ----------------------------------------------------------------------- forgetting


def test_clear_cache_forgets_everything(calls, store):
    wf = ab(calls, cache=True)
    wf.invoke({"n": 1})
    store.clear_cache()
    again = wf.invoke({"n": 1})
    assert calls.n == {"a": 2, "b": 2}
    assert again.steps["a"].cached_from is None
    wf.invoke({"n": 1})
    assert calls.n == {"a": 2, "b": 2}


def test_deleting_a_run_forgets_its_entries(calls, store):
    wf = ab(calls, cache=True)
    first = wf.invoke({"n": 1})
    other = wf.invoke({"n": 2})
    assert store.delete(first.run_id)
    wf.invoke({"n": 1})
    assert calls.n == {"a": 3, "b": 3}
    wf.invoke({"n": 2})  # the other run's entries are kept
    assert calls.n == {"a": 3, "b": 3}
    assert other.status == "success"


def test_get_step_result_of_a_step_that_did_not_run_counts_as_read(calls):
    """A step that read a step that had not run (None) is not reused once that step ran."""

    async def big(input_data: Num) -> Num:
        calls.hit("big")
        return input_data

    async def small(input_data: Num) -> Num:
        calls.hit("small")
        return Num(n=0)

    async def reader(input_data: Num, get_step_result) -> Num:
        calls.hit("reader")
        seen = get_step_result("big")
        return Num(n=-1 if seen is None else seen.n)

    def mk(id, fn):
        return create_step(id=id, input_schema=Num, output_schema=Num, execute=fn)

    wf = (create_workflow(id="absent", input_schema=Num, output_schema=Num, cache=True)
          .branch([(lambda input_data: input_data.n > 5, mk("big", big)),
                   (lambda input_data: input_data.n <= 5, mk("small", small))])
          .map(lambda input_data: {"n": 0})
          .then(mk("reader", reader)).commit())
    assert wf.invoke({"n": 1}).result == Num(n=-1)
    later = wf.invoke({"n": 10})  # reader's input is {"n": 0} again; "big" ran this time
    assert later.result == Num(n=10)
    assert calls["reader"] == 2
    again = wf.invoke({"n": 1})
    assert again.result == Num(n=-1)
    assert calls["reader"] == 2


def test_reused_step_that_declares_set_state_but_did_not_call_it_leaves_state(calls):
    async def setter(input_data: Num, set_state) -> Num:
        calls.hit("setter")
        set_state({"v": input_data.n})
        return Num(n=0)

    async def maybe(input_data: Num, set_state) -> Num:
        calls.hit("maybe")
        if input_data.n > 100:
            set_state({"v": -1})
        return input_data

    wf = chain(create_step(id="setter", input_schema=Num, output_schema=Num, execute=setter,
                           cache=False),
               create_step(id="maybe", input_schema=Num, output_schema=Num, execute=maybe),
               id="maybe", cache=True)
    assert wf.invoke({"n": 1}, initial_state={}).state == {"v": 1}
    second = wf.invoke({"n": 2}, initial_state={})
    assert second.steps["maybe"].cached_from is not None  # its input (n=0) did not change
    assert second.state == {"v": 2}  # set by "setter" in this run; "maybe" set nothing


def test_attribute_named_like_a_global_is_not_a_global_read(calls, monkeypatch):
    monkeypatch.setitem(globals(), "n", 1)
    wf = ab(calls, cache=True)
    wf.invoke({"n": 1})
    monkeypatch.setitem(globals(), "n", 2)  # e.g. a notebook's `for n in ...` loop
    wf.invoke({"n": 1})
    assert calls.n == {"a": 1, "b": 1}
