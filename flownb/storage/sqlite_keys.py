"""The SQLite store's step-cache keys, held in memory: a miss answered without a read.

Reuse looks up every step it reaches (``SQLiteStore.cache_find``); most lookups of a
pipeline being edited, and all of a run on new input, find nothing. An indexed read of
the file costs a step about as much as the rest of its bookkeeping, so the store keeps
the set of keys the file holds and reads the file only for a key in the set.

The set stays true to the file without a read per lookup:

* what this connection writes, it adds (``added``) once the transaction has committed;
* what another connection (another process, another store object) commits shows as a
  new ``PRAGMA data_version`` (one statement, no table read). Then the entries with an id
  above the newest one known are read (``SELECT … WHERE id > ?``), unless that newest
  entry is gone or is another entry now (deleted, and its id used again): then the whole
  set is read again;
* what this connection deletes (``forget``) makes the next lookup read the whole set.

A key deleted by another connection stays in the set until then: a lookup of it reads
the file and finds nothing, as it would without the set. Past :data:`MAX_KEYS` entries
the set is dropped and every lookup reads the file.
"""

from __future__ import annotations

import sqlite3

__all__ = ["MAX_KEYS", "KeyIndex"]

MAX_KEYS = 250_000
"""Entries past which the store stops holding the keys (about 30 MB of them)."""

_DATA_VERSION = "PRAGMA data_version"
_ALL = "SELECT id, key, created_at FROM cache_entries ORDER BY id"
_AFTER = "SELECT id, key, created_at FROM cache_entries WHERE id > ? ORDER BY id"
_AT = "SELECT key, created_at FROM cache_entries WHERE id = ?"


class KeyIndex:
    """The keys of one connection's ``cache_entries`` (used under the store's lock)."""

    __slots__ = ("_keys", "_newest", "_version", "off")

    def __init__(self) -> None:
        self._keys: set[str] | None = None  # None: read the whole set at the next lookup
        self._newest: tuple[int, str, float] | None = None  # id, key, created_at
        self._version: int | None = None
        self.off = False  # too many entries: every lookup reads the file

    def may_hold(self, conn: sqlite3.Connection, key: str) -> bool:
        """False if the file holds no entry of ``key`` (then there is nothing to read)."""
        if self.off:
            return True
        version = conn.execute(_DATA_VERSION).fetchone()[0]
        keys = self._keys
        if keys is None:
            keys = self._read_all(conn)
        elif version != self._version:
            keys = self._catch_up(conn)
        self._version = version
        return keys is None or key in keys

    def added(self, keys: list[str]) -> None:
        """Entries of ``keys`` were committed by this connection."""
        if self._keys is not None:
            self._keys.update(keys)
            if len(self._keys) > MAX_KEYS:
                self._drop()

    def forget(self) -> None:
        """Entries were deleted by this connection, or it is a new connection."""
        self._keys = None
        self._newest = None
        self._version = None

    def _drop(self) -> None:
        self.forget()
        self.off = True

    def _read_all(self, conn: sqlite3.Connection) -> set[str] | None:
        rows = conn.execute(_ALL).fetchall()
        if len(rows) > MAX_KEYS:
            self._drop()
            return None
        self._keys = {row[1] for row in rows}
        self._newest = rows[-1] if rows else None
        return self._keys

    def _catch_up(self, conn: sqlite3.Connection) -> set[str] | None:
        newest = self._newest
        if newest is not None and conn.execute(_AT, (newest[0],)).fetchone() != newest[1:]:
            return self._read_all(conn)  # the newest entry known went: ids may be reused
        rows = conn.execute(_AFTER, (newest[0] if newest is not None else 0,)).fetchall()
        keys = self._keys
        assert keys is not None
        if rows:
            keys.update(row[1] for row in rows)
            self._newest = rows[-1]
            if len(keys) > MAX_KEYS:
                self._drop()
                return None
        return keys
