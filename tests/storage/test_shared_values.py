"""Each value stored once: large values cut into shared parts (``flownb.storage.values``)
and ``SQLiteStore``'s storage layout 3, which keeps each shared part once per file, lets
go of it with the last row that refers to it, and migrates layout 2 files in place."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from flownb import ConcurrentRunError, create_step, create_workflow
from flownb.errors import StorageError
from flownb.storage import Snapshot, SQLiteStore, Store
from flownb.storage.base import dumps_json
from flownb.storage.values import INLINE_LIMIT, join, split, value_name

BIG = "x" * 3000
OTHER = "y" * 2500


def snapshot(run_id: str = "r1", **changes: Any) -> Snapshot:
    fields: dict[str, Any] = {
        "run_id": run_id, "workflow_id": "wf", "status": "running", "version": 1,
        "created_at": 1.0, "updated_at": 1.0, "input": {"n": 1}, "graph": {"id": "wf"},
        "meta": {"suspended_paths": []}, "steps": {}, "journal": {},
    }
    fields.update(changes)
    return Snapshot(**fields)


def record(payload: Any = None, output: Any = None, status: str = "success") -> dict[str, Any]:
    return {"status": status, "payload": payload, "output": output, "error": None,
            "started_at": 1.0, "ended_at": 2.0, "attempts": 1}


def shared_rows(path: Path) -> dict[str, tuple[int, int]]:
    """name -> (uses, length of its text), read from the file itself."""
    conn = sqlite3.connect(path)
    try:
        return {name: (uses, size) for name, uses, size in conn.execute(
            "SELECT n.name, n.uses, length(v.data) FROM shared_names n "
            "JOIN shared_values v ON v.id = n.value_id")}
    finally:
        conn.close()


def assert_uses_match_references(path: Path) -> None:
    """Every shared value is used by exactly as many rows as refer to it, and nothing is
    kept that no row refers to."""
    conn = sqlite3.connect(path)
    try:
        refs = [row[0] for row in conn.execute(
            "SELECT refs FROM run_records UNION ALL SELECT refs FROM run_meta "
            "UNION ALL SELECT input_refs FROM run_bodies "
            "UNION ALL SELECT graph_refs FROM run_bodies") if row[0] is not None]
        counted: dict[str, int] = {}
        for text in refs:
            for name in json.loads(text):
                counted[name] = counted.get(name, 0) + 1
        uses = dict(conn.execute("SELECT name, uses FROM shared_names").fetchall())
        assert uses == counted
        ids = {row[0] for row in conn.execute("SELECT id FROM shared_values")}
        assert ids == {row[0] for row in conn.execute("SELECT value_id FROM shared_names")}
    finally:
        conn.close()


# ------------------------------------------------------------------ split / join


def test_a_small_value_stays_whole_and_inline() -> None:
    assert split({"n": 1, "s": "a" * 100}) == ('{"n":1,"s":"' + "a" * 100 + '"}', None, None)
    assert join('{"n":1}', None, {}) == {"n": 1}


def test_a_part_found_twice_is_shared_once() -> None:
    text, refs, shared = split(record(BIG, BIG))
    name = value_name(json.dumps(BIG))
    assert shared == {name: json.dumps(BIG)}
    assert refs is not None and json.loads(refs) == {name: [["payload"], ["output"]]}
    assert json.loads(text) == record(None, None)
    assert list(json.loads(text)) == list(record())  # members keep their order
    assert join(text, refs, shared) == record(BIG, BIG)


def test_a_value_is_cut_at_its_large_parts_at_any_depth() -> None:
    value = {"rows": [{"id": 1, "body": BIG}, {"id": 2, "body": "short"}, OTHER],
             "title": "t", "many": [{"k": i} for i in range(200)]}
    text, refs, shared = split(value)
    assert refs is not None and shared is not None
    paths = json.loads(refs)
    assert paths[value_name(json.dumps(BIG))] == [["rows", 0, "body"]]
    assert paths[value_name(json.dumps(OTHER))] == [["rows", 2]]
    # A large part without large members is shared whole.
    assert paths[value_name(dumps_json(value["many"]))] == [["many"]]
    assert json.loads(text) == {"rows": [{"id": 1, "body": None}, {"id": 2, "body": "short"},
                                         None], "title": "t", "many": None}
    assert join(text, refs, shared) == value


def test_a_whole_value_can_be_shared_and_keys_json_spells_differently_are_not_cut() -> None:
    text, refs, shared = split(BIG)
    assert text == "null" and refs is not None and json.loads(refs) == {
        value_name(json.dumps(BIG)): [[]]}
    assert join(text, refs, shared or {}) == BIG
    value = {1: BIG, "a": BIG}  # an int key: written "1"
    text, refs, shared = split(value)
    assert text == "null" and join(text, refs, shared or {}) == {"1": BIG, "a": BIG}


def test_each_place_of_a_shared_container_gets_its_own_copy() -> None:
    rows = [{"k": i} for i in range(300)]
    loaded = join(*_split3({"payload": rows, "output": rows}))
    assert loaded["payload"] == loaded["output"] and loaded["payload"] is not loaded["output"]


def _split3(value: Any) -> tuple[str, str | None, dict[str, str]]:
    text, refs, shared = split(value)
    return text, refs, shared or {}


# What a user might store that looks like what the store writes for itself.
LOOKALIKES = [
    None, "null", value_name(json.dumps(BIG)), {value_name(json.dumps(BIG)): [["payload"]]},
    {value_name(json.dumps(BIG)): [[]]}, [[]], {"$ref": value_name(json.dumps(BIG))},
    json.dumps({value_name(json.dumps(BIG)): [["output"]]}),
]

long_texts = st.builds(lambda ch, n: ch * n, st.characters(), st.integers(500, 2000))
json_scalars = (st.none() | st.booleans() | st.integers(-(2**53), 2**53)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
                | st.sampled_from(LOOKALIKES) | long_texts | long_texts)
json_values = st.recursive(
    json_scalars,
    lambda inner: (st.lists(inner, max_size=5)
                   | st.dictionaries(st.text(max_size=6) | st.sampled_from(
                       [value_name(json.dumps(BIG)), "payload", "$ref"]), inner, max_size=5)),
    max_leaves=12)


@settings(max_examples=150, deadline=None, database=None)
@given(json_values)
def test_split_then_join_gives_the_value_back(value: Any) -> None:
    text, refs, shared = _split3(value)
    assert join(text, refs, shared) == value
    # The inline text alone never holds a large part.
    assert refs is not None or len(text) < INLINE_LIMIT


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_values, min_size=4, max_size=4))
def test_load_of_insert_and_update_is_the_same_snapshot(values: list[Any]) -> None:
    a, b, c, d = values
    store = SQLiteStore(":memory:")
    try:
        snap = snapshot(input=a, graph={"id": "wf", "x": b}, meta={"state": c, "result": a},
                        steps={"s1": record(a, b), "s2": record(b, b)},
                        journal={"j": {"output": c}})
        store.insert(snap)
        loaded = store.load("r1")
        assert loaded is not None and loaded == snap and loaded.dumps() == snap.dumps()
        store.update("r1", expected_version=1, status="success", updated_at=2.0,
                     meta={"result": d, "state": a}, steps={"s2": record(d, c),
                                                            "s3": record(c, d)},
                     journal={"j": {"output": d}})
        expected = snapshot(input=a, graph=snap.graph, meta={"result": d, "state": a},
                            status="success", version=2, updated_at=2.0,
                            steps={"s1": record(a, b), "s2": record(d, c),
                                   "s3": record(c, d)}, journal={"j": {"output": d}})
        assert store.load("r1") == expected
        assert store.delete("r1")
        conn = store._conn
        assert conn.execute("SELECT COUNT(*) FROM shared_values").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM shared_names").fetchone() == (0,)
    finally:
        store.close()


def test_a_lone_surrogate_in_a_large_value_is_kept(tmp_path: Path) -> None:
    odd = "\ud800" + "z" * 2000
    store = SQLiteStore(tmp_path / "runs.db")
    try:
        store.insert(snapshot(input={"odd": odd, "again": odd}))
        loaded = store.load("r1")
        assert loaded is not None and loaded.input == {"odd": odd, "again": odd}
    finally:
        store.close()


# ------------------------------------------------------------------ SQLite: stored once


def _pass_along(store: Store) -> Any:
    def same(input_data: str) -> str:
        return input_data

    wf = create_workflow(id="pass-along", input_schema=str, output_schema=str, storage=store)
    for i in range(3):
        wf.then(create_step(id=f"same{i}", input_schema=str, output_schema=str, execute=same))
    return wf.commit()


# The file of one small run, with its tables and indexes: a page or two each.
FIXED_OVERHEAD = 64 * 1024


async def test_a_large_string_through_three_steps_is_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    text = "x" * 10_500_000
    result = await _pass_along(store).create_run().start(text)
    assert result.status == "success" and result.result == text
    snap = store.load(result.run_id)
    assert snap is not None and snap.input == text and snap.meta["result"] == text
    assert [(s["payload"], s["output"]) for s in snap.steps.values()] == [(text, text)] * 3
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    distinct = len(json.dumps(text))
    # It was 8x (84 MB) in storage layout 2: input, each payload and output, the result.
    assert path.stat().st_size <= 1.1 * distinct + FIXED_OVERHEAD
    assert list(shared_rows(path).values()) == [(5, distinct)]  # 5 rows, 8 places
    assert_uses_match_references(path)


async def test_small_values_are_stored_as_before(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    result = await _pass_along(store).create_run().start("small")
    assert result.result == "small"
    store.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM run_records WHERE refs IS NULL").fetchone() \
            == (3,)
        assert conn.execute("SELECT COUNT(*) FROM shared_values").fetchone() == (0,)
    finally:
        conn.close()


# -- what a store's shared values go through, written once for both stores ------------------
# Each scenario takes the store, ``rows()`` (name -> (uses, size) of its shared values) and
# ``check()`` (every value's count of uses matches the references to it);
# tests/storage/test_postgres_shared_values.py runs them on PostgreSQL.

Rows = Callable[[], dict[str, tuple[int, int]]]


def runs_share_values_and_delete_frees(store: Store, rows: Rows,
                                       check: Callable[[], None]) -> None:
    store.insert(snapshot("r1", input=BIG, steps={"a": record(BIG, OTHER)}))
    store.insert(snapshot("r2", input=BIG))
    assert sorted(rows().values()) == [(1, len(OTHER) + 2), (3, len(BIG) + 2)]
    check()
    assert store.delete("r1")
    assert list(rows().values()) == [(1, len(BIG) + 2)]
    loaded = store.load("r2")
    assert loaded is not None and loaded.input == BIG
    assert store.delete("r2")
    assert rows() == {}


def rewritten_record_or_meta_lets_go(store: Store, rows: Rows,
                                     check: Callable[[], None]) -> None:
    store.insert(snapshot(meta={"state": BIG}, steps={"a": record(BIG, None, "running")}))
    v = store.update("r1", expected_version=1, status=None, updated_at=2.0,
                     meta={"state": OTHER}, steps={"a": record(BIG, OTHER)})
    assert sorted(rows().values()) == [(1, len(BIG) + 2), (2, len(OTHER) + 2)]
    v = store.update("r1", expected_version=v, status=None, updated_at=3.0,
                     meta={"state": "small"}, steps={"a": record("small", OTHER)})
    assert list(rows().values()) == [(1, len(OTHER) + 2)]
    # Several records at once (PostgreSQL's batch statement, for one run).
    v = store.update("r1", expected_version=v, status=None, updated_at=4.0, meta=None,
                     steps={"a": record(BIG, BIG), **{f"s{i}": record(i) for i in range(5)}},
                     journal={"j": {"output": OTHER}})
    assert sorted(rows().values()) == [(1, len(OTHER) + 2), (1, len(BIG) + 2)]
    check()
    loaded = store.load("r1")
    assert loaded is not None
    assert (loaded.meta, loaded.steps["a"]["output"], loaded.journal["j"]["output"]) == (
        {"state": "small"}, BIG, OTHER)
    # Rewritten small, several records at once again: nothing is left.
    store.update("r1", expected_version=v, status=None, updated_at=5.0, meta={"x": 1},
                 steps={"a": record(), **{f"s{i}": record(i) for i in range(5)}},
                 journal={"j": {"output": None}})
    assert rows() == {}


def batch_drops_and_takes_up_a_value(store: Store, rows: Rows,
                                     check: Callable[[], None]) -> None:
    from flownb.storage import Update

    store.insert(snapshot("r1", steps={"a": record(BIG)}))
    store.insert(snapshot("r2"))
    store.insert(snapshot("r3"))
    # r1 lets go of BIG's last use while r2 takes it up, in one write; r3's version check
    # fails, and what it would have referred to is not counted.
    results = store.update_many([
        Update("r1", expected_version=1, status=None, updated_at=2.0, meta=None,
               steps={"a": record("small")}),
        Update("r2", expected_version=1, status=None, updated_at=2.0, meta={"m": OTHER},
               steps={"b": record(BIG)}),
        Update("r3", expected_version=7, status=None, updated_at=2.0, meta=None,
               steps={"c": record(OTHER, BIG)}),
    ])
    assert results[:2] == [2, 2] and isinstance(results[2], ConcurrentRunError)
    loaded = store.load("r2")
    assert loaded is not None and loaded.steps["b"]["payload"] == BIG
    assert loaded.meta == {"m": OTHER}
    assert sorted(rows().values()) == [(1, len(OTHER) + 2), (1, len(BIG) + 2)]
    check()


@pytest.mark.parametrize("scenario", [runs_share_values_and_delete_frees,
                                      rewritten_record_or_meta_lets_go,
                                      batch_drops_and_takes_up_a_value])
def test_shared_values_on_sqlite(tmp_path: Path, scenario: Callable[..., None]) -> None:
    path = tmp_path / "runs.db"
    store = SQLiteStore(path)
    try:
        scenario(store, lambda: shared_rows(path), lambda: assert_uses_match_references(path))
    finally:
        store.close()


def test_a_writer_stores_again_what_another_connection_deleted(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    first, second = SQLiteStore(path), SQLiteStore(path)
    try:
        first.insert(snapshot("r1", input=BIG))
        second.insert(snapshot("r2", steps={"a": record("small")}))
        assert first.delete("r1") and shared_rows(path) == {}
        second.update("r2", expected_version=1, status=None, updated_at=2.0, meta=None,
                      steps={"a": record(BIG)})
        loaded = first.load("r2")
        assert loaded is not None and loaded.steps["a"]["payload"] == BIG
        assert_uses_match_references(path)
    finally:
        first.close()
        second.close()


def test_a_load_racing_a_rewrite_reads_again_in_one_transaction(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "runs.db"
    reader, writer = SQLiteStore(path), SQLiteStore(path)
    try:
        writer.insert(snapshot(steps={"a": record(BIG)}))
        calls: list[int] = []
        read_shared = reader._read_shared

        def rewritten_in_between(rows: list[Any]) -> dict[str, str] | None:
            if not calls:  # after the rows were read: BIG goes before it is looked up
                writer.update("r1", expected_version=1, status="success", updated_at=2.0,
                              meta=None, steps={"a": record(OTHER)})
            calls.append(1)
            return read_shared(rows)

        monkeypatch.setattr(reader, "_read_shared", rewritten_in_between)
        loaded = reader.load("r1")
        assert loaded is not None and len(calls) == 2
        assert (loaded.version, loaded.steps["a"]["payload"]) == (2, OTHER)
    finally:
        reader.close()
        writer.close()


class Doc(BaseModel):
    text: str


class Go(BaseModel):
    ok: bool


async def test_exactly_once_resume_holds_with_large_values(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    await resume_exactly_once_with_large_values(lambda: SQLiteStore(path),
                                                lambda: assert_uses_match_references(path))


async def resume_exactly_once_with_large_values(make_store: Callable[[], Store],
                                                check_uses: Callable[[], None]) -> None:
    """Two stores on one database resume a run suspended with a large payload at once: one
    wins, the step runs once, the payload loads whole and every use is counted
    (``check_uses``). Run over SQLite here and over PostgreSQL in
    ``test_postgres_shared_values``."""
    calls: list[str] = []

    def workflow(store: Store) -> Any:
        def first(input_data: Doc) -> Doc:
            calls.append("first")
            return input_data

        def gate(input_data: Doc, resume_data: Go | None, suspend: Any) -> Any:
            if resume_data is None:
                return suspend({"text": input_data.text})
            calls.append("resumed")
            return input_data

        return (create_workflow(id="gated", input_schema=Doc, output_schema=Doc, storage=store)
                .then(create_step(id="first", input_schema=Doc, output_schema=Doc,
                                  execute=first))
                .then(create_step(id="gate", input_schema=Doc, output_schema=Doc,
                                  resume_schema=Go, execute=gate))
                .commit())

    stores = [make_store(), make_store()]
    try:
        started = await workflow(stores[0]).create_run().start({"text": BIG})
        assert started.status == "suspended"
        outcomes = await asyncio.gather(
            *(workflow(s).create_run(run_id=started.run_id).resume({"ok": True})
              for s in stores), return_exceptions=True)
        assert sorted(type(o).__name__ for o in outcomes) == ["ConcurrentRunError",
                                                              "WorkflowResult"]
        won = next(o for o in outcomes if not isinstance(o, ConcurrentRunError))
        assert won.status == "success" and won.result.text == BIG  # type: ignore[union-attr]
        assert calls == ["first", "resumed"]
        snap = stores[1].load(started.run_id)
        assert snap is not None and snap.steps["gate"]["suspend_payload"] == {"text": BIG}
        check_uses()
    finally:
        for s in stores:
            s.close()


# ------------------------------------------------------------------ migration


# The table layout of storage schema version 2 (flownb before values were shared), kept
# here to test that newer versions migrate such a file.
_V2_LAYOUT = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (2);
CREATE TABLE runs (run_id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, status TEXT NOT NULL,
    version INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    schema_version INTEGER NOT NULL, suspended TEXT NOT NULL);
CREATE INDEX runs_by_workflow ON runs (workflow_id, created_at);
CREATE INDEX runs_by_status ON runs (status);
CREATE TABLE run_bodies (
    run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
    input TEXT NOT NULL, graph TEXT NOT NULL);
CREATE TABLE run_meta (
    run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE, meta TEXT NOT NULL);
CREATE TABLE run_records (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('step', 'journal')), key TEXT NOT NULL,
    seq INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, kind, key)) WITHOUT ROWID;
"""


def write_v2(path: Path, snapshots: list[Snapshot]) -> None:
    """A file as flownb wrote it with storage layout 2: every value inline."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(_V2_LAYOUT)
        for s in snapshots:
            conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (s.run_id, s.workflow_id, s.status, s.version, s.created_at,
                          s.updated_at, s.schema_version,
                          json.dumps(s.meta.get("suspended_paths") or [])))
            conn.execute("INSERT INTO run_bodies VALUES (?, ?, ?)",
                         (s.run_id, json.dumps(s.input), json.dumps(s.graph)))
            conn.execute("INSERT INTO run_meta VALUES (?, ?)", (s.run_id, json.dumps(s.meta)))
            for i, (key, data) in enumerate([*s.steps.items(), *s.journal.items()]):
                kind = "step" if key in s.steps else "journal"
                conn.execute("INSERT INTO run_records VALUES (?, ?, ?, ?, ?)",
                             (s.run_id, kind, key, (s.version << 32) + i, json.dumps(data)))
    conn.close()


def v2_runs() -> list[Snapshot]:
    """The runs the migration tests of both stores write in their layout 2."""
    return [
        snapshot("r1", status="suspended", version=3, input={"doc": BIG},
                 meta={"suspended_paths": [["b"]], "state": {"last": OTHER}},
                 steps={"a": record({"doc": BIG}, OTHER), "b": record(OTHER, None, "suspended")},
                 journal={"loop[@1]": {"output": OTHER}}),
        snapshot("r2", status="success", created_at=2.0, input={"doc": BIG},
                 meta={"result": BIG}),
        snapshot("r3", created_at=3.0, steps={"a": record(1, 2)}),
    ]


def test_a_version_2_file_is_migrated_with_every_value_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    runs = v2_runs()
    write_v2(path, runs)
    store = SQLiteStore(path)
    try:
        for snap in runs:
            assert store.load(snap.run_id) == snap
        assert [i.run_id for i in store.list_runs(status="suspended")] == ["r1"]
        assert store.update("r1", expected_version=3, status="success", updated_at=5.0,
                            meta={"result": OTHER}, steps={"b": record(OTHER, OTHER)}) == 4
    finally:
        store.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(4,)]
        texts = [row[0] for row in conn.execute(
            "SELECT data FROM run_records UNION ALL SELECT meta FROM run_meta "
            "UNION ALL SELECT input FROM run_bodies")]
        assert not any(BIG in t or OTHER in t for t in texts)
    finally:
        conn.close()
    assert sorted(shared_rows(path).values()) == [(4, len(OTHER) + 2), (4, len(BIG) + 2)]
    assert_uses_match_references(path)
    store = SQLiteStore(path)  # opened again: nothing left to migrate
    try:
        for run_id in ("r1", "r2", "r3"):
            assert store.delete(run_id)
    finally:
        store.close()
    assert shared_rows(path) == {}


def test_a_failed_migration_leaves_the_version_2_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    write_v2(path, v2_runs())
    conn = sqlite3.connect(path)
    with conn:  # what no flownb writes: a large record that is not JSON
        conn.execute("UPDATE run_records SET data = '{not json' || data WHERE key = 'a' "
                     "AND run_id = 'r1'")
    conn.close()
    with pytest.raises(StorageError, match=r"schema version 2 to 4.*left as it was"):
        SQLiteStore(path)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert not tables & {"shared_values", "shared_names"}
        assert {row[1] for row in conn.execute("PRAGMA table_info(run_records)")} == {
            "run_id", "kind", "key", "seq", "data"}
        texts = [row[0] for row in conn.execute("SELECT data FROM run_records")]
        assert sum(BIG in t for t in texts) == 1 and sum(OTHER in t for t in texts) == 3
    finally:
        conn.close()
