"""The table of injectables (``flownb.core.params.INJECTABLES``) is the only list of them.

Every injectable works locally, and through the remote packing and unpacking path when it
can cross to a worker (``ThreadExecutor`` runs the worker function in a thread of this
process, through the very pickling a Dask worker gets). The signature parser, the engine,
the driver's packing and the worker's unpacking keep no list of names of their own.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import flownb
from flownb import (
    RetryConfig,
    RuntimeContext,
    WorkflowDefinitionError,
    create_step,
    create_workflow,
)
from flownb.core.executor import Outcome, StepCall
from flownb.core.params import (
    CONDITION,
    CONDITION_PARAMS,
    INJECTABLES,
    MAP,
    MAP_PARAMS,
    STEP,
    STEP_PARAMS,
    Crossing,
    Stays,
    by_name,
    read_signature,
)

NAMES = [i.name for i in INJECTABLES]
CORE = Path(flownb.__file__).parent


# -- one table --------------------------------------------------------------------------------


def test_each_injectable_is_one_entry_and_the_name_sets_come_from_it():
    assert len(set(NAMES)) == len(NAMES)
    assert {i.name for i in INJECTABLES if STEP in i.kinds} == STEP_PARAMS
    assert {i.name for i in INJECTABLES if MAP in i.kinds} == MAP_PARAMS
    assert {i.name for i in INJECTABLES if CONDITION in i.kinds} == CONDITION_PARAMS
    assert set(NAMES) == STEP_PARAMS | MAP_PARAMS | CONDITION_PARAMS
    for injectable in INJECTABLES:
        assert by_name(injectable.name) is injectable
        assert injectable.kinds and injectable.kinds <= {STEP, MAP, CONDITION}
        assert isinstance(injectable.remote, (Crossing, Stays))


def test_the_signature_parser_accepts_exactly_the_table():
    def everything(**kwargs: Any) -> None: ...

    for allowed in (STEP_PARAMS, MAP_PARAMS, CONDITION_PARAMS):
        assert set(read_signature(everything, allowed, what="f").names) == allowed

    def unknown(input_data: Any, not_injected: Any) -> None: ...

    with pytest.raises(WorkflowDefinitionError, match="'not_injected' cannot be injected"):
        read_signature(unknown, STEP_PARAMS, what="f")


# The modules that dispatch on injectables: each must read the table, never name one.
DISPATCHERS = ("core/params.py", "core/invoke.py", "core/remote.py", "core/executor.py",
               "core/engine.py", "executors/_worker.py", "executors/base.py",
               "executors/dask.py")


def _names_in_code(path: Path) -> list[tuple[int, str]]:
    """String constants equal to an injectable's name, outside docstrings and the table."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and \
                node.target.id == "INJECTABLES":
            skip.update(id(n) for n in ast.walk(node))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in NAMES and id(node) not in skip]


@pytest.mark.parametrize("module", DISPATCHERS)
def test_the_dispatching_modules_keep_no_list_of_names(module):
    assert _names_in_code(CORE / module) == []


# -- locally, for every kind of function ----------------------------------------------------------


class Doc(BaseModel):
    title: str


class Counter(BaseModel):
    seen: int = 0


class Review(BaseModel):
    approved: bool


async def test_each_kind_of_function_gets_its_injectables_locally():
    seen: dict[str, dict[str, Any]] = {}

    def record(kind: str, kwargs: dict[str, Any]) -> None:
        seen[kind] = kwargs

    def first(input_data: Doc) -> Doc:
        return Doc(title=input_data.title + "!")

    def step_fn(**kwargs: Any) -> Doc:
        record(STEP, kwargs)
        return kwargs["input_data"]

    def map_fn(**kwargs: Any) -> Doc:
        record(MAP, kwargs)
        return kwargs["input_data"]

    def cond(**kwargs: Any) -> bool:
        record(CONDITION, kwargs)
        return True

    wf = (create_workflow(id="kinds", input_schema=Doc, output_schema=Doc, state_schema=Counter)
          .then(create_step(id="first", input_schema=Doc, output_schema=Doc, execute=first))
          .map(map_fn)
          .dountil(create_step(id="probe", input_schema=Doc, output_schema=Doc,
                               execute=step_fn), cond)
          .commit())
    run = wf.create_run()
    result = await run.start({"title": "T"}, runtime_context={"user": "ada"},
                             initial_state={"seen": 3})
    assert result.status == "success", result.error
    allowed = {STEP: STEP_PARAMS, MAP: MAP_PARAMS, CONDITION: CONDITION_PARAMS}
    for kind, kwargs in seen.items():
        assert set(kwargs) == allowed[kind], kind
        assert kwargs["input_data"] == Doc(title="T!")
        assert kwargs["get_step_result"]("first") == Doc(title="T!")
        assert kwargs["get_init_data"]() == Doc(title="T")
        assert kwargs["state"] == Counter(seen=3)
        assert isinstance(kwargs["runtime_context"], RuntimeContext)
        assert kwargs["runtime_context"]["user"] == "ada"
        assert (kwargs["run_id"], kwargs["workflow_id"]) == (run.run_id, "kinds")
    assert seen[CONDITION]["iteration_count"] == 1
    assert seen[STEP]["retry_count"] == 0 and seen[STEP]["resume_data"] is None


# -- every injectable, locally and through a remote executor ----------------------------------


class ThreadExecutor(flownb.executors.RemoteExecutor):
    """A remote executor whose worker is a thread of this process (pickling included)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[StepCall] = []

    def __repr__(self) -> str:
        return "ThreadExecutor()"

    async def submit(self, call: StepCall, token: str, static: bytes,
                     dynamic: bytes) -> Outcome:
        self.calls.append(call)
        return await asyncio.to_thread(flownb.executors.run_call, token, static, dynamic)


Scenario = Callable[[Any], Awaitable[None]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[name] = fn
        return fn

    return register


def one_step(executor: Any, execute: Callable[..., Any], *, input_schema: Any = int,
             output_schema: Any = Any, **options: Any) -> flownb.Workflow:
    step = create_step(id="probe", input_schema=input_schema, output_schema=output_schema,
                       execute=execute, **options)
    return (create_workflow(id="wf", input_schema=input_schema, output_schema=output_schema,
                             state_schema=Counter, executor=executor)
            .then(step).commit())


def gets_input(input_data: Doc) -> list:
    return [type(input_data).__name__, input_data.title]


@scenario("input_data")
async def _(executor):
    result = await one_step(executor, gets_input, input_schema=Doc).create_run().start(
        {"title": "T"})
    assert result.result == ["Doc", "T"]


def reviews(input_data: int, resume_data: Review | None, suspend) -> Any:
    if resume_data is None:
        suspend({"ask": input_data})
    return [type(resume_data).__name__, resume_data.approved]


@scenario("resume_data")
async def _(executor):
    wf = one_step(executor, reviews, resume_schema=Review)
    run = wf.create_run()
    assert (await run.start(1)).status == "suspended"
    result = await run.resume({"approved": True})
    assert result.status == "success", result.error
    assert result.result == ["Review", True]


def suspends(input_data: int, suspend) -> int:
    return suspend({"why": input_data})


@scenario("suspend")
async def _(executor):
    result = await one_step(executor, suspends).create_run().start(7)
    assert result.status == "suspended"
    assert result.steps["probe"].suspend_payload == {"why": 7}


def reads_records(input_data: int, get_step_result) -> int:
    return get_step_result("first") + 1


@scenario("get_step_result")
async def _(executor):
    first = create_step(id="first", input_schema=int, output_schema=int,
                        execute=lambda input_data: input_data * 10)
    reader = create_step(id="reader", input_schema=int, output_schema=int,
                         execute=reads_records)
    build = (create_workflow(id="records", input_schema=int, output_schema=int,
                              executor=executor).then(first).then(reader))
    if executor is None:
        assert (await build.commit().create_run().start(2)).result == 21
        return
    how = by_name("get_step_result").remote
    assert isinstance(how, Stays)
    with pytest.raises(WorkflowDefinitionError, match=how.reason):
        build.commit()


def reads_init(input_data: int, get_init_data) -> list:
    init = get_init_data()
    return [type(init).__name__, init.title]


@scenario("get_init_data")
async def _(executor):
    to_int = create_step(id="len", input_schema=Doc, output_schema=int,
                         execute=lambda input_data: len(input_data.title))
    probe = create_step(id="probe", input_schema=int, output_schema=list, execute=reads_init)
    wf = (create_workflow(id="init", input_schema=Doc, output_schema=list, executor=executor)
          .then(to_int).then(probe).commit())
    assert (await wf.create_run().start({"title": "Tea"})).result == ["Doc", "Tea"]


def reads_state(input_data: int, state: Counter) -> list:
    return [type(state).__name__, state.seen]


@scenario("state")
async def _(executor):
    result = await one_step(executor, reads_state).create_run().start(
        1, initial_state={"seen": 3})
    assert result.result == ["Counter", 3]


def sets_state(input_data: int, set_state) -> int:
    set_state({"seen": 1})
    set_state({"seen": input_data})  # the last one counts
    return input_data


@scenario("set_state")
async def _(executor):
    result = await one_step(executor, sets_state).create_run().start(9)
    assert result.status == "success", result.error
    assert result.state == Counter(seen=9)
    bad = await one_step(executor, lambda input_data, set_state: set_state({"seen": "x"})
                         ).create_run().start(1)
    assert bad.status == "failed" and "ValidationError" in bad.error


def reads_context(input_data: int, runtime_context: RuntimeContext) -> list:
    runtime_context["written"] = True
    return [type(runtime_context).__name__, runtime_context.get("user")]


@scenario("runtime_context")
async def _(executor):
    context = RuntimeContext({"user": "ada"})
    result = await one_step(executor, reads_context).create_run().start(
        1, runtime_context=context)
    assert result.result == ["RuntimeContext", "ada"]
    # locally the step writes into the run's context; on a worker into a copy of it
    assert ("written" in context) is (executor is None)


def emits(input_data: int, emit) -> int:
    emit({"progress": 0.5})
    emit("half")
    return input_data


@scenario("emit")
async def _(executor):
    run = one_step(executor, emits).create_run()
    events: list[tuple[str, Any]] = []
    run.watch(lambda e: events.append((e.type, e.payload)))
    assert (await run.start(1)).status == "success"
    step_events = [(t, p) for t, p in events if t.startswith("step-")]
    assert step_events[1:3] == [("step-output", {"progress": 0.5}),
                                ("step-output", {"value": "half"})]
    assert step_events[-1][0] == "step-result"


def bails(input_data: int, bail) -> int:
    return bail(input_data * 100)


@scenario("bail")
async def _(executor):
    after = create_step(id="after", input_schema=int, output_schema=int,
                        execute=lambda input_data: -1)
    wf = (create_workflow(id="bails", input_schema=int, output_schema=int,
                           executor=executor)
          .then(create_step(id="probe", input_schema=int, output_schema=int, execute=bails))
          .then(after).commit())
    result = await wf.create_run().start(2)
    assert result.result == 200 and "after" not in result.steps


def ids(input_data: int, run_id: str, workflow_id: str) -> list:
    return [run_id, workflow_id]


@scenario("run_id")
async def _(executor):
    run = one_step(executor, ids).create_run()
    assert (await run.start(1)).result == [run.run_id, "wf"]


SCENARIOS["workflow_id"] = SCENARIOS["run_id"]


def flaky(input_data: int, retry_count: int) -> int:
    if retry_count < 2:
        raise ConnectionError(f"attempt {retry_count}")
    return retry_count


@scenario("retry_count")
async def _(executor):
    result = await one_step(executor, flaky, retries=RetryConfig(attempts=2)).create_run() \
        .start(1)
    assert result.result == 2 and result.steps["probe"].attempts == 3


def add_one(input_data: int) -> int:
    return input_data + 1


@scenario("iteration_count")
async def _(executor):
    # conditions run on the driver, also when the loop's step runs on a worker
    wf = (create_workflow(id="loop", input_schema=int, output_schema=int, executor=executor)
          .dountil(create_step(id="probe", input_schema=int, output_schema=int,
                               execute=add_one),
                   lambda input_data, iteration_count: iteration_count >= 3)
          .commit())
    assert (await wf.create_run().start(0)).result == 3


def test_every_injectable_has_a_scenario():
    assert set(SCENARIOS) == set(NAMES)


@pytest.mark.parametrize("where", ["local", "remote"])
@pytest.mark.parametrize("name", NAMES)
async def test_every_injectable_works_locally_and_through_a_remote_executor(name, where):
    if where == "remote":
        pytest.importorskip("cloudpickle")
    executor = ThreadExecutor() if where == "remote" else None
    await SCENARIOS[name](executor)
    if executor is not None and isinstance(by_name(name).remote, Crossing):
        assert executor.calls, "the step ran on the executor"
        assert all(name in call.names for call in executor.calls if call.path == "probe")


def test_a_function_that_takes_only_its_input_is_marked_for_the_fast_path():
    from flownb.core.params import STEP_PARAMS, read_signature

    def plain(input_data):
        return input_data

    def more(input_data, emit):
        return input_data

    assert read_signature(plain, STEP_PARAMS, what="step 'p'").only_input
    assert not read_signature(more, STEP_PARAMS, what="step 'm'").only_input
    assert not read_signature(lambda: 1, STEP_PARAMS, what="step 'n'").only_input
