"""The recorder: the one writer of a run's snapshot, and group commit across runs."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from flownb import create_step, create_workflow
from flownb.storage import MemoryStore, SQLiteStore


class N(BaseModel):
    n: int


class CountingStore(SQLiteStore):
    """A SQLite store that remembers the size of every ``update_many`` batch."""

    def __init__(self, path):
        super().__init__(path)
        self.batches: list[list[str]] = []
        self.inserts: list[list[str]] = []

    def insert_many(self, snapshots):
        self.inserts.append([s.run_id for s in snapshots])
        return super().insert_many(snapshots)

    def update_many(self, updates):
        self.batches.append([u.run_id for u in updates])
        return super().update_many(updates)


def chain(wf_id: str, length: int, store, check=None):
    async def inc(input_data: N) -> dict[str, int]:
        if check is not None:
            check(input_data.n)
        return {"n": input_data.n + 1}

    wf = create_workflow(id=wf_id, input_schema=N, output_schema=N, storage=store)
    for i in range(length):
        wf = wf.then(create_step(id=f"s{i}", input_schema=N, output_schema=N, execute=inc))
    return wf.commit()


async def test_runs_started_together_share_their_writes(tmp_path):
    store = CountingStore(tmp_path / "runs.db")
    wf = chain("together", 5, store)
    runs = [wf.create_run() for _ in range(20)]
    results = await asyncio.gather(*(r.start({"n": 0}) for r in runs))
    assert all(r.status == "success" and r.result.n == 5 for r in results)
    # 20 runs x (4 writes between steps + the last step + the final status) would be 120
    # one-run transactions; together they are a handful of batches of many runs.
    assert max(len(b) for b in store.batches) >= 10
    assert len(store.batches) <= 20
    assert store.inserts == [[r.run_id for r in runs]]  # stored together, in one commit
    for run in runs:
        snap = store.load(run.run_id)
        assert snap.status == "success" and snap.meta["result"] == {"n": 5}
        assert [s["status"] for s in snap.steps.values()] == ["success"] * 5
    store.close()


async def test_a_run_alone_writes_each_step_before_the_next_starts(tmp_path):
    path = tmp_path / "alone.db"
    store = CountingStore(path)
    reader = SQLiteStore(path)
    seen: list[list[str]] = []
    holder: dict[str, str] = {}

    def check(n: int) -> None:  # inside step s{n}: every step before it is stored
        snap = reader.load(holder["id"])
        seen.append([p for p, s in snap.steps.items() if s["status"] == "success"])

    wf = chain("alone", 4, store, check)
    run = wf.create_run()
    holder["id"] = run.run_id
    result = await run.start({"n": 0})
    assert result.status == "success"
    assert seen == [[], ["s0"], ["s0", "s1"], ["s0", "s1", "s2"]]
    assert all(len(b) == 1 for b in store.batches)
    reader.close()
    store.close()


async def test_a_conflict_in_a_batch_fails_only_its_run(tmp_path):
    """Another process moved one run on: that run hears ConcurrentRunError, the others in
    the same group commit are written."""
    store = SQLiteStore(tmp_path / "c.db")
    gate = asyncio.Event()

    async def wait(input_data: N) -> dict[str, int]:
        await gate.wait()
        return {"n": input_data.n}

    wf = (create_workflow(id="conflict", input_schema=N, output_schema=N, storage=store)
          .then(create_step(id="a", input_schema=N, output_schema=N, execute=wait))
          .then(create_step(id="b", input_schema=N, output_schema=N,
                            execute=lambda input_data: input_data))
          .commit())
    runs = [wf.create_run() for _ in range(3)]
    tasks = [asyncio.ensure_future(r.start({"n": 1})) for r in runs]
    await asyncio.sleep(0.01)
    snap = store.load(runs[1].run_id)  # someone else writes run 1 meanwhile
    store.update(runs[1].run_id, expected_version=snap.version, status=None,
                 updated_at=snap.updated_at, meta=None)
    gate.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert outcomes[0].status == "success" and outcomes[2].status == "success"
    assert type(outcomes[1]).__name__ == "ConcurrentRunError"
    assert store.load(runs[0].run_id).status == "success"
    store.close()


async def test_memory_store_runs_together_too():
    store = MemoryStore()
    wf = chain("mem", 3, store)
    results = await asyncio.gather(*(wf.create_run().start({"n": 0}) for _ in range(10)))
    assert [r.result.n for r in results] == [3] * 10
    assert all(info.status == "success" for info in store.list_runs())


def test_a_stored_record_has_every_field_of_a_step_result_in_order():
    from flownb.core.recorder import stored_record
    from flownb.core.results import RECORD_FIELDS, StepResult

    record = stored_record(StepResult("success", payload={"a": 1}, output=N(n=2), attempts=1))
    assert tuple(record) == RECORD_FIELDS
    assert record["output"] == {"n": 2} and record["payload"] == {"a": 1}


async def test_the_store_shows_a_step_running_while_it_runs_in_the_same_write(tmp_path):
    """What runs is stored with what finished before it: a watcher elsewhere sees it,
    and it costs no write of its own."""
    path = tmp_path / "running.db"
    store = CountingStore(path)
    reader = SQLiteStore(path)
    seen: list[dict[str, str]] = []
    holder: dict[str, str] = {}

    def check(n: int) -> None:
        snap = reader.load(holder["id"])
        seen.append({p: s["status"] for p, s in snap.steps.items()})

    wf = chain("shown", 3, store, check)
    run = wf.create_run()
    holder["id"] = run.run_id
    await run.start({"n": 0})
    # Each step is stored as running, beside the steps finished before it.
    assert seen == [{"s0": "running"}, {"s0": "success", "s1": "running"},
                    {"s0": "success", "s1": "success", "s2": "running"}]
    # s0 started, s0 done + s1 started, s1 done + s2 started, the end
    assert len(store.batches) == 4
    reader.close()
    store.close()


async def test_items_of_a_foreach_that_finish_together_share_a_commit(tmp_path):
    """A foreach at concurrency 10: the items that finish in one loop turn are written in
    one commit (100 items: about 10 commits, not 100), and each item is stored before
    the next item of its worker starts."""
    path = tmp_path / "items.db"
    store = CountingStore(path)
    reader = SQLiteStore(path)
    holder: dict[str, str] = {}
    missing: list[int] = []
    before: dict[object, int] = {}  # worker (its task) -> the item it ran last

    async def double(input_data: N) -> dict[str, int]:
        worker = asyncio.current_task()
        if worker in before:  # the item this worker ran before is stored
            snap = reader.load(holder["id"])
            if snap.steps[f"double[{before[worker]}]"]["status"] != "success":
                missing.append(input_data.n)
        before[worker] = input_data.n
        return {"n": input_data.n * 2}

    item = create_step(id="double", input_schema=N, output_schema=N, execute=double)
    wf = (create_workflow(id="items", input_schema=list[N], output_schema=list[N],
                          storage=store)
          .foreach(item, concurrency=10).commit())
    run = wf.create_run()
    holder["id"] = run.run_id
    result = await run.start([{"n": i} for i in range(100)])
    assert result.status == "success" and [o.n for o in result.result] == list(range(0, 200, 2))
    assert missing == []
    assert len(store.batches) <= 15, len(store.batches)  # one commit per item: 101
    snap = store.load(run.run_id)
    assert sum(1 for p, s in snap.steps.items()
               if p.startswith("double[") and s["status"] == "success") == 100
    reader.close()
    store.close()


async def test_a_foreach_at_concurrency_one_writes_each_item_at_once(tmp_path):
    """Nothing runs beside the item: its write does not wait for the loop's next turn
    (one commit per item, as a chain's steps)."""
    store = CountingStore(tmp_path / "one.db")
    item = create_step(id="double", input_schema=N, output_schema=N,
                       execute=lambda input_data: {"n": input_data.n * 2})
    wf = (create_workflow(id="items-1", input_schema=list[N], output_schema=list[N],
                          storage=store)
          .foreach(item, concurrency=1).commit())
    result = await wf.create_run().start([{"n": i} for i in range(5)])
    assert result.status == "success"
    assert all(len(b) == 1 for b in store.batches)
    store.close()


async def test_branches_of_a_parallel_share_their_writes(tmp_path):
    """Six branches that start and finish together: their running records are written
    together, and so are their results (one commit per branch before: 9 in all)."""
    store = CountingStore(tmp_path / "par.db")

    async def same(input_data: N) -> dict[str, int]:
        return {"n": input_data.n}

    branches = [create_step(id=f"b{i}", input_schema=N, output_schema=N, execute=same)
                for i in range(6)]
    wf = (create_workflow(id="par", input_schema=N, output_schema=dict, storage=store)
          .then(create_step(id="a", input_schema=N, output_schema=N, execute=same))
          .parallel(branches).commit())
    run = wf.create_run()
    result = await run.start({"n": 1})
    assert result.status == "success" and set(result.result) == {f"b{i}" for i in range(6)}
    assert len(store.batches) <= 5, len(store.batches)
    snap = store.load(run.run_id)
    assert [snap.steps[f"b{i}"]["status"] for i in range(6)] == ["success"] * 6
    store.close()


async def test_an_items_input_is_encoded_once_for_its_two_records(tmp_path, monkeypatch):
    """An item is stored running (with its input), then done (with the same input): the
    input is encoded for the first record and reused by the second."""
    import flownb.core.recorder as recorder

    encoded: list[int] = []
    real = recorder.to_stored

    def counting(value):
        if isinstance(value, N) and value.n >= 100:  # the items' inputs (outputs are < 100)
            encoded.append(value.n)
        return real(value)

    monkeypatch.setattr(recorder, "to_stored", counting)
    store = SQLiteStore(tmp_path / "once.db")
    item = create_step(id="dec", input_schema=N, output_schema=N,
                       execute=lambda input_data: {"n": input_data.n - 100})
    wf = (create_workflow(id="once", input_schema=list[N], output_schema=list[N],
                          storage=store).foreach(item, concurrency=4).commit())
    run = wf.create_run()
    result = await run.start([{"n": 100 + i} for i in range(20)])
    assert result.status == "success"
    assert sorted(encoded) == list(range(100, 120))  # once each, not twice
    snap = store.load(run.run_id)
    assert [snap.steps[f"dec[{i}]"]["payload"] for i in range(20)] == [
        {"n": 100 + i} for i in range(20)]
    store.close()
