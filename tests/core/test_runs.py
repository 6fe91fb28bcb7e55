"""Runs (SPEC §2–3): results, events, stream/watch, cancel, retries, timeouts, sleep,
foreach concurrency, sync entry points, branch/map semantics and failures."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from shared_models import Count, Formatted, Msg, Value

from flownb import (
    Event,
    FlownbError,
    InputValidationError,
    RetryConfig,
    StepResult,
    WorkflowResult,
    const,
    create_step,
    create_workflow,
    from_context,
    from_init,
    from_step,
    run_sync,
)
from flownb.core import clock


def passthrough(step_id: str, schema: Any = Msg, **kwargs):
    return create_step(id=step_id, input_schema=schema, output_schema=schema,
                       execute=lambda input_data: input_data, **kwargs)


def appender(step_id: str, suffix: str):
    async def execute(input_data: Msg) -> dict:
        return {"message": input_data.message + suffix}

    return create_step(id=step_id, input_schema=Msg, output_schema=Msg, execute=execute)


def chain(*steps, wf_id: str = "wf", schema: Any = Msg, **kwargs):
    wf = create_workflow(id=wf_id, input_schema=schema, output_schema=schema, **kwargs)
    for s in steps:
        wf = wf.then(s)
    return wf.commit()


def failing(step_id: str, exc: BaseException):
    def execute(input_data):
        raise exc

    return create_step(id=step_id, input_schema=Msg, output_schema=Msg, execute=execute)


async def collect(run, **start_kwargs) -> list[Event]:
    return [e async for e in run.stream(**start_kwargs)]


def index_of(events: list[Event], type_: str, path: tuple[str, ...]) -> int:
    for i, e in enumerate(events):
        if e.type == type_ and e.path == path:
            return i
    raise AssertionError(f"no {type_} event for {path}: {[(e.type, e.path) for e in events]}")


def assert_json(data: Any) -> None:
    assert json.loads(json.dumps(data)) == data


# ---------------------------------------------------------------------------------------
# WorkflowResult / StepResult shapes
# ---------------------------------------------------------------------------------------


async def test_success_result_shape():
    wf = chain(appender("a", "-a"), appender("b", "-b"), appender("c", "-c"))
    run = wf.create_run()

    result = await run.start(input_data={"message": "m"})

    assert isinstance(result, WorkflowResult)
    assert result.status == "success"
    assert result.result == Msg(message="m-a-b-c")
    assert result.error is None
    assert result.exception is None
    assert result.suspended == []
    assert result.run_id == run.run_id
    assert list(result.steps) == ["a", "b", "c"]
    sr = result.steps["b"]
    assert isinstance(sr, StepResult)
    assert sr.status == "success"
    assert sr.payload == Msg(message="m-a")
    assert sr.output == Msg(message="m-a-b")
    assert sr.error is None
    assert sr.suspend_payload is None
    assert sr.resume_payload is None
    assert sr.attempts == 1
    assert isinstance(sr.started_at, float) and isinstance(sr.ended_at, float)
    assert sr.started_at <= sr.ended_at
    assert result.steps["a"].ended_at <= result.steps["b"].started_at


async def test_to_dict_is_json_safe_and_complete():
    wf = chain(appender("a", "-a"))

    result = await wf.create_run().start(input_data={"message": "m"})
    data = result.to_dict()

    assert_json(data)
    assert {"status", "result", "error", "steps", "suspended", "run_id"} <= set(data)
    assert "exception" not in data
    assert data["status"] == "success"
    assert data["run_id"] == result.run_id
    assert data["result"] == {"message": "m-a"}
    step = data["steps"]["a"]
    assert {"status", "payload", "output", "error", "suspend_payload", "resume_payload",
            "started_at", "ended_at", "attempts"} <= set(step)
    assert step["payload"] == {"message": "m"}
    assert step["output"] == {"message": "m-a"}


async def test_nested_paths_in_steps():
    inner = chain(appender("x", "-x"), appender("y", "-y"), wf_id="inner")
    wf = chain(appender("first", "-1"), inner, appender("last", "-2"), wf_id="outer")

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "success", result.error
    assert list(result.steps) == ["first", "inner", "inner.x", "inner.y", "last"]
    assert result.steps["inner"].output == Msg(message="m-1-x-y")
    assert result.steps["inner.y"].payload == Msg(message="m-1-x")
    assert result.result == Msg(message="m-1-x-y-2")
    assert_json(result.to_dict())


async def test_foreach_items_listed_as_step_index():
    async def double(input_data: Value) -> dict:
        return {"value": input_data.value * 2}

    step = create_step(id="double", input_schema=Value, output_schema=Value, execute=double)
    wf = (create_workflow(id="wf", input_schema=list[Value], output_schema=list[Value])
          .foreach(step, concurrency=2).commit())

    result = await wf.create_run().start(input_data=[{"value": 1}, {"value": 2}, {"value": 3}])

    assert result.status == "success", result.error
    assert result.steps["double"].output == [Value(value=2), Value(value=4), Value(value=6)]
    for i, v in enumerate([1, 2, 3]):
        item = result.steps[f"double[{i}]"]
        assert item.status == "success"
        assert item.payload == Value(value=v)
        assert item.output == Value(value=2 * v)
    data = result.to_dict()
    assert_json(data)
    assert data["steps"]["double"]["output"] == [{"value": 2}, {"value": 4}, {"value": 6}]
    assert data["steps"]["double[2]"]["output"] == {"value": 6}


async def test_event_shape_and_to_dict():
    wf = chain(appender("a", "-a"), wf_id="evwf")
    run = wf.create_run()

    events = await collect(run, input_data={"message": "m"})

    for e in events:
        assert isinstance(e, Event)
        assert e.run_id == run.run_id
        assert e.workflow_id == "evwf"
        assert isinstance(e.path, tuple)
        assert isinstance(e.payload, dict)
        assert isinstance(e.timestamp, float)
        d = e.to_dict()
        assert_json(d)
        assert {"type", "run_id", "workflow_id", "path", "payload", "timestamp"} <= set(d)
    assert events[0].path == ()
    assert events[-1].path == ()
    result_event = events[index_of(events, "step-result", ("a",))]
    assert result_event.payload["status"] == "success"
    assert result_event.to_dict()["payload"]["output"] == {"message": "m-a"}
    assert result_event.to_dict()["path"] == ["a"]
    assert events[-1].payload == run.result.to_dict()


# ---------------------------------------------------------------------------------------
# Validation and failure
# ---------------------------------------------------------------------------------------


async def test_invalid_input_raises_before_anything_runs_or_is_stored(store):
    calls = []

    def execute(input_data):
        calls.append(input_data)
        return input_data

    wf = chain(create_step(id="s", input_schema=Msg, output_schema=Msg, execute=execute),
               wf_id="strict")
    run = wf.create_run()
    events = []
    run.watch(events.append)

    with pytest.raises(InputValidationError) as info:
        await run.start(input_data={"message": 123, "other": 1})

    assert "strict" in str(info.value)
    assert "message" in str(info.value)
    assert any(err["field"] == "message" for err in info.value.field_errors)
    assert calls == []
    assert events == []
    assert store.list_runs() == []
    assert wf.runs() == []


async def test_missing_input_raises_input_validation_error(store):
    wf = chain(passthrough("s"))

    with pytest.raises(InputValidationError):
        await wf.create_run().start(input_data={})
    assert store.list_runs() == []


async def test_failing_step_fails_the_run_without_raising():
    boom = ValueError("kaput")
    after = []
    wf = chain(appender("ok", "-ok"), failing("broken-step", boom),
               create_step(id="never", input_schema=Msg, output_schema=Msg,
                           execute=lambda input_data: after.append(1) or input_data))

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "failed"
    assert "broken-step" in result.error
    assert "kaput" in result.error
    assert result.exception is boom
    assert result.result is None
    assert result.steps["ok"].status == "success"
    assert result.steps["broken-step"].status == "failed"
    assert "kaput" in result.steps["broken-step"].error
    assert "never" not in result.steps
    assert after == []
    assert_json(result.to_dict())


async def test_failure_in_nested_workflow_names_the_nested_path():
    inner = chain(failing("deep", RuntimeError("no")), wf_id="inner")
    wf = chain(inner, wf_id="outer")

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "failed"
    assert "inner.deep" in result.error
    assert result.steps["inner.deep"].status == "failed"
    assert result.steps["inner"].status == "failed"


async def test_failed_run_is_stored_as_failed(store):
    wf = chain(failing("broken", ValueError("x")))

    result = await wf.create_run().start(input_data={"message": "m"})

    assert [r.status for r in store.list_runs()] == ["failed"]
    assert store.list_runs()[0].run_id == result.run_id


async def test_starting_a_run_twice_is_an_error():
    wf = chain(passthrough("s"))
    run = wf.create_run()
    await run.start(input_data={"message": "m"})

    with pytest.raises(FlownbError):
        await run.start(input_data={"message": "m"})


# ---------------------------------------------------------------------------------------
# Event order
# ---------------------------------------------------------------------------------------


def assert_bracketed(events: list[Event]) -> None:
    """workflow-start first, workflow-finish last, step-start before step-result per path."""
    assert events[0].type == "workflow-start"
    assert events[-1].type == "workflow-finish"
    assert [e.type for e in events].count("workflow-finish") == 1
    for i, e in enumerate(events):
        if e.type == "step-result":
            assert index_of(events, "step-start", e.path) < i, e.path


async def test_event_order_then():
    wf = chain(appender("a", "-a"), appender("b", "-b"))

    events = await collect(wf.create_run(), input_data={"message": "m"})

    assert [(e.type, e.path) for e in events] == [
        ("workflow-start", ()),
        ("step-start", ("a",)),
        ("step-result", ("a",)),
        ("step-start", ("b",)),
        ("step-result", ("b",)),
        ("workflow-finish", ()),
    ]


async def test_event_order_parallel():
    async def slow(input_data):
        await asyncio.sleep(0.01)
        return input_data

    p1 = create_step(id="p1", input_schema=Msg, output_schema=Msg, execute=slow)
    p2 = create_step(id="p2", input_schema=Msg, output_schema=Msg, execute=slow)
    wf = (create_workflow(id="wf", input_schema=Msg)
          .parallel([p1, p2]).then(passthrough("after", dict[str, Any])).commit())

    events = await collect(wf.create_run(), input_data={"message": "m"})

    assert_bracketed(events)
    starts = [index_of(events, "step-start", (p,)) for p in ("p1", "p2")]
    results = [index_of(events, "step-result", (p,)) for p in ("p1", "p2")]
    assert max(starts) < min(results)  # both run at once
    assert max(results) < index_of(events, "step-start", ("after",))


async def test_event_order_nested():
    inner = chain(appender("x", "-x"), wf_id="inner")
    wf = chain(inner, wf_id="outer")

    events = await collect(wf.create_run(), input_data={"message": "m"})

    assert_bracketed(events)
    assert (index_of(events, "step-start", ("inner",))
            < index_of(events, "step-start", ("inner", "x"))
            < index_of(events, "step-result", ("inner", "x"))
            < index_of(events, "step-result", ("inner",)))
    assert events[index_of(events, "step-result", ("inner", "x"))].to_dict()["path"] == [
        "inner", "x"]


async def test_event_order_foreach():
    step = create_step(id="each", input_schema=int, output_schema=int,
                       execute=lambda input_data: input_data + 1)
    wf = (create_workflow(id="wf", input_schema=list[int], output_schema=list[int])
          .foreach(step).commit())

    events = await collect(wf.create_run(), input_data=[10, 20])

    assert_bracketed(events)
    start = index_of(events, "step-start", ("each",))
    end = index_of(events, "step-result", ("each",))
    for i in (0, 1):
        assert start < index_of(events, "step-start", (f"each[{i}]",)) < end
        assert index_of(events, "step-result", (f"each[{i}]",)) < end
    assert events[end].payload["status"] == "success"
    assert events[end].to_dict()["payload"]["output"] == [11, 21]


async def test_event_order_sleep_has_step_waiting(monkeypatch):
    slept = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(clock, "sleep", fake_sleep)
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .then(passthrough("a")).sleep(2).then(passthrough("b")).commit())

    events = await collect(wf.create_run(), input_data={"message": "m"})

    assert_bracketed(events)
    waiting = [i for i, e in enumerate(events) if e.type == "step-waiting"]
    assert len(waiting) == 1
    path = events[waiting[0]].path
    assert path  # the sleep has its own path
    assert index_of(events, "step-start", path) < waiting[0] < index_of(events, "step-result",
                                                                         path)
    assert index_of(events, "step-result", ("a",)) < waiting[0]
    assert waiting[0] < index_of(events, "step-start", ("b",))
    assert slept == [2]


async def test_event_step_output_for_emit():
    async def talk(input_data, emit):
        emit({"progress": 1})
        return input_data

    wf = chain(create_step(id="talker", input_schema=Msg, output_schema=Msg, execute=talk))

    events = await collect(wf.create_run(), input_data={"message": "m"})

    assert [e.type for e in events] == [
        "workflow-start", "step-start", "step-output", "step-result", "workflow-finish"]
    assert events[2].path == ("talker",)
    assert events[2].payload == {"progress": 1}


async def test_failed_step_result_event_carries_the_error():
    wf = chain(failing("broken", ValueError("kaput")))
    run = wf.create_run()

    events = await collect(run, input_data={"message": "m"})

    result_event = events[index_of(events, "step-result", ("broken",))]
    assert result_event.payload["status"] == "failed"
    assert "kaput" in result_event.payload["error"]
    assert events[-1].type == "workflow-finish"
    assert events[-1].payload["status"] == "failed"
    assert run.result.status == "failed"


# ---------------------------------------------------------------------------------------
# stream and watch
# ---------------------------------------------------------------------------------------


async def test_stream_ends_with_workflow_finish_and_sets_run_result():
    wf = chain(appender("a", "-a"))
    run = wf.create_run()
    assert run.result is None

    events = await collect(run, input_data={"message": "m"})

    assert events[-1].type == "workflow-finish"
    assert run.result is not None
    assert run.result.status == "success"
    assert run.result.result == Msg(message="m-a")
    assert events[-1].payload == run.result.to_dict()


async def test_stream_of_suspended_run_sends_workflow_suspended_before_finish():
    async def ask(input_data, suspend):
        await suspend({"q": 1})

    wf = chain(create_step(id="ask", input_schema=Msg, output_schema=Msg, execute=ask))
    run = wf.create_run()

    events = await collect(run, input_data={"message": "m"})

    types = [e.type for e in events]
    assert types[-2:] == ["workflow-suspended", "workflow-finish"]
    suspended_event = events[index_of(events, "step-suspended", ("ask",))]
    assert suspended_event.payload["suspend_payload"] == {"q": 1}
    assert run.result.status == "suspended"
    assert run.result.suspended == [["ask"]]


async def test_watch_sync_callback():
    wf = chain(appender("a", "-a"))
    run = wf.create_run()
    seen: list[Event] = []

    run.watch(seen.append)
    await run.start(input_data={"message": "m"})

    assert [e.type for e in seen] == [
        "workflow-start", "step-start", "step-result", "workflow-finish"]


async def test_watch_async_callback_sees_every_event_in_order():
    wf = chain(appender("a", "-a"), appender("b", "-b"))
    run = wf.create_run()
    seen: list[str] = []

    async def callback(event):
        await asyncio.sleep(0)
        seen.append(event.type)

    run.watch(callback)
    await run.start(input_data={"message": "m"})

    assert seen == ["workflow-start", "step-start", "step-result", "step-start",
                    "step-result", "workflow-finish"]


async def test_unsubscribe_stops_delivery():
    wf = chain(appender("a", "-a"), appender("b", "-b"))
    run = wf.create_run()
    never: list[Event] = []
    some: list[Event] = []

    unsubscribe_never = run.watch(never.append)
    unsubscribe_never()

    def first_only(event):
        some.append(event)
        unsubscribe_some()

    unsubscribe_some = run.watch(first_only)
    await run.start(input_data={"message": "m"})

    assert never == []
    assert [e.type for e in some] == ["workflow-start"]


async def test_unsubscribe_async_callback():
    wf = chain(appender("a", "-a"))
    run = wf.create_run()
    seen: list[Event] = []

    async def callback(event):
        seen.append(event)

    unsubscribe = run.watch(callback)
    unsubscribe()
    await run.start(input_data={"message": "m"})

    assert seen == []


# ---------------------------------------------------------------------------------------
# cancel
# ---------------------------------------------------------------------------------------


async def test_cancel_returns_canceled_result_and_step_gets_cancelled_error():
    started = asyncio.Event()
    got: list[str] = []

    async def slow(input_data):
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            got.append("cancelled")
            raise
        return input_data

    wf = chain(create_step(id="slow", input_schema=Msg, output_schema=Msg, execute=slow),
               passthrough("after"))
    run = wf.create_run()
    task = asyncio.ensure_future(run.start(input_data={"message": "m"}))
    await asyncio.wait_for(started.wait(), 5)

    await run.cancel()
    result = await asyncio.wait_for(task, 5)

    assert result.status == "canceled"
    assert got == ["cancelled"]
    assert result.steps["slow"].status == "canceled"
    assert "after" not in result.steps
    assert run.result is result


async def test_cancel_reaches_every_running_parallel_step():
    started = [asyncio.Event(), asyncio.Event()]
    got: list[str] = []

    def make(i: int):
        async def slow(input_data):
            started[i].set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                got.append(f"p{i}")
                raise
            return input_data

        return create_step(id=f"p{i}", input_schema=Msg, output_schema=Msg, execute=slow)

    wf = create_workflow(id="wf", input_schema=Msg).parallel([make(0), make(1)]).commit()
    run = wf.create_run()
    task = asyncio.ensure_future(run.start(input_data={"message": "m"}))
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in started)), 5)

    await run.cancel()
    result = await asyncio.wait_for(task, 5)

    assert result.status == "canceled"
    assert sorted(got) == ["p0", "p1"]


async def test_canceled_run_is_stored_as_canceled(store):
    started = asyncio.Event()

    async def slow(input_data):
        started.set()
        await asyncio.sleep(30)

    wf = chain(create_step(id="slow", input_schema=Msg, output_schema=Msg, execute=slow))
    run = wf.create_run()
    task = asyncio.ensure_future(run.start(input_data={"message": "m"}))
    await asyncio.wait_for(started.wait(), 5)
    await run.cancel()
    await asyncio.wait_for(task, 5)

    assert [r.status for r in store.list_runs()] == ["canceled"]


# ---------------------------------------------------------------------------------------
# retries and timeouts
# ---------------------------------------------------------------------------------------


def flaky(step_id: str, fail_times: int, log: list[int], **kwargs):
    def execute(input_data, retry_count):
        log.append(retry_count)
        if len(log) <= fail_times:
            raise RuntimeError(f"attempt {retry_count} failed")
        return input_data

    return create_step(id=step_id, input_schema=Msg, output_schema=Msg, execute=execute,
                       **kwargs)


async def test_retries_run_at_most_attempts_plus_one_times():
    log: list[int] = []
    wf = chain(flaky("flaky", 99, log, retries=RetryConfig(attempts=2, delay=0)))

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "failed"
    assert log == [0, 1, 2]
    assert result.steps["flaky"].attempts == 3
    assert "attempt 2 failed" in result.error


async def test_retry_that_succeeds_counts_attempts():
    log: list[int] = []
    wf = chain(flaky("flaky", 2, log, retries=RetryConfig(attempts=2, delay=0)))

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "success", result.error
    assert log == [0, 1, 2]
    assert result.steps["flaky"].attempts == 3
    assert result.steps["flaky"].error is None


async def test_retry_waits_delay_between_attempts(monkeypatch):
    slept: list[float] = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(clock, "sleep", fake_sleep)
    log: list[int] = []
    wf = chain(flaky("flaky", 99, log, retries=RetryConfig(attempts=2, delay=0.5)))

    await wf.create_run().start(input_data={"message": "m"})

    assert log == [0, 1, 2]
    assert slept == [0.5, 0.5]


async def test_without_retries_a_step_runs_once():
    log: list[int] = []
    wf = chain(flaky("flaky", 99, log))

    result = await wf.create_run().start(input_data={"message": "m"})

    assert log == [0]
    assert result.steps["flaky"].attempts == 1


async def test_workflow_retry_config_is_the_default():
    log: list[int] = []
    wf = chain(flaky("flaky", 99, log), retry_config=RetryConfig(attempts=1, delay=0))

    result = await wf.create_run().start(input_data={"message": "m"})

    assert log == [0, 1]
    assert result.steps["flaky"].attempts == 2


async def test_step_retries_override_workflow_default():
    more: list[int] = []
    none: list[int] = []
    wf_more = chain(flaky("flaky", 99, more, retries=RetryConfig(attempts=3, delay=0)),
                    retry_config=RetryConfig(attempts=1, delay=0))
    wf_none = chain(flaky("flaky", 99, none, retries=RetryConfig(attempts=0)),
                    retry_config=RetryConfig(attempts=2, delay=0))

    await wf_more.create_run().start(input_data={"message": "m"})
    await wf_none.create_run().start(input_data={"message": "m"})

    assert more == [0, 1, 2, 3]
    assert none == [0]


async def test_timeout_fails_an_attempt():
    async def hang(input_data):
        await asyncio.sleep(30)
        return input_data

    wf = chain(create_step(id="hang", input_schema=Msg, output_schema=Msg, execute=hang,
                           timeout=0.05))

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "failed"
    assert "timed out" in result.error
    assert "hang" in result.error
    assert result.steps["hang"].status == "failed"


async def test_each_retry_gets_the_full_timeout():
    attempts: list[str] = []

    async def slow_then_ok(input_data, retry_count):
        if retry_count == 0:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                attempts.append("first cut")
                raise
        # a second attempt shorter than the timeout, but longer than what a shared
        # budget would have left after the first one
        await asyncio.sleep(0.3)
        attempts.append("second done")
        return input_data

    wf = chain(create_step(id="slow", input_schema=Msg, output_schema=Msg,
                           execute=slow_then_ok, timeout=0.6,
                           retries=RetryConfig(attempts=1, delay=0)))

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "success", result.error
    assert attempts == ["first cut", "second done"]
    assert result.steps["slow"].attempts == 2


# ---------------------------------------------------------------------------------------
# sleep / sleep_until (the clock is patched: nothing really waits)
# ---------------------------------------------------------------------------------------


@pytest.fixture
def fake_clock(monkeypatch):
    slept: list[float] = []
    now = 1_700_000_000.0

    async def fake_sleep(seconds):
        slept.append(seconds)

    monkeypatch.setattr(clock, "sleep", fake_sleep)
    monkeypatch.setattr(clock, "now", lambda: now)
    return {"slept": slept, "now": now}


async def test_sleep_seconds_passes_data_through(fake_clock):
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .then(appender("a", "-a")).sleep(5).then(appender("b", "-b")).commit())

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "success", result.error
    assert result.result == Msg(message="m-a-b")
    assert fake_clock["slept"] == [5]


async def test_sleep_function_gets_injected_parameters(fake_clock):
    seen = []

    def how_long(input_data, get_init_data):
        seen.append((input_data, get_init_data()))
        return len(input_data.message)

    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .then(appender("a", "-a")).sleep(how_long).commit())

    result = await wf.create_run().start(input_data={"message": "mm"})

    assert result.result == Msg(message="mm-a")
    assert fake_clock["slept"] == [4]
    assert seen == [(Msg(message="mm-a"), Msg(message="mm"))]


async def test_sleep_until_datetime(fake_clock):
    until = datetime.fromtimestamp(fake_clock["now"] + 30, tz=UTC)
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .sleep_until(until).then(appender("a", "-a")).commit())

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.result == Msg(message="m-a")
    assert fake_clock["slept"] == [pytest.approx(30)]


async def test_sleep_until_in_the_past_does_not_wait(fake_clock):
    until = datetime.fromtimestamp(fake_clock["now"] - 30, tz=UTC)
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .sleep_until(until).then(appender("a", "-a")).commit())

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "success", result.error
    assert all(s <= 0 for s in fake_clock["slept"])


async def test_sleep_until_function(fake_clock):
    def when(input_data):
        return datetime.fromtimestamp(fake_clock["now"] + input_data.value, tz=UTC)

    wf = (create_workflow(id="wf", input_schema=Value, output_schema=Value)
          .sleep_until(when).commit())

    result = await wf.create_run().start(input_data={"value": 12})

    assert result.result == Value(value=12)
    assert fake_clock["slept"] == [pytest.approx(12)]


# ---------------------------------------------------------------------------------------
# foreach concurrency
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 3, 10])
async def test_foreach_max_in_flight_is_exactly_the_concurrency(limit):
    in_flight = 0
    peak = 0

    async def work(input_data: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return input_data * 10

    step = create_step(id="work", input_schema=int, output_schema=int, execute=work)
    wf = (create_workflow(id="wf", input_schema=list[int], output_schema=list[int])
          .foreach(step, concurrency=limit).commit())
    items = list(range(25))

    result = await wf.create_run().start(input_data=items)

    assert result.status == "success", result.error
    assert peak == limit
    assert result.result == [i * 10 for i in items]


async def test_foreach_default_concurrency_is_one():
    in_flight = 0
    peak = 0

    async def work(input_data: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return input_data

    step = create_step(id="work", input_schema=int, output_schema=int, execute=work)
    wf = (create_workflow(id="wf", input_schema=list[int], output_schema=list[int])
          .foreach(step).commit())

    await wf.create_run().start(input_data=[1, 2, 3, 4])

    assert peak == 1


async def test_foreach_is_a_sliding_window():
    """A slow item does not hold back the items after it (no fixed batches)."""
    fast_done = asyncio.Event()
    finished: list[str] = []
    fast_count = 0

    async def work(input_data: str) -> str:
        nonlocal fast_count
        if input_data == "slow":
            # With batches of 2, "fast-3" would only start after this item: it would wait
            # here in vain until the timeout.
            await asyncio.wait_for(fast_done.wait(), timeout=3)
        else:
            await asyncio.sleep(0.001)
            fast_count += 1
            if fast_count == 3:
                fast_done.set()
        finished.append(input_data)
        return input_data

    step = create_step(id="work", input_schema=str, output_schema=str, execute=work)
    wf = (create_workflow(id="wf", input_schema=list[str], output_schema=list[str])
          .foreach(step, concurrency=2).commit())
    items = ["slow", "fast-1", "fast-2", "fast-3"]

    result = await wf.create_run().start(input_data=items)

    assert result.status == "success", result.error
    assert sorted(finished[:3]) == ["fast-1", "fast-2", "fast-3"]
    assert finished[3] == "slow"
    assert result.result == items


async def test_foreach_output_in_input_order_when_items_finish_in_reverse():
    n = 5
    done = [asyncio.Event() for _ in range(n)]
    finished: list[int] = []

    async def work(input_data: int) -> int:
        if input_data + 1 < n:
            await asyncio.wait_for(done[input_data + 1].wait(), timeout=3)
        finished.append(input_data)
        done[input_data].set()
        return input_data * 100

    step = create_step(id="work", input_schema=int, output_schema=int, execute=work)
    wf = (create_workflow(id="wf", input_schema=list[int], output_schema=list[int])
          .foreach(step, concurrency=n).commit())

    result = await wf.create_run().start(input_data=list(range(n)))

    assert result.status == "success", result.error
    assert finished == [4, 3, 2, 1, 0]
    assert result.result == [0, 100, 200, 300, 400]


async def test_foreach_on_empty_list_gives_empty_list():
    step = create_step(id="work", input_schema=int, output_schema=int,
                       execute=lambda input_data: input_data)
    wf = (create_workflow(id="wf", input_schema=list[int], output_schema=list[int])
          .foreach(step, concurrency=3).commit())

    result = await wf.create_run().start(input_data=[])

    assert result.status == "success", result.error
    assert result.result == []


async def test_foreach_item_failure_fails_the_run_naming_the_item():
    def work(input_data: int) -> int:
        if input_data == 2:
            raise ValueError("bad item")
        return input_data

    step = create_step(id="work", input_schema=int, output_schema=int, execute=work)
    wf = (create_workflow(id="wf", input_schema=list[int], output_schema=list[int])
          .foreach(step).commit())

    result = await wf.create_run().start(input_data=[0, 1, 2, 3])

    assert result.status == "failed"
    assert "work[2]" in result.error
    assert result.steps["work[2]"].status == "failed"
    assert result.steps["work"].status == "failed"


# ---------------------------------------------------------------------------------------
# invoke / run_sync
# ---------------------------------------------------------------------------------------


def test_invoke_from_sync_code():
    wf = chain(appender("a", "-a"))

    result = wf.invoke({"message": "m"})

    assert result.status == "success"
    assert result.result == Msg(message="m-a")


def test_invoke_passes_start_options():
    def look(input_data, runtime_context):
        return {"message": runtime_context["who"]}

    wf = chain(create_step(id="s", input_schema=Msg, output_schema=Msg, execute=look))

    result = wf.invoke({"message": "m"}, runtime_context={"who": "ada"})

    assert result.result == Msg(message="ada")


def test_run_sync_from_sync_code():
    wf = chain(appender("a", "-a"))

    result = run_sync(wf.create_run().start(input_data={"message": "m"}))

    assert result.result == Msg(message="m-a")


async def test_invoke_inside_a_running_loop():
    wf = chain(appender("a", "-a"))

    result = wf.invoke({"message": "m"})

    assert result.status == "success"
    assert result.result == Msg(message="m-a")


async def test_run_sync_inside_a_running_loop():
    async def answer():
        await asyncio.sleep(0)
        return 42

    assert run_sync(answer()) == 42
    # the loop is still usable afterwards
    assert await answer() == 42


# ---------------------------------------------------------------------------------------
# branch semantics
# ---------------------------------------------------------------------------------------


async def test_branch_with_no_true_condition_hands_on_empty_dict():
    seen = []

    def capture(input_data):
        seen.append(input_data)
        return {"message": "after"}

    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .branch([(lambda input_data: False, passthrough("a")),
                   (lambda: False, passthrough("b"))])
          .then(create_step(id="after", input_schema=dict[str, Any], output_schema=Msg,
                            execute=capture))
          .commit())

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "success", result.error
    assert seen == [{}]
    assert "a" not in result.steps and "b" not in result.steps


async def test_branch_first_true_wins_and_later_conditions_are_not_evaluated():
    calls = {"c1": 0, "c2": 0, "c3": 0}

    def cond(name: str, value: bool):
        async def check(input_data):
            calls[name] += 1
            return value

        return check

    wf = (create_workflow(id="wf", input_schema=Msg)
          .branch([(cond("c1", False), appender("a", "-a")),
                   (cond("c2", True), appender("b", "-b")),
                   (cond("c3", True), appender("c", "-c"))])
          .commit())

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "success", result.error
    assert result.result == {"b": Msg(message="m-b")}
    assert calls == {"c1": 1, "c2": 1, "c3": 0}
    assert "a" not in result.steps and "c" not in result.steps


async def test_conditions_receive_injected_parameters():
    seen = []

    def cond(input_data, get_init_data, runtime_context, get_step_result):
        seen.append((input_data, get_init_data(), runtime_context["k"],
                     get_step_result("first")))
        return True

    wf = (create_workflow(id="wf", input_schema=Msg)
          .then(appender("first", "-1"))
          .branch([(cond, appender("b", "-b"))])
          .commit())

    await wf.create_run().start(input_data={"message": "m"}, runtime_context={"k": "v"})

    assert seen == [(Msg(message="m-1"), Msg(message="m"), "v", Msg(message="m-1"))]


async def test_loop_condition_gets_iteration_count():
    counts: list[int] = []

    async def cond(input_data, iteration_count):
        counts.append(iteration_count)
        return iteration_count >= 3

    wf = (create_workflow(id="wf", input_schema=Value, output_schema=Value)
          .dountil(create_step(id="inc", input_schema=Value, output_schema=Value,
                               execute=lambda input_data: {"value": input_data.value + 1}),
                   cond)
          .commit())

    result = await wf.create_run().start(input_data={"value": 0})

    assert counts == [1, 2, 3]
    assert result.result == Value(value=3)


# ---------------------------------------------------------------------------------------
# conditions / map / sleep functions that raise
# ---------------------------------------------------------------------------------------


def position_named(error: str, position: int) -> bool:
    return re.search(rf"\b{position}\b", error) is not None


async def test_raising_branch_condition_fails_the_run_naming_the_construct():
    def boom(input_data):
        raise ValueError("cond exploded")

    wf = (create_workflow(id="wf", input_schema=Msg)
          .then(passthrough("first"))
          .branch([(boom, passthrough("b"))])
          .commit())

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "failed"
    assert "cond exploded" in result.error
    assert "branch" in result.error
    assert position_named(result.error, 2)
    assert isinstance(result.exception, ValueError)
    assert "b" not in result.steps


async def test_raising_loop_condition_fails_the_run_naming_the_construct():
    async def boom(input_data):
        raise KeyError("loop cond exploded")

    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .then(passthrough("first"))
          .then(passthrough("second"))
          .dowhile(passthrough("again"), boom)
          .commit())

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "failed"
    assert "loop cond exploded" in result.error
    assert "dowhile" in result.error
    assert position_named(result.error, 3)


async def test_raising_map_function_fails_the_run_naming_the_construct():
    def boom(input_data):
        raise ZeroDivisionError("map exploded")

    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .then(passthrough("first"))
          .map(boom)
          .then(passthrough("never"))
          .commit())

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "failed"
    assert "map exploded" in result.error
    assert "map" in result.error
    assert position_named(result.error, 2)
    assert isinstance(result.exception, ZeroDivisionError)
    assert "never" not in result.steps


async def test_raising_sleep_function_fails_the_run_naming_the_construct(fake_clock):
    def boom(input_data):
        raise RuntimeError("sleep exploded")

    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Msg)
          .then(passthrough("first"))
          .sleep(boom)
          .commit())

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "failed"
    assert "sleep exploded" in result.error
    assert "sleep" in result.error
    assert position_named(result.error, 2)
    assert fake_clock["slept"] == []


async def test_map_return_is_validated_by_the_next_step():
    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Count)
          .map(lambda input_data: {"count": "not a number"})
          .then(create_step(id="needs-count", input_schema=Count, output_schema=Count,
                            execute=lambda input_data: input_data))
          .commit())

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "failed"
    assert "needs-count" in result.error
    assert "count" in result.error


# ---------------------------------------------------------------------------------------
# declarative .map
# ---------------------------------------------------------------------------------------


class Meta(BaseModel):
    source: str
    whole: Formatted
    n: int


class Mapped(BaseModel):
    greeting: str
    orig: str
    user: str
    tag: str
    meta: Meta


async def test_declarative_map_sources():
    format_step = create_step(id="format-step", input_schema=Msg, output_schema=Formatted,
                              execute=lambda input_data: {"formatted": input_data.message.upper()})
    count_step = create_step(id="count-step", input_schema=Msg, output_schema=Count,
                             execute=lambda input_data: {"count": len(input_data.message)})
    seen = []

    def consume(input_data):
        seen.append(input_data)
        return input_data

    wf = (create_workflow(id="wf", input_schema=Msg, output_schema=Mapped)
          .parallel([format_step, count_step])
          .map({
              "greeting": from_step(format_step, "formatted"),
              "orig": from_init("message"),
              "user": from_context("user"),
              "tag": const("v1"),
              "meta": {
                  "source": const("seed"),
                  "whole": from_step("format-step"),
                  "n": from_step("count-step", "count"),
              },
          })
          .then(create_step(id="consume", input_schema=Mapped, output_schema=Mapped,
                            execute=consume))
          .commit())

    result = await wf.create_run().start(input_data={"message": "hello"},
                                         runtime_context={"user": "ada"})

    assert result.status == "success", result.error
    expected = Mapped(greeting="HELLO", orig="hello", user="ada", tag="v1",
                      meta=Meta(source="seed", whole=Formatted(formatted="HELLO"), n=5))
    assert seen == [expected]
    assert result.result == expected


async def test_declarative_map_const_keeps_structured_values():
    seen = []
    wf = (create_workflow(id="wf", input_schema=Msg)
          .map({"items": const([1, 2, 3]), "nested": {"deep": {"flag": const(True)}}})
          .then(create_step(id="consume", input_schema=dict[str, Any],
                            output_schema=dict[str, Any],
                            execute=lambda input_data: seen.append(input_data) or input_data))
          .commit())

    await wf.create_run().start(input_data={"message": "m"})

    assert seen == [{"items": [1, 2, 3], "nested": {"deep": {"flag": True}}}]


async def test_declarative_map_missing_context_key_fails_the_run():
    wf = (create_workflow(id="wf", input_schema=Msg)
          .map({"user": from_context("user")})
          .commit())

    result = await wf.create_run().start(input_data={"message": "m"})

    assert result.status == "failed"
    assert "user" in result.error
