"""The view model (render/model.py) on exact values: every time comes from a fake clock that
the engine stamps results with and the model reads, and moves only when a test moves it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from flownb import RetryConfig, create_step, create_workflow
from flownb.core.results import StepResult
from flownb.render import model as model_module
from flownb.render.model import (
    EventRow,
    ItemView,
    NodeView,
    Notes,
    Progress,
    Row,
    RunModeler,
    Suspension,
    _fold,
    _fold_chunks,
    _Span,
    first_line,
    preview,
    waiting_text,
)
from flownb.storage import MemoryStore


class N(BaseModel):
    n: int


class Answer(BaseModel):
    ok: bool


class Clock:
    """A clock that moves only when told (``tick``); times are binary fractions, so every
    difference below is exact."""

    def __init__(self, start: float = 100.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def tick(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The engine's clock (``flownb.core.clock.now``) and the model's, at 100.0."""
    fake = Clock()
    monkeypatch.setattr("flownb.core.clock.now", fake)
    return fake


def step(step_id: str, execute: Any, **kwargs: Any) -> Any:
    return create_step(id=step_id, input_schema=N, output_schema=N, execute=execute, **kwargs)


async def until(condition: Any) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the run never got there")


async def test_a_chain_while_it_runs_and_once_it_finished(clock: Clock) -> None:
    gate = asyncio.Event()

    def add(input_data: N) -> N:
        clock.tick(0.25)
        return N(n=input_data.n + 1)

    async def wait(input_data: N) -> N:
        await gate.wait()
        clock.tick(0.5)
        return input_data

    wf = (create_workflow(id="chain", input_schema=N, output_schema=N)
          .then(step("add", add)).then(step("wait", wait)).commit())
    run = wf.create_run(run_id="r1")
    modeler = RunModeler(wf.graph.description, now=clock)
    assert modeler.node_paths == ["add", "wait"]

    before = modeler.of_run(run)
    assert (before.status, before.started_at, before.seconds, before.running) == \
        ("pending", None, None, False)
    assert before.statuses == {"add": "pending", "wait": "pending"}
    assert before.rows == []

    task = asyncio.ensure_future(run.start({"n": 1}))
    await until(lambda: "wait" in run.steps)
    clock.tick(0.75)  # 100.25 + 0.75: "wait" has run for 0.75 s
    model = modeler.of_run(run)
    assert (model.run_id, model.workflow_id, model.status) == ("r1", "chain", "running")
    assert (model.started_at, model.seconds, model.running) == (100.0, 1.0, True)
    assert model.nodes["add"] == NodeView(
        "add", kind="step", holder="then", status="success", started_at=100.0,
        ended_at=100.25, seconds=0.25, attempts=1, output='{"n": 2}')
    assert model.nodes["wait"] == NodeView(
        "wait", kind="step", holder="then", status="running", started_at=100.25,
        seconds=0.75, running=True, attempts=1)  # on its first attempt
    assert model.rows == [Row("add", "success", 0.25, False, 1, '{"n": 2}', None),
                          Row("wait", "running", 0.75, True, 1, "", None)]

    gate.set()
    await task
    done = modeler.of_run(run)
    assert (done.status, done.seconds, done.running, done.error) == ("success", 1.5, False, None)
    assert [(r.path, r.status, r.seconds) for r in done.rows] == \
        [("add", "success", 0.25), ("wait", "success", 1.25)]
    assert done.suspended == []


async def test_a_foreach_knows_its_total_before_its_items_finish(clock: Clock) -> None:
    gate = asyncio.Event()

    async def double(input_data: N) -> N:
        if input_data.n == 2:
            await gate.wait()
        clock.tick(0.5)
        return N(n=input_data.n * 2)

    wf = (create_workflow(id="fan", input_schema=list[N], output_schema=list[N])
          .foreach(step("double", double), concurrency=1).commit())
    run = wf.create_run()
    modeler = RunModeler(wf.graph.description, now=clock)
    task = asyncio.ensure_future(run.start([{"n": i} for i in range(6)]))
    await until(lambda: "double[2]" in run.steps)
    clock.tick(0.25)
    node = modeler.of_run(run).nodes["double"]
    assert (node.holder, node.status, node.seconds, node.running) == \
        ("foreach", "running", 1.25, True)
    assert node.progress == Progress(
        done=2, total=6, counts={"success": 2, "running": 1},
        open=[ItemView("double[2]", "running", 0.25, True, 1, None)])
    gate.set()
    await task
    node = modeler.of_run(run).nodes["double"]
    assert node.progress == Progress(done=6, total=6, counts={"success": 6})
    assert (node.status, node.seconds, node.output) == ("success", 3.25, "")
    row = modeler.of_run(run).rows[0]
    assert (row.path, row.progress) == ("double", node.progress)


async def test_a_view_that_saw_the_start_shows_a_long_foreach_as_a_full_read_does(
        clock: Clock) -> None:
    """A live view knows when its run started: a foreach's items are then read without their
    times (its node shows its own), in chunks too, and the model is the same as the full
    read's; a modeler that read them so reads them whole when asked without the start."""

    async def double(input_data: N) -> N:
        clock.tick(0.125)
        if input_data.n == 1200:
            raise ValueError("twelve hundred")
        return N(n=input_data.n * 2)

    wf = (create_workflow(id="long-fan", input_schema=list[N], output_schema=list[N])
          .then(create_step(id="prep", input_schema=list[N], output_schema=list[N],
                            execute=lambda input_data: input_data))
          .foreach(step("double", double), concurrency=3).commit())
    run = wf.create_run()
    clock.tick(1.0)
    await run.start([{"n": i} for i in range(1300)])  # three chunks of items, one failed
    full = RunModeler(wf.graph.description, now=clock).of_run(run)
    lean_modeler = RunModeler(wf.graph.description, now=clock)
    lean = lean_modeler.of_run(run, started=full.started_at)
    assert lean.nodes == full.nodes and lean.rows == full.rows
    assert (lean.status, lean.seconds, lean.error) == (full.status, full.seconds, full.error)
    node = lean.nodes["double"]
    assert node.progress is not None and node.progress.counts["failed"] == 1
    assert node.status == "failed" and node.error is not None
    assert node.error.endswith("ValueError: twelve hundred")
    assert [i.path for i in node.progress.open] == ["double[1200]"]
    assert lean_modeler.of_run(run) == full  # its kept chunks, read again with their times


async def test_a_failed_step_and_a_failed_item_give_their_first_error_line(clock: Clock) -> None:
    def boom(input_data: N) -> N:
        clock.tick(0.5)
        if input_data.n == 1:
            raise ValueError("bad \x1b[2J\nsecond line")
        return input_data

    retried = step("boom", boom, retries=RetryConfig(attempts=2))
    wf = create_workflow(id="fails", input_schema=N, output_schema=N).then(retried).commit()
    run = wf.create_run()
    await run.start({"n": 1})
    model = RunModeler(wf.graph.description, now=clock).of_run(run)
    assert model.nodes["boom"] == NodeView(
        "boom", kind="step", holder="then", status="failed", started_at=100.0,
        ended_at=101.5, seconds=1.5, attempts=3, error="ValueError: bad \\x1b[2J")
    assert (model.status, model.error) == ("failed", "step 'boom' failed: ValueError: bad \\x1b[2J")

    items = (create_workflow(id="items", input_schema=list[N], output_schema=list[N])
             .foreach(step("check", boom), concurrency=1).commit())
    run = items.create_run()
    await run.start([{"n": 0}, {"n": 1}, {"n": 2}])
    node = RunModeler(items.graph.description, now=clock).of_run(run).nodes["check"]
    assert node.status == "failed"
    assert node.error == "step 'check[1]' failed: ValueError: bad \\x1b[2J"
    assert node.progress == Progress(
        done=1, total=3, counts={"success": 1, "failed": 1},
        open=[ItemView("check[1]", "failed", 0.5, False, 1, "ValueError: bad \\x1b[2J")])


async def test_a_suspended_step_and_its_payload(clock: Clock) -> None:
    def ask(input_data: N, resume_data: Answer | None, suspend: Any) -> Any:
        if resume_data is None:
            clock.tick(0.25)
            return suspend({"question": f"keep {input_data.n}?"})
        return input_data

    review = create_step(id="review", input_schema=N, output_schema=N, resume_schema=Answer,
                         execute=ask)
    inner = create_workflow(id="inner", input_schema=N, output_schema=N).then(review).commit()
    wf = create_workflow(id="asks", input_schema=N, output_schema=N).then(inner).commit()
    run = wf.create_run()
    await run.start({"n": 7})
    model = RunModeler(wf.graph.description, now=clock).of_run(run)
    assert model.status == "suspended" and model.seconds == 0.25
    assert model.suspended == [Suspension("inner.review", {"question": "keep 7?"}, 100.25)]
    assert model.statuses == {"inner": "suspended", "inner.review": "suspended"}
    assert model.nodes["inner"].kind == "workflow"
    await run.resume({"ok": True})
    model = RunModeler(wf.graph.description, now=clock).of_run(run)
    assert (model.status, model.suspended) == ("success", [])


async def test_nested_workflows_branches_and_what_a_run_went_past(clock: Clock) -> None:
    def same(input_data: N) -> N:
        clock.tick(0.125)
        return input_data

    def big(input_data: N) -> bool:
        return input_data.n > 10

    inner = (create_workflow(id="inner", input_schema=N, output_schema=N)
             .then(step("a", same)).then(step("b", same)).commit())
    last = create_step(id="last", input_schema=Any, output_schema=Any,
                       execute=lambda input_data: clock.tick(0.125))
    wf = (create_workflow(id="outer", input_schema=N, output_schema=Any)
          .branch([(big, inner), (lambda input_data: True, step("small", same))])
          .then(last).commit())
    run = wf.create_run()
    await run.start({"n": 1})
    model = RunModeler(wf.graph.description, now=clock).of_run(run)
    # The arm not taken is skipped, and so is everything inside it.
    assert model.statuses == {"inner": "skipped", "inner.a": "skipped", "inner.b": "skipped",
                              "small": "success", "last": "success"}
    assert [r.path for r in model.rows] == ["small", "last"]
    assert model.seconds == 0.25

    # The same rules on results alone, mid-run: an arm not taken is skipped as soon as
    # another arm started; nodes after the running one stay pending.
    steps = {"small": StepResult("running", started_at=100.0)}
    mid = RunModeler(wf.graph.description, now=clock).model(steps, status="running")
    assert mid.statuses == {"inner": "skipped", "inner.a": "skipped", "inner.b": "skipped",
                            "small": "running", "last": "pending"}
    # A failed run stops: what it never reached stays pending.
    steps = {"small": StepResult("failed", started_at=100.0, ended_at=100.5, error="x")}
    failed = RunModeler(wf.graph.description, now=clock).model(steps, status="failed")
    assert failed.statuses["last"] == "pending"


async def test_a_stored_snapshot_reads_like_the_live_run(clock: Clock) -> None:
    def ask(input_data: N, resume_data: Answer | None, suspend: Any) -> Any:
        clock.tick(0.5)
        if resume_data is None and input_data.n == 1:
            return suspend({"why": "look"})
        return input_data

    store = MemoryStore()
    item = create_step(id="item", input_schema=N, output_schema=N, resume_schema=Answer,
                       execute=ask)
    wf = (create_workflow(id="stored", input_schema=list[N], output_schema=list[N],
                          storage=store)
          .foreach(item, concurrency=1).commit())
    run = wf.create_run(run_id="s1")
    await run.start([{"n": 0}, {"n": 1}, {"n": 2}])
    snap = store.load("s1")
    assert snap is not None and isinstance(snap.steps["item"], dict)
    modeler = RunModeler(snap.graph)
    stored, live = modeler.of_snapshot(snap), modeler.of_run(run)
    assert stored == live
    assert stored.suspended == [Suspension("item[1]", {"why": "look"}, 101.0)]
    assert stored.nodes["item"].progress == Progress(
        done=2, total=3, counts={"success": 2, "suspended": 1},
        open=[ItemView("item[1]", "suspended", 0.5, False, 1, None)])


async def test_recent_events_and_the_json_the_browser_receives(clock: Clock) -> None:
    def same(input_data: N) -> N:
        clock.tick(0.5)
        return input_data

    wf = create_workflow(id="one", input_schema=N, output_schema=N).then(step("s", same)).commit()
    run = wf.create_run(run_id="e1")
    feed = run.feed(None, keep=3)
    await run.start({"n": 1})
    model = RunModeler(wf.graph.description, now=clock).of_run(
        run, events=feed.events(), events_total=feed.count, started=100.0)
    assert model.events_total == 4
    assert model.events == [
        EventRow("step-start", "s", 100.0, 0.0, '{"payload": {"n": 1}, "resumed": false}'),
        EventRow("step-result", "s", 100.5, 0.5,
                 '{"status": "success", "output": {"n": 1}, "attempts": 1}'),
        EventRow("workflow-finish", "", 100.5, 0.5, '{"status": "success"}'),
    ]
    feed.close()
    data = model.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert [n["path"] for n in data["nodes"]] == ["s"]
    assert data["rows"][0] == {"path": "s", "status": "success", "seconds": 0.5,
                               "running": False, "attempts": 1, "output": '{"n": 1}',
                               "error": None, "progress": None}


def test_loops_count_iterations_and_notes_carry_what_only_events_say(clock: Clock) -> None:
    again = step("again", lambda input_data: input_data)
    wf = (create_workflow(id="loop", input_schema=N, output_schema=N)
          .dountil(again, lambda input_data, iteration_count: True)
          .sleep(2).commit())
    notes = Notes()

    class E:  # the fields of an Event the notes read
        def __init__(self, type: str, step_path: str, payload: dict[str, Any]) -> None:
            self.type, self.step_path, self.payload = type, step_path, payload

    notes.see(E("step-output", "again", {"done": 3}))
    notes.see(E("step-waiting", "sleep-1", {"seconds": 2}))
    steps = {"again": StepResult("running", started_at=100.0),
             "sleep-1": StepResult("running", started_at=100.0)}
    model = RunModeler(wf.graph.description, now=clock).model(
        steps, status="running", iterations={"again": 2}, emitted=notes.emitted,
        waiting=notes.waiting)
    assert (model.nodes["again"].iterations, model.nodes["again"].emitted) == (3, {"done": 3})
    assert (model.nodes["sleep-1"].iterations, model.nodes["sleep-1"].waiting) == \
        (None, "waiting 2 s")
    notes.see(E("step-start", "sleep-1", {}))
    assert notes.waiting == {}


def test_a_stored_run_shows_no_time_so_far_without_a_clock() -> None:
    steps = {"s": StepResult("running", started_at=10.0).to_dict()}
    desc = {"id": "w", "kind": "workflow", "entries": [
        {"kind": "step", "step": {"id": "s", "kind": "step"}}]}
    model = RunModeler(desc).model(steps, status="running", clock=lambda: None)
    assert (model.nodes["s"].seconds, model.nodes["s"].running) == (None, False)
    assert (model.seconds, model.running) == (0.0, True)
    later = RunModeler(desc).model(steps, status="running", clock=lambda: 12.0)
    assert (later.nodes["s"].seconds, later.seconds) == (2.0, 2.0)


def test_results_the_description_does_not_name_still_show() -> None:
    desc = {"id": "w", "kind": "workflow", "entries": []}
    steps = {"gone": StepResult("success", started_at=1.0, ended_at=1.5),
             "gone[0]": StepResult("success", started_at=1.0, ended_at=1.5)}
    model = RunModeler(desc).model(steps, status="success")
    assert model.nodes["gone"].holder == ""
    assert model.nodes["gone"].progress == Progress(done=1, counts={"success": 1})


def test_small_helpers() -> None:
    assert first_line("  ValueError: no\n  at line 2") == "ValueError: no"
    assert first_line("\u202eevil\ttab") == "\\u202eevil\\ttab"
    assert first_line("") == ""
    assert preview(None) == "" and preview({"a": "\x9b"}) == '{"a": "\\u009b"}'
    assert preview(list(range(10_000)), 10) == "[0, 1, 2,…"
    assert preview({str(i): i for i in range(1000)}, 12) == '{"0": 0, "1…'
    assert waiting_text({}) == "waiting"
    assert waiting_text({"seconds": 1.5}) == "waiting 1.5 s"


# -- folding many results at once (the last update of a large foreach) -----------------------


def _item(status: str, start: float | None, end: float | None, *, error: str | None = None,
          attempts: int = 1, cached: dict[str, str] | None = None) -> StepResult:
    return StepResult(status, payload={"n": 1}, started_at=start, ended_at=end,
                      attempts=attempts, error=error, cached_from=cached)


def test_fold_of_many_items_is_what_seeing_them_in_turn_shows() -> None:
    """The fold gathers a node's results field by field: what it shows is still the first
    unfinished items by index, counts in the order statuses first show, the first error,
    the earliest start and the latest end, and the node of results the graph lacks."""
    wf = (create_workflow(id="fold", input_schema=list[N], output_schema=list[N])
          .foreach(create_step(id="each", input_schema=N, output_schema=N,
                               execute=lambda input_data: input_data))
          .commit())
    modeler = RunModeler(wf.graph.description, now=lambda: 100.0)
    steps: dict[str, Any] = {"each": StepResult("running", payload=[{}] * 12, started_at=1.0,
                                                attempts=1)}
    for i in range(10):
        steps[f"each[{i}]"] = _item("success", 1.0 + i, 2.0 + i)
    steps["each[10]"] = _item("failed", 0.5, 30.0, error="boom\nmore", attempts=3)
    steps["each[11]"] = _item("running", 5.0, None)
    steps["stray[0]"] = _item("suspended", 7.0, 8.0, cached={"run_id": "r"})
    steps["stray[1]"] = _item("odd", 7.0, 9.0, error="x")
    model = modeler.model(steps, status="running")
    progress = model.nodes["each"].progress
    assert progress is not None
    assert (progress.done, progress.total, progress.more) == (10, 12, 0)
    assert list(progress.counts.items()) == [("success", 10), ("failed", 1), ("running", 1)]
    assert [(i.path, i.status, i.seconds, i.running, i.attempts, i.error)
            for i in progress.open] == [("each[10]", "failed", 29.5, False, 3, "boom"),
                                        ("each[11]", "running", 95.0, True, 1, None)]
    each = model.nodes["each"]
    assert (each.status, each.seconds, each.running, each.error) == \
        ("failed", 99.0, True, "each[10]: boom")
    stray = model.nodes["stray"]
    assert (stray.status, stray.started_at, stray.ended_at, stray.seconds, stray.error) == \
        ("suspended", 7.0, 9.0, 2.0, "stray[1]: x")
    assert stray.progress is not None and stray.progress.more == 0
    assert [i.path for i in stray.progress.open] == ["stray[0]", "stray[1]"]
    assert not stray.reused  # one of its two items was reused
    assert [r.path for r in model.rows] == ["each", "stray"]
    assert (model.started_at, model.seconds) == (0.5, 99.5)


def test_fold_lists_the_first_unfinished_items_of_many_by_index() -> None:
    modeler = RunModeler({"id": "w", "entries": []}, now=lambda: 50.0)
    steps: dict[str, Any] = {}
    kinds = ["success", "failed", "canceled", "running", "success", "suspended"]
    for i in range(60):
        status = kinds[i % len(kinds)]
        steps[f"x[{i}]"] = _item(status, float(i), None if status == "running" else i + 1.0)
    progress = modeler.model(steps, status="running").nodes["x"].progress
    assert progress is not None
    assert [i.path for i in progress.open] == ["x[1]", "x[2]", "x[3]", "x[5]", "x[7]"]
    assert progress.done == 20 and progress.more == 40 - 5
    assert list(progress.counts) == ["success", "failed", "canceled", "running", "suspended"]
    assert modeler.model(steps, status="running").nodes["x"].status == "failed"


def test_a_view_maps_each_result_path_to_its_node_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """More item paths than the shared path cache holds: the modeler of a view still maps
    each path once, not again on every update (that cost 0.1 s an update at 100,000 items)."""
    from flownb.render import status

    monkeypatch.setattr(status, "_NODES_MAX", 4)
    monkeypatch.setattr(status, "_NODES", {})  # emptied: as if past its bound
    monkeypatch.setattr(model_module, "_NODES", status._NODES)
    mapped: list[str] = []
    real = model_module.graph_path
    monkeypatch.setattr(model_module, "graph_path", lambda p: mapped.append(p) or real(p))
    desc = {"id": "w", "kind": "workflow", "entries": [
        {"kind": "foreach", "step": {"id": "each", "kind": "step"}}]}
    steps = {"each": StepResult("running", started_at=1.0)}
    steps.update({f"each[{i}]": StepResult("success", started_at=1.0, ended_at=2.0)
                  for i in range(10)})
    modeler = RunModeler(desc)
    first = modeler.model(steps, status="running")
    assert len(mapped) == 11
    steps["each[10]"] = StepResult("running", started_at=2.0)
    again = modeler.model(steps, status="running")
    assert mapped[11:] == ["each[10]"]  # only the new path
    assert first.nodes["each"].progress is not None
    assert again.nodes["each"].progress.done == 10


_STATUSES = ("success", "failed", "running", "suspended", "canceled", "skipped", "pending")


@st.composite
def _node_results(draw: Any) -> tuple[list[str], list[StepResult]]:
    """A node's results as a run holds them: maybe its own result, then items; any status,
    times, errors, reuse and payloads."""
    own = draw(st.booleans())
    count = draw(st.integers(0 if own else 1, 40))  # a node has at least one result
    paths = (["each"] if own else []) + [f"each[{i}]" for i in range(count)]
    results = []
    for _ in paths:
        status = draw(st.sampled_from(_STATUSES))
        started = draw(st.one_of(st.none(), st.floats(0, 100)))
        ended = None if status in ("running", "pending") else draw(
            st.one_of(st.none(), st.floats(0, 100)))
        results.append(StepResult(
            status, payload=draw(st.one_of(st.none(), st.lists(st.integers(), max_size=3))),
            error=draw(st.one_of(st.none(), st.sampled_from(["boom", "bad"]))),
            started_at=started, ended_at=ended, attempts=draw(st.integers(0, 3)),
            cached_from=draw(st.one_of(st.none(), st.just({"run_id": "r", "path": "p"})))))
    return paths, results


def _spans_equal(a: _Span, b: _Span) -> bool:
    return (a.first, a.last_start, a.last_end) == (b.first, b.last_start, b.last_end)


@settings(max_examples=150, deadline=None)
@given(first=_node_results(), changes=st.lists(st.tuples(st.integers(0, 60),
                                                         st.sampled_from(_STATUSES)),
                                                max_size=8), whole=st.booleans())
def test_folding_in_kept_chunks_is_folding_all_results(first: Any, changes: Any,
                                                       whole: bool) -> None:
    """Updates of one node, folded in chunks kept between updates (results replaced, new
    ones added, running ones changing in place), give what folding every result gives."""
    paths, results = first
    kept: dict[str, Any] = {}
    original, model_module.CHUNK = model_module.CHUNK, 4  # many chunks of a few results
    try:
        for at, status in [(None, None), *changes]:
            if at is not None:
                if at < len(results) and results[at].status in ("running", "pending"):
                    results[at].status = status  # a running result changes in place
                    results[at].ended_at = None if status in ("running", "pending") else 5.0
                elif at < len(results):
                    results[at] = StepResult(status, started_at=1.0, ended_at=2.0)  # re-run
                else:
                    paths.append(f"each[{len(paths)}]")
                    results.append(StepResult(status, started_at=3.0))
            span, whole_span = _Span(), _Span()
            got = _fold_chunks("each", list(paths), list(results), span, kept, whole=whole)
            assert got == _fold("each", list(paths), list(results), whole_span, whole=whole)
            assert _spans_equal(span, whole_span)
    finally:
        model_module.CHUNK = original
