"""``PostgresStore``: runs in a PostgreSQL database, shared by every user of one server.

psycopg 3 and a small ``psycopg_pool`` connection pool (``pip install flownb[postgres]``).
The tables and every statement are in ``flownb.storage.postgres_layout``: the same ideas
as the SQLite store (a small header row per run, its input and graph written once, its
meta when it changes, one row per step or journal record, each large value once however
many records hold it: ``flownb.storage.values``), JSON as text, so records come back
exactly as written.

Every write is one statement on an autocommit connection, hence one transaction and one
round trip: ``update`` and ``update_many`` (a group commit of many runs) check each run's
version and write what passed together; ``insert`` and ``insert_many`` likewise. Of two
processes, or machines, resuming one run, exactly one passes the version check. The usual
write, one run's step, uses a plain statement (``UPDATE_ONE``: no arrays), on a connection
the store keeps for one thread at a time rather than the pool's next one. The step-cache
entries of an update (``Update.cache``) are written by that same statement, if its check
passed (a clause that only the statements of updates carrying entries have), and so are
the uses of the shared values its rows refer to (a clause that only the statements of
writes holding a large value have: a small step sends what it sent before values were
shared). A load is one statement too: the run's rows and the shared values they name, in
one snapshot. Every write also notifies ``flownb_runs``, which wakes watchers listening
elsewhere (``on_change``).

A statement that takes up or lets go of shared values takes one advisory lock first
(``postgres_layout.VALUES_LOCK_KEY``, for its transaction): writes that share values take
turns with it, so two of them never lock the same values in opposite orders (a deadlock).
The usual step, with no large value, never takes it.

The store connects on first use (constructing one never touches the network), and then
creates its tables, or checks their version (migrating an older layout), under an advisory
lock; a database written by a newer flownb is refused with ``StorageError``. Faults (the
server down or unreachable, a login refused, a connection lost, a permission missing)
raise ``StorageError`` naming the server and the operation. The password is never shown:
not in messages, ``repr`` or ``description``.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from ..core.results import RunInfo
from ..errors import FlownbError, StorageError
from . import postgres_layout as sql
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
from .faults import storage_error
from .postgres_layout import STORAGE_SCHEMA_VERSION
from .sqlite_layout import cache_data, cache_entry, parent_of, suspended_json
from .values import INLINE_LIMIT, count_uses, join, split

__all__ = ["STORAGE_SCHEMA_VERSION", "PostgresStore"]

log = logging.getLogger("flownb")

_SEQ_SHIFT = 32  # room for 2**32 records per change, as in the SQLite store

# SQLSTATE classes and codes (PostgreSQL's appendix A).
_LOGIN_REFUSED = ("28000", "28P01")  # invalid authorization, invalid password
_SERVER_GOING = ("57P01", "57P02", "57P03")  # admin shutdown, crash shutdown, cannot connect
_NO_DATABASE = "3D000"
_NO_PERMISSION = "42501"


# A shared value's name and JSON text, once for each row that refers to it.
_Shares = list[tuple[str, str]]


class PostgresStore(Store):
    """Runs in a PostgreSQL database, safe across threads, processes and machines.

    ``conninfo``: a libpq connection string, as a URI (``postgresql://user@host/db``) or
    ``key=value`` pairs; whatever libpq reads besides (``PGPASSWORD``, ``~/.pgpass``,
    ``PGSERVICE``) applies too. ``max_size``: connections in the pool (one is opened on first
    use, more when threads write at once). ``timeout``: seconds to wait for a connection
    before raising ``StorageError`` (the server is down or unreachable).

    >>> store = PostgresStore("postgresql://flownb:secret@db.example.org/runs")
    >>> store                    # the password is never shown
    PostgresStore('postgresql://flownb@db.example.org/runs')
    >>> store.close()
    """

    def __init__(self, conninfo: str, *, max_size: int = 4, timeout: float = 5.0) -> None:
        try:
            params = conninfo_to_dict(conninfo)
        except psycopg.Error:
            # psycopg's message quotes the string, password and all: not repeated here.
            raise StorageError(
                "PostgreSQL: the conninfo cannot be read. Give a URI "
                "('postgresql://user@host:5432/dbname') or key=value pairs "
                "('host=... dbname=...').", store="PostgreSQL", operation="opening") from None
        password = params.get("password")
        self._secrets = [str(password)] if password else []
        self.conninfo = _shown(params)
        """The conninfo without its password, as ``repr`` and messages show it."""
        self.description = f"PostgreSQL database {self.conninfo!r}"
        """What ``StorageError`` names: the server and database, never the password."""
        self._conninfo = conninfo
        self._timeout = timeout
        self._lock = threading.RLock()  # _open holds it while _connection may take it
        self._ready = False  # the tables were found (or made) at this version
        self._closed = False
        self._max_size = max_size
        self._pool = self._new_pool()
        # One connection kept out of the pool for the writes of one thread at a time (the
        # usual case: a run's steps, one after another): the pool hands its connections out
        # in turn, and a server process that slept costs each write more than the pool does.
        self._hot: tuple[psycopg.Connection[Any], ConnectionPool] | None = None
        self._hot_lock = threading.Lock()
        self._listener = _Listener(conninfo, self.description, self._scrub, timeout)

    def _new_pool(self) -> ConnectionPool:
        return ConnectionPool(
            self._conninfo, min_size=1, max_size=self._max_size, open=False,
            timeout=self._timeout, name="flownb", reconnect_timeout=60.0,
            kwargs={"autocommit": True, "connect_timeout": max(1, round(self._timeout))})

    def __repr__(self) -> str:
        return f"PostgresStore({self.conninfo!r})"

    # -- connections, tables, faults ------------------------------------------------------

    def _open(self) -> None:
        """Open the pool and find, create or migrate the tables (once per store)."""
        with self._lock:
            if self._ready:
                return
            if self._closed:
                raise StorageError(f"{self.description}: the store was closed; make a new "
                                   "PostgresStore.", store=self.description,
                                   operation="opening")
            self._pool.open(wait=False)
            operation = "opening"
            try:
                with self._connection() as conn:
                    if _scalar(conn, sql.FIND_SCHEMA_TABLE):
                        stored = _scalar(conn, sql.SELECT_SCHEMA_VERSION)
                        self._refuse_newer(stored)
                        if stored == STORAGE_SCHEMA_VERSION:  # the usual case: nothing to write
                            self._ready = True
                            return
                        operation = "migrating"
                    else:
                        operation = "creating tables"
                    with conn.transaction():
                        # Again under the lock: another session may have done it meanwhile.
                        conn.execute(sql.LOCK, (sql.ADVISORY_LOCK_KEY,))
                        stored = None
                        if _scalar(conn, sql.FIND_SCHEMA_TABLE):
                            stored = _scalar(conn, sql.SELECT_SCHEMA_VERSION)
                            if stored is None:
                                raise storage_error(
                                    self.description, operation,
                                    "its table 'flownb_schema' is empty",
                                    "It was not written by flownb, or was damaged: use "
                                    "another database or schema.")
                            self._refuse_newer(stored)
                        if stored is None:
                            for statement in sql.CREATE_TABLES:
                                conn.execute(statement)
                            conn.execute(sql.INSERT_SCHEMA_VERSION, (STORAGE_SCHEMA_VERSION,))
                        elif stored < STORAGE_SCHEMA_VERSION:
                            operation = "migrating"
                            for version in range(stored, STORAGE_SCHEMA_VERSION):
                                for statement in sql.MIGRATIONS[version]:
                                    conn.execute(statement)
                            conn.execute(sql.SET_SCHEMA_VERSION, (STORAGE_SCHEMA_VERSION,))
                self._ready = True
            except _Unsent as exc:
                raise self._fault(exc.cause, operation, unsent=True) from exc.cause
            except psycopg.Error as exc:
                raise self._fault(exc, operation, write=operation != "opening") from exc

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection of the pool, given back afterwards (a broken one is dropped).

        One thread at a time gets the store's kept connection instead (``_hot``), taken
        from the pool once and kept while it serves: given back to the pool (which checks
        it) after any error or a transaction left open, and when the store closes.
        """
        if self._hot_lock.acquire(blocking=False):
            try:
                if self._hot is None or self._hot[1] is not self._pool or self._hot[0].closed:
                    self._release_hot()
                    self._hot = self._getconn()
                conn = self._hot[0]
                yield conn
                if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    self._release_hot()
            except BaseException:
                self._release_hot()
                raise
            finally:
                self._hot_lock.release()
            return
        conn, pool = self._getconn()
        try:
            yield conn
        finally:
            pool.putconn(conn)

    def _release_hot(self) -> None:
        """The kept connection back to its pool (under ``_hot_lock``)."""
        hot, self._hot = self._hot, None
        if hot is not None:
            with contextlib.suppress(Exception):  # a closed pool closes it
                hot[1].putconn(hot[0])

    def _getconn(self) -> tuple[psycopg.Connection[Any], ConnectionPool]:
        """A connection of the pool, and that pool.

        Raises ``_Unsent`` (nothing was sent) with the reason when there is none: the pool
        only says it waited, so one direct attempt finds out why (a refused connection, a
        refused login). If that attempt succeeds, the server is back while the pool waits
        out its reconnection back-off: a fresh pool serves this call.
        """
        pool = self._pool
        try:
            return pool.getconn(), pool
        except PoolTimeout as exc:
            try:
                psycopg.connect(self._conninfo,
                                connect_timeout=max(1, round(self._timeout))).close()
            except psycopg.Error as probe:
                raise _Unsent(probe) from exc
            except Exception:
                raise _Unsent(exc) from exc
            with self._lock:
                stale = None
                if self._pool is pool and not self._closed:
                    stale, self._pool = pool, self._new_pool()
                    self._pool.open(wait=False)
                pool = self._pool
            if stale is not None:
                stale.close(timeout=0)
            try:
                return pool.getconn(), pool
            except PoolTimeout as again:
                raise _Unsent(again) from again

    def _refuse_newer(self, stored: Any) -> None:
        if isinstance(stored, int) and stored > STORAGE_SCHEMA_VERSION:
            raise StorageError(
                f"{self.description} uses flownb's PostgreSQL storage schema version "
                f"{stored}, but this flownb only knows version {STORAGE_SCHEMA_VERSION}. It "
                "was written by a newer flownb: upgrade flownb, or use another database.",
                store=self.description, operation="opening")

    def _run(self, operation: str, statement: str, params: Any, *, run_id: str | None = None,
             write: bool = False) -> list[Any]:
        """One statement (one transaction: the connection is in autocommit), its rows."""
        if not self._ready:
            self._open()
        try:
            with self._connection() as conn:
                cur = conn.execute(statement, params)
                return cur.fetchall() if cur.description is not None else []
        except _Unsent as exc:
            raise self._fault(exc.cause, operation, run_id=run_id, write=write,
                              unsent=True) from exc.cause
        except psycopg.Error as exc:
            raise self._fault(exc, operation, run_id=run_id, write=write) from exc

    def _fault(self, exc: psycopg.Error, operation: str, *, run_id: str | None = None,
               write: bool = False, unsent: bool = False) -> StorageError:
        """``exc`` explained as ``StorageError`` (the password scrubbed from its text).
        ``unsent``: there was no connection, so nothing of a write was sent."""
        state = getattr(exc, "sqlstate", None) or ""
        text = self._scrub(str(exc).strip().replace("\n", " "))
        lost = False
        if state in _LOGIN_REFUSED or "authentication failed" in text:
            cause, advice = "the server refused the login", (
                "Check the user name and password (in the conninfo, PGPASSWORD or "
                "~/.pgpass) and the server's pg_hba.conf.")
        elif state == _NO_DATABASE:
            cause, advice = "the database does not exist", (
                "Create it (createdb), or correct the database name in the conninfo.")
        elif state == _NO_PERMISSION:
            cause, advice = "permission denied", (
                "Grant this role the rights flownb needs (docs/team.md: SELECT, INSERT, "
                "UPDATE, DELETE on the flownb_* tables; CREATE on the schema for the first "
                "use).")
        elif isinstance(exc, PoolTimeout):
            cause, advice = (f"no connection to the server within {self._timeout:g} s",
                             "Check that the server is running and reachable, then try "
                             "again.")
        elif state in _SERVER_GOING or _connection_lost(exc):
            lost = True
            self._discard_broken()
            cause, advice = "the server is down or the connection to it was lost", (
                "Check that the PostgreSQL server is running and reachable, then try again "
                "(run.restart() continues a run).")
        else:
            cause, advice = "the server reported an error", "Check the server's log."
        if write and lost and not unsent:
            # The statement may have committed just before the connection went: say so
            # rather than promise that nothing was stored (either way it was all or nothing).
            advice += (" The change was written whole or not at all; the stored run is "
                       "consistent either way.")
            write = False
        return storage_error(self.description, operation, f"{cause} ({text})", advice,
                             run_id=run_id, write=write)

    def _discard_broken(self) -> None:
        """After a lost connection, the pool's other idle connections are most likely
        dead too (the server went away): check them now, not one failed call each."""
        with contextlib.suppress(Exception):  # best effort: the fault reported matters more
            self._pool.check()

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- the contract ---------------------------------------------------------------------

    def insert(self, snapshot: Snapshot) -> None:
        result = self.insert_many([snapshot])[0]
        if result is not None:
            raise result

    def insert_many(self, snapshots: Sequence[Snapshot]) -> list[FlownbError | None]:
        """All of ``snapshots`` in one statement (one transaction); a run already stored,
        or repeated in the batch, is skipped with its ``ConcurrentRunError``."""
        if not snapshots:
            return []
        columns: dict[str, list[Any]] = {name: [] for name in _INSERT_COLUMNS}
        values: dict[str, str] = {}
        seen: set[str] = set()
        for s in snapshots:
            if s.run_id in seen:
                continue
            seen.add(s.run_id)
            shares: _Shares = []
            inp, inp_refs = _stored(s.input, shares)
            graph, graph_refs = _stored(s.graph, shares)
            meta, meta_refs = _stored(as_dict(s.meta), shares)
            row = (s.run_id, s.workflow_id, s.status, s.version, s.created_at, s.updated_at,
                   s.schema_version, suspended_json(s.meta), inp, graph, meta,
                   parent_of(s.meta), inp_refs, graph_refs, meta_refs)
            for name, value in zip(_INSERT_RUN_COLUMNS, row, strict=True):
                columns[name].append(value)
            _add_records(columns, s.run_id, s.version, s.steps, s.journal, shares)
            _add_uses(columns, values, s.run_id, shares)
        run_ids = [s.run_id for s in snapshots]
        statement = sql.INSERT_RUNS[_with_values(columns, values)]
        rows = self._run(_inserting(run_ids), statement, columns,
                         run_id=run_ids[0] if len(seen) == 1 else None, write=True)
        inserted = {row[0] for row in rows}
        results: list[FlownbError | None] = []
        for run_id in run_ids:
            if run_id in inserted:
                inserted.discard(run_id)  # a repeat of it in this batch is refused
                results.append(None)
            else:
                results.append(already_stored(run_id))
        return results

    def load(self, run_id: str) -> Snapshot | None:
        rows = self._run(f"loading run {run_id!r}", sql.SELECT_SNAPSHOT, {"run_id": run_id},
                         run_id=run_id)
        if not rows or rows[0][0] != 0:  # no header: no such run
            return None
        (_, _, _, _, _, _, workflow_id, status, version, created_at, updated_at,
         schema_version, inp, graph, meta, inp_refs, graph_refs, meta_refs) = rows[0]
        # The shared values come last (part 2), after the records (part 1).
        end = len(rows)
        while rows[end - 1][0] == 2:
            end -= 1
        shared = {row[3]: row[4] for row in rows[end:]}
        steps: dict[str, dict[str, Any]] = {}
        journal: dict[str, dict[str, Any]] = {}
        try:
            for _, _, kind, key, data, refs, *_ in rows[1:end]:
                (steps if kind == "step" else journal)[key] = (
                    loads_json(data) if refs is None else join(data, refs, shared))
            return Snapshot(
                run_id=run_id, workflow_id=workflow_id, status=status, version=version,
                created_at=created_at, updated_at=updated_at,
                input=join(inp, inp_refs, shared), graph=join(graph, graph_refs, shared),
                meta=join(meta, meta_refs, shared), steps=steps, journal=journal,
                schema_version=schema_version)
        except KeyError:  # a name that no row of flownb_values has
            raise storage_error(self.description, f"loading run {run_id!r}",
                                "a value the run refers to is missing from the database",
                                "The database is damaged: restore it from a backup.",
                                run_id=run_id) from None

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
        result = self.update_many([Update(
            run_id, expected_version=expected_version, status=status, updated_at=updated_at,
            meta=meta, steps=steps, journal=journal)])[0]
        if isinstance(result, int):
            return result
        raise result

    def update_many(self, updates: Sequence[Update]) -> list[int | FlownbError]:
        """All of ``updates`` in one transaction (one statement when they change distinct
        runs), each with its own version check, and the step-cache entries of each that
        passed it; a fault writes none of them."""
        if not updates:
            return []
        if len(updates) == 1:
            one_run = _one_update(updates[0])
            if one_run is not None:  # the usual write: one run, a few records
                u = updates[0]
                statement, params = one_run
                if self._run(f"updating run {u.run_id!r}", statement, params,
                             run_id=u.run_id, write=True):
                    return [u.expected_version + 1]
                return self._explain(updates, [False], f"updating run {u.run_id!r}")
        batches = [_columns(updates)]  # every value encoded before anything is sent
        run_ids = [u.run_id for u in updates]
        operation = _updating(list(dict.fromkeys(run_ids)))
        one = run_ids[0] if len(set(run_ids)) == 1 else None
        if len(set(run_ids)) < len(run_ids):
            # One run changed twice: change by change, each seeing the one before, in one
            # transaction.
            batches = [_columns([u]) for u in updates]
            return self._apply_in_turn(updates, batches, operation, one)
        applied = {row[0] for row in self._run(operation, _statement(batches[0]), batches[0],
                                               run_id=one, write=True)}
        if len(applied) == len(updates):
            return [u.expected_version + 1 for u in updates]
        return self._explain(updates, [u.run_id in applied for u in updates], operation)

    def _apply_in_turn(self, updates: Sequence[Update], batches: list[dict[str, list[Any]]],
                       operation: str, one: str | None) -> list[int | FlownbError]:
        if not self._ready:
            self._open()
        passed: list[bool] = []
        try:
            with self._connection() as conn, conn.transaction():
                for batch in batches:
                    passed.append(bool(conn.execute(_statement(batch), batch).fetchall()))
        except _Unsent as exc:
            raise self._fault(exc.cause, operation, run_id=one, write=True,
                              unsent=True) from exc.cause
        except psycopg.Error as exc:
            raise self._fault(exc, operation, run_id=one, write=True) from exc
        return self._explain(updates, passed, operation)

    def _explain(self, updates: Sequence[Update], passed: list[bool],
                 operation: str) -> list[int | FlownbError]:
        """The results of a batch: the new version of each update that passed its check,
        the error of each that did not (read after the write: the version that beat it)."""
        failed = [u.run_id for u, ok in zip(updates, passed, strict=True) if not ok]
        stored = dict(self._run(operation, sql.SELECT_VERSIONS, (failed,)))
        results: list[int | FlownbError] = []
        for u, ok in zip(updates, passed, strict=True):
            if ok:
                results.append(u.expected_version + 1)
            elif u.run_id not in stored:
                results.append(run_not_found(u.run_id))
            else:
                results.append(version_conflict(u.run_id, u.expected_version,
                                                stored[u.run_id]))
        return results

    def list_runs(
        self, *, workflow_id: str | None = None, status: str | None = None
    ) -> list[RunInfo]:
        statement = sql.LIST_RUNS[workflow_id is not None, status is not None]
        params = tuple(v for v in (workflow_id, status) if v is not None)
        rows = self._run("listing runs", statement, params)
        return [
            RunInfo(run_id=run_id, workflow_id=wf_id, status=st, created_at=created_at,
                    updated_at=updated_at,
                    suspended=[list(path) for path in loads_json(suspended)],
                    parent_run_id=parent)
            for run_id, wf_id, st, created_at, updated_at, suspended, parent in rows
        ]

    def version_of(self, run_id: str) -> int | None:
        """The stored version (one indexed read of the header row), ``None`` if unknown."""
        rows = self._run(f"reading the version of run {run_id!r}", sql.SELECT_VERSIONS,
                         ([run_id],), run_id=run_id)
        return int(rows[0][1]) if rows else None

    def delete(self, run_id: str) -> bool:
        """The run and its step-cache entries, in one statement."""
        return bool(self._run(f"deleting run {run_id!r}", sql.DELETE_RUN, {"run_id": run_id},
                              run_id=run_id, write=True))

    # -- the step cache

    def cache_put(self, entries: Sequence[CacheEntry]) -> None:
        """Add ``entries`` in one statement (a value that is not JSON: ``TypeError``,
        nothing sent)."""
        if not entries:
            return
        columns: dict[str, list[Any]] = {name: [] for name in _CACHE_COLUMNS}
        _add_cache(columns, entries)
        self._run("writing step-cache entries", sql.INSERT_CACHE, columns, write=True)

    def cache_find(self, key: str) -> list[CacheEntry]:
        """One read of the index on ``key``: newest first, at most ``CACHE_FIND_LIMIT``."""
        rows = self._run("finding step-cache entries", sql.SELECT_CACHE_BY_KEY,
                         (key, CACHE_FIND_LIMIT))
        return [cache_entry(*row) for row in rows]

    def cache_last(self, workflow_id: str, step: str) -> CacheEntry | None:
        rows = self._run(f"finding the last step-cache entry of {step!r}",
                         sql.SELECT_CACHE_LAST, (workflow_id, step))
        return cache_entry(*rows[0]) if rows else None

    def clear_cache(self) -> int:
        rows = self._run("clearing the step cache", sql.CLEAR_CACHE, (), write=True)
        return int(rows[0][0])

    def on_change(self, run_id: str,
                  wake: Callable[[], None]) -> Callable[[], None] | None:
        """Call ``wake()`` (from the store's listening thread) after every committed write
        of ``run_id``, by any process, until the returned function is called.

        The store's first subscription opens one connection of its own (outside the pool)
        that runs ``LISTEN flownb_runs``; every write of a run notifies that channel in its
        transaction. ``wake`` is also called once when the subscription starts listening,
        and again after a lost listening connection is back (notifications sent meanwhile
        were missed): a spurious wake costs the watcher one ``version_of``. The thread and
        its connection stop when the last subscriber leaves or the store is closed.
        """
        if self._closed:
            return None
        return self._listener.subscribe(run_id, wake)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._ready = False
        self._listener.close()
        with self._hot_lock:
            self._release_hot()
        self._pool.close()


class _Listener:
    """One ``LISTEN flownb_runs`` connection of a store, read by a daemon thread that
    calls the wakes registered for each notified run id.

    The thread starts with the first subscription and stops (closing its connection) when
    the last one leaves or ``close()`` is called. It sleeps in ``select`` on the connection
    and on a socket pair that stopping rings, so an idle listener costs no wake-ups. A lost
    connection is logged at debug level and opened again, with a growing pause; watchers
    poll seldom meanwhile.
    """

    IDLE = 30.0  # seconds of silence after which the thread checks that the server is there

    def __init__(self, conninfo: str, description: str, scrub: Callable[[str], str],
                 timeout: float) -> None:
        self._conninfo = conninfo
        self._description = description
        self._scrub = scrub
        self._connect_timeout = max(1, round(timeout))
        self._lock = threading.Lock()
        self._wakes: dict[str, list[Callable[[], None]]] = {}
        self._stop: threading.Event | None = None  # the running thread's, if one runs
        self._bell: socket.socket | None = None  # rung to stop it at once
        self._threads: list[threading.Thread] = []
        self._listening = False

    def subscribe(self, run_id: str, wake: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._wakes.setdefault(run_id, []).append(wake)
            if self._stop is None:
                stop = self._stop = threading.Event()
                bell, self._bell = socket.socketpair()
                thread = threading.Thread(target=self._serve, args=(stop, bell), daemon=True,
                                          name="flownb-postgres-listen")
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
                thread.start()
            listening = self._listening
        if listening:
            wake()  # a change just before the subscription: the watcher checks once
        done = False

        def unsubscribe() -> None:
            nonlocal done
            with self._lock:
                if done:
                    return
                done = True
                wakes = self._wakes.get(run_id, [])
                for i, w in enumerate(wakes):
                    if w is wake:
                        del wakes[i]
                        break
                if not wakes:
                    self._wakes.pop(run_id, None)
                if not self._wakes:
                    self._halt()

        return unsubscribe

    def close(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (its connection closes with it)."""
        with self._lock:
            self._wakes.clear()
            self._halt()
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout)

    def _halt(self) -> None:  # under the lock
        if self._stop is not None:
            self._stop.set()
            self._stop = None
        if self._bell is not None:
            with contextlib.suppress(OSError):
                self._bell.send(b"x")
            self._bell.close()
            self._bell = None
            self._listening = False

    def _wake(self, run_id: str | None) -> None:
        with self._lock:
            if run_id is None:
                wakes = [w for ws in self._wakes.values() for w in ws]
            else:
                wakes = list(self._wakes.get(run_id, ()))
        for wake in wakes:
            try:
                wake()
            except Exception:  # a watcher's fault must not stop the others' wakes
                log.debug("flownb: a watcher's wake failed", exc_info=True)

    def _serve(self, stop: threading.Event, bell: socket.socket) -> None:
        try:
            self._listen(stop, bell)
        finally:
            bell.close()

    def _listen(self, stop: threading.Event, bell: socket.socket) -> None:
        pause = 0.1
        while not stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True,
                                     connect_timeout=self._connect_timeout) as conn:
                    conn.execute(sql.LISTEN)
                    with self._lock:
                        if stop.is_set():
                            return
                        self._listening = True
                    pause = 0.1
                    self._wake(None)  # whatever changed before it listened: check once
                    while not stop.is_set():
                        # First what arrived with a statement's reply (kept by psycopg),
                        # then what the socket brings.
                        for note in conn.notifies(timeout=0):
                            if note.channel == sql.CHANNEL:
                                self._wake(note.payload)
                        ready, _, _ = select.select([conn.fileno(), bell.fileno()], [], [],
                                                     self.IDLE)
                        if not ready and not stop.is_set():
                            conn.execute("SELECT 1")  # a server that went silently fails here
            except Exception as exc:  # lost or refused: retry; watchers poll meanwhile
                with self._lock:
                    if self._stop is stop:
                        self._listening = False
                log.debug("flownb: listening to %s failed (%s); trying again in %.1f s",
                          self._description, self._scrub(str(exc).strip()), pause)
                stop.wait(pause)
                pause = min(pause * 2, 5.0)


class _Unsent(Exception):
    """No connection could be had: ``cause`` says why; no statement was sent."""

    def __init__(self, cause: psycopg.Error) -> None:
        super().__init__(str(cause))
        self.cause = cause


_RUN_COLUMNS = ("run_id", "workflow_id", "status", "version", "created_at", "updated_at",
                "schema_version", "suspended", "input", "graph", "meta", "parent_run_id")
_RECORD_COLUMNS = ("r_run_id", "r_kind", "r_key", "r_seq", "r_data", "r_refs")
_INSERT_RUN_COLUMNS = (*_RUN_COLUMNS, "input_refs", "graph_refs", "meta_refs")
_INSERT_COLUMNS = (*_INSERT_RUN_COLUMNS, *_RECORD_COLUMNS, "u_of", "u_name", "u_uses")
_UPDATE_COLUMNS = ("run_id", "expected", "status", "updated_at", "suspended", "meta",
                   "meta_refs", *_RECORD_COLUMNS, "u_of", "u_name", "u_uses")
# What a batch that refers to no shared value does not send (its statement has no
# ``refs`` parameters).
_SHARING_COLUMNS = ("input_refs", "graph_refs", "meta_refs", "r_refs", "u_of", "u_name",
                    "u_uses")
_CACHE_COLUMNS = ("c_key", "c_workflow_id", "c_step", "c_run_id", "c_path", "c_created_at",
                  "c_data")


def _columns(updates: Sequence[Update]) -> dict[str, list[Any]]:
    """``UPDATE_RUNS``'s parameters: one array per column, every value encoded; the
    step-cache columns (``c_of`` ...) only if an update carries entries, the ``refs`` and
    shared values' columns only if a row refers to one."""
    columns: dict[str, list[Any]] = {name: [] for name in _UPDATE_COLUMNS}
    values: dict[str, str] = {}
    if any(u.cache for u in updates):
        columns["c_of"] = []
        columns.update((name, []) for name in _CACHE_COLUMNS)
        for u in updates:
            _add_cache(columns, u.cache)
            columns["c_of"] += [u.run_id] * len(u.cache)
    for u in updates:
        shares: _Shares = []
        columns["run_id"].append(u.run_id)
        columns["expected"].append(u.expected_version)
        columns["status"].append(u.status)
        columns["updated_at"].append(u.updated_at)
        if u.meta is None:
            columns["suspended"].append(None)
            columns["meta"].append(None)
            columns["meta_refs"].append(None)
        else:
            meta = as_dict(u.meta)
            columns["suspended"].append(suspended_json(meta))
            text, refs = _stored(meta, shares)
            columns["meta"].append(text)
            columns["meta_refs"].append(refs)
        _add_records(columns, u.run_id, u.expected_version + 1, u.steps, u.journal, shares)
        _add_uses(columns, values, u.run_id, shares)
    _with_values(columns, values)
    return columns


def _statement(columns: dict[str, list[Any]]) -> str:
    """``UPDATE_RUNS`` for ``_columns``' parameters: with the shared values' clause or
    not, with the step-cache clause or not."""
    return sql.UPDATE_RUNS["v_name" in columns, "c_of" in columns]


def _with_values(columns: dict[str, list[Any]], values: dict[str, str]) -> bool:
    """Whether a batch's rows refer to shared values: if so, ``values`` (name -> text)
    become its ``v_name`` and ``v_data`` arrays; if not, its ``refs`` and uses columns
    (all NULL, all empty) are dropped."""
    if values:
        columns["v_name"] = list(values)
        columns["v_data"] = list(values.values())
        return True
    for name in _SHARING_COLUMNS:
        columns.pop(name, None)
    return False


def _add_uses(columns: dict[str, list[Any]], values: dict[str, str], run_id: str,
              shares: _Shares) -> None:
    """The uses of one run's rows (``u_of`` ... arrays), each value's text in ``values``."""
    for name, (text, n) in count_uses(shares).items():
        columns["u_of"].append(run_id)
        columns["u_name"].append(name)
        columns["u_uses"].append(n)
        values[name] = text


def _stored(value: Any, shares: _Shares, text: str | None = None) -> tuple[str, str | None]:
    """``value`` (whose JSON is ``text``, if known) as stored: its inline JSON text and
    references; the shared values it needs go to ``shares``, once per row."""
    text, refs, shared = split(value, text)
    if shared is not None:
        shares.extend(shared.items())
    return text, refs


def _add_cache(columns: dict[str, list[Any]], entries: Sequence[CacheEntry]) -> None:
    """Append ``entries`` to the step-cache arrays of ``columns`` (``c_key`` ...)."""
    for e in entries:
        columns["c_key"].append(e.key)
        columns["c_workflow_id"].append(e.workflow_id)
        columns["c_step"].append(e.step)
        columns["c_run_id"].append(e.run_id)
        columns["c_path"].append(e.path)
        columns["c_created_at"].append(float(e.created_at))
        columns["c_data"].append(cache_data(e))


_ONE_RECORD_PARAMS = [(f"kind{i}", f"key{i}", f"seq{i}", f"data{i}", f"refs{i}")
                      for i in range(sql.UPDATE_ONE_RECORDS)]


def _one_update(u: Update) -> tuple[str, dict[str, Any]] | None:
    """``UPDATE_ONE``'s statement and parameters for ``u``, or ``None`` if it writes more
    records than that statement takes."""
    count = len(u.steps) + len(u.journal)
    if count > sql.UPDATE_ONE_RECORDS:
        return None
    params: dict[str, Any] = {"run_id": u.run_id, "expected": u.expected_version,
                              "status": u.status, "updated_at": u.updated_at,
                              "suspended": None}
    shares: _Shares = []
    if u.meta is not None:
        meta = as_dict(u.meta)
        params["suspended"] = suspended_json(meta)
        params["meta"], params["meta_refs"] = _stored(meta, shares)
    seq = (u.expected_version + 1) << _SEQ_SHIFT
    names = iter(_ONE_RECORD_PARAMS)
    for kind, records in (("step", u.steps), ("journal", u.journal)):
        for key, data in records.items():
            kind_n, key_n, seq_n, data_n, refs_n = next(names)
            params[kind_n], params[key_n], params[seq_n] = kind, key, seq
            data = as_dict(data)
            text = dumps_json(data)
            # split's first test, without its call: a small record is held whole
            if len(text) < INLINE_LIMIT:
                params[data_n] = text
            else:
                params[data_n], params[refs_n] = _stored(data, shares, text)
            seq += 1
    if shares:
        for _, _, _, _, refs_n in _ONE_RECORD_PARAMS[:count]:
            params.setdefault(refs_n, None)
        counted = sorted(count_uses(shares).items())
        params["v_name"] = [name for name, _ in counted]
        params["v_data"] = [text for _, (text, _) in counted]
        params["v_uses"] = [n for _, (_, n) in counted]
    else:
        params.pop("meta_refs", None)
    if u.cache:
        columns: dict[str, list[Any]] = {name: [] for name in _CACHE_COLUMNS}
        _add_cache(columns, u.cache)
        params.update(columns)
    return sql.UPDATE_ONE[count, u.meta is not None, bool(u.cache), bool(shares)], params


def _add_records(columns: dict[str, list[Any]], run_id: str, version: int,
                 steps: Mapping[str, Mapping[str, Any]],
                 journal: Mapping[str, Mapping[str, Any]], shares: _Shares) -> None:
    seq = version << _SEQ_SHIFT
    for kind, records in (("step", steps), ("journal", journal)):
        for key, data in records.items():
            columns["r_run_id"].append(run_id)
            columns["r_kind"].append(kind)
            columns["r_key"].append(key)
            columns["r_seq"].append(seq)
            data = as_dict(data)
            text = dumps_json(data)
            refs = None
            if len(text) >= INLINE_LIMIT:
                text, refs = _stored(data, shares, text)
            columns["r_data"].append(text)
            columns["r_refs"].append(refs)
            seq += 1


def _shown(params: Mapping[str, Any]) -> str:
    """A conninfo as a URI without its password (``postgresql://user@host:port/db``)."""
    user = params.get("user") or ""
    host = params.get("host") or params.get("hostaddr") or ""
    port = params.get("port")
    if host.startswith("/"):  # a socket directory: libpq's URI takes it as a parameter
        where = f"?host={host}" + (f"&port={port}" if port else "")
        return f"postgresql://{user + '@' if user else ''}/{params.get('dbname') or ''}{where}"
    netloc = (f"{user}@" if user else "") + (f"[{host}]" if ":" in host else host)
    if port:
        netloc += f":{port}"
    dbname = params.get("dbname")
    return f"postgresql://{netloc}" + (f"/{dbname}" if dbname else "")


def _scalar(conn: psycopg.Connection[Any], statement: str) -> Any:
    row = conn.execute(statement).fetchone()
    return None if row is None else row[0]


def _connection_lost(exc: psycopg.Error) -> bool:
    """Connection refused, closed unexpectedly, timed out, the server shutting down, ..."""
    return isinstance(exc, (psycopg.OperationalError, pg_errors.AdminShutdown,
                            pg_errors.CrashShutdown))


def _inserting(run_ids: list[str]) -> str:
    if len(run_ids) == 1:
        return f"inserting run {run_ids[0]!r}"
    shown = ", ".join(repr(run_id) for run_id in run_ids[:3])
    return f"inserting runs {shown}" + (f" and {len(run_ids) - 3} more"
                                        if len(run_ids) > 3 else "")


def _updating(run_ids: list[str]) -> str:
    """What a failed batch was doing: ``"updating runs 'a', 'b' and 3 more"``."""
    if len(run_ids) == 1:
        return f"updating run {run_ids[0]!r}"
    shown = ", ".join(repr(run_id) for run_id in run_ids[:3])
    return f"updating runs {shown}" + (f" and {len(run_ids) - 3} more"
                                       if len(run_ids) > 3 else "")
