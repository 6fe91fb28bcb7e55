"""Executors without a cluster: selection, what a remote step receives, and its errors.

``ThreadExecutor`` is a remote executor that runs the worker function in a thread of this
process, through the very pickling a Dask worker gets, so the protocol is tested fast.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from typing import Any

import pytest
from pydantic import BaseModel

import flownb
from flownb import (
    RetryConfig,
    RuntimeContext,
    WorkflowDefinitionError,
    clone_step,
    create_step,
    create_workflow,
)
from flownb.executors import LocalExecutor, RemoteExecutor, StepCall
from flownb.executors._worker import Outcome, run_call

pytest.importorskip("cloudpickle")


class ThreadExecutor(RemoteExecutor):
    def __init__(self, name: str = "thread") -> None:
        super().__init__()
        self.name = name
        self.paths: list[str] = []
        self.calls: list[StepCall] = []

    def __repr__(self) -> str:
        return f"ThreadExecutor({self.name!r})"

    async def submit(self, call: StepCall, token: str, static: bytes,
                     dynamic: bytes) -> Outcome:
        self.paths.append(call.path)
        self.calls.append(call)
        return await asyncio.to_thread(run_call, token, static, dynamic)


class Doc(BaseModel):
    title: str


class Counter(BaseModel):
    seen: int = 0


class Review(BaseModel):
    approved: bool


class Question(BaseModel):
    question: str


def inspect_params(input_data: Doc, resume_data: Review | None, state: Counter,
                   runtime_context: RuntimeContext, get_init_data: Any, run_id: str,
                   workflow_id: str, retry_count: int) -> dict:
    runtime_context["changed-on-worker"] = True  # a copy: the run's context keeps its own
    return {
        "input": type(input_data).__name__,
        "title": input_data.title,
        "resume": resume_data,
        "state": type(state).__name__,
        "seen": state.seen,
        "context": type(runtime_context).__name__,
        "user": runtime_context.get("user"),
        "init": type(get_init_data()).__name__,
        "run_id": run_id,
        "workflow_id": workflow_id,
        "retry_count": retry_count,
    }


def params_workflow(executor: Any) -> flownb.Workflow:
    step = create_step(id="inspect", input_schema=Doc, output_schema=dict,
                       execute=inspect_params)
    return (create_workflow(id="params", input_schema=Doc, output_schema=dict,
                            state_schema=Counter, executor=executor)
            .then(step).commit())


async def test_a_remote_step_gets_its_parameters_as_the_same_types():
    executor = ThreadExecutor()
    run = params_workflow(executor).create_run()
    result = await run.start({"title": "T"}, runtime_context={"user": "ada"},
                             initial_state={"seen": 3})
    assert result.status == "success", result.error
    assert result.result == {
        "input": "Doc", "title": "T", "resume": None, "state": "Counter", "seen": 3,
        "context": "RuntimeContext", "user": "ada", "init": "Doc", "run_id": run.run_id,
        "workflow_id": "params", "retry_count": 0}
    assert executor.paths == ["inspect"]
    assert "changed-on-worker" not in run._ex.runtime_context
    # only JSON-able data and a copy of the context travel
    call = executor.calls[0]
    assert call.data["input_data"] == {"title": "T"} and call.data["state"] == {"seen": 3}
    assert call.data["runtime_context"] == {"user": "ada"}


async def test_the_local_executor_runs_the_same_workflow_the_same_way():
    local = await params_workflow(LocalExecutor()).create_run().start(
        {"title": "T"}, runtime_context={"user": "ada"}, initial_state={"seen": 3})
    remote = await params_workflow(ThreadExecutor()).create_run().start(
        {"title": "T"}, runtime_context={"user": "ada"}, initial_state={"seen": 3})
    strip = ("run_id",)
    assert {k: v for k, v in local.result.items() if k not in strip} == \
        {k: v for k, v in remote.result.items() if k not in strip}


def emitting(input_data: int, emit, set_state) -> int:
    emit({"progress": 0.5})
    emit("half")
    set_state({"seen": input_data})
    return input_data * 2


async def test_emit_events_arrive_at_step_end_and_set_state_applies_on_the_driver():
    step = create_step(id="emit", input_schema=int, output_schema=int, execute=emitting)
    wf = create_workflow(id="emits", input_schema=int, output_schema=int,
                         state_schema=Counter, executor=ThreadExecutor()).then(step).commit()
    run = wf.create_run()
    events: list[tuple[str, Any]] = []
    run.watch(lambda e: events.append((e.type, e.payload)))
    result = await run.start(21)
    assert result.result == 42 and result.state == Counter(seen=21)
    step_events = [(t, p) for t, p in events if t.startswith("step-")]
    assert [t for t, _ in step_events] == ["step-start", "step-output", "step-output",
                                           "step-result"]
    assert step_events[1][1] == {"progress": 0.5} and step_events[2][1] == {"value": "half"}


def invalid_state(input_data: int, set_state) -> int:
    set_state({"seen": "many"})
    return input_data


async def test_set_state_is_validated_on_the_worker_as_it_is_locally():
    step = create_step(id="bad-state", input_schema=int, output_schema=int,
                       execute=invalid_state)
    wf = create_workflow(id="bad-state-wf", input_schema=int, output_schema=int,
                         state_schema=Counter, executor=ThreadExecutor()).then(step).commit()
    result = await wf.create_run().start(1)
    assert result.status == "failed"
    assert "step 'bad-state'" in result.error and "ValidationError" in result.error


def review(input_data: Doc, resume_data: Review | None, suspend) -> dict:
    if resume_data is None:
        return suspend({"question": f"publish {input_data.title}?"})
    return {"title": input_data.title, "approved": resume_data.approved}


async def test_suspend_on_a_remote_step_is_persisted_and_resumed_remotely(store):
    executor = ThreadExecutor()
    step = create_step(id="review", input_schema=Doc, output_schema=dict,
                       resume_schema=Review, suspend_schema=Question, execute=review)
    wf = create_workflow(id="review-wf", input_schema=Doc, output_schema=dict,
                         executor=executor).then(step).commit()
    run = wf.create_run()
    result = await run.start({"title": "T"})
    assert result.status == "suspended" and result.suspended == [["review"]]
    assert result.steps["review"].suspend_payload == Question(question="publish T?")
    assert store.load(run.run_id).status == "suspended"
    again = await wf.create_run(run_id=run.run_id).resume({"approved": True})
    assert again.status == "success" and again.result == {"title": "T", "approved": True}
    assert executor.paths == ["review", "review"]
    assert executor.calls[1].data["resume_data"] == {"approved": True}


async def test_a_run_started_locally_resumes_on_a_remote_executor(store):
    def build(executor: Any) -> flownb.Workflow:
        step = create_step(id="review", input_schema=Doc, output_schema=dict,
                           resume_schema=Review, suspend_schema=Question, execute=review)
        return create_workflow(id="hand-over", input_schema=Doc, output_schema=dict,
                               executor=executor).then(step).commit()

    local, remote = build(None), build(ThreadExecutor())
    assert local.graph.description == remote.graph.description
    assert local.graph.fingerprint == remote.graph.fingerprint
    run = local.create_run()
    assert (await run.start({"title": "T"})).status == "suspended"
    result = await remote.create_run(run_id=run.run_id).resume({"approved": False})
    assert result.result == {"title": "T", "approved": False}


def bailing(input_data: int, bail) -> int:
    if input_data > 1:
        bail(input_data * 100)
    return input_data


async def test_bail_on_a_remote_step_ends_the_workflow():
    executor = ThreadExecutor()
    first = create_step(id="first", input_schema=int, output_schema=int, execute=bailing)
    after = create_step(id="after", input_schema=int, output_schema=int,
                        execute=lambda input_data: -1)
    wf = create_workflow(id="bails", input_schema=int, output_schema=int,
                         executor=executor).then(first).then(after).commit()
    result = await wf.create_run().start(2)
    assert result.status == "success" and result.result == 200
    assert "after" not in result.steps and executor.paths == ["first"]


async def async_double(input_data: int) -> int:
    await asyncio.sleep(0)
    return input_data * 2


def item_step(step_id: str) -> Any:
    return create_step(id=step_id, input_schema=int, output_schema=int, execute=async_double)


async def test_the_closest_executor_setting_wins():
    glob, own, items, inner_own = (ThreadExecutor(n) for n in ("global", "own", "items",
                                                               "inner"))
    nested_inherits = (create_workflow(id="inherits", input_schema=int, output_schema=int)
                       .then(item_step("in-a")).commit())
    nested_local = (create_workflow(id="local", input_schema=int, output_schema=int,
                                    executor=LocalExecutor())
                    .then(item_step("in-b")).commit())
    nested_own = (create_workflow(id="nested-own", input_schema=int, output_schema=int,
                                  executor=inner_own)
                  .then(item_step("in-c")).commit())
    with_own = (create_workflow(id="with-own", input_schema=list[int], output_schema=list[int],
                                executor=own)
                .foreach(item_step("each-own"), concurrency=2)
                .foreach(nested_inherits, concurrency=2, executor=items)
                .foreach(nested_local, executor=items)
                .foreach(nested_own, executor=items)
                .commit())
    flownb.configure(executor=glob)
    try:
        result = await with_own.create_run().start([1, 2])
        assert result.result == [16, 32]
        plain = (create_workflow(id="plain", input_schema=int, output_schema=int)
                 .then(item_step("top")).commit())
        assert (await plain.create_run().start(1)).result == 2
    finally:
        flownb.configure(executor=None)
    assert sorted(own.paths) == ["each-own[0]", "each-own[1]"]
    assert sorted(items.paths) == ["inherits[0].in-a", "inherits[1].in-a"]
    assert sorted(inner_own.paths) == ["nested-own[0].in-c", "nested-own[1].in-c"]
    assert glob.paths == ["top"]
    # back to the local executor
    assert (await plain.create_run().start(5)).result == 10 and glob.paths == ["top"]


async def test_a_foreach_can_stay_local_inside_a_remote_workflow():
    executor = ThreadExecutor()
    wf = (create_workflow(id="mixed", input_schema=list[int], output_schema=list[int],
                          executor=executor)
          .foreach(item_step("local-items"), executor=LocalExecutor())
          .foreach(item_step("remote-items"))
          .commit())
    assert (await wf.create_run().start([1, 2, 3])).result == [4, 8, 12]
    assert sorted(executor.paths) == ["remote-items[0]", "remote-items[1]", "remote-items[2]"]


def reads_records(input_data: int, get_step_result) -> int:
    return input_data


def takes_everything(**kwargs: Any) -> list:
    return sorted(kwargs)


def test_commit_rejects_a_remote_step_that_reads_the_run_records():
    reader = create_step(id="reader", input_schema=int, output_schema=int,
                         execute=reads_records)
    with pytest.raises(WorkflowDefinitionError) as info:
        (create_workflow(id="remote-reader", input_schema=int, output_schema=int,
                         executor=ThreadExecutor()).then(reader).commit())
    assert "workflow 'remote-reader'" in info.value.message
    assert "step 'reader' declares get_step_result" in info.value.message
    assert "ThreadExecutor('thread')" in info.value.message
    nested = (create_workflow(id="inner", input_schema=int, output_schema=int)
              .then(clone_step(reader, id="deep")).commit())
    with pytest.raises(WorkflowDefinitionError, match=r"step 'inner\.deep' declares"):
        (create_workflow(id="outer", input_schema=list[int], output_schema=list[int])
         .foreach(nested, executor=ThreadExecutor()).commit())
    # locally (or kept local) it is fine
    create_workflow(id="ok", input_schema=int, output_schema=int).then(reader).commit()
    (create_workflow(id="ok2", input_schema=list[int], output_schema=list[int],
                     executor=ThreadExecutor())
     .foreach(reader, executor=LocalExecutor()).commit())


async def test_a_kwargs_step_gets_everything_a_worker_can_provide():
    step = create_step(id="all", input_schema=int, output_schema=list,
                       execute=takes_everything)
    wf = create_workflow(id="kw", input_schema=int, output_schema=list,
                         executor=ThreadExecutor()).then(step).commit()
    result = await wf.create_run().start(1)
    assert result.result == sorted(
        ["input_data", "resume_data", "suspend", "get_init_data", "state", "set_state",
         "runtime_context", "emit", "bail", "run_id", "workflow_id", "retry_count"])


async def test_a_global_remote_executor_fails_such_a_step_clearly_without_retrying():
    reader = create_step(id="reader", input_schema=int, output_schema=int,
                         execute=reads_records, retries=RetryConfig(attempts=3))
    wf = create_workflow(id="reads", input_schema=int, output_schema=int).then(reader).commit()
    executor = ThreadExecutor()
    flownb.configure(executor=executor)
    try:
        result = await wf.create_run().start(1)
    finally:
        flownb.configure(executor=None)
    assert result.status == "failed"
    assert "workflow 'reads'" in result.error and "step 'reader' declares get_step_result" \
        in result.error
    assert result.steps["reader"].attempts == 1 and executor.paths == []


def flaky(input_data: int, retry_count: int) -> int:
    if retry_count < 2:
        raise ConnectionError(f"attempt {retry_count} lost")
    return input_data + retry_count


async def test_a_failing_remote_attempt_is_retried_then_reported():
    executor = ThreadExecutor()
    retried = create_step(id="flaky", input_schema=int, output_schema=int, execute=flaky,
                          retries=RetryConfig(attempts=2))
    wf = create_workflow(id="flaky-wf", input_schema=int, output_schema=int,
                         executor=executor).then(retried).commit()
    result = await wf.create_run().start(10)
    assert result.result == 12 and result.steps["flaky"].attempts == 3
    once = clone_step(retried, id="flaky-once")
    once.retries = None
    wf2 = create_workflow(id="flaky-wf2", input_schema=int, output_schema=int,
                          executor=executor).then(once).commit()
    failed = await wf2.create_run().start(10)
    assert failed.status == "failed"
    assert failed.error == "step 'flaky-once' failed: ConnectionError: attempt 0 lost"
    assert isinstance(failed.exception, ConnectionError)


def slow(input_data: int) -> int:
    import time

    time.sleep(0.3)
    return input_data


async def test_a_remote_attempt_times_out():
    step = create_step(id="slow", input_schema=int, output_schema=int, execute=slow,
                       timeout=0.05)
    wf = create_workflow(id="slow-wf", input_schema=int, output_schema=int,
                         executor=ThreadExecutor()).then(step).commit()
    result = await wf.create_run().start(1)
    assert result.status == "failed"
    assert result.error == "step 'slow' failed: TimeoutError: timed out after 0.05 s"


async def test_a_step_that_cannot_be_pickled_fails_with_a_clear_error():
    lock = threading.Lock()

    def locked(input_data: int) -> int:
        with lock:
            return input_data

    step = create_step(id="locked", input_schema=int, output_schema=int, execute=locked)
    wf = create_workflow(id="locked-wf", input_schema=int, output_schema=int,
                         executor=ThreadExecutor()).then(step).commit()
    result = await wf.create_run().start(1)
    assert result.status == "failed"
    assert "step 'locked' cannot be sent to a worker: its function or schemas cannot be " \
           "pickled" in result.error


async def test_an_output_that_does_not_match_is_reported_by_the_driver():
    step = create_step(id="wrong", input_schema=int, output_schema=Doc,
                       execute=lambda input_data: {"name": "no title"})
    wf = create_workflow(id="wrong-wf", input_schema=int, output_schema=Doc,
                         executor=ThreadExecutor()).then(step).commit()
    result = await wf.create_run().start(1)
    assert result.status == "failed"
    assert "step 'wrong' output does not match its schema" in result.error
    assert "title" in result.error


def test_executor_settings_are_checked():
    with pytest.raises(WorkflowDefinitionError, match="workflow 'w': executor must be"):
        create_workflow(id="w", executor="dask")  # type: ignore[arg-type]
    with pytest.raises(WorkflowDefinitionError, match=r"\.foreach\(\): executor must be"):
        create_workflow(id="w").foreach(item_step("x"), executor=object())  # type: ignore[arg-type]
    with pytest.raises(WorkflowDefinitionError, match=r"flownb\.configure\(\): executor"):
        flownb.configure(executor=42)  # type: ignore[arg-type]


def test_configure_keeps_the_other_setting(store):
    executor = ThreadExecutor()
    flownb.configure(executor=executor)
    try:
        from flownb.config import default_executor, resolve_store

        assert default_executor() is executor and resolve_store(None) is store
        flownb.configure(storage=False)
        assert default_executor() is executor and resolve_store(None) is None
    finally:
        flownb.configure(executor=None)
    assert flownb.config.default_executor() is None


def test_executors_load_lazily_and_without_dask():
    code = ("import sys, flownb; wf = flownb.create_workflow(id='w'); "
            "ex = flownb.executors.LocalExecutor(); "
            "print(sorted({'dask', 'distributed', 'cloudpickle'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
