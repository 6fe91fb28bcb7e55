"""``run.feed(...)``: the public, coalesced and bounded way a user interface follows a run."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from pydantic import BaseModel

from flownb import RunFeed, create_step, create_workflow


class N(BaseModel):
    n: int


def chain(wf_id: str, length: int, *, pause: float = 0.0):
    async def inc(input_data: N) -> dict[str, int]:
        if pause:
            await asyncio.sleep(pause)
        return {"n": input_data.n + 1}

    wf = create_workflow(id=wf_id, input_schema=N, output_schema=N)
    for i in range(length):
        wf = wf.then(create_step(id=f"s{i}", input_schema=N, output_schema=N, execute=inc))
    return wf.commit()


async def test_a_feed_counts_every_event_keeps_the_last_and_hears_run_level_events():
    run = chain("counted", 5).create_run()
    heard: list[str | None] = []
    feed = run.feed(lambda e: heard.append(None if e is None else e.type), keep=3)
    assert isinstance(feed, RunFeed)
    await run.start({"n": 0})
    assert feed.count == 2 * 5 + 2  # a start and a result per step, the run's start and finish
    assert [e.type for e in feed.events()] == ["step-start", "step-result", "workflow-finish"]
    assert [e.type for e in feed.events(last=1)] == ["workflow-finish"]
    assert feed.events(last=0) == []
    assert heard[0] == "workflow-start" and heard[-1] == "workflow-finish"
    assert not feed.ticking  # the ticks stop with the run


async def test_a_watched_runs_finish_payload_is_the_same_for_a_feed_and_the_watcher():
    run = chain("same", 2).create_run()
    feed = run.feed()
    watched = []
    run.watch(watched.append)
    result = await run.start({"n": 1})
    finish = feed.events(last=1)[0]
    assert finish.type == "workflow-finish" == watched[-1].type
    assert finish.payload == watched[-1].payload == result.to_dict()

    lone = chain("lone", 1).create_run()  # feeds alone: the status; the result is run.result
    only = lone.feed()
    result = await lone.start({"n": 1})
    assert only.events(last=1)[0].payload == {"status": "success"}
    assert lone.result is result and result.result is not None


async def test_a_feed_alone_reads_the_step_events_a_watcher_gets():
    """Feeds alone: the engine keeps a step's start and success with its result and the feed
    builds their payloads when read. They equal what a watcher of the same run gets, for
    steps and foreach items, and a watcher added later makes the engine build them again."""

    async def double(input_data: N) -> dict[str, int]:
        return {"n": input_data.n * 2}

    def workflow(wf_id: str):
        return (create_workflow(id=wf_id, input_schema=list[N], output_schema=list[N])
                .foreach(create_step(id="double", input_schema=N, output_schema=N,
                                     execute=double), concurrency=2)
                .commit())

    data = [{"n": i} for i in range(4)]
    fed = workflow("fed").create_run()
    feed = fed.feed(keep=50)
    assert fed._ex.feed_only is fed._ex.buffer
    await fed.start(data)
    watched_run = workflow("fed").create_run()
    watched = []
    watched_run.watch(watched.append)
    assert watched_run._ex.feed_only is None
    await watched_run.start(data)

    def steps(events):
        return [(e.type, e.step_path, e.payload) for e in events if e.step_path]

    got = steps(feed.events())
    assert got == steps(watched) and len(got) == 2 * 5  # the foreach and its 4 items
    assert got[1] == ("step-start", "double[0]", {"payload": N(n=0), "resumed": False})
    assert got[-1] == ("step-result", "double",
                       {"status": "success", "output": [N(n=0), N(n=2), N(n=4), N(n=6)],
                        "attempts": 1})
    item = fed.steps["double[3]"]
    assert [e.timestamp for e in feed.events() if e.step_path == "double[3]"] == \
        [item.started_at, item.ended_at]

    both = workflow("fed").create_run()
    both_feed = both.feed(keep=50)
    both.watch(lambda event: None)  # a listener: payloads built as they happen
    assert both._ex.feed_only is None
    await both.start(data)
    assert steps(both_feed.events()) == got


async def test_on_change_is_coalesced_to_the_interval():
    run = chain("paced", 30, pause=0.005).create_run()
    ticks: list[float] = []
    feed = run.feed(lambda e: ticks.append(time.perf_counter()) if e is None else None,
                    interval=0.05)
    started = time.perf_counter()
    await run.start({"n": 0})
    elapsed = time.perf_counter() - started
    assert feed.count == 62
    assert 2 <= len(ticks) <= elapsed / 0.05 + 1  # >= 150 ms of steps: several ticks
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert all(g >= 0.04 for g in gaps)


async def test_closing_a_feed_stops_counting_and_a_closed_run_is_not_observed():
    run = chain("closed", 3).create_run()
    first, second = run.feed(), run.feed()
    first.close()
    first.close()  # idempotent
    assert first.closed and first.count == 0 and first.events() == []
    await run.start({"n": 0})
    assert second.count == 8
    second.close()
    assert second.count == 8  # keeps its last value
    assert run._ex.buffer is None and not run._ex.observed


async def test_a_feed_opened_mid_run_counts_from_then_and_ticks():
    gate, inside = asyncio.Event(), asyncio.Event()

    async def wait(input_data: N) -> dict[str, int]:
        inside.set()
        await gate.wait()
        return {"n": input_data.n}

    wf = (create_workflow(id="late", input_schema=N, output_schema=N)
          .then(create_step(id="a", input_schema=N, output_schema=N,
                            execute=lambda input_data: input_data))
          .then(create_step(id="b", input_schema=N, output_schema=N, execute=wait))
          .commit())
    run = wf.create_run()
    task = asyncio.ensure_future(run.start({"n": 0}))
    await inside.wait()  # b has started
    feed = run.feed(interval=0.01)
    assert feed.ticking and feed.count == 0 and feed.events() == []
    gate.set()
    await task
    assert feed.count == 2  # b's result and the run's finish
    assert [e.type for e in feed.events()] == ["step-result", "workflow-finish"]


async def test_a_failing_on_change_is_logged_and_the_run_goes_on(caplog):
    run = chain("rude", 2).create_run()

    def rude(event):
        raise RuntimeError("a view broke")

    run.feed(rude)
    result = await run.start({"n": 0})
    assert result.status == "success"
    assert "a feed of run" in caplog.text


def test_an_interval_must_be_positive():
    run = chain("bad", 1).create_run()
    with pytest.raises(ValueError, match="interval"):
        run.feed(interval=0)
