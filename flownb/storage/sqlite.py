"""``SQLiteStore``: runs in one SQLite file (stdlib ``sqlite3``, WAL), shared by processes.

The tables, every statement and the migrations are in ``flownb.storage.sqlite_layout``. In
short (storage schema version 4): a small header row per run; its input, graph and meta
each in a row of their own, written only when they change; one row per step or journal
record, so an update writes only the records that changed; each large value (1 KiB of
JSON or more) once, however many records hold it (``flownb.storage.values``); and the
step cache's entries, one row each, indexed by fingerprint, by step and by run.

Written after every step are only the header row (version, ``updated_at``) and the step's
record: two B-tree leaf pages. ``run_records`` is a ``WITHOUT ROWID`` table: the record and
its key live in one B-tree rather than a table and an index.

``seq`` orders records by first insertion without an extra query: a record first written
by the change that produces version ``v`` gets ``seq = v << 32 | i`` (``i`` its position in
that change). Versions only grow, so later records sort after earlier ones, and an upsert
of an existing key leaves its ``seq`` alone.

Every write is one transaction opened with ``BEGIN IMMEDIATE``: it takes SQLite's write
lock up front, so writers in other processes queue (``busy_timeout``) instead of failing
half-way, and ``update``'s version check and its writes are atomic together.
``update_many`` writes many runs' updates in one such transaction, with the step-cache
entries of those whose version check passed (``Update.cache``): one more statement
(an ``executemany``) in a batch that carries entries, none in one that does not.

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
from pathlib import Path
from typing import Any

from ..core.results import RunInfo
from ..errors import FlownbError, StorageError
from . import sqlite_layout as sql
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
from .cache import CACHE_FIND_LIMIT, CacheEntry
from .faults import foreign_file, os_fault, sqlite_fault, storage_error
from .sqlite_keys import KeyIndex
from .sqlite_layout import (
    STORAGE_SCHEMA_VERSION,
    cache_data,
    cache_entry,
    parent_of,
    share,
    suspended_json,
)
from .values import INLINE_LIMIT, join, names, split

__all__ = ["STORAGE_SCHEMA_VERSION", "SQLiteStore"]

BUSY_TIMEOUT_MS = 10_000

_SEQ_SHIFT = 32  # room for 2**32 records per change

# A shared value's name and JSON text, once for each row that refers to it.
_Shares = list[tuple[str, str]]


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
        self._keys = KeyIndex()  # the step-cache keys: a miss answered without a read
        try:
            self._conn = self._connect()
        except sqlite3.Error as exc:
            raise self._fault(exc, "opening") from exc
        # The writes' cursor, kept: ``Connection.execute`` makes (and drops) a cursor per
        # statement, a few microseconds of a step's write of four statements.
        self._cur = self._conn.cursor()
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
            self._cur = self._conn.cursor()
            self._keys.forget()  # its data_version counts from another start
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
                    conn.execute(sql.CREATE_SCHEMA_TABLE)
                    for statement in sql.CREATE_TABLES:
                        conn.execute(statement)
                    conn.execute(sql.INSERT_SCHEMA_VERSION, (STORAGE_SCHEMA_VERSION,))
                elif stored < STORAGE_SCHEMA_VERSION:
                    self._migrate(stored)
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
        tables = {row[0] for row in conn.execute(sql.SELECT_TABLES)}
        if "schema_version" not in tables:
            if tables:
                raise foreign_file(self.description, "it has the tables "
                                   f"{_names(tables)} and no flownb 'schema_version' table")
            return None
        if self._columns("schema_version") != {"version"}:
            raise foreign_file(self.description, "its 'schema_version' table is not flownb's")
        stored = conn.execute(sql.SELECT_SCHEMA_VERSION).fetchone()[0]
        if stored is None:
            if tables == {"schema_version"}:
                return None  # flownb's table, left empty: set the file up
            raise foreign_file(self.description, f"it has the tables {_names(tables)} and "
                               "an empty 'schema_version' table")
        version = stored if isinstance(stored, int) else -1
        layout = sql.LAYOUTS.get(version)
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
        return {row[0] for row in self._conn.execute(sql.SELECT_COLUMNS, (table,))}

    def _refuse_newer(self, stored: int | None) -> None:
        if stored is not None and stored > STORAGE_SCHEMA_VERSION:
            raise StorageError(
                f"The run database {str(self.path)!r} uses storage schema version "
                f"{stored}, but this flownb only knows version {STORAGE_SCHEMA_VERSION}. "
                "It was written by a newer flownb: upgrade flownb, or use another path.",
                store=self.description, operation="opening")

    def _migrate(self, stored: int) -> None:
        try:
            sql.migrate(self._conn, stored)
        except ValueError as exc:  # a stored value is not JSON; rolled back: unchanged
            raise StorageError(
                f"Could not migrate the run database {str(self.path)!r} from storage "
                f"schema version {stored} to {STORAGE_SCHEMA_VERSION}: {exc}. The file is "
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

    def _read(self, statement: str, params: tuple[Any, ...]) -> list[Any]:
        # Only a transaction left open (see ``_rollback``) sends a read to a new connection:
        # the next write does that after any fault, so that it, not a read, finds out
        # whether a read-only file has become writable.
        if self._conn.in_transaction:
            self._recover()
        return self._conn.execute(statement, params).fetchall()

    def insert(self, snapshot: Snapshot) -> None:
        result = self.insert_many([snapshot])[0]
        if result is not None:
            raise result

    def insert_many(self, snapshots: Sequence[Snapshot]) -> list[FlownbError | None]:
        """All of ``snapshots`` in one transaction; a run already stored is skipped (its
        ``ConcurrentRunError`` returned), a fault rolls the whole batch back."""
        rows = [_new_run(s) for s in snapshots]
        run_ids = [s.run_id for s in snapshots]
        with self._lock:
            try:
                with self._transaction() as conn:
                    if len(rows) == 1:
                        return [_insert(conn, rows[0])]
                    return _insert_many(conn, rows)
            except sqlite3.Error as exc:
                what = (f"inserting run {run_ids[0]!r}" if len(run_ids) == 1
                        else "inserting runs " + ", ".join(map(repr, run_ids[:3]))
                        + (f" and {len(run_ids) - 3} more" if len(run_ids) > 3 else ""))
                raise self._fault(exc, what, run_id=run_ids[0] if len(run_ids) == 1 else None,
                                  write=True) from exc

    def load(self, run_id: str) -> Snapshot | None:
        with self._lock:
            try:
                rows = self._read(sql.SELECT_SNAPSHOT, (run_id,))
                shared = self._read_shared(rows)
                if shared is None:
                    rows, shared = self._read_consistent(run_id)
            except sqlite3.Error as exc:
                raise self._fault(exc, f"loading run {run_id!r}", run_id=run_id) from exc
        if not rows or rows[0][0] != 0:  # no header: no such run (stray records ignored)
            return None
        (_, _, workflow_id, status, version, created_at, updated_at, schema_version, inp, graph,
         meta, inp_refs, graph_refs, meta_refs) = rows[0]
        steps: dict[str, dict[str, Any]] = {}
        journal: dict[str, dict[str, Any]] = {}
        for _, _, kind, key, data, refs, *_ in rows[1:]:
            (steps if kind == "step" else journal)[key] = (
                loads_json(data) if refs is None else join(data, refs, shared))
        return Snapshot(
            run_id=run_id,
            workflow_id=workflow_id,
            status=status,
            version=version,
            created_at=created_at,
            updated_at=updated_at,
            input=join(inp, inp_refs, shared),
            graph=join(graph, graph_refs, shared),
            meta=join(meta, meta_refs, shared),
            steps=steps,
            journal=journal,
            schema_version=schema_version,
        )

    def _read_shared(self, rows: list[Any]) -> dict[str, str] | None:
        """The shared values that a run's rows (``SELECT_SNAPSHOT``) refer to, by name;
        ``None`` if one is missing: a writer rewrote the run after the rows were read,
        and the value went with the last row that held it."""
        wanted: set[str] = set()
        if rows and rows[0][0] == 0:
            for refs in (*rows[0][11:], *(row[5] for row in rows[1:])):
                if refs is not None:
                    wanted.update(names(refs))
        if not wanted:
            return {}
        found = self._conn.execute(sql.SELECT_SHARED, (dumps_json(sorted(wanted)),))
        shared = dict(found.fetchall())
        return shared if len(shared) == len(wanted) else None

    def _read_consistent(self, run_id: str) -> tuple[list[Any], dict[str, str]]:
        """A run's rows and shared values read again, in one read transaction."""
        conn = self._conn
        conn.execute("BEGIN")
        try:
            rows = conn.execute(sql.SELECT_SNAPSHOT, (run_id,)).fetchall()
            shared = self._read_shared(rows)
        finally:
            self._rollback(conn)  # ends the read transaction
        if shared is None:
            raise storage_error(self.description, f"loading run {run_id!r}",
                                "a value the run refers to is missing from the file",
                                "The file is damaged: restore it from a backup.",
                                run_id=run_id)
        return rows, shared

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
        result = self._write(
            [_change(run_id, expected_version, status, updated_at, meta, steps, journal)])[0]
        if isinstance(result, int):
            return result
        raise result

    def update_many(self, updates: Sequence[Update]) -> list[int | FlownbError]:
        """All of ``updates`` in one transaction (one commit, one sync to disk), each with
        its own version check, and the step-cache entries of each that applied; a fault
        rolls the whole batch back."""
        changes = [_change(u.run_id, u.expected_version, u.status, u.updated_at, u.meta,
                           u.steps, u.journal) for u in updates]
        if not changes:
            return []
        for u in updates:
            if u.cache:  # entries to add: encoded now, written if their update applies
                return self._write(changes, [_cache_rows(u.cache) for u in updates])
        return self._write(changes)

    def _write(self, changes: list[_Change],
               caches: list[list[_CacheRow]] | None = None) -> list[int | FlownbError]:
        """Apply ``changes`` in one transaction, and the step-cache rows ``caches[i]`` of
        each change ``i`` that applied. A change that does not apply fails its version
        check before it writes anything: the others go on."""
        # The transaction spelled out rather than through ``_transaction``: this runs once
        # per step, where a generator-based context manager's few microseconds show.
        with self._lock:
            try:
                if self._stale:
                    self._recover()
                conn, cur = self._conn, self._cur
                cur.execute("BEGIN IMMEDIATE")
                try:
                    if len(changes) == 1:
                        results = [_apply(conn, cur, changes[0])]
                    else:
                        results = _apply_many(conn, cur, changes)
                    if caches is not None:
                        entries = [row for result, rows in zip(results, caches, strict=True)
                                   if isinstance(result, int) for row in rows]
                        if entries:
                            cur.executemany(sql.INSERT_CACHE, entries)
                    cur.execute("COMMIT")
                except BaseException:
                    self._rollback(conn)
                    raise
                if caches is not None and entries:
                    self._keys.added([row[0] for row in entries])
            except sqlite3.Error as exc:
                run_ids = list(dict.fromkeys(change[0] for change in changes))
                raise self._fault(exc, _updating(run_ids),
                                  run_id=run_ids[0] if len(run_ids) == 1 else None,
                                  write=True) from exc
        return results

    def version_of(self, run_id: str) -> int | None:
        """One read of the run's header row by its primary key (no body, no records)."""
        with self._lock:
            try:
                row = self._read(sql.SELECT_VERSION, (run_id,))
            except sqlite3.Error as exc:
                raise self._fault(exc, f"reading the version of run {run_id!r}",
                                  run_id=run_id) from exc
        return row[0][0] if row else None

    def list_runs(
        self, *, workflow_id: str | None = None, status: str | None = None
    ) -> list[RunInfo]:
        statement = sql.LIST_RUNS[workflow_id is not None, status is not None]
        params = tuple(v for v in (workflow_id, status) if v is not None)
        with self._lock:
            try:
                rows = self._read(statement, params)
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
                parent_run_id=parent,
            )
            for run_id, wf_id, st, created_at, updated_at, suspended, parent in rows
        ]

    def delete(self, run_id: str) -> bool:
        with self._lock:
            self._keys.forget()  # its entries go with it
            try:
                with self._transaction() as conn:
                    # The rows' triggers let go of the shared values they held, in this
                    # transaction: what no other run holds is deleted with the run. Its
                    # step-cache entries go too.
                    for statement in sql.DELETE_RUN:
                        conn.execute(statement, (run_id,))
                    return conn.execute(sql.DELETE_HEADER, (run_id,)).rowcount > 0
            except sqlite3.Error as exc:
                raise self._fault(exc, f"deleting run {run_id!r}", run_id=run_id,
                                  write=True) from exc

    # -- the step cache

    def cache_put(self, entries: Sequence[CacheEntry]) -> None:
        """Add ``entries`` in one transaction (a value that is not JSON: ``TypeError``,
        nothing written)."""
        rows = _cache_rows(entries)
        if not rows:
            return
        with self._lock:
            try:
                with self._transaction() as conn:
                    conn.executemany(sql.INSERT_CACHE, rows)
            except sqlite3.Error as exc:
                raise self._fault(exc, "writing step-cache entries", write=True) from exc
            self._keys.added([row[0] for row in rows])

    def cache_find(self, key: str) -> list[CacheEntry]:
        """One read of the index on ``key``: newest first, at most ``CACHE_FIND_LIMIT``;
        none for a key the file does not hold (``sqlite_keys``: most lookups)."""
        with self._lock:
            try:
                if self._conn.in_transaction:
                    self._recover()
                if not self._keys.may_hold(self._conn, key):
                    return []
                rows = self._read(sql.SELECT_CACHE_BY_KEY, (key, CACHE_FIND_LIMIT))
            except sqlite3.Error as exc:
                raise self._fault(exc, "finding step-cache entries") from exc
        return [cache_entry(*row) for row in rows]

    def cache_last(self, workflow_id: str, step: str) -> CacheEntry | None:
        with self._lock:
            try:
                rows = self._read(sql.SELECT_CACHE_LAST, (workflow_id, step))
            except sqlite3.Error as exc:
                raise self._fault(exc, f"finding the last step-cache entry of {step!r}") \
                    from exc
        return cache_entry(*rows[0]) if rows else None

    def clear_cache(self) -> int:
        with self._lock:
            self._keys.forget()
            try:
                with self._transaction() as conn:
                    return conn.execute(sql.CLEAR_CACHE).rowcount
            except sqlite3.Error as exc:
                raise self._fault(exc, "clearing the step cache", write=True) from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"


def _names(tables: set[str]) -> str:
    """``"'a', 'b', 'c' (and 4 more)"``: enough of a file's tables to recognize it."""
    shown = ", ".join(repr(name) for name in sorted(tables)[:5])
    return shown + (f" (and {len(tables) - 5} more)" if len(tables) > 5 else "")


# run_id, kind, key, seq, data[, refs]: a record held whole has no refs (see INSERT_RECORD).
_Record = tuple[str, str, str, int, str] | tuple[str, str, str, int, str, str]

# An update ready to apply: its values serialized and split (before the transaction, so a
# value that is not JSON fails with nothing written, and the write lock is held only for
# the SQL itself), its header statement chosen. A plain tuple, built once per step:
# (run id, expected version, header statement, its parameters, the meta row or None, the
# record rows, the shared values they need).
_NewRun = tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...], list["_Record"], _Shares]
_Change = tuple[str, int, str, tuple[Any, ...], tuple[str, str | None, str] | None,
                list[_Record], _Shares]


def _change(run_id: str, expected_version: int, status: str | None, updated_at: float,
            meta: Mapping[str, Any] | None, steps: Mapping[str, Mapping[str, Any]],
            journal: Mapping[str, Mapping[str, Any]]) -> _Change:
    shares: _Shares = []
    if status is None and meta is None:  # the usual write: a step's records
        return (run_id, expected_version, _UPDATE_PLAIN, (updated_at, run_id, expected_version),
                None, _record_rows(run_id, expected_version + 1, steps, journal, shares),
                shares)
    params = (*((status,) if status is not None else ()), updated_at,
              *((suspended_json(meta),) if meta is not None else ()), run_id,
              expected_version)
    return (run_id, expected_version, sql.UPDATE_RUN[status is not None, meta is not None],
            params, None if meta is None else (*_stored(as_dict(meta), shares), run_id),
            _record_rows(run_id, expected_version + 1, steps, journal, shares), shares)


_UPDATE_PLAIN = sql.UPDATE_RUN[False, False]


def _apply(conn: sqlite3.Connection, cur: sqlite3.Cursor,
           change: _Change) -> int | FlownbError:
    """Write one change inside the caller's transaction (``cur``: a cursor of ``conn``)
    if the run is still at its expected version: the new version; else the error, and
    nothing of it written."""
    run_id, expected_version, header, params, meta, records, shares = change
    if cur.execute(header, params).rowcount == 0:
        row = cur.execute(sql.SELECT_VERSION, (run_id,)).fetchone()
        if row is None:
            return run_not_found(run_id)
        return version_conflict(run_id, expected_version, row[0])
    if shares:  # before the rows that refer to them (see sqlite_layout)
        share(conn, shares)
    if meta is not None:
        cur.execute(sql.UPDATE_META, meta)
    if len(records) == 2:
        first, second = records
        if len(first) == 5 and len(second) == 5 and first[1] == second[1] == "step":
            # The usual write: the step that finished and the one starting, in one statement.
            cur.execute(sql.UPSERT_TWO_STEPS, (run_id, first[2], first[3], first[4],
                                               second[2], second[3], second[4]))
            return expected_version + 1
    if len(records) == 1:
        cur.execute(sql.UPSERT_RECORD[len(records[0])], records[0])
    elif records:
        for rows in _by_length(records):
            cur.executemany(sql.UPSERT_RECORD[len(rows[0])], rows)
    return expected_version + 1


def _new_run(s: Snapshot) -> _NewRun:
    """A new run's rows, encoded outside the lock."""
    shares: _Shares = []
    row = (s.run_id, s.workflow_id, s.status, s.version, s.created_at, s.updated_at,
           s.schema_version, suspended_json(s.meta), parent_of(s.meta))
    body = (s.run_id, *_stored(s.input, shares), *_stored(s.graph, shares))
    meta = (s.run_id, *_stored(as_dict(s.meta), shares))
    records = _record_rows(s.run_id, s.version, s.steps, s.journal, shares)
    return row, body, meta, records, shares


def _insert(conn: sqlite3.Connection, new: _NewRun) -> FlownbError | None:
    """Write one new run inside the caller's transaction, unless its id is taken."""
    row, body, meta, records, shares = new
    if conn.execute(sql.INSERT_RUN, row).rowcount == 0:
        return already_stored(row[0])
    share(conn, shares)
    conn.execute(sql.INSERT_BODY, body)
    conn.execute(sql.INSERT_META, meta)
    for rows in _by_length(records):
        conn.executemany(sql.INSERT_RECORD[len(rows[0])], rows)
    return None


def _insert_many(conn: sqlite3.Connection, news: list[_NewRun]) -> list[FlownbError | None]:
    """``_insert`` for a batch of new runs (runs started together), a statement per kind
    of row for the whole batch; ids already stored (or twice in the batch) are skipped
    with their error."""
    run_ids = [new[0][0] for new in news]
    taken = {row[0] for row in conn.execute(sql.SELECT_VERSIONS, (dumps_json(run_ids),))}
    results: list[FlownbError | None] = []
    fresh: list[_NewRun] = []
    for run_id, new in zip(run_ids, news, strict=True):
        if run_id in taken:
            results.append(already_stored(run_id))
        else:
            taken.add(run_id)
            fresh.append(new)
            results.append(None)
    if fresh:
        conn.executemany(sql.INSERT_RUN, [new[0] for new in fresh])
        shares = [entry for new in fresh for entry in new[4]]
        if shares:
            share(conn, shares)
        conn.executemany(sql.INSERT_BODY, [new[1] for new in fresh])
        conn.executemany(sql.INSERT_META, [new[2] for new in fresh])
        for rows in _by_length([record for new in fresh for record in new[3]]):
            conn.executemany(sql.INSERT_RECORD[len(rows[0])], rows)
    return results


def _apply_many(conn: sqlite3.Connection, cur: sqlite3.Cursor,
                changes: list[_Change]) -> list[int | FlownbError]:
    """``_apply`` for a batch of changes of different runs (a group commit), in a few
    statements for the whole batch: the versions read at once, then each kind of row
    written with one ``executemany``. Inside the caller's write transaction the versions
    cannot move between the read and the writes. A batch that changes one run twice is
    applied change by change (each must see the one before)."""
    run_ids = [change[0] for change in changes]
    if len(set(run_ids)) < len(run_ids):
        return [_apply(conn, cur, change) for change in changes]
    stored = dict(cur.execute(sql.SELECT_VERSIONS, (dumps_json(run_ids),)).fetchall())
    results: list[int | FlownbError] = []
    headers: dict[str, list[tuple[Any, ...]]] = {}
    metas: list[tuple[str, str | None, str]] = []
    records: list[_Record] = []
    shares: _Shares = []
    for run_id, expected_version, header, params, meta, rows, shared in changes:
        version = stored.get(run_id)
        if version is None:
            results.append(run_not_found(run_id))
            continue
        if version != expected_version:
            results.append(version_conflict(run_id, expected_version, version))
            continue
        results.append(expected_version + 1)
        headers.setdefault(header, []).append(params)
        if meta is not None:
            metas.append(meta)
        records.extend(rows)
        shares.extend(shared)
    for header, rows in headers.items():
        cur.executemany(header, rows)
    if shares:  # before the rows that refer to them (see sqlite_layout)
        share(conn, shares)
    if metas:
        cur.executemany(sql.UPDATE_META, metas)
    for group in _by_length(records):
        cur.executemany(sql.UPSERT_RECORD[len(group[0])], group)
    return results


# A step-cache entry's row (``INSERT_CACHE``): key, workflow_id, step, run_id, path,
# created_at, and the JSON of its output, parts, reads and effects.
_CacheRow = tuple[str, str, str, str, str, float, str]


def _cache_rows(entries: Sequence[CacheEntry]) -> list[_CacheRow]:
    """The rows of ``entries``, every value encoded (``TypeError`` if one is not JSON)."""
    return [(e.key, e.workflow_id, e.step, e.run_id, e.path, float(e.created_at),
             cache_data(e)) for e in entries]


def _by_length(records: list[_Record]) -> list[list[_Record]]:
    """Record rows grouped by length, for ``INSERT_RECORD``; no empty group."""
    whole: list[_Record] = [r for r in records if len(r) == 5]
    shared: list[_Record] = [r for r in records if len(r) == 6]
    return [group for group in (whole, shared) if group]


def _updating(run_ids: list[str]) -> str:
    """What a failed batch was doing: ``"updating runs 'a', 'b' and 3 more"``."""
    if len(run_ids) == 1:
        return f"updating run {run_ids[0]!r}"
    shown = ", ".join(repr(run_id) for run_id in run_ids[:3])
    return f"updating runs {shown}" + (f" and {len(run_ids) - 3} more" if len(run_ids) > 3
                                       else "")


def _stored(value: Any, shares: _Shares, text: str | None = None) -> tuple[str, str | None]:
    """``value`` (whose JSON is ``text``, if known) as stored: its inline JSON text and
    references; the shared values it needs go to ``shares``."""
    text, refs, shared = split(value, text)
    if shared is not None:
        shares.extend(shared.items())
    return text, refs


def _record_rows(
    run_id: str,
    version: int,
    steps: Mapping[str, Mapping[str, Any]],
    journal: Mapping[str, Mapping[str, Any]],
    shares: _Shares,
) -> list[_Record]:
    seq = version << _SEQ_SHIFT
    rows: list[_Record] = []
    for kind, records in (("step", steps), ("journal", journal)) if journal else (
            ("step", steps),):
        for key, data in records.items():
            if type(data) is not dict:
                data = dict(data)
            text = dumps_json(data)
            # split's first test, without its call: a small record is held whole
            rows.append((run_id, kind, key, seq, text) if len(text) < INLINE_LIMIT
                        else _record(run_id, kind, key, seq, data, shares, text))
            seq += 1
    return rows


def _record(run_id: str, kind: str, key: str, seq: int, data: dict[str, Any],
            shares: _Shares, text: str | None = None) -> _Record:
    data_text, refs = _stored(data, shares, text)
    if refs is None:
        return (run_id, kind, key, seq, data_text)
    return (run_id, kind, key, seq, data_text, refs)
