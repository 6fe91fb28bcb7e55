"""Storage faults as ``StorageError``: what failed, where, and what to do about it.

A store wraps the errors of its driver (``sqlite3.Error``, an ``OSError`` while creating
its directory) with ``storage_error``; the message names the store, the operation, the
cause in plain words with the driver's own text, and the remedy:

    SQLite database '/data/runs.db': updating run 'r1' failed: the disk is full (database
    or disk is full). Free disk space, then try again. Nothing of this change was stored.
"""

from __future__ import annotations

import errno
import sqlite3

from ..errors import StorageError

__all__ = ["foreign_file", "os_fault", "sqlite_fault", "storage_error"]

# Primary result codes (the low byte of an extended code), from sqlite3.h.
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_NOMEM, _SQLITE_READONLY = 3, 5, 6, 7, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 11, 13, 14
_SQLITE_NOTADB = 26

_NOT_FLOWNB = "It is some other file, or a damaged one: choose another path."
_PERMISSIONS = ("Check the permissions of the file and its directory (and that neither is "
                "immutable nor on a read-only file system), or choose another path.")

# Primary code -> (what happened, what to do).
_SQLITE_CAUSES: dict[int, tuple[str, str]] = {
    _SQLITE_FULL: ("the disk is full", "Free disk space, then try again."),
    _SQLITE_READONLY: ("the database is read-only", _PERMISSIONS),
    _SQLITE_PERM: ("access to the database was denied", _PERMISSIONS),
    _SQLITE_CANTOPEN: (
        "the file cannot be opened",
        "Check that its directory exists and is writable (SQLite keeps '-wal' and '-shm' "
        "files next to the database) and that the file is readable and writable, or choose "
        "another path."),
    _SQLITE_NOTADB: ("the file is not an SQLite database", _NOT_FLOWNB),
    _SQLITE_CORRUPT: ("the file is damaged", "Restore it from a backup, or choose another "
                                             "path."),
    _SQLITE_IOERR: ("reading or writing the disk failed",
                    "Check the disk and the file system (space, permissions, errors), then "
                    "try again."),
    _SQLITE_NOMEM: ("SQLite ran out of memory", "Free memory, then try again."),
    _SQLITE_LOCKED: ("the database is locked by another statement", "Try again."),
}


def storage_error(store: str, operation: str, cause: str, advice: str, *,
                  run_id: str | None = None, write: bool = False) -> StorageError:
    """``StorageError`` with the message ``"<store>: <operation> failed: <cause>. <advice>"``.

    ``write``: the operation was a transaction that was rolled back, and the message says so.
    """
    tail = " Nothing of this change was stored." if write else ""
    return StorageError(f"{store}: {operation} failed: {cause}. {advice}{tail}",
                        store=store, operation=operation, run_id=run_id)


def sqlite_fault(exc: sqlite3.Error, store: str, operation: str, *, busy_timeout_s: float,
                 run_id: str | None = None, write: bool = False) -> StorageError:
    """A ``sqlite3.Error`` explained; the caller raises it ``from exc``."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == _SQLITE_BUSY:
        cause, advice = (
            f"the database stayed locked by another connection for {busy_timeout_s:g} s",
            "Another process is writing to it or holds a transaction open: try again when "
            "it is done.")
    else:
        cause, advice = _SQLITE_CAUSES.get(
            primary or -1, ("SQLite reported an error", "Check the file and try again."))
    return storage_error(store, operation, f"{cause} ({exc})", advice, run_id=run_id,
                         write=write)


def os_fault(exc: OSError, store: str, operation: str) -> StorageError:
    """An ``OSError`` of the file system (creating the database's directory) explained."""
    if exc.errno in (errno.EEXIST, errno.ENOTDIR):
        cause = "a part of its path is a file, not a directory"
        advice = "Choose another path."
    elif exc.errno == errno.ENOSPC:
        cause, advice = "the disk is full", "Free disk space, then try again."
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        cause, advice = "the directory cannot be created", _PERMISSIONS
    else:
        cause, advice = "the file system refused", "Check the path, or choose another one."
    return storage_error(store, operation, f"{cause} ({exc})", advice)


def foreign_file(store: str, found: str) -> StorageError:
    """A database of another application (``found`` says what is in it); left untouched."""
    return storage_error(
        store, "opening", f"it is an SQLite database of another application ({found})",
        "flownb keeps its runs only in a file of its own and leaves this one unchanged: "
        "choose another path.")
