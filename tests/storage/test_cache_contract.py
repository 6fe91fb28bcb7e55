"""The step cache's store contract (``flownb.storage.cache``), run against every store
(``MemoryStore``, ``SQLiteStore`` and ``PostgresStore`` on the session's throwaway
PostgreSQL server), and ``RunInfo.parent_run_id``.

Then what only the stores on disk promise: entries written in the run's own transaction,
durable, seen by other connections; and the layouts of older flownb versions (SQLite 3,
PostgreSQL 1) migrated in place, their runs kept and a working cache gained.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_store_contract import make_store, record, snapshot, write_v1

from flownb.errors import ConcurrentRunError, RunNotFoundError, StorageError
from flownb.storage import Snapshot, SQLiteStore, Store, Update
from flownb.storage import sqlite_layout as sqlite_sql
from flownb.storage.base import dumps_json
from flownb.storage.cache import CACHE_FIND_LIMIT, CacheEntry
from flownb.storage.values import split


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = make_store(request.param, request, tmp_path)
    yield s
    s.close()


def entry(key: str = "k1", *, run_id: str = "run-1", step: str = "score",
          workflow_id: str = "wf", created_at: float = 1.0, **changes: Any) -> CacheEntry:
    fields: dict[str, Any] = {
        "key": key, "workflow_id": workflow_id, "step": step, "run_id": run_id,
        "path": step + "[2]", "output": {"score": 3, "why": ["ünïcødé ✓", None, 2.5]},
        "parts": {"code": "ab12", "input": {"x": 1}}, "reads": {"prep": "d1g"},
        "effects": {"state": {"n": 1}}, "created_at": created_at,
    }
    fields.update(changes)
    return CacheEntry(**fields)


def touch(run_id: str, version: int, *cache: CacheEntry, steps: int = 1) -> Update:
    """An update of ``run_id`` at ``version`` writing ``steps`` new records and ``cache``."""
    return Update(run_id, expected_version=version, status=None, updated_at=float(version),
                  meta=None, steps={f"s{version}.{i}": record() for i in range(steps)},
                  cache=cache)


def keys_of(entries: list[CacheEntry]) -> list[tuple[str, float]]:
    return [(e.run_id, e.created_at) for e in entries]


# ------------------------------------------------------------------ put / find


def test_find_is_newest_first_at_most_the_limit_and_entries_round_trip(store: Store) -> None:
    store.cache_put([entry("k1", created_at=float(t)) for t in range(CACHE_FIND_LIMIT + 4)])
    store.cache_put([entry("k2", created_at=100.0)])
    found = store.cache_find("k1")
    assert [e.created_at for e in found] == [
        float(t) for t in reversed(range(4, CACHE_FIND_LIMIT + 4))]
    assert found[0] == entry("k1", created_at=float(CACHE_FIND_LIMIT + 3))
    assert found[0].cached_from == {"run_id": "run-1", "path": "score[2]"}
    assert store.cache_find("k2") == [entry("k2", created_at=100.0)]


def test_entries_of_one_time_are_found_newest_inserted_first(store: Store) -> None:
    store.cache_put([entry(run_id="a"), entry(run_id="b")])
    store.cache_put([entry(run_id="c")])
    assert [e.run_id for e in store.cache_find("k1")] == ["c", "b", "a"]


def test_find_of_an_unknown_key_is_empty(store: Store) -> None:
    assert store.cache_find("nope") == []
    store.cache_put([entry("k1")])
    assert store.cache_find("k") == [] and store.cache_find("k1 ") == []
    assert store.cache_last("wf", "nope") is None


def test_an_entry_that_is_not_json_is_refused_whole(store: Store) -> None:
    with pytest.raises(TypeError):
        store.cache_put([entry("k1"), entry("k1", output=object())])
    assert store.cache_find("k1") == []


# ------------------------------------------------------------------ written with the update


def test_entries_go_with_their_update_and_only_if_its_version_check_passed(
        store: Store) -> None:
    for run_id in ("r1", "r2", "r3"):
        store.insert(snapshot(run_id))
    results = store.update_many([
        touch("r1", 1, entry("a", run_id="r1")),
        touch("r2", 7, entry("b", run_id="r2")),  # stale: r2 is at version 1
        touch("nope", 1, entry("c", run_id="nope")),
        touch("r3", 1),
    ])
    assert results[0] == 2 and results[3] == 2
    assert isinstance(results[1], ConcurrentRunError)
    assert isinstance(results[2], RunNotFoundError)
    assert keys_of(store.cache_find("a")) == [("r1", 1.0)]
    assert store.cache_find("b") == [] and store.cache_find("c") == []
    # An entry may name another run than the update that carries it (a reused step).
    assert store.update_many([touch("r2", 1, entry("b", run_id="r1"), entry("b2"))]) == [2]
    assert keys_of(store.cache_find("b")) == [("r1", 1.0)]
    assert keys_of(store.cache_find("b2")) == [("run-1", 1.0)]


@pytest.mark.parametrize("steps", [1, 6])  # PostgreSQL: its one-run statement, and arrays
def test_one_update_writes_its_entries_only_when_it_applies(store: Store, steps: int) -> None:
    store.insert(snapshot("r1"))
    assert store.update_many([touch("r1", 1, entry("a", run_id="r1"), entry("a2"),
                                    steps=steps)]) == [2]
    result = store.update_many([touch("r1", 1, entry("b"), steps=steps)])  # stale
    assert isinstance(result[0], ConcurrentRunError)
    assert [e.key for e in store.cache_find("a")] == ["a"] and store.cache_find("b") == []
    assert len(store.cache_find("a2")) == 1
    snap = store.load("r1")
    assert snap is not None and snap.version == 2 and len(snap.steps) == 2 + steps


def test_a_run_changed_twice_in_one_batch_writes_the_entries_of_the_change_that_applied(
        store: Store) -> None:
    store.insert(snapshot("r1"))
    store.insert(snapshot("r2"))
    results = store.update_many([
        touch("r1", 1, entry("first", run_id="r1")),
        touch("r1", 1, entry("stale", run_id="r1")),  # the first moved it on
        touch("r1", 2, entry("second", run_id="r1")),
        touch("r2", 1, entry("other", run_id="r2")),
    ])
    assert results[0] == 2 and results[2] == 3 and results[3] == 2
    assert isinstance(results[1], ConcurrentRunError)
    assert [len(store.cache_find(k)) for k in ("first", "stale", "second", "other")] == [
        1, 0, 1, 1]


def test_a_batch_with_an_entry_that_is_not_json_writes_nothing(store: Store) -> None:
    store.insert(snapshot("r1"))
    store.insert(snapshot("r2"))
    with pytest.raises(TypeError):
        store.update_many([touch("r1", 1, entry("a")),
                           touch("r2", 1, entry("b", reads={"x": object()}))])
    assert store.version_of("r1") == 1 and store.version_of("r2") == 1
    assert store.cache_find("a") == [] and store.cache_find("b") == []


# ------------------------------------------------------------------ cache_last, delete, clear


def test_cache_last_is_the_newest_entry_of_the_step_whatever_its_key(store: Store) -> None:
    store.cache_put([
        entry("k1", created_at=1.0), entry("k3", created_at=2.0),
        entry("k2", created_at=3.0, run_id="r2"),
        entry("k8", created_at=8.0, step="outer.score"),
        entry("k9", created_at=9.0, workflow_id="other"),
    ])
    last = store.cache_last("wf", "score")
    assert last is not None and (last.key, last.run_id) == ("k2", "r2")
    other = store.cache_last("other", "score")
    assert other is not None and other.key == "k9"
    nested = store.cache_last("wf", "outer.score")
    assert nested is not None and nested.key == "k8"
    assert store.cache_last("wf", "outer") is None and store.cache_last("nope", "score") is None
    store.cache_put([entry("k4", created_at=3.0)])  # a tie: the one written last
    last = store.cache_last("wf", "score")
    assert last is not None and last.key == "k4"


def test_delete_forgets_the_entries_of_that_run_only(store: Store) -> None:
    store.insert(snapshot("r1"))
    store.insert(snapshot("r2"))
    store.update_many([touch("r2", 1, entry("k", run_id="r2", created_at=1.0)),
                       touch("r1", 1, entry("k", run_id="r1", created_at=2.0))])
    store.cache_put([entry("other", run_id="r1")])
    assert keys_of(store.cache_find("k")) == [("r1", 2.0), ("r2", 1.0)]
    assert store.delete("r1")
    assert keys_of(store.cache_find("k")) == [("r2", 1.0)]
    assert store.cache_find("other") == []
    last = store.cache_last("wf", "score")
    assert last is not None and last.run_id == "r2"
    assert store.load("r2") is not None
    store.cache_put([entry("orphan", run_id="gone")])  # entries of a run never stored
    assert not store.delete("gone")
    assert store.cache_find("orphan") == [] and len(store.cache_find("k")) == 1


def test_clear_cache_returns_how_many_and_keeps_the_runs(store: Store) -> None:
    assert store.clear_cache() == 0
    store.insert(snapshot("r1"))
    store.update_many([touch("r1", 1, entry("a"), entry("b"))])
    store.cache_put([entry("a", created_at=5.0)])
    assert store.clear_cache() == 3
    assert store.cache_find("a") == [] and store.cache_last("wf", "score") is None
    assert store.clear_cache() == 0
    snap = store.load("r1")
    assert snap is not None and snap.version == 2
    store.cache_put([entry("c")])  # still works afterwards
    assert len(store.cache_find("c")) == 1


# ------------------------------------------------------------------ parent_run_id


def test_parent_run_id_is_listed_as_it_was_at_insert(store: Store) -> None:
    store.insert(snapshot("parent", created_at=1.0))
    store.insert(snapshot("fork", created_at=2.0,
                          meta={"parent_run_id": "parent", "suspended_paths": [["a"]]}))
    store.insert(snapshot("odd", created_at=3.0, meta={"parent_run_id": 5}))
    infos = {i.run_id: i for i in store.list_runs()}
    assert {k: i.parent_run_id for k, i in infos.items()} == {
        "parent": None, "fork": "parent", "odd": None}
    assert infos["fork"].suspended == [["a"]]
    assert infos["fork"].to_dict()["parent_run_id"] == "parent"
    # It never changes afterwards, whatever the meta becomes.
    store.update("fork", expected_version=1, status="success", updated_at=3.0,
                 meta={"parent_run_id": "someone-else"})
    store.update("parent", expected_version=1, status=None, updated_at=3.0,
                 meta={"parent_run_id": "late"})
    assert {i.run_id: i.parent_run_id for i in store.list_runs(status="success")} == {
        "fork": "parent"}
    assert {i.run_id: i.parent_run_id for i in store.list_runs(workflow_id="wf")} == {
        "parent": None, "fork": "parent", "odd": None}


def test_parent_run_id_of_runs_inserted_together(store: Store) -> None:
    assert store.insert_many([snapshot("a", meta={"parent_run_id": "p"}), snapshot("b"),
                              snapshot("a", meta={"parent_run_id": "q"})])[:2] == [None, None]
    assert {i.run_id: i.parent_run_id for i in store.list_runs()} == {"a": "p", "b": None}


# ------------------------------------------------------------------ on disk: durable, shared


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_entries_are_durable_and_seen_through_another_connection(
        kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    first = make_store(kind, request, tmp_path)
    second = make_store(kind, request, tmp_path)  # same file, or same database
    try:
        first.insert(snapshot("r1", meta={"parent_run_id": "p0"}))
        assert first.update_many([touch("r1", 1, entry("k", run_id="r1"))]) == [2]
        assert keys_of(second.cache_find("k")) == [("r1", 1.0)]
        second.cache_put([entry("k", run_id="r2", created_at=2.0)])
        assert keys_of(first.cache_find("k")) == [("r2", 2.0), ("r1", 1.0)]
        last = first.cache_last("wf", "score")
        assert last is not None and last.run_id == "r2"
    finally:
        first.close()
        second.close()
    if kind != "sqlite":
        return
    again = SQLiteStore(tmp_path / "runs.db")  # reopened
    try:
        assert again.cache_find("k") == [entry("k", run_id="r2", created_at=2.0),
                                         entry("k", run_id="r1")]
        assert [i.parent_run_id for i in again.list_runs()] == ["p0"]
        assert again.clear_cache() == 2
    finally:
        again.close()


def _statements(store: SQLiteStore) -> list[str]:
    seen: list[str] = []
    store._conn.set_trace_callback(seen.append)
    return seen


@pytest.mark.parametrize("size", [1, 3])
def test_sqlite_batch_costs_one_more_statement_only_when_it_carries_entries(
        tmp_path: Path, size: int) -> None:
    """The same batch twice (the last update failing its check): without entries, no
    statement touches the cache; with them, one ``INSERT`` of the entries that apply."""
    store = SQLiteStore(tmp_path / "runs.db")
    try:
        store.insert_many([snapshot(f"r{i}") for i in range(size)])
        seen = _statements(store)
        stale = f"r{size - 1}"  # at version 1
        store.update_many([*(touch(f"r{i}", 1) for i in range(size - 1)), touch(stale, 9)])
        plain = list(seen)
        seen.clear()
        store.update_many([*(touch(f"r{i}", 2, entry(f"a{i}")) for i in range(size - 1)),
                           touch(stale, 9, entry("lost"))])
        cached = list(seen)
        seen.clear()
        store.update("r0", expected_version=3 if size > 1 else 1, status=None,
                     updated_at=4.0, meta=None)
        single = list(seen)
    finally:
        store.close()
    assert not any("cache_entries" in s for s in plain + single)
    inserts = [s for s in cached if "INSERT INTO cache_entries" in s]
    assert len(inserts) == size - 1  # one executemany: one trace per row
    assert len(cached) == len(plain) + len(inserts)
    assert [s.split()[:3] for s in cached if s not in inserts] == [
        s.split()[:3] for s in plain]


def test_sqlite_reads_of_the_cache_use_their_indexes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    store.close()
    conn = sqlite3.connect(tmp_path / "runs.db")
    try:
        plans = {
            name: " | ".join(row[3] for row in conn.execute(
                "EXPLAIN QUERY PLAN " + statement, params))
            for name, statement, params in [
                ("find", sqlite_sql.SELECT_CACHE_BY_KEY, ("k", CACHE_FIND_LIMIT)),
                ("last", sqlite_sql.SELECT_CACHE_LAST, ("wf", "s")),
                ("delete", "DELETE FROM cache_entries WHERE run_id = ?", ("r",)),
            ]
        }
    finally:
        conn.close()
    assert "USING INDEX cache_entries_by_key (key=?)" in plans["find"], plans
    assert "USING INDEX cache_entries_by_step (workflow_id=? AND step=?)" in plans["last"]
    assert "cache_entries_by_run" in plans["delete"], plans
    assert not any("TEMP B-TREE" in plan for plan in plans.values()), plans


# ------------------------------------------------------------------ SQLite layout migration


# The table layout of storage schema version 3 (flownb before the step cache), kept here to
# test that newer versions migrate such a file.
_V3_LAYOUT = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (3);
CREATE TABLE runs (run_id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, status TEXT NOT NULL,
    version INTEGER NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    schema_version INTEGER NOT NULL, suspended TEXT NOT NULL);
CREATE INDEX runs_by_workflow ON runs (workflow_id, created_at);
CREATE INDEX runs_by_status ON runs (status);
CREATE TABLE run_bodies (
    run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
    input TEXT NOT NULL, graph TEXT NOT NULL, input_refs TEXT, graph_refs TEXT);
CREATE TABLE run_meta (
    run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
    meta TEXT NOT NULL, refs TEXT);
CREATE TABLE run_records (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('step', 'journal')), key TEXT NOT NULL,
    seq INTEGER NOT NULL, data TEXT NOT NULL, refs TEXT,
    PRIMARY KEY (run_id, kind, key)) WITHOUT ROWID;
CREATE TABLE shared_values (id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE shared_names (name TEXT PRIMARY KEY, value_id INTEGER NOT NULL,
    uses INTEGER NOT NULL) WITHOUT ROWID;
CREATE TRIGGER shared_names_unused AFTER UPDATE OF uses ON shared_names
    WHEN new.uses <= 0 BEGIN
    DELETE FROM shared_values WHERE id = new.value_id;
    DELETE FROM shared_names WHERE name = new.name;
END;
CREATE TRIGGER run_records_rewritten AFTER UPDATE OF refs ON run_records
    WHEN old.refs IS NOT NULL BEGIN
    UPDATE shared_names SET uses = uses - 1
        WHERE name IN (SELECT key FROM json_each(old.refs));
END;
CREATE TRIGGER run_records_deleted AFTER DELETE ON run_records
    WHEN old.refs IS NOT NULL BEGIN
    UPDATE shared_names SET uses = uses - 1
        WHERE name IN (SELECT key FROM json_each(old.refs));
END;
CREATE TRIGGER run_meta_rewritten AFTER UPDATE OF refs ON run_meta
    WHEN old.refs IS NOT NULL BEGIN
    UPDATE shared_names SET uses = uses - 1
        WHERE name IN (SELECT key FROM json_each(old.refs));
END;
CREATE TRIGGER run_meta_deleted AFTER DELETE ON run_meta
    WHEN old.refs IS NOT NULL BEGIN
    UPDATE shared_names SET uses = uses - 1
        WHERE name IN (SELECT key FROM json_each(old.refs));
END;
CREATE TRIGGER run_bodies_deleted AFTER DELETE ON run_bodies
    WHEN old.input_refs IS NOT NULL OR old.graph_refs IS NOT NULL BEGIN
    UPDATE shared_names SET uses = uses - 1
        WHERE name IN (SELECT key FROM json_each(old.input_refs));
    UPDATE shared_names SET uses = uses - 1
        WHERE name IN (SELECT key FROM json_each(old.graph_refs));
END;
"""

BIG = "z" * 3000


def write_v3(path: Path, snapshots: list[Snapshot]) -> None:
    """A file as flownb wrote it with storage layout 3: a run's meta split (its large values
    shared) as that version wrote it; records and bodies inline (small)."""
    conn = sqlite3.connect(path)
    with conn:
        conn.executescript(_V3_LAYOUT)
        for s in snapshots:
            conn.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (s.run_id, s.workflow_id, s.status, s.version, s.created_at,
                          s.updated_at, s.schema_version,
                          json.dumps(s.meta.get("suspended_paths") or [])))
            conn.execute("INSERT INTO run_bodies VALUES (?, ?, ?, NULL, NULL)",
                         (s.run_id, dumps_json(s.input), dumps_json(s.graph)))
            text, refs, shared = split(s.meta)
            for name, value in (shared or {}).items():
                value_id = conn.execute("INSERT INTO shared_values (data) VALUES (?)",
                                        (value,)).lastrowid
                conn.execute("INSERT INTO shared_names VALUES (?, ?, 1)", (name, value_id))
            conn.execute("INSERT INTO run_meta VALUES (?, ?, ?)", (s.run_id, text, refs))
            for i, (key, data) in enumerate([*s.steps.items(), *s.journal.items()]):
                kind = "step" if key in s.steps else "journal"
                conn.execute("INSERT INTO run_records VALUES (?, ?, ?, ?, ?, NULL)",
                             (s.run_id, kind, key, (s.version << 32) + i, dumps_json(data)))
    conn.close()


def _v3_runs() -> list[Snapshot]:
    return [
        snapshot("plain", created_at=1.0),
        snapshot("fork", created_at=2.0, status="suspended", version=3,
                 meta={"parent_run_id": "plain", "suspended_paths": [["b"]]}),
        # The meta is split: its large state is a shared value, its parent stays inline.
        snapshot("big-fork", created_at=3.0,
                 meta={"parent_run_id": "fork", "state": {"doc": BIG}}),
        snapshot("odd", created_at=4.0, meta={"parent_run_id": ["not", "a", "str"],
                                              "state": {"parent_run_id": "nested"}}),
    ]


def test_a_version_3_file_is_migrated_keeps_its_runs_and_gains_a_working_cache(
        tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    runs = _v3_runs()
    write_v3(path, runs)
    store = SQLiteStore(path)
    try:
        for snap in runs:
            assert store.load(snap.run_id) == snap
        infos = store.list_runs()
        assert [(i.run_id, i.parent_run_id) for i in infos] == [
            ("odd", None), ("big-fork", "fork"), ("fork", "plain"), ("plain", None)]
        assert infos[2].suspended == [["b"]]
        assert store.update_many([touch("fork", 3, entry("k", run_id="fork"))]) == [4]
        assert keys_of(store.cache_find("k")) == [("fork", 1.0)]
        store.insert(snapshot("new", meta={"parent_run_id": "odd"}))
        assert store.list_runs()[0].parent_run_id == "odd"
    finally:
        store.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(4,)]
        indexes = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cache_entries'")}
        assert {"cache_entries_by_key", "cache_entries_by_step",
                "cache_entries_by_run"} <= indexes
    finally:
        conn.close()
    again = SQLiteStore(path)  # opened again: a version 4 file, its tables recognized
    try:
        assert keys_of(again.cache_find("k")) == [("fork", 1.0)]
        assert again.delete("fork") and again.cache_find("k") == []
        assert again.load("big-fork") == runs[2]
    finally:
        again.close()


def test_a_failed_migration_leaves_the_version_3_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    write_v3(path, _v3_runs())
    conn = sqlite3.connect(path)
    with conn:  # what no flownb writes: a meta that is not JSON
        conn.execute("""UPDATE run_meta SET meta = '{"parent_run_id": ' WHERE run_id = 'fork'""")
    conn.close()
    with pytest.raises(StorageError, match=r"schema version 3 to 4.*left as it was"):
        SQLiteStore(path)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(3,)]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert "cache_entries" not in tables
        assert "parent_run_id" not in {row[1] for row in conn.execute(
            "PRAGMA table_info(runs)")}
    finally:
        conn.close()


def test_a_version_1_file_gets_its_parents_and_a_cache_too(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    write_v1(path, [snapshot("p"), snapshot("c", created_at=200.0,
                                            meta={"parent_run_id": "p"})])
    store = SQLiteStore(path)
    try:
        assert [(i.run_id, i.parent_run_id) for i in store.list_runs()] == [
            ("c", "p"), ("p", None)]
        store.cache_put([entry("k", run_id="c")])
        assert store.delete("c") and store.cache_find("k") == []
    finally:
        store.close()


def test_a_file_with_a_cache_table_of_another_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("ALTER TABLE cache_entries ADD COLUMN extra TEXT")
    conn.close()
    with pytest.raises(StorageError, match=r"table 'cache_entries' is not flownb's"):
        SQLiteStore(path)


# ------------------------------------------------------------------ PostgreSQL layout migration


# PostgreSQL storage schema version 1's tables (flownb before the step cache).
PG_V1_LAYOUT = """
CREATE TABLE flownb_schema (version integer NOT NULL);
INSERT INTO flownb_schema VALUES (1);
CREATE TABLE flownb_runs (run_id text PRIMARY KEY, n bigint GENERATED ALWAYS AS IDENTITY,
    workflow_id text NOT NULL, status text NOT NULL, version bigint NOT NULL,
    created_at double precision NOT NULL, updated_at double precision NOT NULL,
    schema_version integer NOT NULL, suspended text NOT NULL);
CREATE INDEX flownb_runs_by_created ON flownb_runs (created_at DESC, n DESC);
CREATE INDEX flownb_runs_by_workflow ON flownb_runs (workflow_id, created_at DESC);
CREATE INDEX flownb_runs_by_status ON flownb_runs (status);
CREATE TABLE flownb_run_bodies (run_id text PRIMARY KEY, input text NOT NULL,
    graph text NOT NULL);
CREATE TABLE flownb_run_meta (run_id text PRIMARY KEY, meta text NOT NULL);
CREATE TABLE flownb_run_records (run_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('step', 'journal')), key text NOT NULL,
    seq bigint NOT NULL, data text NOT NULL, PRIMARY KEY (run_id, kind, key));
"""


def write_old_pg_runs(conn: Any, snapshots: list[Snapshot]) -> None:
    """``snapshots`` written as a PostgreSQL layout 1 or 2 store wrote them (every value
    inline, no parent column), for the migration tests."""
    for s in snapshots:
        conn.execute("INSERT INTO flownb_runs (run_id, workflow_id, status, version, "
                     "created_at, updated_at, schema_version, suspended) "
                     "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                     (s.run_id, s.workflow_id, s.status, s.version, s.created_at,
                      s.updated_at, s.schema_version,
                      json.dumps(s.meta.get("suspended_paths") or [])))
        conn.execute("INSERT INTO flownb_run_bodies VALUES (%s, %s, %s)",
                     (s.run_id, dumps_json(s.input), dumps_json(s.graph)))
        conn.execute("INSERT INTO flownb_run_meta VALUES (%s, %s)",
                     (s.run_id, dumps_json(s.meta)))
        for i, (key, data) in enumerate([*s.steps.items(), *s.journal.items()]):
            conn.execute("INSERT INTO flownb_run_records VALUES (%s, %s, %s, %s, %s)",
                         (s.run_id, "step" if key in s.steps else "journal", key,
                          (s.version << 32) + i, dumps_json(data)))


def test_a_postgres_database_of_version_1_is_migrated(postgres_db: str,
                                                     postgres_server: Any) -> None:
    import psycopg

    from flownb.storage.postgres import STORAGE_SCHEMA_VERSION, PostgresStore

    runs = _v3_runs()
    dbname = postgres_db.rsplit("/", 1)[1]
    user = f"user_{dbname}"  # a team's user: the grants of docs/team.md on version 1
    postgres_server.psql(f"CREATE ROLE {user} LOGIN")
    with psycopg.connect(postgres_db, autocommit=True) as conn:
        conn.execute(PG_V1_LAYOUT)
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {user}; "
                     f"GRANT SELECT ON flownb_schema TO {user}; "
                     "GRANT SELECT, INSERT, UPDATE, DELETE ON flownb_runs, "
                     f"flownb_run_bodies, flownb_run_meta, flownb_run_records TO {user}")
        write_old_pg_runs(conn, runs)
    store = PostgresStore(postgres_db)
    try:
        assert [(i.run_id, i.parent_run_id) for i in store.list_runs()] == [
            ("odd", None), ("big-fork", "fork"), ("fork", "plain"), ("plain", None)]
        for snap in runs:
            assert store.load(snap.run_id) == snap
        assert store.update_many([touch("fork", 3, entry("k", run_id="fork"))]) == [4]
        assert keys_of(store.cache_find("k")) == [("fork", 1.0)]
        assert store.delete("fork") and store.cache_find("k") == []
    finally:
        store.close()
    with psycopg.connect(postgres_db, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM flownb_schema").fetchall() == [
            (STORAGE_SCHEMA_VERSION,)]
        assert STORAGE_SCHEMA_VERSION == 3  # through 2, to the layout of shared values
    again = PostgresStore(postgres_db)  # nothing left to migrate
    try:
        assert len(again.list_runs()) == 3
    finally:
        again.close()
    # The team's user kept what it could do, and may use the new table as well.
    team = PostgresStore(postgres_db.replace("postgres@", f"{user}@"))
    try:
        team.insert(snapshot("by-user", meta={"parent_run_id": "plain"}))
        assert team.update_many([touch("by-user", 1, entry("u", run_id="by-user"))]) == [2]
        assert keys_of(team.cache_find("u")) == [("by-user", 1.0)]
        assert team.delete("by-user") and team.cache_find("u") == []
        assert team.clear_cache() == 0
    finally:
        team.close()
