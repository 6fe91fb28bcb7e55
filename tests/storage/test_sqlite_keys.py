"""The SQLite store's step-cache keys in memory (``flownb.storage.sqlite_keys``): a miss is
answered without reading the table, and what other connections write or delete is seen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_cache_contract import entry

from flownb.storage import SQLiteStore, sqlite_keys


@pytest.fixture()
def two(tmp_path: Path):
    """Two stores on one file: two connections, as two notebooks would have."""
    a, b = SQLiteStore(tmp_path / "runs.db"), SQLiteStore(tmp_path / "runs.db")
    yield a, b
    a.close()
    b.close()


def _reads(store: SQLiteStore) -> list[str]:
    seen: list[str] = []
    store._conn.set_trace_callback(seen.append)
    return seen


def test_a_miss_reads_no_table(two) -> None:
    a, _ = two
    a.cache_put([entry("k1")])
    assert a.cache_find("nope") == []  # the first lookup reads the keys once
    seen = _reads(a)
    assert a.cache_find("other") == [] and [e.key for e in a.cache_find("k1")] == ["k1"]
    assert seen[0] == "PRAGMA data_version" and "cache_entries" not in seen[1]
    assert sum("FROM cache_entries WHERE key" in s for s in seen) == 1  # only for k1


def test_entries_another_connection_adds_or_deletes_are_seen(two) -> None:
    a, b = two
    assert a.cache_find("k1") == []
    b.cache_put([entry("k1", run_id="r1")])
    assert [e.run_id for e in a.cache_find("k1")] == ["r1"]
    assert b.clear_cache() == 1
    assert a.cache_find("k1") == []  # still in the set: the read finds nothing
    # The newest entry deleted and its id used again by another key: not missed.
    b.cache_put([entry("k2", run_id="r2")])
    assert [e.run_id for e in a.cache_find("k2")] == ["r2"]
    b.cache_put([entry("k3", run_id="r3")])
    assert a.cache_find("k3")
    with sqlite3.connect(a.path) as raw:  # deleted behind both stores' backs
        raw.execute("DELETE FROM cache_entries WHERE key = 'k3'")
    b.cache_put([entry("k4", run_id="r4")])  # takes k3's id
    assert [e.run_id for e in a.cache_find("k4")] == ["r4"]


def test_own_deletes_and_writes_keep_the_set_true(two) -> None:
    a, _ = two
    a.cache_put([entry("k1", run_id="r1")])
    assert a.cache_find("k1")
    a.clear_cache()
    assert a.cache_find("k1") == []
    a.cache_put([entry("k1", run_id="r2")])
    assert [e.run_id for e in a.cache_find("k1")] == ["r2"]


def test_past_the_limit_every_lookup_reads_the_file(two, monkeypatch) -> None:
    a, b = two
    monkeypatch.setattr(sqlite_keys, "MAX_KEYS", 2)
    a.cache_put([entry(f"k{i}") for i in range(3)])
    assert a.cache_find("k2") and a._keys.off
    b.cache_put([entry("k9")])
    assert a.cache_find("k9")
