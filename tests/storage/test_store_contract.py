"""The storage contract, run against every store (``MemoryStore``, ``SQLiteStore`` and
``PostgresStore`` on the session's throwaway PostgreSQL server: tests/storage/conftest.py).

Then what only ``SQLiteStore`` promises: durability across reopen, WAL, its schema
version, and a compare-and-swap that holds between two processes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flownb.core.results import RunInfo
from flownb.errors import ConcurrentRunError, FlownbError, RunNotFoundError, StorageError
from flownb.storage import MemoryStore, Snapshot, SQLiteStore, Store, Update

REPO = Path(__file__).resolve().parents[2]

AWKWARD = [
    "a.b",
    'say "hi"',
    "it's",
    "a[1]",
    "'; DROP TABLE runs; --",
    "ünïcødé ✓ 🚀",
    "tab\tnew\nline",
    "",
    "%s ? :name $1",
]


def record(status: str = "success", **extra: Any) -> dict[str, Any]:
    return {"status": status, "payload": {"x": 1}, "output": {"y": [1, 2]}, "error": None,
            "started_at": 1.5, "ended_at": 2.5, "attempts": 1, **extra}


def snapshot(run_id: str = "run-1", **changes: Any) -> Snapshot:
    fields: dict[str, Any] = {
        "run_id": run_id,
        "workflow_id": "wf",
        "status": "running",
        "version": 1,
        "created_at": 100.0,
        "updated_at": 100.0,
        "input": {"message": "hello", "n": [1, 2.5, None, True]},
        "graph": {"id": "wf", "steps": [{"kind": "step", "id": "a"}]},
        "meta": {"state": {"k": 1}, "suspended_paths": []},
        "steps": {"a": record(), "b": record("running")},
        "journal": {"loop:0": {"iteration": 0}},
    }
    fields.update(changes)
    return Snapshot(**fields)


def make_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if kind == "memory":
        return MemoryStore()
    if kind == "postgres":
        from flownb.storage import PostgresStore

        return PostgresStore(request.getfixturevalue("postgres_db"))
    return SQLiteStore(tmp_path / "runs.db")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = make_store(request.param, request, tmp_path)
    yield s
    s.close()


def dumps(store: Store, run_id: str) -> str:
    snap = store.load(run_id)
    assert snap is not None
    return snap.dumps()


# ------------------------------------------------------------------ insert / load


def test_insert_load_roundtrip(store: Store) -> None:
    snap = snapshot()
    store.insert(snap)
    loaded = store.load("run-1")
    assert loaded is not None
    assert loaded.to_json() == snap.to_json()
    assert list(loaded.steps) == ["a", "b"]
    assert loaded.dumps() == snap.dumps()


def test_insert_keeps_given_version_and_record_order(store: Store) -> None:
    steps = {k: record() for k in ["z", "a", "m", "b"]}
    store.insert(snapshot(version=5, steps=steps, journal={"2": {}, "1": {}}))
    loaded = store.load("run-1")
    assert loaded is not None
    assert loaded.version == 5
    assert list(loaded.steps) == ["z", "a", "m", "b"]
    assert list(loaded.journal) == ["2", "1"]
    assert store.update("run-1", expected_version=5, status="running", updated_at=1.0,
                        meta={}) == 6


def test_load_unknown_is_none(store: Store) -> None:
    assert store.load("nope") is None
    store.insert(snapshot())
    assert store.load("run-2") is None


def test_insert_duplicate_raises_and_keeps_the_first(store: Store) -> None:
    store.insert(snapshot())
    before = dumps(store, "run-1")
    with pytest.raises(ConcurrentRunError) as info:
        store.insert(snapshot(status="success", steps={"other": record()}))
    assert info.value.run_id == "run-1"
    assert "run-1" in info.value.message
    assert dumps(store, "run-1") == before


# ------------------------------------------------------------------ update


def test_update_applies_change_and_bumps_version(store: Store) -> None:
    store.insert(snapshot())
    new_meta = {"suspended_paths": [["approve"]], "state": {"k": 2}, "result": None}
    version = store.update(
        "run-1",
        expected_version=1,
        status="suspended",
        updated_at=200.0,
        meta=new_meta,
        steps={"approve": record("suspended", suspend_payload={"q": "ok?"})},
        journal={"loop:1": {"iteration": 1}},
    )
    assert version == 2
    loaded = store.load("run-1")
    assert loaded is not None
    assert (loaded.status, loaded.version, loaded.updated_at) == ("suspended", 2, 200.0)
    assert loaded.created_at == 100.0
    assert loaded.meta == new_meta
    assert loaded.steps["approve"]["suspend_payload"] == {"q": "ok?"}
    assert loaded.journal == {"loop:0": {"iteration": 0}, "loop:1": {"iteration": 1}}
    assert loaded.input == snapshot().input
    assert loaded.graph == snapshot().graph
    assert store.update("run-1", expected_version=2, status="success", updated_at=300.0,
                        meta={}) == 3
    loaded = store.load("run-1")
    assert loaded is not None
    assert (loaded.status, loaded.version, loaded.meta) == ("success", 3, {})
    assert list(loaded.steps) == ["a", "b", "approve"]  # records untouched by an empty update


def test_upsert_keeps_first_insertion_order(store: Store) -> None:
    store.insert(snapshot(steps={"a": record("running"), "b": record("running")}, journal={}))
    v = store.update("run-1", expected_version=1, status="running", updated_at=1.0, meta={},
                     steps={"c": record("running"), "a": record("success")})
    v = store.update("run-1", expected_version=v, status="running", updated_at=2.0, meta={},
                     steps={"d": record(), "b": record("failed"), "c": record()},
                     journal={"j2": {"n": 2}, "j1": {"n": 1}})
    v = store.update("run-1", expected_version=v, status="running", updated_at=3.0, meta={},
                     journal={"j1": {"n": 10}, "j3": {"n": 3}})
    loaded = store.load("run-1")
    assert loaded is not None
    assert list(loaded.steps) == ["a", "b", "c", "d"]
    assert [s["status"] for s in loaded.steps.values()] == ["success", "failed", "success",
                                                            "success"]
    assert loaded.journal == {"j2": {"n": 2}, "j1": {"n": 10}, "j3": {"n": 3}}
    assert list(loaded.journal) == ["j2", "j1", "j3"]


def test_stale_update_raises_and_changes_nothing(store: Store) -> None:
    store.insert(snapshot())
    store.update("run-1", expected_version=1, status="suspended", updated_at=2.0,
                 meta={"suspended_paths": [["a"]]}, steps={"a": record("suspended")})
    before = dumps(store, "run-1")
    infos_before = store.list_runs()
    with pytest.raises(ConcurrentRunError) as info:
        store.update("run-1", expected_version=1, status="success", updated_at=3.0,
                     meta={"result": 1}, steps={"a": record(), "new": record()},
                     journal={"x": {}})
    assert info.value.run_id == "run-1"
    assert "expected version 1" in info.value.message
    assert "stored version is 2" in info.value.message
    assert dumps(store, "run-1") == before
    assert store.list_runs() == infos_before
    # ... and the run still accepts the right version afterwards.
    assert store.update("run-1", expected_version=2, status="success", updated_at=4.0,
                        meta={}) == 3


def test_update_with_non_json_value_changes_nothing(store: Store) -> None:
    store.insert(snapshot())
    before = dumps(store, "run-1")
    with pytest.raises(TypeError):
        store.update("run-1", expected_version=1, status="success", updated_at=2.0, meta={},
                     steps={"ok": record(), "bad": {"output": object()}})
    assert dumps(store, "run-1") == before
    assert store.update("run-1", expected_version=1, status="success", updated_at=2.0,
                        meta={}) == 2


def test_update_unknown_run_raises(store: Store) -> None:
    with pytest.raises(RunNotFoundError) as info:
        store.update("ghost", expected_version=1, status="success", updated_at=1.0, meta={},
                     steps={"a": record()})
    assert info.value.run_id == "ghost"
    assert "ghost" in info.value.message
    assert store.load("ghost") is None


# ------------------------------------------------------------------ update_many


class DefaultBatchStore(Store):
    """A store that keeps ``Store.update_many``'s default (one ``update`` per item), as a
    third-party store would, over a ``MemoryStore``."""

    def __init__(self) -> None:
        self.inner = MemoryStore()

    def insert(self, snapshot: Snapshot) -> None:
        self.inner.insert(snapshot)

    def load(self, run_id: str) -> Snapshot | None:
        return self.inner.load(run_id)

    def update(self, run_id: str, **change: Any) -> int:  # type: ignore[override]
        return self.inner.update(run_id, **change)

    def list_runs(self, **filters: Any) -> list[RunInfo]:  # type: ignore[override]
        return self.inner.list_runs(**filters)

    def delete(self, run_id: str) -> bool:
        return self.inner.delete(run_id)


@pytest.fixture(params=["memory", "sqlite", "postgres", "default"])
def batch_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Every store, and the base class's ``update_many`` over one."""
    s: Store = (DefaultBatchStore() if request.param == "default"
                else make_store(request.param, request, tmp_path))
    yield s
    s.close()


def change(run_id: str, expected_version: int, **fields: Any) -> Update:
    return Update(run_id, expected_version=expected_version,
                  status=fields.pop("status", None), updated_at=fields.pop("updated_at", 9.0),
                  meta=fields.pop("meta", None), **fields)


def test_update_many_says_how_each_update_went_in_order(batch_store: Store) -> None:
    store = batch_store
    for run_id in ("r1", "r2", "r3"):
        store.insert(snapshot(run_id))
    before = dumps(store, "r2")
    results = store.update_many([
        change("r1", 1, status="success", meta={"result": 1}, steps={"c": record()}),
        change("r2", 5, status="failed", steps={"c": record("failed")}),  # stale
        change("ghost", 1, steps={"c": record()}),
        change("r3", 1, journal={"loop:1": {"iteration": 1}}),
    ])
    assert results[0] == 2 and results[3] == 2
    assert isinstance(results[1], ConcurrentRunError) and results[1].run_id == "r2"
    assert "expected version 5" in results[1].message
    assert isinstance(results[2], RunNotFoundError) and results[2].run_id == "ghost"
    r1, r3 = store.load("r1"), store.load("r3")
    assert r1 is not None and r3 is not None
    assert (r1.status, r1.version, r1.meta, list(r1.steps)) == ("success", 2, {"result": 1},
                                                                 ["a", "b", "c"])
    assert (r3.status, r3.version, list(r3.journal)) == ("running", 2, ["loop:0", "loop:1"])
    assert dumps(store, "r2") == before  # the conflict changed nothing
    assert store.load("ghost") is None
    assert store.update_many([]) == []


def test_update_many_applies_two_updates_of_one_run_in_order(batch_store: Store) -> None:
    store = batch_store
    store.insert(snapshot())
    assert store.update_many([
        change("run-1", 1, steps={"x": record("running")}),
        change("run-1", 2, status="success", meta={"result": 2},
               steps={"x": record(), "y": record()}),
        change("run-1", 2, status="failed"),  # expects what the first made: stale now
    ])[:2] == [2, 3]
    loaded = store.load("run-1")
    assert loaded is not None
    assert (loaded.status, loaded.version, loaded.meta) == ("success", 3, {"result": 2})
    assert list(loaded.steps) == ["a", "b", "x", "y"]
    assert loaded.steps["x"]["status"] == "success"
    third = store.update_many([change("run-1", 2, status="failed")])[0]
    assert isinstance(third, ConcurrentRunError) and "stored version is 3" in third.message


def test_update_many_with_a_value_that_is_not_json_applies_none_of_the_batch(
        store: Store) -> None:
    store.insert(snapshot())
    before = dumps(store, "run-1")
    with pytest.raises(TypeError):
        store.update_many([change("run-1", 1, steps={"ok": record()}),
                           change("run-1", 2, steps={"bad": {"output": object()}})])
    assert dumps(store, "run-1") == before


def test_sqlite_update_many_commits_once(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    try:
        for i in range(20):
            store.insert(snapshot(f"r{i}"))
        statements: list[str] = []
        store._conn.set_trace_callback(statements.append)
        results = store.update_many(
            [change(f"r{i}", 1, steps={"c": record()}) for i in range(20)]
            + [change("r0", 2, status="success", meta={}), change("r1", 1)])
        store._conn.set_trace_callback(None)
        assert results[:21] == [2] * 20 + [3] and isinstance(results[21], ConcurrentRunError)
        assert [s for s in statements if s.split()[0] in ("BEGIN", "COMMIT", "ROLLBACK",
                                                          "SAVEPOINT", "RELEASE")] == [
            "BEGIN IMMEDIATE", "COMMIT"]
    finally:
        store.close()


@pytest.mark.parametrize("fault", ["mid-batch", "commit"])
def test_sqlite_update_many_fault_writes_nothing_of_the_batch(tmp_path: Path,
                                                              fault: str) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    try:
        for run_id in ("r1", "r2"):
            store.insert(snapshot(run_id))
        before = {run_id: dumps(store, run_id) for run_id in ("r1", "r2")}
        conn = store._conn
        if fault == "mid-batch":  # the second update's record fails, as a full disk would
            conn.execute("""CREATE TEMP TRIGGER boom BEFORE INSERT ON main.run_records
                WHEN new.key = 'boom' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END""")
        else:  # every statement runs, then the commit fails
            conn.set_authorizer(lambda action, arg1, *_: sqlite3.SQLITE_DENY
                                if action == sqlite3.SQLITE_TRANSACTION and arg1 == "COMMIT"
                                else sqlite3.SQLITE_OK)
        batch = [change("r1", 1, status="success", steps={"c": record()}),
                 change("r2", 1, steps={"boom": record()}),
                 change("ghost", 1)]
        with pytest.raises(StorageError) as caught:
            store.update_many(batch)
        assert caught.value.operation == "updating runs 'r1', 'r2', 'ghost'"
        assert caught.value.run_id is None
        assert "Nothing of this change was stored" in caught.value.message
        assert {run_id: dumps(store, run_id) for run_id in ("r1", "r2")} == before
        # The fault is gone with the connection: the same batch now applies.
        if fault == "mid-batch":
            conn.execute("DROP TRIGGER temp.boom")
        results = store.update_many(batch)
        assert results[:2] == [2, 2] and isinstance(results[2], RunNotFoundError)
    finally:
        store.close()


# ------------------------------------------------------------------ insert_many


def test_insert_many_says_how_each_insert_went_in_order(batch_store: Store) -> None:
    store = batch_store
    store.insert(snapshot("taken", status="suspended"))
    before = dumps(store, "taken")
    big = {"text": "x" * 5000}  # shared by both new runs (one value, two uses)
    results = store.insert_many([snapshot("n1", input=big), snapshot("taken"),
                                 snapshot("n2", input=big), snapshot("n1")])
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ConcurrentRunError) and results[1].run_id == "taken"
    assert isinstance(results[3], ConcurrentRunError) and results[3].run_id == "n1"
    assert dumps(store, "taken") == before
    for run_id in ("n1", "n2"):
        loaded = store.load(run_id)
        assert loaded is not None and loaded == snapshot(run_id, input=big)
    assert store.delete("n1") and store.load("n2") == snapshot("n2", input=big)
    assert store.insert_many([]) == []


def test_sqlite_insert_many_commits_once_and_a_fault_writes_nothing(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    try:
        statements: list[str] = []
        store._conn.set_trace_callback(statements.append)
        assert store.insert_many([snapshot(f"r{i}") for i in range(20)]) == [None] * 20
        store._conn.set_trace_callback(None)
        assert [s for s in statements if s.split()[0] in ("BEGIN", "COMMIT")] == [
            "BEGIN IMMEDIATE", "COMMIT"]
        store._conn.execute("""CREATE TEMP TRIGGER boom BEFORE INSERT ON main.runs
            WHEN new.run_id = 'boom' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END""")
        with pytest.raises(StorageError):
            store.insert_many([snapshot("fine"), snapshot("boom")])
        assert store.load("fine") is None
    finally:
        store.close()


# ------------------------------------------------------------------ list / delete


def test_list_runs_newest_first_with_filters(store: Store) -> None:
    store.insert(snapshot("old", created_at=1.0, updated_at=1.0))
    store.insert(snapshot("newest", created_at=3.0, updated_at=3.5, workflow_id="other",
                          status="success"))
    store.insert(snapshot("mid", created_at=2.0, updated_at=2.0))
    store.insert(snapshot("mid-later", created_at=2.0, updated_at=2.0, status="failed"))
    store.update("old", expected_version=1, status="suspended", updated_at=9.0,
                 meta={"suspended_paths": [["outer", "inner"], ["approve"]]})

    assert [r.run_id for r in store.list_runs()] == ["newest", "mid-later", "mid", "old"]
    assert [r.run_id for r in store.list_runs(workflow_id="wf")] == ["mid-later", "mid", "old"]
    assert [r.run_id for r in store.list_runs(status="suspended")] == ["old"]
    assert [r.run_id for r in store.list_runs(workflow_id="wf", status="running")] == ["mid"]
    assert store.list_runs(workflow_id="other", status="running") == []
    assert store.list_runs(workflow_id="missing") == []

    old = store.list_runs(status="suspended")[0]
    assert old == RunInfo(run_id="old", workflow_id="wf", status="suspended", created_at=1.0,
                          updated_at=9.0, suspended=[["outer", "inner"], ["approve"]])
    newest = store.list_runs(workflow_id="other")[0]
    assert newest == RunInfo(run_id="newest", workflow_id="other", status="success",
                             created_at=3.0, updated_at=3.5, suspended=[])


def test_list_runs_without_suspended_paths_in_meta(store: Store) -> None:
    store.insert(snapshot(meta={}))
    assert store.list_runs()[0].suspended == []


def test_delete(store: Store) -> None:
    store.insert(snapshot("keep"))
    store.insert(snapshot("drop"))
    assert store.delete("drop") is True
    assert store.load("drop") is None
    assert store.delete("drop") is False
    assert [r.run_id for r in store.list_runs()] == ["keep"]
    assert store.load("keep") is not None
    # The records went with it: a new run under that id starts empty.
    store.insert(snapshot("drop", steps={}, journal={}))
    loaded = store.load("drop")
    assert loaded is not None
    assert (loaded.steps, loaded.journal) == ({}, {})


# ------------------------------------------------------------------ isolation


def test_no_aliasing(store: Store) -> None:
    snap = snapshot()
    store.insert(snap)
    expected = dumps(store, "run-1")

    snap.input["message"] = "changed"
    snap.meta["state"]["k"] = 99
    snap.steps["a"]["output"]["y"].append(3)
    snap.steps["new"] = record()
    snap.journal.clear()
    snap.graph["steps"].clear()
    assert dumps(store, "run-1") == expected

    loaded = store.load("run-1")
    assert loaded is not None
    loaded.meta["state"]["k"] = 7
    loaded.steps["a"]["status"] = "failed"
    loaded.input["n"].clear()
    assert dumps(store, "run-1") == expected
    again = store.load("run-1")
    assert again is not None and again is not loaded and again.steps is not loaded.steps

    meta: dict[str, Any] = {"state": {"k": 2}, "suspended_paths": [["a"]]}
    steps = {"a": record()}
    journal = {"j": {"n": [1]}}
    store.update("run-1", expected_version=1, status="running", updated_at=2.0, meta=meta,
                 steps=steps, journal=journal)
    expected = dumps(store, "run-1")
    meta["state"]["k"] = 3
    meta["suspended_paths"][0].append("b")
    steps["a"]["status"] = "failed"
    steps["z"] = record()
    journal["j"]["n"].append(2)
    assert dumps(store, "run-1") == expected
    assert store.list_runs()[0].suspended == [["a"]]


def test_awkward_keys_and_unicode_are_verbatim(store: Store) -> None:
    for i, run_id in enumerate(AWKWARD):
        workflow_id = f"wf {run_id}"
        steps = {key: record(output=f"out {key} ✓") for key in AWKWARD}
        journal = {f"{key}:j": {key: key} for key in AWKWARD}
        snap = snapshot(run_id, workflow_id=workflow_id, created_at=float(i), steps=steps,
                        journal=journal, input={"text": run_id, run_id: "🚀"},
                        meta={"suspended_paths": [[run_id, "x.y"]]})
        store.insert(snap)
        assert store.update(run_id, expected_version=1, status=f"st {run_id}", updated_at=1.0,
                            meta=snap.meta, steps={run_id: record("done")}) == 2
        loaded = store.load(run_id)
        assert loaded is not None
        assert loaded.run_id == run_id
        assert loaded.workflow_id == workflow_id
        assert loaded.status == f"st {run_id}"
        assert loaded.input == {"text": run_id, run_id: "🚀"}
        assert list(loaded.steps) == AWKWARD
        assert loaded.steps[run_id]["status"] == "done"
        assert loaded.journal == journal
        assert [r.run_id for r in store.list_runs(workflow_id=workflow_id)] == [run_id]
        assert store.list_runs(status=f"st {run_id}")[0].suspended == [[run_id, "x.y"]]
    assert [r.run_id for r in store.list_runs()] == AWKWARD[::-1]
    assert store.delete("'; DROP TABLE runs; --") is True
    assert len(store.list_runs()) == len(AWKWARD) - 1


# ------------------------------------------------------------------ races


def _race_threads(store: Store, run_id: str, threads_n: int) -> list[str]:
    """``threads_n`` threads load ``run_id``, meet at a barrier, then all try to update it."""
    barrier = threading.Barrier(threads_n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def contend(i: int) -> None:
        snap = store.load(run_id)
        assert snap is not None
        barrier.wait(timeout=10)
        try:
            store.update(run_id, expected_version=snap.version, status="success",
                         updated_at=2.0, meta={"winner": i}, steps={f"t{i}": record()})
            result = f"won {i}"
        except ConcurrentRunError:
            result = "lost"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    return outcomes


def test_threaded_race_has_exactly_one_winner(store: Store) -> None:
    for round_ in range(5):
        run_id = f"race-{round_}"
        store.insert(snapshot(run_id))
        outcomes = _race_threads(store, run_id, threads_n=8)
        winners = [o for o in outcomes if o != "lost"]
        assert len(outcomes) == 8
        assert len(winners) == 1, outcomes
        winner = int(winners[0].split()[1])
        loaded = store.load(run_id)
        assert loaded is not None
        assert loaded.version == 2
        assert loaded.meta == {"winner": winner}
        assert [k for k in loaded.steps if k.startswith("t")] == [f"t{winner}"]


# ------------------------------------------------------------------ SQLite only


def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "runs.db"
    store = SQLiteStore(path)
    store.insert(snapshot())
    store.update("run-1", expected_version=1, status="suspended", updated_at=5.0,
                 meta={"suspended_paths": [["approve"]]}, steps={"approve": record("suspended")})
    expected = dumps(store, "run-1")
    store.close()

    reopened = SQLiteStore(str(path))
    try:
        assert dumps(reopened, "run-1") == expected
        assert reopened.list_runs()[0].suspended == [["approve"]]
        assert reopened.update("run-1", expected_version=2, status="success", updated_at=6.0,
                               meta={}, steps={"after": record()}) == 3
        loaded = reopened.load("run-1")
        assert loaded is not None
        assert list(loaded.steps) == ["a", "b", "approve", "after"]
    finally:
        reopened.close()


def test_sqlite_in_memory_database() -> None:
    store = SQLiteStore(":memory:")
    try:
        store.insert(snapshot())
        assert store.update("run-1", expected_version=1, status="success", updated_at=1.0,
                            meta={}) == 2
        assert [r.status for r in store.list_runs()] == ["success"]
    finally:
        store.close()


def test_sqlite_uses_wal_and_records_its_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(4,)]
        tables = {name: sql for name, sql in
                  conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'")}
        assert set(tables) == {"runs", "run_bodies", "run_meta", "run_records",
                               "shared_values", "shared_names", "cache_entries",
                               "schema_version"}
        # What is written after every step is small: the header row holds no input, graph
        # or meta, and a record and its key share one B-tree.
        header = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        assert not header & {"input", "graph", "meta"}
        assert "WITHOUT ROWID" in tables["run_records"]
    finally:
        conn.close()


def test_sqlite_refuses_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    store.insert(snapshot())
    store.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE schema_version SET version = 99")
    conn.close()
    with pytest.raises(FlownbError, match=r"schema version 99.*only knows version 4.*upgrade"):
        SQLiteStore(path)


# The table layout flownb 0.1 wrote first (storage schema version 1), kept here to test
# that newer versions migrate such a file.
_V1_LAYOUT = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE runs (run_id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, status TEXT NOT NULL,
    version INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    schema_version INTEGER NOT NULL, input TEXT NOT NULL, graph TEXT NOT NULL,
    meta TEXT NOT NULL);
CREATE INDEX runs_by_workflow ON runs (workflow_id, created_at);
CREATE INDEX runs_by_status ON runs (status);
CREATE TABLE run_records (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('step', 'journal')), key TEXT NOT NULL,
    seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, kind, key));
"""


def write_v1(path: Path, snapshots: list[Snapshot]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(_V1_LAYOUT)
        for s in snapshots:
            conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (s.run_id, s.workflow_id, s.status, s.version, s.created_at,
                          s.updated_at, s.schema_version, json.dumps(s.input),
                          json.dumps(s.graph), json.dumps(s.meta)))
            for i, (key, data) in enumerate([*s.steps.items(), *s.journal.items()]):
                kind = "step" if key in s.steps else "journal"
                conn.execute("INSERT INTO run_records VALUES (?, ?, ?, ?, ?)",
                             (s.run_id, kind, key, (s.version << 32) + i, json.dumps(data)))
    conn.close()


def test_a_version_1_file_is_migrated_with_every_run_intact(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    waiting = snapshot("r-wait", status="suspended", version=4, created_at=100.0,
                       meta={"suspended_paths": [["outer", "review"]], "state": None})
    done = snapshot("r-done", status="success", created_at=100.0,  # a tie: rowid orders
                    meta={"result": {"ok": True}, "suspended_paths": []})
    write_v1(path, [waiting, done])
    store = SQLiteStore(path)
    try:
        assert store.load("r-wait") == waiting and store.load("r-done") == done
        infos = store.list_runs()
        assert [i.run_id for i in infos] == ["r-done", "r-wait"]
        assert infos[1].suspended == [["outer", "review"]]
        assert store.update("r-wait", expected_version=4, status="running", updated_at=200.0,
                            meta={"suspended_paths": []}, steps={"c": record()}) == 5
        assert list(store.load("r-wait").steps) == ["a", "b", "c"]  # new records go last
        assert store.list_runs(status="suspended") == []
    finally:
        store.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(4,)]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert "runs_v1" not in tables and "run_records_v1" not in tables
    finally:
        conn.close()


def test_a_failed_migration_leaves_the_version_1_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    write_v1(path, [snapshot("good"), snapshot("bad")])
    conn = sqlite3.connect(path)
    with conn:  # what no flownb writes: a meta that is not JSON
        conn.execute("UPDATE runs SET meta = '{not json' WHERE run_id = 'bad'")
    conn.close()
    with pytest.raises(FlownbError, match=r"migrate the run database .*old\.db.* left as it"):
        SQLiteStore(path)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone() == (2,)
        assert conn.execute("SELECT COUNT(*) FROM run_records").fetchone() == (6,)
    finally:
        conn.close()


_RACER = r"""
import sys
from flownb.errors import ConcurrentRunError
from flownb.storage import SQLiteStore

store = SQLiteStore(sys.argv[1])
name = sys.argv[2]
print("started", flush=True)
for line in sys.stdin:
    run_id = line.strip()
    snap = store.load(run_id)
    print("ready", snap.version, flush=True)
    sys.stdin.readline()  # the parent's "go", sent to both racers at once
    try:
        store.update(run_id, expected_version=snap.version, status="success", updated_at=2.0,
                     meta={"winner": name}, steps={name: {"status": "success"}})
        print("won", flush=True)
    except ConcurrentRunError:
        print("lost", flush=True)
store.close()
"""


def test_sqlite_two_process_race_has_exactly_one_winner(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    racers = [
        subprocess.Popen([sys.executable, "-c", _RACER, str(path), name],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        for name in ("p1", "p2")
    ]

    def send(proc: subprocess.Popen[str], line: str) -> None:
        assert proc.stdin is not None
        proc.stdin.write(line + "\n")
        proc.stdin.flush()

    def read(proc: subprocess.Popen[str]) -> str:
        assert proc.stdout is not None
        return proc.stdout.readline().strip()

    try:
        assert [read(p) for p in racers] == ["started", "started"]
        for round_ in range(5):
            run_id = f"race-{round_}"
            store.insert(snapshot(run_id))
            for p in racers:
                send(p, run_id)
            # Both have loaded version 1 before either may write.
            assert [read(p) for p in racers] == ["ready 1", "ready 1"]
            for p in racers:
                send(p, "go")
            results = [read(p) for p in racers]
            assert sorted(results) == ["lost", "won"], results
            winner = ("p1", "p2")[results.index("won")]
            loaded = store.load(run_id)
            assert loaded is not None
            assert loaded.version == 2
            assert loaded.meta == {"winner": winner}
            assert list(loaded.steps) == ["a", "b", winner]
    finally:
        for p in racers:
            if p.stdin is not None:
                p.stdin.close()
        for p in racers:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout is not None:
                p.stdout.close()
        store.close()
    assert [p.returncode for p in racers] == [0, 0]


def test_snapshot_json_is_plain_json(store: Store) -> None:
    """What a store hands back is JSON through and through (no tuples, no objects)."""
    store.insert(snapshot(input={"t": (1, 2)}, meta={"suspended_paths": [("a", "b")]}))
    loaded = store.load("run-1")
    assert loaded is not None
    assert loaded.input == {"t": [1, 2]}
    assert json.loads(loaded.dumps()) == loaded.to_json()
    assert store.list_runs()[0].suspended == [["a", "b"]]
