"""DaskExecutor on a real LocalCluster (2 worker processes, see conftest.py).

The step functions live in this module: the workers import it by reference (pytest put
its folder on ``sys.path`` before the cluster's processes were spawned), except in the
test that checks a module the workers cannot import is sent by value.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

distributed = pytest.importorskip("distributed")

import flownb  # noqa: E402
from flownb import RetryConfig, create_step, create_workflow  # noqa: E402
from flownb.executors import DaskExecutor, LocalExecutor  # noqa: E402
from flownb.executors.base import _by_value  # noqa: E402

HANG = 60  # seconds: no test may wait longer for a run; a hung run fails the test


class SpyClient:
    """A distributed.Client that remembers the futures submitted through it (one by one
    or as a batch)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.futures: list[Any] = []

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        future = self._client.submit(*args, **kwargs)
        self.futures.append(future)
        return future

    def map(self, *args: Any, **kwargs: Any) -> Any:
        futures = self._client.map(*args, **kwargs)
        self.futures.extend(futures)
        return futures

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def on_worker() -> str:
    return distributed.get_worker().address


def where() -> str:
    """The address of the Dask worker running this, or "driver"."""
    try:
        return on_worker()
    except ValueError:  # not inside a worker
        return "driver"


# -- the same workflow, locally and on Dask --------------------------------------------------


class Batch(BaseModel):
    title: str
    items: list[int]


class Square(BaseModel):
    n: int
    square: int


def prepare(input_data: Batch, emit) -> Batch:
    emit({"worker": where()})
    return Batch(title=input_data.title.strip(), items=input_data.items)


async def count(input_data: Batch) -> int:
    await asyncio.sleep(0.001)
    return len(input_data.items)


def shout(input_data: Batch) -> str:
    return input_data.title.upper()


def square(input_data: int) -> dict:
    return {"n": input_data, "square": input_data * input_data}


def add_one(input_data: Square) -> Square:
    return Square(n=input_data.n, square=input_data.square + 1)


def grow(input_data: int, retry_count: int) -> int:
    return input_data * 2 + retry_count


def label(input_data: int) -> str:
    return f"big:{input_data}"


def showcase(executor: Any) -> flownb.Workflow:
    nested = (create_workflow(id="per-item", input_schema=int, output_schema=Square)
              .then(create_step(id="square", input_schema=int, output_schema=Square,
                                execute=square))
              .then(create_step(id="add-one", input_schema=Square, output_schema=Square,
                                execute=add_one))
              .commit())
    return (
        create_workflow(id="showcase", input_schema=Batch, output_schema=dict,
                        executor=executor, storage=False)
        .then(create_step(id="prepare", input_schema=Batch, output_schema=Batch,
                          execute=prepare))
        .parallel([create_step(id="count", input_schema=Batch, output_schema=int,
                               execute=count),
                   create_step(id="shout", input_schema=Batch, output_schema=str,
                               execute=shout)])
        .map(lambda get_init_data: get_init_data().items, id="items")
        .foreach(nested, concurrency=3)
        .map(lambda input_data: sum(s.square for s in input_data), id="total")
        .dountil(create_step(id="grow", input_schema=int, output_schema=int, execute=grow),
                 lambda input_data: input_data > 1000)
        .branch([(lambda input_data: input_data > 5000,
                  create_step(id="huge", input_schema=int, output_schema=str,
                              execute=label)),
                 (lambda input_data: True,
                  create_step(id="big", input_schema=int, output_schema=str,
                              execute=label))])
        .commit()
    )


async def test_results_equal_the_local_executor(dask_client):
    spy = SpyClient(dask_client)
    batch = {"title": "  report ", "items": [3, 1, 4, 1, 5]}
    local_events: list[Any] = []
    dask_events: list[Any] = []
    local_run = showcase(LocalExecutor()).create_run()
    local_run.watch(local_events.append)
    dask_run = showcase(DaskExecutor(spy)).create_run()
    dask_run.watch(dask_events.append)
    local = await asyncio.wait_for(local_run.start(batch), HANG)
    remote = await asyncio.wait_for(dask_run.start(batch), HANG)
    assert remote.status == local.status == "success", remote.error
    # (3,1,4,1,5) -> squares + 1 -> 57 -> doubled until > 1000 -> 1824
    assert remote.result == local.result == {"big": "big:1824"}
    assert remote.to_dict()["steps"].keys() == local.to_dict()["steps"].keys()
    for path, sr in local.steps.items():
        assert remote.steps[path].status == sr.status and remote.steps[path].output == \
            sr.output, path
    # every leaf step execution went to a worker; .map and conditions stayed on the driver
    assert len(spy.futures) == 1 + 2 + 5 * 2 + 5 + 1
    # events still stream from the driver, emit() output included
    kinds = [(e.type, ".".join(e.path)) for e in dask_events]
    assert kinds.index(("step-start", "prepare")) < kinds.index(("step-output", "prepare")) \
        < kinds.index(("step-result", "prepare"))
    assert ("step-result", "per-item[4].add-one") in kinds
    worker = next(e.payload["worker"] for e in dask_events if e.type == "step-output")
    assert worker in dask_client.scheduler_info()["workers"]
    assert next(e.payload for e in local_events if e.type == "step-output") == \
        {"worker": "driver"}


def slow_item(input_data: int) -> dict:
    time.sleep(0.01 * (12 - input_data))  # later items finish first
    return {"item": input_data, "worker": on_worker()}


async def test_foreach_keeps_input_order_across_workers(dask_client):
    step = create_step(id="slow", input_schema=int, output_schema=dict, execute=slow_item)
    wf = (create_workflow(id="order", input_schema=list[int], output_schema=list[dict],
                          storage=False)
          .foreach(step, concurrency=4, executor=DaskExecutor(dask_client)).commit())
    result = await asyncio.wait_for(wf.create_run().start(list(range(12))), HANG)
    assert [o["item"] for o in result.result] == list(range(12))
    assert {o["worker"] for o in result.result} == set(dask_client.scheduler_info()["workers"])


def test_a_sync_caller_runs_on_dask_too(dask_client):
    step = create_step(id="where", input_schema=int, output_schema=str,
                       execute=lambda input_data: on_worker())
    wf = create_workflow(id="sync-caller", input_schema=int, output_schema=str, storage=False,
                         executor=DaskExecutor(dask_client)).then(step).commit()
    assert wf.invoke(1).result in dask_client.scheduler_info()["workers"]
    assert flownb.run_sync(wf.create_run().start(2)).status == "success"


async def test_an_asynchronous_client_on_the_runs_loop(dask_client):
    step = create_step(id="double", input_schema=int, output_schema=int,
                       execute=lambda input_data: input_data * 2)
    async with distributed.Client(dask_client.scheduler.address, asynchronous=True,
                                  set_as_default=False) as client:
        wf = (create_workflow(id="async-client", input_schema=list[int],
                              output_schema=list[int], storage=False)
              .foreach(step, concurrency=3, executor=DaskExecutor(client)).commit())
        result = await asyncio.wait_for(wf.create_run().start([1, 2, 3, 4]), HANG)
    assert result.result == [2, 4, 6, 8]


# -- suspend on a worker, resume on a worker ---------------------------------------------------


class Doc(BaseModel):
    title: str


class Review(BaseModel):
    approved: bool


class Question(BaseModel):
    question: str
    asked_by: int


def review(input_data: Doc, resume_data: Review | None, suspend) -> dict:
    if resume_data is None:
        suspend({"question": f"publish {input_data.title}?", "asked_by": os.getpid()})
    return {"title": input_data.title, "approved": resume_data.approved, "worker": where()}


def review_workflow(executor: Any) -> flownb.Workflow:
    step = create_step(id="review", input_schema=Doc, output_schema=dict,
                       resume_schema=Review, suspend_schema=Question, execute=review)
    return (create_workflow(id="reviews", input_schema=list[Doc], output_schema=list[dict],
                            executor=executor)
            .foreach(step, concurrency=2).commit())


async def test_suspend_on_a_worker_is_persisted_and_resume_runs_on_a_worker(dask_client, store):
    wf = review_workflow(DaskExecutor(dask_client))
    run = wf.create_run()
    result = await asyncio.wait_for(run.start([{"title": "a"}, {"title": "b"}]), HANG)
    assert result.status == "suspended"
    assert sorted(result.suspended) == [["review[0]"], ["review[1]"]]  # in finishing order
    payload = result.steps["review[1]"].suspend_payload
    assert isinstance(payload, Question) and payload.question == "publish b?"
    assert payload.asked_by != os.getpid()  # it suspended in a worker process
    assert store.load(run.run_id).status == "suspended"
    # a new Run object, as after a kernel restart: the snapshot is all it has
    again = wf.create_run(run_id=run.run_id)
    first = await asyncio.wait_for(again.resume({"approved": True}, step="review[1]"), HANG)
    assert first.status == "suspended" and first.suspended == [["review[0]"]]
    done = await asyncio.wait_for(again.resume({"approved": False}), HANG)
    assert done.status == "success"
    assert [(o["title"], o["approved"]) for o in done.result] == [("a", False), ("b", True)]
    assert {o["worker"] for o in done.result} <= set(dask_client.scheduler_info()["workers"])


async def test_a_run_suspended_on_dask_resumes_locally(dask_client, store):
    run = review_workflow(DaskExecutor(dask_client)).create_run()
    assert (await asyncio.wait_for(run.start([{"title": "a"}]), HANG)).status == "suspended"
    local = review_workflow(LocalExecutor()).create_run(run_id=run.run_id)
    result = await local.resume({"approved": True})
    assert result.status == "success"
    assert result.result == [{"title": "a", "approved": True, "worker": "driver"}]


# -- lost workers ---------------------------------------------------------------------------------


def die(input_data: str, retry_count: int) -> int:
    """Kill the worker process running this (on the first attempt, or always)."""
    if input_data == "always" or retry_count == 0:
        os._exit(1)
    return retry_count


async def run_killer(client: Any, plan: str, retries: RetryConfig | None) -> Any:
    step = create_step(id="die", input_schema=str, output_schema=int, execute=die,
                       retries=retries)
    wf = create_workflow(id="killer", input_schema=str, output_schema=int, storage=False,
                         executor=DaskExecutor(client)).then(step).commit()
    try:
        return await asyncio.wait_for(wf.create_run().start(plan), HANG)
    finally:
        # the nanny restarts the killed worker; the next test wants both
        await asyncio.to_thread(client.wait_for_workers, 2, HANG)


async def test_a_killed_worker_fails_the_attempt_and_the_step_retries(dask_client):
    result = await run_killer(dask_client, "first-attempt", RetryConfig(attempts=1))
    assert result.status == "success" and result.result == 1
    assert result.steps["die"].attempts == 2


async def test_a_killed_worker_fails_the_step_without_retries(dask_client):
    result = await run_killer(dask_client, "always", None)
    assert result.status == "failed"
    assert result.error.startswith("step 'die' failed: KilledWorker")
    assert isinstance(result.exception, distributed.KilledWorker)


# -- cancel ---------------------------------------------------------------------------------------


class Gate(BaseModel):
    folder: str
    index: int


def wait_at_gate(input_data: Gate) -> int:
    folder = Path(input_data.folder)
    (folder / f"started-{input_data.index}").write_text("")
    deadline = time.monotonic() + HANG
    while not (folder / "stop").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return input_data.index


def scheduler_keys(dask_scheduler: Any) -> set[str]:
    return {str(k) for k in dask_scheduler.tasks}


async def eventually(check: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_cancel_cancels_the_dask_futures(dask_client, tmp_path):
    spy = SpyClient(dask_client)
    executor = DaskExecutor(spy)
    step = create_step(id="gate", input_schema=Gate, output_schema=int, execute=wait_at_gate)
    wf = (create_workflow(id="gated", input_schema=list[Gate], output_schema=list[int],
                          storage=False)
          .foreach(step, concurrency=2, executor=executor).commit())
    run = wf.create_run()
    items = [{"folder": str(tmp_path), "index": i} for i in range(4)]
    task = asyncio.ensure_future(run.start(items))
    try:
        await eventually(lambda: len(list(tmp_path.glob("started-*"))) == 2, HANG)
        await run.cancel()
        result = await asyncio.wait_for(task, 10)
        assert result.status == "canceled"
        assert [result.steps[f"gate[{i}]"].status for i in range(2)] == ["canceled"] * 2
        assert len(spy.futures) == 2  # the other items were never submitted
        await eventually(lambda: all(f.cancelled() for f in spy.futures))
        keys = {f.key for f in spy.futures}  # and the scheduler forgets them
        await eventually(lambda: not keys & dask_client.run_on_scheduler(scheduler_keys))
        assert executor._futures == set()
    finally:
        (tmp_path / "stop").write_text("")  # free the worker threads for the next tests
        await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), HANG)


# -- code the workers cannot import ----------------------------------------------------------------


def worker_can_import(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def test_a_module_the_workers_lack_is_sent_by_value(dask_client, tmp_path, monkeypatch):
    name = f"flownb_local_steps_{os.getpid()}"
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / f"{name}.py").write_text(
        "from pydantic import BaseModel\n\n"
        "class Tripled(BaseModel):\n    value: int\n\n"
        "def triple(input_data: int) -> Tripled:\n"
        "    return Tripled(value=input_data * 3)\n")
    monkeypatch.syspath_prepend(str(folder))
    module = importlib.import_module(name)
    monkeypatch.setitem(sys.modules, name, module)
    assert not any(dask_client.run(worker_can_import, name).values())
    step = create_step(id="triple", input_schema=int, output_schema=module.Tripled,
                       execute=module.triple)
    wf = create_workflow(id="by-value", input_schema=int, output_schema=module.Tripled,
                         storage=False, executor=DaskExecutor(dask_client)).then(step).commit()
    result = wf.invoke(14)
    assert result.status == "success", result.error
    assert result.result == module.Tripled(value=42) and name in _by_value


def test_a_module_missing_everywhere_fails_with_an_install_hint(dask_client, monkeypatch):
    name = "flownb_nowhere_module"
    fake = type(sys)(name)

    def nowhere(input_data: int) -> int:
        return input_data

    nowhere.__module__ = name
    nowhere.__qualname__ = "nowhere"
    fake.nowhere = nowhere  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, name, fake)  # no __file__: not the user's own source
    step = create_step(id="nowhere", input_schema=int, output_schema=int, execute=nowhere)
    wf = create_workflow(id="missing", input_schema=int, output_schema=int, storage=False,
                         executor=DaskExecutor(dask_client)).then(step).commit()
    result = wf.invoke(1)
    assert result.status == "failed"
    assert "step 'nowhere' cannot be loaded on the worker: No module named " \
           "'flownb_nowhere_module'. Install that module on the workers" in result.error


def test_the_executor_owns_a_client_it_connects(dask_client):
    address = dask_client.scheduler.address
    with DaskExecutor(address=address) as executor:
        assert repr(executor) == f"DaskExecutor(scheduler={address!r})"
        step = create_step(id="one", input_schema=int, output_schema=int,
                           execute=lambda input_data: input_data + 1)
        wf = create_workflow(id="owned", input_schema=int, output_schema=int, storage=False,
                             executor=executor).then(step).commit()
        assert wf.invoke(1).result == 2
    assert executor.client.status == "closed" and dask_client.status == "running"
    with pytest.raises(ValueError, match="either a client or address="):
        DaskExecutor(dask_client, address=address)
