"""The SQLite file's layout: its tables, every statement ``SQLiteStore`` runs, migrations.

Layout (storage schema version 4): ``runs`` holds one small header row per run (ids,
status, version, timestamps, the parent run of a forked run, and the suspended paths that
``list_runs`` shows);
``run_bodies`` the run's ``input`` and graph description, written once; ``run_meta`` its
``meta``, written only when it changes; ``run_records`` one row per step or journal record,
keyed by ``(run_id, kind, key)``, so an update writes only the records that changed.

``shared_values`` holds each large value once (``flownb.storage.values``): a value of at
least ``INLINE_LIMIT`` characters of JSON is cut at its large parts, each stored once
however many records, runs and workflows hold it, and named in ``shared_names`` by the
SHA-256 of its text. The row keeps its JSON with ``null`` in their place and, in its
``refs`` column (``input_refs`` and ``graph_refs`` in ``run_bodies``), which shared value
goes where. A value passed unchanged through a chain of steps (each step's payload, each
output, the result) is written once.

``shared_names.uses`` counts the rows that refer to a shared value: the writer adds one
for each row it writes that refers to it, in the same transaction and before the row
itself; triggers subtract one when such a row is rewritten or deleted, and delete the
value when no row refers to it any more. So forgetting a run, or rewriting a record,
frees what nothing else holds, inside the transaction that did it, whatever other
processes write.

``cache_entries`` is the step cache's index (``flownb.storage.cache``): one row per
reusable step execution, its fingerprint (``key``), workflow, step, run, path and
``created_at`` as columns, its output, fingerprint parts, reads and effects as one JSON
text (``data``, held whole: a cached output is stored twice, in its run and here).
``cache_find`` is one read of the index on ``key``, ``cache_last`` one of the index on
``(workflow_id, step, created_at)``, and deleting a run deletes its entries through the
index on ``run_id``; ``id`` (the rowid) orders entries of equal ``created_at`` by
insertion.

Version 1 kept input, graph and meta in the header row; version 2 kept every value
inline, in the row that holds it; version 3 had no ``cache_entries`` and no
``runs.parent_run_id``. A file of any of them is migrated in place, in one transaction,
when a newer flownb opens it (large values are shared as they would be written now, the
parent run of each run read from its meta); a file of a newer version is refused.

Every statement is a constant; nothing of the input is ever spliced into SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from .base import as_dict, dumps_json, loads_json
from .cache import CacheEntry
from .values import INLINE_LIMIT, count_uses, join, names, split

__all__ = ["STORAGE_SCHEMA_VERSION", "cache_data", "cache_entry", "migrate", "parent_of", "share",
           "suspended_json"]

STORAGE_SCHEMA_VERSION = 4
"""Version of the table layout below; stored in the ``schema_version`` table."""

CREATE_SCHEMA_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
INSERT_SCHEMA_VERSION = "INSERT INTO schema_version (version) VALUES (?)"
SELECT_SCHEMA_VERSION = "SELECT MAX(version) FROM schema_version"
_SET_SCHEMA_VERSION = "UPDATE schema_version SET version = ?"

# The tables, and their columns, of each storage schema version flownb has written: a file
# whose tables do not match is another application's, and is refused.
_RECORD_COLUMNS = frozenset({"run_id", "kind", "key", "seq", "data"})
_HEADER_COLUMNS = frozenset({"run_id", "workflow_id", "status", "version", "created_at",
                             "updated_at", "schema_version"})
_V2: dict[str, frozenset[str]] = {
    "runs": _HEADER_COLUMNS | {"suspended"},
    "run_bodies": frozenset({"run_id", "input", "graph"}),
    "run_meta": frozenset({"run_id", "meta"}),
    "run_records": _RECORD_COLUMNS,
}
_V3: dict[str, frozenset[str]] = {
    "runs": _V2["runs"], "run_bodies": _V2["run_bodies"] | {"input_refs", "graph_refs"},
    "run_meta": _V2["run_meta"] | {"refs"}, "run_records": _RECORD_COLUMNS | {"refs"},
    "shared_values": frozenset({"id", "data"}),
    "shared_names": frozenset({"name", "value_id", "uses"}),
}
LAYOUTS: dict[int, dict[str, frozenset[str]]] = {
    1: {"runs": _HEADER_COLUMNS | {"input", "graph", "meta"}, "run_records": _RECORD_COLUMNS},
    2: _V2,
    3: _V3,
    4: {**_V3, "runs": _V3["runs"] | {"parent_run_id"},
        "cache_entries": frozenset({"id", "key", "workflow_id", "step", "run_id", "path",
                                    "created_at", "data"})},
}
SELECT_TABLES = ("SELECT name FROM sqlite_master WHERE type = 'table' "
                 "AND substr(name, 1, 7) != 'sqlite_'")
SELECT_COLUMNS = "SELECT name FROM pragma_table_info(?)"  # the name bound, never spliced

# What version 3 adds to version 2: the shared values, and the triggers that let go of
# them. A value's text is written once and never rewritten (SQLite rewrites a whole row,
# overflow pages and all, to change one column of it): its count of uses lives in a row of
# its own, under its name. A trigger subtracts the uses of the references a row had; the
# writer has already added those of the row's new references, so a value that a rewritten
# row keeps never reaches zero on the way.
_CREATE_SHARING = (
    "CREATE TABLE shared_values (id INTEGER PRIMARY KEY, data TEXT NOT NULL)",
    """CREATE TABLE shared_names (
        name TEXT PRIMARY KEY,
        value_id INTEGER NOT NULL,
        uses INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TRIGGER shared_names_unused AFTER UPDATE OF uses ON shared_names
        WHEN new.uses <= 0 BEGIN
        DELETE FROM shared_values WHERE id = new.value_id;
        DELETE FROM shared_names WHERE name = new.name;
    END""",
    """CREATE TRIGGER run_records_rewritten AFTER UPDATE OF refs ON run_records
        WHEN old.refs IS NOT NULL BEGIN
        UPDATE shared_names SET uses = uses - 1
            WHERE name IN (SELECT key FROM json_each(old.refs));
    END""",
    """CREATE TRIGGER run_records_deleted AFTER DELETE ON run_records
        WHEN old.refs IS NOT NULL BEGIN
        UPDATE shared_names SET uses = uses - 1
            WHERE name IN (SELECT key FROM json_each(old.refs));
    END""",
    """CREATE TRIGGER run_meta_rewritten AFTER UPDATE OF refs ON run_meta
        WHEN old.refs IS NOT NULL BEGIN
        UPDATE shared_names SET uses = uses - 1
            WHERE name IN (SELECT key FROM json_each(old.refs));
    END""",
    """CREATE TRIGGER run_meta_deleted AFTER DELETE ON run_meta
        WHEN old.refs IS NOT NULL BEGIN
        UPDATE shared_names SET uses = uses - 1
            WHERE name IN (SELECT key FROM json_each(old.refs));
    END""",
    """CREATE TRIGGER run_bodies_deleted AFTER DELETE ON run_bodies
        WHEN old.input_refs IS NOT NULL OR old.graph_refs IS NOT NULL BEGIN
        UPDATE shared_names SET uses = uses - 1
            WHERE name IN (SELECT key FROM json_each(old.input_refs));
        UPDATE shared_names SET uses = uses - 1
            WHERE name IN (SELECT key FROM json_each(old.graph_refs));
    END""",
)

# What version 4 adds to version 3: the step cache's entries, and the parent run in the
# header row (``ALTER TABLE ... ADD COLUMN`` on a version 3 file: no row is rewritten).
# ``id`` is the rowid, which every index holds last: an index on ``(key, created_at)`` is
# read newest first, ties by insertion, without a sort.
_CREATE_CACHE = (
    """CREATE TABLE cache_entries (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        step TEXT NOT NULL,
        run_id TEXT NOT NULL,
        path TEXT NOT NULL,
        created_at REAL NOT NULL,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX cache_entries_by_key ON cache_entries (key, created_at)",
    "CREATE INDEX cache_entries_by_step ON cache_entries (workflow_id, step, created_at)",
    "CREATE INDEX cache_entries_by_run ON cache_entries (run_id)",
)
_ADD_PARENT = "ALTER TABLE runs ADD COLUMN parent_run_id TEXT"

CREATE_TABLES = (
    # The columns in the order a migrated version 3 file has them (parent_run_id last).
    """CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        workflow_id TEXT NOT NULL,
        status TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        schema_version INTEGER NOT NULL,
        suspended TEXT NOT NULL,
        parent_run_id TEXT
    )""",
    "CREATE INDEX runs_by_workflow ON runs (workflow_id, created_at)",
    "CREATE INDEX runs_by_status ON runs (status)",
    # The columns in the order a migrated version 2 file has them (refs added last).
    """CREATE TABLE run_bodies (
        run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
        input TEXT NOT NULL,
        graph TEXT NOT NULL,
        input_refs TEXT,
        graph_refs TEXT
    )""",
    """CREATE TABLE run_meta (
        run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
        meta TEXT NOT NULL,
        refs TEXT
    )""",
    """CREATE TABLE run_records (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('step', 'journal')),
        key TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL,
        refs TEXT,
        PRIMARY KEY (run_id, kind, key)
    ) WITHOUT ROWID""",
    *_CREATE_SHARING,
    *_CREATE_CACHE,
)

INSERT_RUN = """INSERT INTO runs (run_id, workflow_id, status, version, created_at, updated_at,
    schema_version, suspended, parent_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id) DO NOTHING"""
INSERT_BODY = """INSERT INTO run_bodies (run_id, input, input_refs, graph, graph_refs)
    VALUES (?, ?, ?, ?, ?)"""
INSERT_META = "INSERT INTO run_meta (run_id, meta, refs) VALUES (?, ?, ?)"

# A new run's records: inserted (``insert``, ``insert_many``). By the record row's length:
# 5 for a record held whole (``refs`` NULL, written in the statement: binding ``None``
# costs the Python driver an adapter lookup, half a microsecond per step), 6 with its
# references.
INSERT_RECORD = {
    5: """INSERT INTO run_records (run_id, kind, key, seq, data, refs)
        VALUES (?1, ?2, ?3, ?4, ?5, NULL) ON CONFLICT (run_id, kind, key) DO NOTHING""",
    6: """INSERT INTO run_records (run_id, kind, key, seq, data, refs)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (run_id, kind, key) DO NOTHING""",
}
# An update's records: each inserted, or, if its key is there already, rewritten in place
# (it keeps its ``seq``, so its place), in one statement. The rewrite names ``refs``, so
# ``run_records_rewritten`` lets go of what the old row referred to (the writer counted
# the new row's references first, ``share``). One upsert, rather than an insert that
# skips existing keys and an update of those: a step's write usually holds the finished
# step (there already, written as running when it started) and the next one starting (new),
# so the two statements would each run for both rows; an upsert seeks each key once (and
# its trigger program costs a few hundred instructions, not a statement).
UPSERT_RECORD = {
    5: """INSERT INTO run_records (run_id, kind, key, seq, data, refs)
        VALUES (?1, ?2, ?3, ?4, ?5, NULL) ON CONFLICT (run_id, kind, key)
        DO UPDATE SET data = excluded.data, refs = NULL""",
    6: """INSERT INTO run_records (run_id, kind, key, seq, data, refs)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (run_id, kind, key)
        DO UPDATE SET data = excluded.data, refs = excluded.refs""",
}
# The usual write of one run, two step records held whole (the step that finished, the
# one starting): one statement, one call into the driver, rather than an ``executemany``.
# Parameters: run_id, then key, seq, data of each record.
UPSERT_TWO_STEPS = """INSERT INTO run_records (run_id, kind, key, seq, data, refs)
    VALUES (?1, 'step', ?2, ?3, ?4, NULL), (?1, 'step', ?5, ?6, ?7, NULL)
    ON CONFLICT (run_id, kind, key) DO UPDATE SET data = excluded.data, refs = NULL"""

# One statement per combination of (status given, meta given): a column named in SET is
# rewritten, and rewriting `status` also rewrites its index, so unchanged columns are left
# out.
UPDATE_RUN = {
    (True, True): """UPDATE runs SET status = ?, updated_at = ?, suspended = ?,
        version = version + 1 WHERE run_id = ? AND version = ?""",
    (True, False): """UPDATE runs SET status = ?, updated_at = ?,
        version = version + 1 WHERE run_id = ? AND version = ?""",
    (False, True): """UPDATE runs SET updated_at = ?, suspended = ?,
        version = version + 1 WHERE run_id = ? AND version = ?""",
    (False, False): """UPDATE runs SET updated_at = ?,
        version = version + 1 WHERE run_id = ? AND version = ?""",
}
UPDATE_META = "UPDATE run_meta SET meta = ?, refs = ? WHERE run_id = ?"

SELECT_VERSION = "SELECT version FROM runs WHERE run_id = ?"
SELECT_VERSIONS = """SELECT run_id, version FROM runs
    WHERE run_id IN (SELECT value FROM json_each(?))"""

# A run's header row, then its records in order, in one statement: one statement reads
# one consistent version of the database even while other processes write, without a
# read transaction around two statements (two round trips fewer per load). The shared
# values it refers to are read next, by name (``SELECT_SHARED``): a value that is there
# is the right one whenever it was read, since its name is its content's hash.
SELECT_SNAPSHOT = """SELECT 0, 0, r.workflow_id, r.status, r.version, r.created_at,
        r.updated_at, r.schema_version, b.input, b.graph, m.meta, b.input_refs,
        b.graph_refs, m.refs
        FROM runs r JOIN run_bodies b USING (run_id) JOIN run_meta m USING (run_id)
        WHERE r.run_id = ?1
    UNION ALL
    SELECT 1, seq, kind, key, data, refs, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM run_records WHERE run_id = ?1
    ORDER BY 1, 2"""
SELECT_SHARED = """SELECT n.name, v.data FROM shared_names n JOIN shared_values v
    ON v.id = n.value_id WHERE n.name IN (SELECT value FROM json_each(?))"""  # names: a list

_USE_SHARED = "UPDATE shared_names SET uses = uses + ? WHERE name = ?"
_INSERT_SHARED = "INSERT INTO shared_values (data) VALUES (?)"
_INSERT_SHARED_NAME = "INSERT INTO shared_names (name, value_id, uses) VALUES (?, ?, ?)"

# Records first and explicitly: correct even on a connection without foreign-key
# enforcement (their triggers let go of the shared values they held).
DELETE_RUN = (
    "DELETE FROM run_records WHERE run_id = ?",
    "DELETE FROM run_meta WHERE run_id = ?",
    "DELETE FROM run_bodies WHERE run_id = ?",
    "DELETE FROM cache_entries WHERE run_id = ?",
)
DELETE_HEADER = "DELETE FROM runs WHERE run_id = ?"

# One constant statement per filter combination (never SQL built from input), each able
# to use its index.
_LIST_COLUMNS = ("SELECT run_id, workflow_id, status, created_at, updated_at, suspended, "
                 "parent_run_id FROM runs")
_LIST_ORDER = " ORDER BY created_at DESC, rowid DESC"
LIST_RUNS = {
    (False, False): _LIST_COLUMNS + _LIST_ORDER,
    (True, False): _LIST_COLUMNS + " WHERE workflow_id = ?" + _LIST_ORDER,
    (False, True): _LIST_COLUMNS + " WHERE status = ?" + _LIST_ORDER,
    (True, True): _LIST_COLUMNS + " WHERE workflow_id = ? AND status = ?" + _LIST_ORDER,
}

# The step cache. An entry's row: key, workflow_id, step, run_id, path, created_at, data
# (the JSON of its output, parts, reads and effects). Newest first: by ``created_at``,
# then by insertion (``id``); both orders are the indexes' own.
INSERT_CACHE = """INSERT INTO cache_entries (key, workflow_id, step, run_id, path, created_at,
    data) VALUES (?, ?, ?, ?, ?, ?, ?)"""
_CACHE_COLUMNS = ("SELECT key, workflow_id, step, run_id, path, created_at, data "
                  "FROM cache_entries")
SELECT_CACHE_BY_KEY = (_CACHE_COLUMNS + " WHERE key = ? ORDER BY created_at DESC, id DESC "
                       "LIMIT ?")
SELECT_CACHE_LAST = (_CACHE_COLUMNS + " WHERE workflow_id = ? AND step = ? "
                     "ORDER BY created_at DESC, id DESC LIMIT 1")
CLEAR_CACHE = "DELETE FROM cache_entries"


def share(conn: sqlite3.Connection, shares: list[tuple[str, str]]) -> None:
    """Count one more use of each ``(name, JSON text)``, storing the text if it is new;
    before the rows that refer to them are written (one entry per such row and value).
    A name listed several times (a batch of runs of one workflow share its graph) costs
    one statement."""
    if len(shares) == 1:
        counted = [(shares[0][0], shares[0][1], 1)]
    else:
        counted = [(name, text, n) for name, (text, n) in count_uses(shares).items()]
    for name, text, n in counted:
        if conn.execute(_USE_SHARED, (n, name)).rowcount == 0:
            value_id = conn.execute(_INSERT_SHARED, (text,)).lastrowid
            conn.execute(_INSERT_SHARED_NAME, (name, value_id, n))


def suspended_json(meta: Mapping[str, Any]) -> str:
    """The ``suspended`` column: the suspended step paths of ``meta``, as a JSON list."""
    return dumps_json([list(path) for path in meta.get("suspended_paths") or ()])


def migrate(conn: sqlite3.Connection, stored: int) -> None:
    """Rewrite a file of storage schema version ``stored`` as the current version, in the
    caller's transaction (all or nothing). Raises ``ValueError`` if a stored value is not
    JSON."""
    if stored == 1:
        _migrate_from_v1(conn)  # straight to the current tables
    else:
        if stored == 2:
            for statement in (*_ADD_REFS, *_CREATE_SHARING):
                conn.execute(statement)
        # 2 and 3 -> 4
        conn.execute(_ADD_PARENT)
        for statement in _CREATE_CACHE:
            conn.execute(statement)
        _fill_parents(conn)
    if stored < 3:
        _share_stored_values(conn)
    conn.execute(_SET_SCHEMA_VERSION, (STORAGE_SCHEMA_VERSION,))


_ADD_REFS = (
    "ALTER TABLE run_bodies ADD COLUMN input_refs TEXT",
    "ALTER TABLE run_bodies ADD COLUMN graph_refs TEXT",
    "ALTER TABLE run_meta ADD COLUMN refs TEXT",
    "ALTER TABLE run_records ADD COLUMN refs TEXT",
)


def _migrate_from_v1(conn: sqlite3.Connection) -> None:
    """Rewrite a version 1 file's tables in the current layout, every value inline.

    Version 1 had ``runs`` with ``input``, ``graph`` and ``meta`` in the header row, and
    ``run_records`` as a rowid table. Runs keep their order (``rowid``), so ``list_runs``
    orders ties as before.
    """
    for index in ("runs_by_workflow", "runs_by_status"):
        conn.execute(f"DROP INDEX IF EXISTS {index}")  # constant names: the new ones reuse them
    conn.execute("ALTER TABLE run_records RENAME TO run_records_v1")
    conn.execute("ALTER TABLE runs RENAME TO runs_v1")
    for statement in CREATE_TABLES:
        conn.execute(statement)
    old = conn.execute("""SELECT run_id, workflow_id, status, version, created_at, updated_at,
        schema_version, input, graph, meta FROM runs_v1 ORDER BY rowid""")
    for run_id, wf_id, status, version, created, updated, snap_version, inp, graph, meta in old:
        parsed = loads_json(meta)
        parsed = parsed if isinstance(parsed, dict) else {}
        conn.execute(INSERT_RUN, (run_id, wf_id, status, version, created, updated,
                                  snap_version, suspended_json(parsed), parent_of(parsed)))
        conn.execute(INSERT_BODY, (run_id, inp, None, graph, None))
        conn.execute(INSERT_META, (run_id, meta, None))
    conn.execute("""INSERT INTO run_records (run_id, kind, key, seq, data)
        SELECT run_id, kind, key, seq, data FROM run_records_v1""")
    conn.execute("DROP TABLE run_records_v1")
    conn.execute("DROP TABLE runs_v1")


def cache_data(entry: CacheEntry) -> str:
    """The ``data`` column of a step-cache entry: the JSON of its output, parts, reads and
    effects (``TypeError`` if one is not JSON). The PostgreSQL store writes the same."""
    return dumps_json({"output": entry.output, "parts": as_dict(entry.parts),
                       "reads": as_dict(entry.reads), "effects": as_dict(entry.effects)})


def cache_entry(key: str, workflow_id: str, step: str, run_id: str, path: str,
                created_at: float, data: str) -> CacheEntry:
    """The entry of a stored row (the columns of ``SELECT_CACHE_BY_KEY``)."""
    doc = loads_json(data)
    return CacheEntry(key=key, workflow_id=workflow_id, step=step, run_id=run_id, path=path,
                      output=doc.get("output"), parts=dict(doc.get("parts") or {}),
                      reads=dict(doc.get("reads") or {}),
                      effects=dict(doc.get("effects") or {}), created_at=float(created_at))


def parent_of(meta: Mapping[str, Any]) -> str | None:
    """The ``runs.parent_run_id`` of a run with ``meta``: its ``parent_run_id`` if a str."""
    parent = meta.get("parent_run_id")
    return parent if isinstance(parent, str) else None


def _fill_parents(conn: sqlite3.Connection) -> None:
    """Fill ``runs.parent_run_id`` of a file migrated from version 2 or 3 from each run's
    meta. Only metas that mention the key are parsed, one at a time."""
    rows = conn.execute("SELECT run_id FROM run_meta "
                        "WHERE instr(meta, '\"parent_run_id\"') > 0").fetchall()
    for run_id in rows:
        meta, refs = conn.execute("SELECT meta, refs FROM run_meta WHERE run_id = ?",
                                  run_id).fetchone()
        if refs is None:
            parsed = loads_json(meta)
        else:
            shared = dict(conn.execute(SELECT_SHARED, (dumps_json(names(refs)),)).fetchall())
            try:
                parsed = join(meta, refs, shared)
            except KeyError as exc:
                raise ValueError(f"the meta of run {run_id[0]!r} refers to a shared value "
                                 "that is missing") from exc
        parent = parent_of(parsed) if isinstance(parsed, dict) else None
        if parent is not None:
            conn.execute("UPDATE runs SET parent_run_id = ? WHERE run_id = ?",
                         (parent, *run_id))


def _share_stored_values(conn: sqlite3.Connection) -> None:
    """Share the large values of a file that kept every value inline, as ``SQLiteStore``
    writes them now. Rows are read one at a time (a file may hold more than memory)."""
    limit = (INLINE_LIMIT,)
    keys = conn.execute("SELECT run_id, kind, key FROM run_records WHERE refs IS NULL "
                        "AND length(data) >= ?", limit).fetchall()
    for key in keys:
        (data,) = conn.execute("SELECT data FROM run_records WHERE run_id = ? AND kind = ? "
                               "AND key = ?", key).fetchone()
        text, refs = _split_stored(conn, data)
        if refs is not None:
            conn.execute("UPDATE run_records SET data = ?, refs = ? WHERE run_id = ? "
                         "AND kind = ? AND key = ?", (text, refs, *key))
    run_ids = conn.execute("SELECT run_id FROM run_meta WHERE refs IS NULL "
                           "AND length(meta) >= ?", limit).fetchall()
    for run_id in run_ids:
        (meta,) = conn.execute("SELECT meta FROM run_meta WHERE run_id = ?", run_id).fetchone()
        text, refs = _split_stored(conn, meta)
        if refs is not None:
            conn.execute("UPDATE run_meta SET meta = ?, refs = ? WHERE run_id = ?",
                         (text, refs, *run_id))
    run_ids = conn.execute("SELECT run_id FROM run_bodies WHERE length(input) >= ?1 "
                           "OR length(graph) >= ?1", limit).fetchall()
    for run_id in run_ids:
        inp, graph = conn.execute("SELECT input, graph FROM run_bodies WHERE run_id = ?",
                                  run_id).fetchone()
        inp, inp_refs = _split_stored(conn, inp)
        graph, graph_refs = _split_stored(conn, graph)
        conn.execute("UPDATE run_bodies SET input = ?, input_refs = ?, graph = ?, "
                     "graph_refs = ? WHERE run_id = ?", (inp, inp_refs, graph, graph_refs,
                                                         *run_id))


def _split_stored(conn: sqlite3.Connection, stored: str) -> tuple[str, str | None]:
    """A stored JSON text, split and its shared values counted (``(stored, None)`` when
    nothing in it is large enough to share)."""
    if len(stored) < INLINE_LIMIT:
        return stored, None
    text, refs, shared = split(loads_json(stored))
    if shared is None:
        return stored, None
    share(conn, list(shared.items()))
    return text, refs
