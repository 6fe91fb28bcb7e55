"""``SQLiteStore``: runs in one SQLite file (stdlib ``sqlite3``, WAL), shared by processes.

Layout (storage schema version 2): ``runs`` holds one small header row per run (ids,
status, version, timestamps, and the suspended paths that ``list_runs`` shows);
``run_bodies`` the run's ``input`` and graph description, written once; ``run_meta`` its
``meta``, written only when it changes; ``run_records`` one row per step or journal record,
keyed by ``(run_id, kind, key)``, so an update writes only the records that changed.

Written after every step are only the header row (version, ``updated_at``) and the step's
record: two B-tree leaf pages. Version 1 kept input, graph and meta in the header row, so
each step rewrote a graph description of 11 KB for a 100-step chain (three overflow
pages); a version 1 file is migrated in place, in one transaction, when a newer flownb
opens it. ``run_records`` is a ``WITHOUT ROWID`` table: the record and its key live in one
B-tree rather than a table and an index.

``seq`` orders records by first insertion without an extra query: a record first written
by the change that produces version ``v`` gets ``seq = v << 32 | i`` (``i`` its position in
that change). Versions only grow, so later records sort after earlier ones, and an upsert
of an existing key leaves its ``seq`` alone.

Every write is one transaction opened with ``BEGIN IMMEDIATE``: it takes SQLite's write
lock up front, so writers in other processes queue (``busy_timeout``) instead of failing
half-way, and ``update``'s version check and its writes are atomic together.

Storage faults (a read-only, corrupt or foreign file, a full disk, a lock held past the
busy timeout) raise ``StorageError`` naming the file and the operation; a failed write is
rolled back whole, and the connection stays usable once the fault is gone. A file that
holds another application's tables is refused before anything is written to it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.results import RunInfo
from ..errors import FlownbError, StorageError
from .base import (
    Snapshot,
    Store,
    Update,
    already_stored,
    as_dict,
    dumps_json,
    loads_json,
    run_not_found,
    version_conflict,
)
from .faults import foreign_file, os_fault, sqlite_fault

__all__ = ["STORAGE_SCHEMA_VERSION", "SQLiteStore"]

STORAGE_SCHEMA_VERSION = 2
"""Version of the table layout below; stored in the ``schema_version`` table."""

BUSY_TIMEOUT_MS = 10_000

_SEQ_SHIFT = 32  # room for 2**32 records per change

_CREATE_SCHEMA_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"

# The tables, and their columns, of each storage schema version flownb has written: a file
# whose tables do not match is another application's, and is refused.
_RECORD_COLUMNS = frozenset({"run_id", "kind", "key", "seq", "data"})
_HEADER_COLUMNS = frozenset({"run_id", "workflow_id", "status", "version", "created_at",
                             "updated_at", "schema_version"})
_LAYOUTS: dict[int, dict[str, frozenset[str]]] = {
    1: {"runs": _HEADER_COLUMNS | {"input", "graph", "meta"}, "run_records": _RECORD_COLUMNS},
    2: {"runs": _HEADER_COLUMNS | {"suspended"}, "run_bodies": frozenset({"run_id", "input",
                                                                           "graph"}),
        "run_meta": frozenset({"run_id", "meta"}), "run_records": _RECORD_COLUMNS},
}
_SELECT_TABLES = ("SELECT name FROM sqlite_master WHERE type = 'table' "
                  "AND substr(name, 1, 7) != 'sqlite_'")
_SELECT_COLUMNS = "SELECT name FROM pragma_table_info(?)"  # the name bound, never spliced

_CREATE_TABLES = (
    """CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        workflow_id TEXT NOT NULL,
        status TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        schema_version INTEGER NOT NULL,
        suspended TEXT NOT NULL
    )""",
    "CREATE INDEX runs_by_workflow ON runs (workflow_id, created_at)",
    "CREATE INDEX runs_by_status ON runs (status)",
    """CREATE TABLE run_bodies (
        run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
        input TEXT NOT NULL,
        graph TEXT NOT NULL
    )""",
    """CREATE TABLE run_meta (
        run_id TEXT PRIMARY KEY REFERENCES runs (run_id) ON DELETE CASCADE,
        meta TEXT NOT NULL
    )""",
    """CREATE TABLE run_records (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('step', 'journal')),
        key TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (run_id, kind, key)
    ) WITHOUT ROWID""",
)

_INSERT_RUN = """INSERT INTO runs (run_id, workflow_id, status, version, created_at, updated_at,
    schema_version, suspended) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (run_id) DO NOTHING"""
_INSERT_BODY = "INSERT INTO run_bodies (run_id, input, graph) VALUES (?, ?, ?)"
_INSERT_META = "INSERT INTO run_meta (run_id, meta) VALUES (?, ?)"

_UPSERT_RECORD = """INSERT INTO run_records (run_id, kind, key, seq, data) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (run_id, kind, key) DO UPDATE SET data = excluded.data"""

# One statement per combination of (status given, meta given): a column named in SET is
# rewritten, and rewriting `status` also rewrites its index, so unchanged columns are left
# out. The statements are constants; nothing of the input is ever spliced into SQL.
_UPDATE_RUN = {
    (True, True): """UPDATE runs SET status = ?, updated_at = ?, suspended = ?,
        version = version + 1 WHERE run_id = ? AND version = ?""",
    (True, False): """UPDATE runs SET status = ?, updated_at = ?,
        version = version + 1 WHERE run_id = ? AND version = ?""",
    (False, True): """UPDATE runs SET updated_at = ?, suspended = ?,
        version = version + 1 WHERE run_id = ? AND version = ?""",
    (False, False): """UPDATE runs SET updated_at = ?,
        version = version + 1 WHERE run_id = ? AND version = ?""",
}
_UPDATE_META = "UPDATE run_meta SET meta = ? WHERE run_id = ?"

_SELECT_VERSION = "SELECT version FROM runs WHERE run_id = ?"

# A run's header row, then its records in order, in one statement: one statement reads
# one consistent version of the database even while other processes write, without a
# read transaction around two statements (two round trips fewer per load).
_SELECT_SNAPSHOT = """SELECT 0, 0, r.workflow_id, r.status, r.version, r.created_at,
        r.updated_at, r.schema_version, b.input, b.graph, m.meta
        FROM runs r JOIN run_bodies b USING (run_id) JOIN run_meta m USING (run_id)
        WHERE r.run_id = ?1
    UNION ALL
    SELECT 1, seq, kind, key, data, NULL, NULL, NULL, NULL, NULL, NULL
        FROM run_records WHERE run_id = ?1
    ORDER BY 1, 2"""

# Records first and explicitly: correct even on a connection without foreign-key
# enforcement.
_DELETE_RUN = (
    "DELETE FROM run_records WHERE run_id = ?",
    "DELETE FROM run_meta WHERE run_id = ?",
    "DELETE FROM run_bodies WHERE run_id = ?",
)
_DELETE_HEADER = "DELETE FROM runs WHERE run_id = ?"

# One constant statement per filter combination (never SQL built from input), each able
# to use its index.
_LIST_COLUMNS = "SELECT run_id, workflow_id, status, created_at, updated_at, suspended FROM runs"
_LIST_ORDER = " ORDER BY created_at DESC, rowid DESC"
_LIST_RUNS = {
    (False, False): _LIST_COLUMNS + _LIST_ORDER,
    (True, False): _LIST_COLUMNS + " WHERE workflow_id = ?" + _LIST_ORDER,
    (False, True): _LIST_COLUMNS + " WHERE status = ?" + _LIST_ORDER,
    (True, True): _LIST_COLUMNS + " WHERE workflow_id = ? AND status = ?" + _LIST_ORDER,
}


class SQLiteStore(Store):
    """Runs in an SQLite database file, safe across threads and processes.

    ``path`` is a file path (missing parent directories are created) or ``":memory:"``.
    One connection per store, guarded by a lock; the database uses WAL journaling so
    readers never block the writer.

    >>> from flownb.storage import SQLiteStore, Snapshot
    >>> store = SQLiteStore(":memory:")
    >>> store.insert(Snapshot(run_id="r1", workflow_id="wf", status="running", version=1,
    ...                       created_at=0.0, updated_at=0.0, input={"x": 1}, graph={}))
    >>> store.update("r1", expected_version=1, status="success", updated_at=1.0, meta={},
    ...              steps={"add": {"status": "success", "output": 2}})
    2
    >>> store.load("r1").steps
    {'add': {'status': 'success', 'output': 2}}
    >>> store.close()
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = path if path == ":memory:" else Path(path)
        in_memory = self.path == ":memory:"
        shown = str(self.path) if in_memory else str(Path(path).absolute())
        self.description = f"SQLite database {shown!r}"
        """What ``StorageError`` names: the database's absolute path."""
        self._busy_ms = BUSY_TIMEOUT_MS
        self._in_memory = in_memory
        self._stale = False  # a fault happened: the next write starts on a new connection
        if isinstance(self.path, Path):
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise os_fault(exc, self.description, "opening") from exc
        self._lock = threading.Lock()
        try:
            self._conn = self._connect()
        except sqlite3.Error as exc:
            raise self._fault(exc, "opening") from exc
        try:
            self._open()
        except BaseException:
            self._conn.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_ms / 1000,
            isolation_level=None,  # autocommit; transactions are explicit BEGIN/COMMIT
            check_same_thread=False,  # shared between threads, serialized by self._lock
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_ms:d}")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _recover(self) -> None:
        """Start afresh after a fault: a new connection, so neither a transaction that a
        failed ``ROLLBACK`` left open nor SQLite's read-only fallback (taken when the file
        was read-only at open) outlives the fault. An in-memory database lives in its one
        connection: only its transaction is ended."""
        if self._in_memory:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        else:
            with suppress(sqlite3.Error):
                self._conn.close()  # rolls back what is open
            self._conn = self._connect()
        self._stale = False

    def _open(self) -> None:
        conn, operation = self._conn, "opening"
        try:
            # Before anything that writes (switching to WAL rewrites the file's header): a
            # file of another application is refused untouched.
            stored = self._stored_version()
            self._refuse_newer(stored)
            if not self._in_memory:
                conn.execute("PRAGMA journal_mode = WAL")
            if stored == STORAGE_SCHEMA_VERSION:  # the usual case: nothing to write
                return
            operation = "creating tables" if stored is None else "migrating"
            with self._transaction():
                # Again under the write lock: another process may have done it meanwhile.
                stored = self._stored_version()
                if stored is None:
                    conn.execute(_CREATE_SCHEMA_TABLE)
                    for statement in _CREATE_TABLES:
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version (version) VALUES (?)",
                                 (STORAGE_SCHEMA_VERSION,))
                elif stored == 1:
                    self._migrate()
                else:
                    self._refuse_newer(stored)
        except sqlite3.Error as exc:
            raise self._fault(exc, operation, write=operation != "opening") from exc

    def _stored_version(self) -> int | None:
        """The file's storage schema version, ``None`` if it holds no tables at all.

        Raises ``StorageError`` if it holds tables that are not flownb's: tables but no
        ``schema_version``, or tables of another shape than that version's.
        """
        conn = self._conn
        tables = {row[0] for row in conn.execute(_SELECT_TABLES)}
        if "schema_version" not in tables:
            if tables:
                raise foreign_file(self.description, "it has the tables "
                                   f"{_names(tables)} and no flownb 'schema_version' table")
            return None
        if self._columns("schema_version") != {"version"}:
            raise foreign_file(self.description, "its 'schema_version' table is not flownb's")
        stored = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        if stored is None:
            if tables == {"schema_version"}:
                return None  # flownb's table, left empty: set the file up
            raise foreign_file(self.description, f"it has the tables {_names(tables)} and "
                               "an empty 'schema_version' table")
        version = stored if isinstance(stored, int) else -1
        layout = _LAYOUTS.get(version)
        if layout is None:
            if version > STORAGE_SCHEMA_VERSION and "run_id" in self._columns("runs"):
                return version  # a newer flownb's: refused with its own message
            raise foreign_file(self.description, f"it has the tables {_names(tables)} and "
                               f"an unknown storage schema version {stored!r}")
        for table, columns in layout.items():
            if table not in tables or self._columns(table) != columns:
                raise foreign_file(
                    self.description, f"its table {table!r} is not flownb's" if table in tables
                    else f"it has the tables {_names(tables)} but no {table!r} table")
        return version

    def _columns(self, table: str) -> set[str]:
        return {row[0] for row in self._conn.execute(_SELECT_COLUMNS, (table,))}

    def _refuse_newer(self, stored: int | None) -> None:
        if stored is not None and stored > STORAGE_SCHEMA_VERSION:
            raise StorageError(
                f"The run database {str(self.path)!r} uses storage schema version "
                f"{stored}, but this flownb only knows version {STORAGE_SCHEMA_VERSION}. "
                "It was written by a newer flownb: upgrade flownb, or use another path.",
                store=self.description, operation="opening")

    def _migrate(self) -> None:
        try:
            _migrate_from_v1(self._conn)
        except ValueError as exc:  # a stored value is not JSON; rolled back: unchanged
            raise StorageError(
                f"Could not migrate the run database {str(self.path)!r} from storage "
                f"schema version 1 to {STORAGE_SCHEMA_VERSION}: {exc}. The file is "
                "left as it was.", store=self.description, operation="migrating") from exc

    def _fault(self, exc: sqlite3.Error, operation: str, *, run_id: str | None = None,
               write: bool = False) -> StorageError:
        self._stale = True
        return sqlite_fault(exc, self.description, operation,
                            busy_timeout_s=self._busy_ms / 1000, run_id=run_id, write=write)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the caller holds ``self._lock`` (or is ``__init__``)."""
        if self._stale:
            self._recover()
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            self._rollback(conn)
            raise

    def _rollback(self, conn: sqlite3.Connection) -> None:
        # Also after a failed COMMIT (disk full, I/O error): never leave the shared
        # connection inside a transaction. If the ROLLBACK itself fails, the error worth
        # reporting is the one that got us here; the next call starts on a new connection.
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                self._stale = True

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        # Only a transaction left open (see ``_rollback``) sends a read to a new connection:
        # the next write does that after any fault, so that it, not a read, finds out
        # whether a read-only file has become writable.
        if self._conn.in_transaction:
            self._recover()
        return self._conn.execute(sql, params).fetchall()

    def insert(self, snapshot: Snapshot) -> None:
        s = snapshot
        row = (s.run_id, s.workflow_id, s.status, s.version, s.created_at, s.updated_at,
               s.schema_version, _suspended_json(s.meta))
        body = (s.run_id, dumps_json(s.input), dumps_json(s.graph))
        meta = (s.run_id, dumps_json(as_dict(s.meta)))
        records = _record_rows(s.run_id, s.version, s.steps, s.journal)
        with self._lock:
            try:
                with self._transaction() as conn:
                    if conn.execute(_INSERT_RUN, row).rowcount == 0:
                        raise already_stored(s.run_id)
                    conn.execute(_INSERT_BODY, body)
                    conn.execute(_INSERT_META, meta)
                    if records:
                        conn.executemany(_UPSERT_RECORD, records)
            except sqlite3.Error as exc:
                raise self._fault(exc, f"inserting run {s.run_id!r}", run_id=s.run_id,
                                  write=True) from exc

    def load(self, run_id: str) -> Snapshot | None:
        with self._lock:
            try:
                rows = self._read(_SELECT_SNAPSHOT, (run_id,))
            except sqlite3.Error as exc:
                raise self._fault(exc, f"loading run {run_id!r}", run_id=run_id) from exc
        if not rows or rows[0][0] != 0:  # no header: no such run (stray records ignored)
            return None
        (_, _, workflow_id, status, version, created_at, updated_at, schema_version, inp, graph,
         meta) = rows[0]
        steps: dict[str, dict[str, Any]] = {}
        journal: dict[str, dict[str, Any]] = {}
        for _, _, kind, key, data, *_ in rows[1:]:
            (steps if kind == "step" else journal)[key] = loads_json(data)
        return Snapshot(
            run_id=run_id,
            workflow_id=workflow_id,
            status=status,
            version=version,
            created_at=created_at,
            updated_at=updated_at,
            input=loads_json(inp),
            graph=loads_json(graph),
            meta=loads_json(meta),
            steps=steps,
            journal=journal,
            schema_version=schema_version,
        )

    def update(
        self,
        run_id: str,
        *,
        expected_version: int,
        status: str | None,
        updated_at: float,
        meta: Mapping[str, Any] | None,
        steps: Mapping[str, Mapping[str, Any]] = {},
        journal: Mapping[str, Mapping[str, Any]] = {},
    ) -> int:
        change = _change(run_id, expected_version, status, updated_at, meta, steps, journal)
        # The transaction spelled out rather than through ``_transaction``: this runs once
        # per step, where a generator-based context manager's few microseconds show.
        with self._lock:
            try:
                if self._stale:
                    self._recover()
                conn = self._conn
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = _apply(conn, change)
                    if not isinstance(result, int):
                        raise result
                    conn.execute("COMMIT")
                except BaseException:
                    self._rollback(conn)
                    raise
            except sqlite3.Error as exc:
                raise self._fault(exc, f"updating run {run_id!r}", run_id=run_id,
                                  write=True) from exc
        return result

    def update_many(self, updates: Sequence[Update]) -> list[int | FlownbError]:
        """All of ``updates`` in one transaction (one commit, one sync to disk), each with
        its own version check; a fault rolls the whole batch back."""
        changes = [_change(u.run_id, u.expected_version, u.status, u.updated_at, u.meta,
                           u.steps, u.journal) for u in updates]
        if not changes:
            return []
        with self._lock:
            try:
                with self._transaction() as conn:
                    # A change that does not apply fails its version check before it
                    # writes anything: the others go on, in the same transaction.
                    return [_apply(conn, change) for change in changes]
            except sqlite3.Error as exc:
                run_ids = list(dict.fromkeys(change.run_id for change in changes))
                raise self._fault(exc, _updating(run_ids),
                                  run_id=run_ids[0] if len(run_ids) == 1 else None,
                                  write=True) from exc

    def list_runs(
        self, *, workflow_id: str | None = None, status: str | None = None
    ) -> list[RunInfo]:
        sql = _LIST_RUNS[workflow_id is not None, status is not None]
        params = tuple(v for v in (workflow_id, status) if v is not None)
        with self._lock:
            try:
                rows = self._read(sql, params)
            except sqlite3.Error as exc:
                raise self._fault(exc, "listing runs") from exc
        return [
            RunInfo(
                run_id=run_id,
                workflow_id=wf_id,
                status=st,
                created_at=created_at,
                updated_at=updated_at,
                suspended=[list(path) for path in loads_json(suspended)],
            )
            for run_id, wf_id, st, created_at, updated_at, suspended in rows
        ]

    def delete(self, run_id: str) -> bool:
        with self._lock:
            try:
                with self._transaction() as conn:
                    for statement in _DELETE_RUN:
                        conn.execute(statement, (run_id,))
                    return conn.execute(_DELETE_HEADER, (run_id,)).rowcount > 0
            except sqlite3.Error as exc:
                raise self._fault(exc, f"deleting run {run_id!r}", run_id=run_id,
                                  write=True) from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"


def _names(tables: set[str]) -> str:
    """``"'a', 'b', 'c' (and 4 more)"``: enough of a file's tables to recognize it."""
    shown = ", ".join(repr(name) for name in sorted(tables)[:5])
    return shown + (f" (and {len(tables) - 5} more)" if len(tables) > 5 else "")


@dataclass(slots=True)
class _Change:
    """An update ready to apply: its values serialized (before the transaction, so a value
    that is not JSON fails with nothing written, and the write lock is held only for the
    SQL itself), its header statement chosen."""

    run_id: str
    expected_version: int
    sql: str
    params: tuple[Any, ...]
    meta: str | None
    records: list[tuple[str, str, str, int, str]]


def _change(run_id: str, expected_version: int, status: str | None, updated_at: float,
            meta: Mapping[str, Any] | None, steps: Mapping[str, Mapping[str, Any]],
            journal: Mapping[str, Mapping[str, Any]]) -> _Change:
    params = (*((status,) if status is not None else ()), updated_at,
              *((_suspended_json(meta),) if meta is not None else ()), run_id,
              expected_version)
    return _Change(run_id, expected_version, _UPDATE_RUN[status is not None, meta is not None],
                   params, None if meta is None else dumps_json(as_dict(meta)),
                   _record_rows(run_id, expected_version + 1, steps, journal))


def _apply(conn: sqlite3.Connection, c: _Change) -> int | FlownbError:
    """Write one change inside the caller's transaction if the run is still at its
    expected version: the new version; else the error, and nothing of it written."""
    if conn.execute(c.sql, c.params).rowcount == 0:
        row = conn.execute(_SELECT_VERSION, (c.run_id,)).fetchone()
        if row is None:
            return run_not_found(c.run_id)
        return version_conflict(c.run_id, c.expected_version, row[0])
    if c.meta is not None:
        conn.execute(_UPDATE_META, (c.meta, c.run_id))
    records = c.records
    if len(records) == 1:
        conn.execute(_UPSERT_RECORD, records[0])
    elif records:
        conn.executemany(_UPSERT_RECORD, records)
    return c.expected_version + 1


def _updating(run_ids: list[str]) -> str:
    """What a failed batch was doing: ``"updating runs 'a', 'b' and 3 more"``."""
    if len(run_ids) == 1:
        return f"updating run {run_ids[0]!r}"
    shown = ", ".join(repr(run_id) for run_id in run_ids[:3])
    return f"updating runs {shown}" + (f" and {len(run_ids) - 3} more" if len(run_ids) > 3
                                       else "")


def _suspended_json(meta: Mapping[str, Any]) -> str:
    """The ``suspended`` column: the suspended step paths of ``meta``, as a JSON list."""
    return dumps_json([list(path) for path in meta.get("suspended_paths") or ()])


def _migrate_from_v1(conn: sqlite3.Connection) -> None:
    """Rewrite a version 1 file as version 2, in the caller's transaction (all or nothing).

    Version 1 had ``runs`` with ``input``, ``graph`` and ``meta`` in the header row, and
    ``run_records`` as a rowid table. Runs keep their order (``rowid``), so ``list_runs``
    orders ties as before.
    """
    for index in ("runs_by_workflow", "runs_by_status"):
        conn.execute(f"DROP INDEX IF EXISTS {index}")  # constant names: the new ones reuse them
    conn.execute("ALTER TABLE run_records RENAME TO run_records_v1")
    conn.execute("ALTER TABLE runs RENAME TO runs_v1")
    for statement in _CREATE_TABLES:
        conn.execute(statement)
    old = conn.execute("""SELECT run_id, workflow_id, status, version, created_at, updated_at,
        schema_version, input, graph, meta FROM runs_v1 ORDER BY rowid""")
    for run_id, wf_id, status, version, created, updated, snap_version, inp, graph, meta in old:
        parsed = loads_json(meta)
        conn.execute(_INSERT_RUN, (run_id, wf_id, status, version, created, updated,
                                   snap_version,
                                   _suspended_json(parsed if isinstance(parsed, dict) else {})))
        conn.execute(_INSERT_BODY, (run_id, inp, graph))
        conn.execute(_INSERT_META, (run_id, meta))
    conn.execute("""INSERT INTO run_records (run_id, kind, key, seq, data)
        SELECT run_id, kind, key, seq, data FROM run_records_v1""")
    conn.execute("DROP TABLE run_records_v1")
    conn.execute("DROP TABLE runs_v1")
    conn.execute("UPDATE schema_version SET version = ?", (STORAGE_SCHEMA_VERSION,))


def _record_rows(
    run_id: str,
    version: int,
    steps: Mapping[str, Mapping[str, Any]],
    journal: Mapping[str, Mapping[str, Any]],
) -> list[tuple[str, str, str, int, str]]:
    base = version << _SEQ_SHIFT
    if len(steps) == 1 and not journal:  # the usual write: the step that just finished
        for key, data in steps.items():
            return [(run_id, "step", key, base, dumps_json(as_dict(data)))]
    rows = [(run_id, "step", key, base + i, dumps_json(as_dict(data)))
            for i, (key, data) in enumerate(steps.items())]
    offset = base + len(rows)
    rows.extend((run_id, "journal", key, offset + i, dumps_json(as_dict(data)))
                for i, (key, data) in enumerate(journal.items()))
    return rows

