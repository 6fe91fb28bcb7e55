"""Steps (SPEC §1): construction, schemas, injected parameters, validation at boundaries."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from pydantic import BaseModel
from shared_models import Count, Formatted, Msg
from typing_extensions import TypedDict  # pydantic needs it on Python < 3.12

from flownb import (
    RetryConfig,
    RuntimeContext,
    Step,
    WorkflowDefinitionError,
    clone_step,
    create_step,
    create_workflow,
    step,
)


class Approval(BaseModel):
    approved: bool


class Question(BaseModel):
    question: str


def upper(input_data: Msg) -> dict:
    return {"formatted": input_data.message.upper()}


def single(step_obj, *, input_schema: Any = None, output_schema: Any = None, **kwargs):
    """A committed workflow running just ``step_obj``."""
    return (
        create_workflow(
            id=kwargs.pop("id", "wf"),
            input_schema=step_obj.input_schema if input_schema is None else input_schema,
            output_schema=step_obj.output_schema if output_schema is None else output_schema,
            **kwargs,
        )
        .then(step_obj)
        .commit()
    )


# ---------------------------------------------------------------------------------------
# create_step / @step / clone_step
# ---------------------------------------------------------------------------------------


def test_create_step_exposes_every_keyword_as_attribute():
    retries = RetryConfig(attempts=2, delay=0.5)
    s = create_step(
        id="format-step",
        description="Upper-case the message",
        input_schema=Msg,
        output_schema=Formatted,
        execute=upper,
        resume_schema=Approval,
        suspend_schema=Question,
        retries=retries,
        timeout=3.0,
    )

    assert isinstance(s, Step)
    assert s.id == "format-step"
    assert s.description == "Upper-case the message"
    assert s.input_schema is Msg
    assert s.output_schema is Formatted
    assert s.execute is upper
    assert s.resume_schema is Approval
    assert s.suspend_schema is Question
    assert s.retries == retries
    assert s.timeout == 3.0


def test_create_step_optional_keywords_default_to_none():
    s = create_step(id="s", input_schema=Msg, output_schema=Formatted, execute=upper)

    assert s.description is None
    assert s.resume_schema is None
    assert s.suspend_schema is None
    assert s.retries is None
    assert s.timeout is None


async def test_step_decorator_with_arguments_reads_schemas_from_annotations():
    @step(id="count-step", description="Count characters")
    async def count_step(input_data: Msg) -> Count:
        return Count(count=len(input_data.message))

    assert isinstance(count_step, Step)
    assert count_step.id == "count-step"
    assert count_step.description == "Count characters"
    assert count_step.input_schema is Msg
    assert count_step.output_schema is Count
    # still callable like the function
    assert await count_step(input_data=Msg(message="abc")) == Count(count=3)

    result = await single(count_step).create_run().start(input_data={"message": "four"})
    assert result.result == Count(count=4)


def test_step_decorator_bare_uses_function_name_and_annotations():
    @step
    def shout(input_data: str) -> str:
        """Shout it."""
        return input_data.upper()

    assert isinstance(shout, Step)
    assert shout.id == "shout"
    assert shout.input_schema is str
    assert shout.output_schema is str
    assert shout(input_data="hey") == "HEY"
    assert single(shout).invoke("hey").result == "HEY"


def test_step_decorator_explicit_schemas_win_over_annotations():
    @step(id="s", input_schema=Msg, output_schema=Formatted, retries=RetryConfig(attempts=1),
          timeout=2.0, resume_schema=Approval, suspend_schema=Question)
    def s(input_data: dict) -> dict:
        return {"formatted": input_data.message}

    assert s.input_schema is Msg
    assert s.output_schema is Formatted
    assert s.retries == RetryConfig(attempts=1)
    assert s.timeout == 2.0
    assert s.resume_schema is Approval
    assert s.suspend_schema is Question


async def test_clone_step_new_id_same_logic_original_untouched():
    original = create_step(id="format-step", description="d", input_schema=Msg,
                           output_schema=Msg,
                           execute=lambda input_data: {"message": input_data.message + "!"})
    twin = clone_step(original, id="format-again")

    assert twin.id == "format-again"
    assert original.id == "format-step"
    assert twin is not original
    assert twin.execute is original.execute
    assert twin.input_schema is Msg and twin.output_schema is Msg
    assert twin.description == "d"

    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .then(original).then(twin).commit())
    result = await wf.create_run().start(input_data={"message": "a"})
    assert result.result == Msg(message="a!!")
    assert list(result.steps) == ["format-step", "format-again"]


@pytest.mark.parametrize("bad_id", ["", "a.b", ".", 42, None])
def test_invalid_step_ids_rejected_at_creation(bad_id):
    with pytest.raises(WorkflowDefinitionError):
        create_step(id=bad_id, input_schema=Msg, output_schema=Msg, execute=upper)


@pytest.mark.parametrize("bad_id", ["", "a.b", 3])
def test_invalid_ids_rejected_by_step_decorator_clone_and_workflow(bad_id):
    original = create_step(id="ok", input_schema=Msg, output_schema=Msg, execute=upper)
    with pytest.raises(WorkflowDefinitionError):
        step(id=bad_id)(upper)
    with pytest.raises(WorkflowDefinitionError):
        clone_step(original, id=bad_id)
    with pytest.raises(WorkflowDefinitionError):
        create_workflow(id=bad_id, input_schema=Msg, output_schema=Msg)


async def test_ids_with_unusual_characters_are_allowed():
    odd = "weird <id> & 'quotes' {x}/ü @0? \\ \"q\" 🙂"
    s = create_step(id=odd, input_schema=Msg, output_schema=Msg,
                    execute=lambda input_data: input_data)

    result = await single(s).create_run().start(input_data={"message": "m"})

    assert result.status == "success"
    assert odd in result.steps


@pytest.mark.parametrize("bad_id", ["gate[1]", "a[b", "b]", "x\x1b[2J", "tab\there", "\x7f",
                                    "\x9b31m", "rtl\u202egnp", "iso\u2066x", "a" * 201])
def test_ids_with_engine_or_control_characters_are_refused(bad_id):
    with pytest.raises(WorkflowDefinitionError, match="id"):
        create_step(id=bad_id, input_schema=Msg, output_schema=Msg,
                    execute=lambda input_data: input_data)
    with pytest.raises(WorkflowDefinitionError, match="id"):
        create_workflow(id=bad_id, input_schema=Msg, output_schema=Msg)


def test_an_id_of_200_characters_is_allowed():
    assert create_step(id="a" * 200, input_schema=Msg, output_schema=Msg,
                       execute=lambda input_data: input_data).id == "a" * 200


def test_unknown_execute_parameter_rejected_at_creation():
    def execute(input_data, inputData):
        return input_data

    with pytest.raises(WorkflowDefinitionError, match="inputData"):
        create_step(id="s", input_schema=Msg, output_schema=Msg, execute=execute)


def test_unknown_parameter_rejected_by_step_decorator():
    with pytest.raises(WorkflowDefinitionError, match="frobnicate"):
        @step(id="s")
        def s(input_data: Msg, frobnicate) -> Msg:
            return input_data


# ---------------------------------------------------------------------------------------
# Injected parameters
# ---------------------------------------------------------------------------------------


async def test_execute_declaring_nothing_is_called():
    calls = []
    s = create_step(id="s", input_schema=Msg, output_schema=Msg,
                    execute=lambda: calls.append(1) or {"message": "fixed"})

    result = await single(s).create_run().start(input_data={"message": "m"})

    assert result.result == Msg(message="fixed")
    assert calls == [1]


async def test_input_data_is_a_validated_model_instance():
    seen = []

    async def execute(input_data):
        seen.append(input_data)
        return input_data

    s = create_step(id="s", input_schema=Msg, output_schema=Msg, execute=execute)

    await single(s).create_run().start(input_data={"message": "m"})

    assert seen == [Msg(message="m")]
    assert isinstance(seen[0], Msg)


async def test_resume_data_is_none_on_first_run():
    seen = []

    def execute(input_data, resume_data):
        seen.append(resume_data)
        return input_data

    s = create_step(id="s", input_schema=Msg, output_schema=Msg, resume_schema=Approval,
                    execute=execute)

    result = await single(s).create_run().start(input_data={"message": "m"})

    assert result.status == "success"
    assert seen == [None]


async def test_kwargs_receives_every_injectable_parameter():
    seen = {}

    def execute(**kwargs):
        seen.update(kwargs)
        return kwargs["input_data"]

    s = create_step(id="s", input_schema=Msg, output_schema=Msg, execute=execute)

    run = single(s).create_run()
    await run.start(input_data={"message": "m"})

    expected = {"input_data", "resume_data", "suspend", "get_step_result", "get_init_data",
                "state", "set_state", "runtime_context", "emit", "bail", "run_id",
                "workflow_id", "retry_count"}
    assert expected <= set(seen)
    assert seen["run_id"] == run.run_id


async def test_get_step_result_by_id_or_step_and_none_for_unknown():
    seen = {}
    first = create_step(id="first", input_schema=Msg, output_schema=Formatted, execute=upper)

    def second_exec(input_data, get_step_result):
        seen["by_id"] = get_step_result("first")
        seen["by_step"] = get_step_result(first)
        seen["unknown"] = get_step_result("never-ran")
        return {"count": len(input_data.formatted)}

    second = create_step(id="second", input_schema=Formatted, output_schema=Count,
                         execute=second_exec)
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Count)
          .then(first).then(second).commit())

    await wf.create_run().start(input_data={"message": "abc"})

    assert seen["by_id"] == Formatted(formatted="ABC")
    assert isinstance(seen["by_id"], Formatted)
    assert seen["by_step"] == Formatted(formatted="ABC")
    assert seen["unknown"] is None


async def test_get_init_data_returns_validated_workflow_input():
    seen = []
    first = create_step(id="first", input_schema=Msg, output_schema=Formatted, execute=upper)

    def second_exec(input_data, get_init_data):
        seen.append(get_init_data())
        return {"count": 1}

    second = create_step(id="second", input_schema=Formatted, output_schema=Count,
                         execute=second_exec)
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Count)
          .then(first).then(second).commit())

    await wf.create_run().start(input_data={"message": "abc"})

    assert seen == [Msg(message="abc")]
    assert isinstance(seen[0], Msg)


async def test_get_init_data_in_nested_workflow_is_the_nested_workflows_input():
    """SPEC §1: get_init_data() is an instance of *the workflow's* input_schema: a step of a
    nested workflow gets its own workflow's input (as Mastra's nested runs do)."""
    seen = []

    def inner_exec(input_data, get_init_data):
        seen.append(get_init_data())
        return {"count": len(input_data.formatted)}

    inner_step = create_step(id="inner-step", input_schema=Formatted, output_schema=Count,
                             execute=inner_exec)
    inner = (create_workflow(id="inner", input_schema=Formatted, output_schema=Count)
             .then(inner_step).commit())
    first = create_step(id="first", input_schema=Msg, output_schema=Formatted, execute=upper)
    outer = (create_workflow(id="outer", input_schema=Msg, output_schema=Count)
             .then(first).then(inner).commit())

    result = await outer.create_run().start(input_data={"message": "abc"})

    assert result.status == "success", result.error
    assert seen == [Formatted(formatted="ABC")]


class Counter(BaseModel):
    count: int = 0
    names: list[str] = []


async def test_state_starts_from_initial_state_and_set_state_replaces_it():
    seen = []

    def add(input_data, state, set_state):
        seen.append(state)
        set_state({"count": state.count + 1, "names": [*state.names, input_data.message]})
        return input_data

    a = create_step(id="a", input_schema=Msg, output_schema=Msg, execute=add)
    b = clone_step(a, id="b")
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg,
                          state_schema=Counter)
          .then(a).then(b).commit())

    result = await wf.create_run().start(input_data={"message": "x"},
                                         initial_state={"count": 10})

    assert result.status == "success", result.error
    assert seen == [Counter(count=10), Counter(count=11, names=["x"])]
    assert all(isinstance(s, Counter) for s in seen)


async def test_state_defaults_from_schema_without_initial_state():
    seen = []

    def look(input_data, state):
        seen.append(state)
        return input_data

    s = create_step(id="s", input_schema=Msg, output_schema=Msg, execute=look)
    wf = single(s, state_schema=Counter)

    await wf.create_run().start(input_data={"message": "x"})

    assert seen == [Counter(count=0, names=[])]


async def test_set_state_validates_against_state_schema():
    def bad(input_data, set_state):
        set_state({"count": "not a number"})
        return input_data

    s = create_step(id="bad-state", input_schema=Msg, output_schema=Msg, execute=bad)
    wf = single(s, state_schema=Counter)

    result = await wf.create_run().start(input_data={"message": "x"})

    assert result.status == "failed"
    assert "bad-state" in result.error


async def test_runtime_context_from_a_dict_is_a_runtime_context():
    seen = []

    def look(input_data, runtime_context):
        seen.append(runtime_context)
        runtime_context["seen-by-a"] = True
        return input_data

    def look_again(input_data, runtime_context):
        seen.append(dict(runtime_context))
        return input_data

    a = create_step(id="a", input_schema=Msg, output_schema=Msg, execute=look)
    b = create_step(id="b", input_schema=Msg, output_schema=Msg, execute=look_again)
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .then(a).then(b).commit())

    await wf.create_run().start(input_data={"message": "x"}, runtime_context={"user": "ada"})

    assert isinstance(seen[0], RuntimeContext)
    assert seen[0]["user"] == "ada"
    assert seen[1] == {"user": "ada", "seen-by-a": True}


async def test_runtime_context_object_is_passed_through():
    ctx = RuntimeContext({"lang": "en"})
    seen = []

    def look(input_data, runtime_context):
        seen.append(runtime_context)
        runtime_context.set("touched", 1)
        return input_data

    s = create_step(id="s", input_schema=Msg, output_schema=Msg, execute=look)

    await single(s).create_run().start(input_data={"message": "x"}, runtime_context=ctx)

    assert seen[0] is ctx
    assert ctx.get("touched") == 1


async def test_emit_puts_a_step_output_event_into_the_stream():
    async def talk(input_data, emit):
        emit({"progress": 0.5})
        return input_data

    s = create_step(id="talker", input_schema=Msg, output_schema=Msg, execute=talk)
    run = single(s).create_run()

    events = [e async for e in run.stream(input_data={"message": "x"})]

    outputs = [e for e in events if e.type == "step-output"]
    assert len(outputs) == 1
    assert outputs[0].path == ("talker",)
    assert outputs[0].payload == {"progress": 0.5}
    types = [e.type for e in events]
    assert types.index("step-start") < types.index("step-output") < types.index("step-result")


async def test_emit_from_a_sync_step_reaches_watchers_in_order():
    def talk(input_data, emit):
        emit({"n": 1})
        emit({"n": 2})
        return input_data

    s = create_step(id="talker", input_schema=Msg, output_schema=Msg, execute=talk)
    run = single(s).create_run()
    events = []
    run.watch(events.append)

    await run.start(input_data={"message": "x"})

    types = [e.type for e in events]
    assert types == ["workflow-start", "step-start", "step-output", "step-output",
                     "step-result", "workflow-finish"]
    assert [e.payload for e in events if e.type == "step-output"] == [{"n": 1}, {"n": 2}]


async def test_bail_ends_the_workflow_successfully_with_the_given_result():
    ran = []

    def stop(input_data, bail):
        ran.append("a")
        bail({"message": "bailed"})
        ran.append("after bail")
        return input_data

    def never(input_data):
        ran.append("b")
        return input_data

    a = create_step(id="a", input_schema=Msg, output_schema=Msg, execute=stop)
    b = create_step(id="b", input_schema=Msg, output_schema=Msg, execute=never)
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .then(a).then(b).commit())

    result = await wf.create_run().start(input_data={"message": "x"})

    assert result.status == "success", result.error
    assert result.result == Msg(message="bailed")
    assert ran == ["a"]
    assert "b" not in result.steps


async def test_bail_in_nested_workflow_hands_result_to_parent_which_continues():
    ran = []

    async def stop(input_data, bail):
        ran.append("inner-a")
        return bail({"message": input_data.message + "-bailed"})

    def never(input_data):
        ran.append("inner-b")
        return input_data

    def after(input_data):
        ran.append("outer-after")
        return {"message": input_data.message + "-after"}

    inner = (create_workflow(id="inner", input_schema=Msg, output_schema=Msg)
             .then(create_step(id="inner-a", input_schema=Msg, output_schema=Msg,
                               execute=stop))
             .then(create_step(id="inner-b", input_schema=Msg, output_schema=Msg,
                               execute=never))
             .commit())
    outer = (create_workflow(id="outer", input_schema=Msg, output_schema=Msg)
             .then(inner)
             .then(create_step(id="after", input_schema=Msg, output_schema=Msg,
                               execute=after))
             .commit())

    result = await outer.create_run().start(input_data={"message": "x"})

    assert result.status == "success", result.error
    assert result.result == Msg(message="x-bailed-after")
    assert ran == ["inner-a", "outer-after"]
    assert result.steps["inner"].status == "success"
    assert result.steps["inner"].output == Msg(message="x-bailed")


async def test_run_id_workflow_id_and_retry_count():
    seen = []

    def look(input_data, run_id, workflow_id, retry_count):
        seen.append((run_id, workflow_id, retry_count))
        return input_data

    s = create_step(id="s", input_schema=Msg, output_schema=Msg, execute=look)
    run = single(s, id="my-flow").create_run()

    result = await run.start(input_data={"message": "x"})

    assert isinstance(run.run_id, str) and run.run_id
    assert result.run_id == run.run_id
    assert seen == [(run.run_id, "my-flow", 0)]


async def test_suspend_is_injected_and_suspends_at_once():
    after = []

    def ask(input_data, suspend):
        suspend({"question": "ok?"})
        after.append("not reached")
        return input_data

    s = create_step(id="ask", input_schema=Msg, output_schema=Msg, suspend_schema=Question,
                    execute=ask)

    result = await single(s).create_run().start(input_data={"message": "x"})

    assert result.status == "suspended"
    assert after == []
    assert result.steps["ask"].suspend_payload == Question(question="ok?")


async def test_sync_execute_runs_in_a_worker_thread():
    loop_thread = threading.get_ident()
    seen = []

    def sync_step(input_data):
        seen.append(threading.get_ident())
        return input_data

    s = create_step(id="s", input_schema=Msg, output_schema=Msg, execute=sync_step)

    await single(s).create_run().start(input_data={"message": "x"})

    assert len(seen) == 1
    assert seen[0] != loop_thread


async def test_sync_execute_does_not_block_the_event_loop():
    started = threading.Event()
    release = threading.Event()

    def blocking(input_data):
        started.set()
        # Only the event loop sets `release`: if this ran on the loop's thread, the loop
        # could not run until this gives up.
        if not release.wait(2):
            raise RuntimeError("the event loop was blocked by a sync step")
        return input_data

    s = create_step(id="s", input_schema=Msg, output_schema=Msg, execute=blocking)
    run_task = asyncio.ensure_future(single(s).create_run().start(input_data={"message": "x"}))
    for _ in range(2000):
        if started.is_set():
            break
        await asyncio.sleep(0.001)
    release.set()
    result = await run_task

    assert started.is_set()
    assert result.status == "success", result.error


# ---------------------------------------------------------------------------------------
# Schema kinds and what user code receives
# ---------------------------------------------------------------------------------------


class Item(BaseModel):
    name: str
    qty: int = 1


class ItemDict(TypedDict):
    name: str
    qty: int


async def test_schema_str():
    s = create_step(id="s", input_schema=str, output_schema=str,
                    execute=lambda input_data: input_data * 2)

    result = await single(s).create_run().start(input_data="ab")

    assert result.result == "abab"


async def test_schema_int():
    seen = []

    def inc(input_data):
        seen.append(type(input_data))
        return input_data + 1

    s = create_step(id="s", input_schema=int, output_schema=int, execute=inc)

    result = await single(s).create_run().start(input_data=41)

    assert result.result == 42
    assert seen == [int]


async def test_schema_int_rejects_non_int_output():
    s = create_step(id="int-step", input_schema=int, output_schema=int,
                    execute=lambda input_data: "not an int")

    result = await single(s).create_run().start(input_data=1)

    assert result.status == "failed"
    assert "int-step" in result.error


async def test_schema_list_of_models():
    seen = []

    def total(input_data):
        seen.append(input_data)
        return [{"name": i.name.upper(), "qty": i.qty * 2} for i in input_data]

    s = create_step(id="s", input_schema=list[Item], output_schema=list[Item], execute=total)

    result = await single(s).create_run().start(
        input_data=[{"name": "a"}, {"name": "b", "qty": 3}])

    assert seen == [[Item(name="a"), Item(name="b", qty=3)]]
    assert all(isinstance(i, Item) for i in seen[0])
    assert result.result == [Item(name="A", qty=2), Item(name="B", qty=6)]
    assert all(isinstance(i, Item) for i in result.result)


async def test_schema_dict_of_models():
    seen = []

    def keep(input_data):
        seen.append(input_data)
        return {k: {"name": v.name, "qty": v.qty + 1} for k, v in input_data.items()}

    s = create_step(id="s", input_schema=dict[str, Item], output_schema=dict[str, Item],
                    execute=keep)

    result = await single(s).create_run().start(input_data={"x": {"name": "a"}})

    assert seen == [{"x": Item(name="a")}]
    assert isinstance(seen[0]["x"], Item)
    assert result.result == {"x": Item(name="a", qty=2)}


async def test_schema_typeddict():
    seen = []

    def keep(input_data):
        seen.append(input_data)
        return {"name": input_data["name"] + "!", "qty": input_data["qty"]}

    s = create_step(id="s", input_schema=ItemDict, output_schema=ItemDict, execute=keep)

    result = await single(s).create_run().start(input_data={"name": "a", "qty": "3"})

    assert seen == [{"name": "a", "qty": 3}]
    assert result.result == {"name": "a!", "qty": 3}


async def test_invalid_output_fails_the_step_naming_the_field():
    s = create_step(id="bad-output", input_schema=Msg, output_schema=Count,
                    execute=lambda input_data: {"count": "many"})

    result = await single(s).create_run().start(input_data={"message": "x"})

    assert result.status == "failed"
    assert "bad-output" in result.error
    assert "count" in result.error
    assert result.steps["bad-output"].status == "failed"


async def test_dict_returned_where_a_model_is_expected_is_validated_into_the_model():
    s = create_step(id="s", input_schema=Msg, output_schema=Formatted, execute=upper)

    result = await single(s).create_run().start(input_data={"message": "x"})

    assert isinstance(result.result, Formatted)
    assert isinstance(result.steps["s"].output, Formatted)
    assert result.result == Formatted(formatted="X")


class PointA(BaseModel):
    x: int
    y: int


class PointB(BaseModel):
    x: int
    y: int


async def test_model_handed_between_structurally_equal_models():
    seen = []

    def make(input_data):
        return PointA(x=input_data, y=input_data * 2)

    def use(input_data):
        seen.append(input_data)
        return input_data.x + input_data.y

    a = create_step(id="a", input_schema=int, output_schema=PointA, execute=make)
    b = create_step(id="b", input_schema=PointB, output_schema=int, execute=use)
    wf = (create_workflow(id="wf", input_schema=int, output_schema=int)
          .then(a).then(b).commit())

    result = await wf.create_run().start(input_data=2)

    assert result.status == "success", result.error
    assert result.result == 6
    assert type(seen[0]) is PointB
    assert seen[0] == PointB(x=2, y=4)
