"""Each value stored once, by ``PostgresStore`` (PostgreSQL storage layout 3), on the
session's real server: a large value passed through steps is stored once (table sizes
and rows), uses are counted by the writes and let go of by the triggers (a run deleted, a
record or meta rewritten, batches, many writers at once), a load gives back exactly what
was written, and a layout 2 database is migrated in place, its runs kept. The SQLite
store's counterpart: tests/storage/test_shared_values.py."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cache_contract import PG_V1_LAYOUT, write_old_pg_runs
from test_shared_values import (
    BIG,
    OTHER,
    _pass_along,
    batch_drops_and_takes_up_a_value,
    record,
    resume_exactly_once_with_large_values,
    rewritten_record_or_meta_lets_go,
    runs_share_values_and_delete_frees,
    snapshot,
    v2_runs,
)

from flownb import ConcurrentRunError
from flownb.errors import StorageError
from flownb.storage import Update
from flownb.storage import postgres_layout as sql
from flownb.storage.base import dumps_json
from flownb.storage.postgres import STORAGE_SCHEMA_VERSION, PostgresStore, _one_update
from flownb.storage.values import INLINE_LIMIT, value_name


@pytest.fixture
def pg(postgres_db: str) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_db)
    yield store
    store.close()


def query(conninfo: str, statement: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        return conn.execute(statement).fetchall()


def shared_rows(conninfo: str) -> dict[str, tuple[int, int]]:
    """name -> (uses, length of its text), read from the database itself."""
    return {name: (uses, size) for name, uses, size in query(
        conninfo, "SELECT name, uses, length(data) FROM flownb_values")}


def assert_uses_match_references(conninfo: str) -> None:
    """Every shared value is used by exactly as many rows (and body columns) as refer to
    it, and nothing is kept that no row refers to."""
    refs = [row[0] for row in query(
        conninfo, "SELECT refs FROM flownb_run_records UNION ALL SELECT refs FROM "
        "flownb_run_meta UNION ALL SELECT input_refs FROM flownb_run_bodies "
        "UNION ALL SELECT graph_refs FROM flownb_run_bodies") if row[0] is not None]
    counted: dict[str, int] = {}
    for text in refs:
        for name in json.loads(text):
            counted[name] = counted.get(name, 0) + 1
    assert {name: uses for name, (uses, _) in shared_rows(conninfo).items()} == counted


def size_of_tables(conninfo: str) -> int:
    """Bytes of every flownb table, with its indexes and TOAST, after a VACUUM."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM")
        row = conn.execute("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = current_schema() AND c.relkind = 'r' "
                           "AND c.relname LIKE 'flownb%'").fetchone()
    assert row is not None
    return int(row[0])


# ------------------------------------------------------------------ stored once


# The tables of one small run, with their indexes and TOAST tables: a few pages each.
FIXED_OVERHEAD = 512 * 1024


async def test_a_large_string_through_three_steps_is_stored_once(
        pg: PostgresStore, postgres_db: str) -> None:
    # Random text: PostgreSQL compresses what it stores, and would hide a copy of "xxx...".
    text = secrets.token_urlsafe(3_000_000)[:4_000_000]
    result = await _pass_along(pg).create_run().start(text)
    assert result.status == "success" and result.result == text
    snap = pg.load(result.run_id)
    assert snap is not None and snap.input == text and snap.meta["result"] == text
    assert [(s["payload"], s["output"]) for s in snap.steps.values()] == [(text, text)] * 3
    distinct = len(json.dumps(text))
    # It was 8x (32 MB) in layout 2: input, each payload and output, the result.
    assert size_of_tables(postgres_db) <= 1.1 * distinct + FIXED_OVERHEAD
    assert list(shared_rows(postgres_db).values()) == [(5, distinct)]  # 5 rows, 8 places
    assert query(postgres_db, "SELECT count(*) FROM flownb_run_records "
                 "WHERE length(data) >= 1024") == [(0,)]
    assert_uses_match_references(postgres_db)


async def test_small_values_are_stored_as_before(pg: PostgresStore, postgres_db: str) -> None:
    result = await _pass_along(pg).create_run().start("small")
    assert result.result == "small"
    assert query(postgres_db, "SELECT count(*) FROM flownb_run_records WHERE refs IS NULL") \
        == [(3,)]
    assert query(postgres_db, "SELECT count(*) FROM flownb_values") == [(0,)]


def test_a_small_step_sends_the_statement_it_sent_before_values_were_shared() -> None:
    small = Update("r1", expected_version=3, status=None, updated_at=2.0, meta=None,
                   steps={"a": record(1, 2), "b": record(2, None, "running")})
    statement, params = _one_update(small) or ("", {})
    assert "flownb_values" not in statement and "refs" not in "".join(params)
    assert statement == sql.UPDATE_ONE[2, False, False, False]
    large = Update("r1", expected_version=3, status=None, updated_at=2.0, meta=None,
                   steps={"a": record(BIG, BIG), "b": record(BIG, None, "running")})
    statement, params = _one_update(large) or ("", {})
    assert statement == sql.UPDATE_ONE[2, False, False, True]
    assert (params["v_name"], params["v_uses"]) == ([value_name(json.dumps(BIG))], [2])
    assert len(params["data0"]) < INLINE_LIMIT and params["refs1"] is not None


# ------------------------------------------------------------------ uses counted and let go of


@pytest.mark.parametrize("scenario", [runs_share_values_and_delete_frees,
                                      rewritten_record_or_meta_lets_go,
                                      batch_drops_and_takes_up_a_value])
def test_shared_values_on_postgres(pg: PostgresStore, postgres_db: str,
                                   scenario: Callable[..., None]) -> None:
    scenario(pg, lambda: shared_rows(postgres_db),
             lambda: assert_uses_match_references(postgres_db))


def test_a_batch_of_new_runs_counts_each_value_once_per_row(
        pg: PostgresStore, postgres_db: str) -> None:
    graph = {"id": "wf", "steps": [{"kind": "step", "id": f"s{i}"} for i in range(100)]}
    steps_text = dumps_json(graph["steps"])  # small members: shared whole
    runs = [snapshot(f"r{i}", graph=graph, input={"doc": BIG}) for i in range(5)]
    # r0 twice in the batch: the second is refused, and what it holds is not counted.
    results = pg.insert_many([*runs, snapshot("r0", input=OTHER)])
    assert results[:5] == [None] * 5 and isinstance(results[5], ConcurrentRunError)
    assert shared_rows(postgres_db) == {value_name(json.dumps(BIG)): (5, len(BIG) + 2),
                                        value_name(steps_text): (5, len(steps_text))}
    for snap in runs:
        assert pg.load(snap.run_id) == snap
    # One run already stored (skipped: nothing of it counted), one new.
    results = pg.insert_many([snapshot("r1", input=OTHER), snapshot("r9", graph=graph)])
    assert isinstance(results[0], ConcurrentRunError) and results[1] is None
    assert shared_rows(postgres_db) == {value_name(json.dumps(BIG)): (5, len(BIG) + 2),
                                        value_name(steps_text): (6, len(steps_text))}
    assert_uses_match_references(postgres_db)


def test_a_failed_version_check_counts_nothing(pg: PostgresStore, postgres_db: str) -> None:
    pg.insert(snapshot())
    with pytest.raises(ConcurrentRunError):
        pg.update("r1", expected_version=5, status=None, updated_at=2.0,
                  meta={"state": OTHER}, steps={"a": record(BIG)})
    assert pg.insert_many([snapshot(input=BIG)]) != [None]  # already stored: skipped
    assert shared_rows(postgres_db) == {}


def test_a_value_missing_from_the_database_is_a_storage_error(
        pg: PostgresStore, postgres_db: str) -> None:
    pg.insert(snapshot(steps={"a": record(BIG)}))
    query(postgres_db, "DELETE FROM flownb_values RETURNING 1")
    with pytest.raises(StorageError, match="a value the run refers to is missing"):
        pg.load("r1")


async def test_exactly_once_resume_holds_with_large_values(postgres_db: str) -> None:
    await resume_exactly_once_with_large_values(
        lambda: PostgresStore(postgres_db), lambda: assert_uses_match_references(postgres_db))


def test_concurrent_writers_sharing_values_keep_the_count(postgres_db: str) -> None:
    """Writers on their own connections take up and let go of the same two values, some
    in opposite orders: none is aborted as a deadlock (they take turns on the values' lock:
    an aborted write would be a StorageError here); afterwards every value is used exactly
    as often as rows refer to it, and one no row holds is gone."""
    writers, rounds = 4, 6
    stores = [PostgresStore(postgres_db) for _ in range(writers)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(writers)

    def work(store: PostgresStore, w: int) -> None:
        try:
            barrier.wait(timeout=30)
            for i in range(rounds):
                run_id = f"w{w}-{i}"
                first, second = (BIG, OTHER) if w % 2 else (OTHER, BIG)
                store.insert(snapshot(run_id, input={"doc": first},
                                      steps={"a": record(second, None, "running")}))
                v = store.update(run_id, expected_version=1, status=None, updated_at=2.0,
                                 meta={"state": first},
                                 steps={"a": record(first, second), "b": record(second)})
                store.update_many([Update(run_id, expected_version=v, status="success",
                                          updated_at=3.0, meta={"state": "done"},
                                          steps={"a": record(second, first),
                                                 "b": record("small")})])
                if i % 2:
                    assert store.delete(run_id)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s, w)) for w, s in enumerate(stores)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        assert_uses_match_references(postgres_db)
        # Each run kept uses its first value twice (input, record "a"), its second once.
        kept = writers * rounds // 2
        assert sorted(shared_rows(postgres_db).values()) == [
            (kept * 3 // 2, len(OTHER) + 2), (kept * 3 // 2, len(BIG) + 2)]
        for w in range(writers):
            for i in range(0, rounds, 2):
                loaded = stores[0].load(f"w{w}-{i}")
                first, second = (BIG, OTHER) if w % 2 else (OTHER, BIG)
                assert loaded is not None and loaded.steps["a"]["payload"] == second
                assert loaded.input == {"doc": first}
                assert stores[0].delete(f"w{w}-{i}")
        assert shared_rows(postgres_db) == {}
    finally:
        for s in stores:
            s.close()


# ------------------------------------------------------------------ exactly as written

long_texts = st.builds(lambda ch, n: ch * n, st.characters(blacklist_categories=["Cs"]),
                       st.integers(500, 2000))
json_scalars = (st.none() | st.booleans() | st.integers(-(2**53), 2**53)
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"),
                          max_size=12)
                | st.sampled_from([value_name(json.dumps(BIG)), "null", "$ref"]) | long_texts)
json_values = st.recursive(
    json_scalars,
    lambda inner: (st.lists(inner, max_size=5)
                   | st.dictionaries(st.text(max_size=6) | st.sampled_from(
                       [value_name(json.dumps(BIG)), "payload"]), inner, max_size=5)),
    max_leaves=12)


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(json_values, min_size=4, max_size=4))
def test_load_of_insert_and_update_is_the_same_snapshot(pg: PostgresStore, postgres_db: str,
                                                        values: list[Any]) -> None:
    a, b, c, d = values
    snap = snapshot(input=a, graph={"id": "wf", "x": b}, meta={"state": c, "result": a},
                    steps={"s1": record(a, b), "s2": record(b, b)},
                    journal={"j": {"output": c}})
    pg.insert(snap)
    try:
        loaded = pg.load("r1")
        assert loaded is not None and loaded == snap and loaded.dumps() == snap.dumps()
        pg.update("r1", expected_version=1, status="success", updated_at=2.0,
                  meta={"result": d, "state": a},
                  steps={"s2": record(d, c), "s3": record(c, d)}, journal={"j": {"output": d}})
        expected = snapshot(input=a, graph=snap.graph, meta={"result": d, "state": a},
                            status="success", version=2, updated_at=2.0,
                            steps={"s1": record(a, b), "s2": record(d, c),
                                   "s3": record(c, d)}, journal={"j": {"output": d}})
        loaded = pg.load("r1")
        assert loaded == expected and loaded.dumps() == expected.dumps()
        assert_uses_match_references(postgres_db)
    finally:
        assert pg.delete("r1")
    assert shared_rows(postgres_db) == {}


# ------------------------------------------------------------------ migration from layout 2


# PostgreSQL storage schema version 2's tables (flownb before values were shared), kept
# here to test that newer versions migrate such a database.
_PG_V2_LAYOUT = (
    PG_V1_LAYOUT.replace("VALUES (1)", "VALUES (2)")
    # what version 2 added: the parent of a fork, and the step cache
    + """ALTER TABLE flownb_runs ADD COLUMN parent_run_id text;
CREATE TABLE flownb_cache (n bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key text NOT NULL, workflow_id text NOT NULL, step text NOT NULL, run_id text NOT NULL,
    path text NOT NULL, created_at double precision NOT NULL, data text NOT NULL);
CREATE INDEX flownb_cache_by_key ON flownb_cache (key, created_at DESC, n DESC);
CREATE INDEX flownb_cache_by_step ON flownb_cache (workflow_id, step, created_at DESC, n DESC);
CREATE INDEX flownb_cache_by_run ON flownb_cache (run_id);
""")


def write_v2(conninfo: str, user: str) -> None:
    """A database as flownb wrote it with layout 2, every value inline, and ``user`` given
    the grants of docs/team.md of that layout."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(_PG_V2_LAYOUT)
        conn.execute(f"GRANT USAGE ON SCHEMA public TO {user}; "
                     f"GRANT SELECT ON flownb_schema TO {user}; "
                     "GRANT SELECT, INSERT, UPDATE, DELETE ON flownb_runs, flownb_run_bodies, "
                     f"flownb_run_meta, flownb_run_records, flownb_cache TO {user}")
        write_old_pg_runs(conn, v2_runs())


def test_a_version_2_database_is_migrated_in_place_and_keeps_its_runs(
        postgres_db: str, postgres_server: Any) -> None:
    dbname = postgres_db.rsplit("/", 1)[1]
    user = f"user_{dbname}"
    postgres_server.psql(f"CREATE ROLE {user} LOGIN")
    write_v2(postgres_db, user)
    store = PostgresStore(postgres_db)
    try:
        for snap in v2_runs():
            assert store.load(snap.run_id) == snap
        assert query(postgres_db, "SELECT version FROM flownb_schema") == [
            (STORAGE_SCHEMA_VERSION,)] == [(3,)]
        # Migrated in place: the values stored inline stay so until their row is written.
        assert shared_rows(postgres_db) == {}
        assert [i.run_id for i in store.list_runs(status="suspended")] == ["r1"]
        # Rewritten rows let go of nothing (they held no references) and share anew.
        assert store.update("r1", expected_version=3, status="success", updated_at=5.0,
                            meta={"result": OTHER}, steps={"b": record(OTHER, OTHER)}) == 4
        assert list(shared_rows(postgres_db).values()) == [(2, len(OTHER) + 2)]
        loaded = store.load("r1")
        assert loaded is not None and loaded.steps["a"] == record({"doc": BIG}, OTHER)
        assert loaded.steps["b"] == record(OTHER, OTHER) and loaded.meta == {"result": OTHER}
        assert_uses_match_references(postgres_db)
    finally:
        store.close()
    # A team's user, with the grants of layout 2: given the same on the new table.
    team = PostgresStore(postgres_db.replace("postgres@", f"{user}@"))
    try:
        team.insert(snapshot("by-user", input={"doc": BIG}, steps={"a": record(OTHER)}))
        loaded = team.load("by-user")
        assert loaded is not None and loaded.input == {"doc": BIG}
        for run_id in ("r1", "r2", "r3", "by-user"):
            assert team.delete(run_id)
    finally:
        team.close()
    assert shared_rows(postgres_db) == {}
    again = PostgresStore(postgres_db)  # nothing left to migrate
    try:
        assert again.list_runs() == []
    finally:
        again.close()
