"""When something fails (SPEC §2), create_run(run_id=...) (SPEC §3), and a changed
definition on resume (SPEC §4b, the no-loss half)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from flownb import (
    ConcurrentRunError,
    FlownbError,
    RunNotFoundError,
    WorkflowDefinitionError,
    create_step,
    create_workflow,
)
from flownb.storage import SQLiteStore

# ---------------------------------------------------------------------------------------
# .parallel: a failing branch does not cancel its siblings
# ---------------------------------------------------------------------------------------


def _parallel(fail: set[str], log: list[str], failed: asyncio.Event, store: Any = None,
              slow_failure: str | None = None):
    """alpha, beta, gamma on the same input. The failing ones raise at once (or, for
    ``slow_failure``, after the others failed); the rest wait until a failure happened,
    then take a little longer, so they are still running when the run learns of it."""

    def branch(step_id: str):
        async def execute(input_data: int) -> int:
            log.append(f"{step_id}:start")
            if step_id in fail:
                if step_id == slow_failure:
                    await failed.wait()
                    await asyncio.sleep(0.02)
                failed.set()
                log.append(f"{step_id}:raise")
                raise ValueError(f"boom in {step_id.upper()}")
            try:
                await failed.wait()
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                log.append(f"{step_id}:canceled")
                raise
            log.append(f"{step_id}:done")
            return input_data * 10

        return create_step(id=step_id, input_schema=int, output_schema=int, execute=execute)

    return (create_workflow(id="fanout", input_schema=int, storage=store)
            .parallel([branch("alpha"), branch("beta"), branch("gamma")])
            .commit())


async def test_a_failing_parallel_branch_lets_its_siblings_finish_and_be_stored(store):
    log: list[str] = []
    run = _parallel({"beta"}, log, asyncio.Event()).create_run()
    result = await run.start(4)
    assert result.status == "failed"
    assert "beta" in result.error and "boom in BETA" in result.error
    assert "alpha:canceled" not in log and "gamma:canceled" not in log, log
    for sibling in ("alpha", "gamma"):
        assert f"{sibling}:done" in log, log
        assert result.steps[sibling].status == "success", result.steps[sibling]
        assert result.steps[sibling].output == 40
        stored = store.load(run.run_id).steps[sibling]
        assert stored["status"] == "success" and stored["output"] == 40
    assert result.steps["beta"].status == "failed"
    assert store.load(run.run_id).status == "failed"


async def test_two_failing_branches_are_both_named_in_declaration_order(store):
    log: list[str] = []
    # gamma fails first in time, beta a little later: beta still leads (declared first)
    run = _parallel({"beta", "gamma"}, log, asyncio.Event(), slow_failure="beta").create_run()
    result = await run.start(1)
    assert result.status == "failed"
    assert log.index("gamma:raise") < log.index("beta:raise"), log
    error = result.error
    assert "beta" in error and "gamma" in error, error
    assert error.index("beta") < error.index("gamma"), error
    assert "boom in BETA" in error and "boom in GAMMA" in error, error
    assert result.steps["alpha"].status == "success" and result.steps["alpha"].output == 10
    assert result.steps["beta"].status == result.steps["gamma"].status == "failed"


async def test_a_failing_parallel_inside_a_stream_still_ends_with_workflow_finish(store):
    log: list[str] = []
    run = _parallel({"beta"}, log, asyncio.Event()).create_run()
    events = [e async for e in run.stream(2)]
    assert events[-1].type == "workflow-finish"
    results = {e.path: e.payload["status"] for e in events if e.type == "step-result"}
    assert results[("alpha",)] == results[("gamma",)] == "success"
    assert results[("beta",)] == "failed"
    assert run.result.status == "failed"


async def test_cancel_still_cancels_every_parallel_branch_at_once(store):
    started: list[str] = []
    canceled: list[str] = []
    never = asyncio.Event()

    def blocker(step_id: str):
        async def execute(input_data: int) -> int:
            started.append(step_id)
            try:
                await never.wait()
            except asyncio.CancelledError:
                canceled.append(step_id)
                raise
            return input_data

        return create_step(id=step_id, input_schema=int, output_schema=int, execute=execute)

    wf = (create_workflow(id="stuck", input_schema=int)
          .parallel([blocker("one"), blocker("two"), blocker("three")]).commit())
    run = wf.create_run()
    task = asyncio.ensure_future(run.start(0))
    for _ in range(200):
        if len(started) == 3:
            break
        await asyncio.sleep(0.005)
    assert sorted(started) == ["one", "three", "two"]
    await run.cancel()
    result = await asyncio.wait_for(task, 5)
    assert result.status == "canceled"
    assert sorted(canceled) == ["one", "three", "two"]
    assert {result.steps[s].status for s in ("one", "two", "three")} == {"canceled"}
    assert store.load(run.run_id).status == "canceled"


# ---------------------------------------------------------------------------------------
# .foreach: no new item after a failure; running items finish and are stored
# ---------------------------------------------------------------------------------------


async def test_foreach_starts_no_new_item_after_a_failure_and_finishes_running_ones(store):
    started: list[int] = []
    finished: list[int] = []
    failed = asyncio.Event()

    async def work(input_data: int) -> int:
        started.append(input_data)
        if input_data == 1:
            failed.set()
            raise ValueError("item one is bad")
        if input_data == 0:
            await failed.wait()
            await asyncio.sleep(0.05)  # still running when the failure is known
        finished.append(input_data)
        return input_data * 100

    wf = (create_workflow(id="items", input_schema=list[int])
          .foreach(create_step(id="work", input_schema=int, output_schema=int, execute=work),
                   concurrency=2)
          .commit())
    run = wf.create_run()
    result = await run.start([0, 1, 2, 3, 4, 5])
    assert result.status == "failed"
    assert "work[1]" in result.error, result.error
    assert "item one is bad" in result.error
    assert sorted(started) == [0, 1], f"items started after the failure: {started}"
    assert finished == [0]
    assert result.steps["work[0]"].status == "success" and result.steps["work[0]"].output == 0
    assert result.steps["work[1]"].status == "failed"
    for i in (2, 3, 4, 5):
        assert f"work[{i}]" not in result.steps or \
            result.steps[f"work[{i}]"].status not in ("running", "success")
    stored = store.load(run.run_id)
    assert stored.status == "failed"
    assert stored.steps["work[0]"]["status"] == "success"
    assert stored.steps["work[0]"]["output"] == 0


# ---------------------------------------------------------------------------------------
# create_run(run_id=...)
# ---------------------------------------------------------------------------------------


class Doc(BaseModel):
    text: str


class Review(BaseModel):
    approved: bool


def approval(store: Any = None):
    def review(input_data: Doc, resume_data: Review | None, suspend):
        if resume_data is None:
            suspend({"text": input_data.text})
        return {"text": f"{input_data.text}:{resume_data.approved}"}

    return (create_workflow(id="approval", input_schema=Doc, output_schema=Doc, storage=store)
            .then(create_step(id="review", input_schema=Doc, output_schema=Doc,
                              resume_schema=Review, execute=review))
            .commit())


async def test_create_run_with_an_unknown_id_makes_a_new_run_with_that_id(store):
    run = approval().create_run(run_id="my-id")
    assert run.run_id == "my-id"
    assert run.status == "pending"
    result = await run.start({"text": "x"})
    assert result.status == "suspended" and result.run_id == "my-id"
    assert store.load("my-id").status == "suspended"
    assert [info.run_id for info in approval().runs()] == ["my-id"]


async def test_starting_an_id_that_already_started_raises_concurrent_run_error(store):
    await approval().create_run(run_id="my-id").start({"text": "x"})
    before = store.load("my-id").to_json()
    with pytest.raises(ConcurrentRunError):
        await approval().create_run(run_id="my-id").start({"text": "y"})
    assert store.load("my-id").to_json() == before


async def test_two_new_runs_with_one_id_only_one_starts(store):
    first = approval().create_run(run_id="twin")
    second = approval().create_run(run_id="twin")
    assert (await first.start({"text": "a"})).status == "suspended"
    with pytest.raises(ConcurrentRunError):
        await second.start({"text": "b"})
    assert store.load("twin").input == {"text": "a"}


async def test_resume_of_a_never_started_id_raises_run_not_found(store):
    run = approval().create_run(run_id="never")
    with pytest.raises(RunNotFoundError):
        await run.resume({"approved": True})
    assert store.load("never") is None


async def test_restart_of_a_never_started_id_raises_run_not_found(store):
    run = approval().create_run(run_id="never")
    with pytest.raises(RunNotFoundError):
        await run.restart()
    assert store.load("never") is None


async def test_create_run_with_an_unknown_id_on_sqlite(tmp_path):
    store = SQLiteStore(tmp_path / "runs.db")
    try:
        result = await approval(store).create_run(run_id="fresh").start({"text": "q"})
        assert result.status == "suspended"
        again = approval(SQLiteStore(tmp_path / "runs.db")).create_run(run_id="fresh")
        assert again.status == "suspended"
        assert (await again.resume({"approved": True})).result == Doc(text="q:True")
    finally:
        store.close()


# ---------------------------------------------------------------------------------------
# A changed definition on resume (SPEC §4b): refuse before claiming; lose nothing
# ---------------------------------------------------------------------------------------


class OutA(BaseModel):
    alpha_count: int


class OutB(BaseModel):
    beta_label: str


class Go(BaseModel):
    go: bool


def versioned(out: type[BaseModel], store: Any, input_schema: Any = Doc):
    def first(input_data):
        return {"alpha_count": 7} if out is OutA else {"beta_label": "seven"}

    def gate(input_data, resume_data: Go | None, suspend):
        if resume_data is None:
            suspend(None)
        return input_data

    return (create_workflow(id="evolving", input_schema=input_schema, output_schema=out,
                            storage=store)
            .then(create_step(id="first", input_schema=input_schema, output_schema=out,
                              execute=first))
            .then(create_step(id="gate", input_schema=out, output_schema=out,
                              resume_schema=Go, execute=gate))
            .commit())


def _rows(path) -> list[tuple]:
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = sorted(r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"))
        return [(t, *row) for t in tables
                for row in sorted(conn.execute(f'SELECT * FROM "{t}"'), key=repr)]
    finally:
        conn.close()


@pytest.fixture
def suspended_v1(tmp_path):
    """A run of the OutA definition, suspended at "gate" in SQLite."""
    db = tmp_path / "runs.db"
    store = SQLiteStore(db)
    run = versioned(OutA, store).create_run()
    from flownb import run_sync

    assert run_sync(run.start({"text": "x"})).status == "suspended"
    yield db, store, run.run_id
    store.close()


async def test_reattaching_with_an_incompatible_output_schema_never_fails(suspended_v1):
    db, _store, run_id = suspended_v1
    run2 = versioned(OutB, SQLiteStore(db)).create_run(run_id=run_id)
    assert run2.run_id == run_id and run2.status == "suspended"


async def test_resume_with_an_incompatible_output_schema_refuses_and_changes_nothing(
        suspended_v1):
    db, store, run_id = suspended_v1
    before_rows = _rows(db)
    before = store.load(run_id).to_json()
    run2 = versioned(OutB, SQLiteStore(db)).create_run(run_id=run_id)
    with pytest.raises(WorkflowDefinitionError) as info:
        await run2.resume({"go": True})
    message = str(info.value)
    assert "first" in message and "beta_label" in message, message
    assert _rows(db) == before_rows, "the stored run changed"
    assert store.load(run_id).to_json() == before
    # the definition that fits still resumes it
    result = await versioned(OutA, SQLiteStore(db)).create_run(run_id=run_id).resume(
        {"go": True})
    assert result.status == "success", result.error
    assert result.result == OutA(alpha_count=7)


class NewInput(BaseModel):
    count: int


async def test_a_changed_workflow_input_schema_gives_a_flownb_error_never_a_raw_one(
        suspended_v1):
    db, _store, run_id = suspended_v1
    before_rows = _rows(db)
    changed = versioned(OutA, SQLiteStore(db), input_schema=NewInput)
    try:
        run2 = changed.create_run(run_id=run_id)
    except ValidationError as exc:  # pragma: no cover - the failure this test is about
        pytest.fail(f"reattach raised a raw pydantic ValidationError: {exc}")
    except FlownbError:
        pass
    else:
        try:
            result = await run2.resume({"go": True})
        except ValidationError as exc:  # pragma: no cover
            pytest.fail(f"resume raised a raw pydantic ValidationError: {exc}")
        except FlownbError:
            assert _rows(db) == before_rows
        else:
            assert result.status in ("success", "failed")
    # whatever the changed definition did, the original one still finishes the run
    if _rows(db) == before_rows:
        result = await versioned(OutA, SQLiteStore(db)).create_run(run_id=run_id).resume(
            {"go": True})
        assert result.status == "success", result.error


def test_run_sync_does_not_chain_what_the_run_raises_to_its_own_check():
    """run_sync asks whether a loop runs (a RuntimeError when none does): an error of the
    run must not show "During handling of the above exception" in every traceback."""
    from flownb import run_sync

    async def fails() -> None:
        await asyncio.sleep(0)
        raise ValueError("mine")

    with pytest.raises(ValueError, match="mine") as caught:
        run_sync(fails())
    assert caught.value.__context__ is None and caught.value.__cause__ is None
