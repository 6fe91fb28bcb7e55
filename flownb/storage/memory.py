"""``MemoryStore``: runs kept in this process, gone when it exits.

Every value is kept as JSON *text*, not as the objects the caller passed: what a caller
holds (the snapshot it inserted, the dicts it sent to ``update``, a snapshot it loaded)
never aliases stored data, and a value that is not JSON fails here exactly as it would
in ``SQLiteStore``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.results import RunInfo
from ..errors import FlownbError
from .base import (
    Snapshot,
    Store,
    Update,
    already_stored,
    as_dict,
    dumps_json,
    loads_json,
    run_not_found,
    suspended_paths,
    version_conflict,
)
from .cache import CACHE_FIND_LIMIT, CacheEntry

__all__ = ["MemoryStore"]


def _dumps_records(records: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    return {key: dumps_json(as_dict(data)) for key, data in records.items()}


@dataclass(slots=True)
class _Run:
    """One stored run: scalars as they are, everything mutable as JSON text."""

    seq: int  # insertion order, breaks ties between equal ``created_at``
    parent_run_id: str | None
    run_id: str
    workflow_id: str
    status: str
    version: int
    created_at: float
    updated_at: float
    schema_version: int
    input: str
    graph: str
    meta: str
    # dicts keep first-insertion order and an upsert of an existing key keeps its place,
    # which is exactly the record order the contract asks for.
    steps: dict[str, str] = field(default_factory=dict)
    journal: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Change:
    """An update with its values serialized (before the lock: a value that is not JSON
    fails with nothing changed)."""

    run_id: str
    expected_version: int
    status: str | None
    updated_at: float
    meta: str | None
    steps: dict[str, str]
    journal: dict[str, str]

    @classmethod
    def of(cls, run_id: str, expected_version: int, status: str | None, updated_at: float,
           meta: Mapping[str, Any] | None, steps: Mapping[str, Mapping[str, Any]],
           journal: Mapping[str, Mapping[str, Any]]) -> _Change:
        return cls(run_id, expected_version, status, updated_at,
                   None if meta is None else dumps_json(as_dict(meta)),
                   _dumps_records(steps), _dumps_records(journal))


class MemoryStore(Store):
    """A thread-safe store in process memory, for tests and throwaway runs.

    >>> from flownb.storage import MemoryStore, Snapshot
    >>> store = MemoryStore()
    >>> store.insert(Snapshot(run_id="r1", workflow_id="wf", status="running", version=1,
    ...                       created_at=0.0, updated_at=0.0, input={"x": 1}, graph={}))
    >>> store.update("r1", expected_version=1, status="success", updated_at=1.0, meta={})
    2
    >>> store.load("r1").status
    'success'
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[str, _Run] = {}
        self._next_seq = 0
        # The step cache: entries as JSON text, oldest first, and the positions of each key.
        self._cache: list[tuple[str, str, str, str, str]] = []  # key, wf, step, run, text

    def insert(self, snapshot: Snapshot) -> None:
        parent = snapshot.meta.get("parent_run_id")
        entry = _Run(
            seq=0,
            parent_run_id=parent if isinstance(parent, str) else None,
            run_id=snapshot.run_id,
            workflow_id=snapshot.workflow_id,
            status=snapshot.status,
            version=snapshot.version,
            created_at=snapshot.created_at,
            updated_at=snapshot.updated_at,
            schema_version=snapshot.schema_version,
            input=dumps_json(snapshot.input),
            graph=dumps_json(snapshot.graph),
            meta=dumps_json(snapshot.meta),
            steps=_dumps_records(snapshot.steps),
            journal=_dumps_records(snapshot.journal),
        )
        with self._lock:
            if snapshot.run_id in self._runs:
                raise already_stored(snapshot.run_id)
            self._next_seq += 1
            entry.seq = self._next_seq
            self._runs[snapshot.run_id] = entry

    def load(self, run_id: str) -> Snapshot | None:
        with self._lock:
            entry = self._runs.get(run_id)
            if entry is None:
                return None
            # Header fields are immutable (str/int/float and JSON text); only the record
            # maps need copying before the lock is released. Parsing happens outside it.
            e = replace(entry, steps=dict(entry.steps), journal=dict(entry.journal))
        return Snapshot(
            run_id=e.run_id,
            workflow_id=e.workflow_id,
            status=e.status,
            version=e.version,
            created_at=e.created_at,
            updated_at=e.updated_at,
            input=loads_json(e.input),
            graph=loads_json(e.graph),
            meta=loads_json(e.meta),
            steps={key: loads_json(text) for key, text in e.steps.items()},
            journal={key: loads_json(text) for key, text in e.journal.items()},
            schema_version=e.schema_version,
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
        change = _Change.of(run_id, expected_version, status, updated_at, meta, steps, journal)
        with self._lock:
            result = self._apply(change)
        if isinstance(result, int):
            return result
        raise result

    def update_many(self, updates: Sequence[Update]) -> list[int | FlownbError]:
        """All of ``updates`` under one lock, each with its own version check; every value
        is serialized first, so one that is not JSON fails the batch before any applies."""
        changes = [_Change.of(u.run_id, u.expected_version, u.status, u.updated_at, u.meta,
                              u.steps, u.journal) for u in updates]
        entries = [_cache_rows(u.cache) for u in updates]
        with self._lock:
            results = [self._apply(change) for change in changes]
            for result, rows in zip(results, entries, strict=True):
                if rows and isinstance(result, int):
                    self._cache.extend(rows)
            return results

    def _apply(self, c: _Change) -> int | FlownbError:
        """Apply one change (the caller holds the lock), or say why it does not apply."""
        entry = self._runs.get(c.run_id)
        if entry is None:
            return run_not_found(c.run_id)
        if entry.version != c.expected_version:
            return version_conflict(c.run_id, c.expected_version, entry.version)
        if c.status is not None:
            entry.status = c.status
        entry.updated_at = c.updated_at
        if c.meta is not None:
            entry.meta = c.meta
        entry.steps.update(c.steps)
        entry.journal.update(c.journal)
        entry.version = c.expected_version + 1
        return entry.version

    def version_of(self, run_id: str) -> int | None:
        with self._lock:
            entry = self._runs.get(run_id)
            return None if entry is None else entry.version

    def list_runs(
        self, *, workflow_id: str | None = None, status: str | None = None
    ) -> list[RunInfo]:
        with self._lock:
            rows = [
                (e.seq, e.run_id, e.workflow_id, e.status, e.created_at, e.updated_at, e.meta,
                 e.parent_run_id)
                for e in self._runs.values()
                if (workflow_id is None or e.workflow_id == workflow_id)
                and (status is None or e.status == status)
            ]
        rows.sort(key=lambda row: (row[4], row[0]), reverse=True)
        return [
            RunInfo(
                run_id=run_id,
                workflow_id=wf_id,
                status=st,
                created_at=created_at,
                updated_at=updated_at,
                suspended=suspended_paths(meta),
                parent_run_id=parent,
            )
            for _seq, run_id, wf_id, st, created_at, updated_at, meta, parent in rows
        ]

    def delete(self, run_id: str) -> bool:
        with self._lock:
            self._cache = [row for row in self._cache if row[3] != run_id]
            return self._runs.pop(run_id, None) is not None

    def cache_put(self, entries: Sequence[CacheEntry]) -> None:
        rows = _cache_rows(entries)
        with self._lock:
            self._cache.extend(rows)

    def cache_find(self, key: str) -> list[CacheEntry]:
        with self._lock:
            texts = [row[4] for row in reversed(self._cache) if row[0] == key]
        return [CacheEntry.from_json(loads_json(t)) for t in texts[:CACHE_FIND_LIMIT]]

    def cache_last(self, workflow_id: str, step: str) -> CacheEntry | None:
        with self._lock:
            text = next((row[4] for row in reversed(self._cache)
                         if row[1] == workflow_id and row[2] == step), None)
        return None if text is None else CacheEntry.from_json(loads_json(text))

    def clear_cache(self) -> int:
        with self._lock:
            count = len(self._cache)
            self._cache = []
        return count


def _cache_rows(entries: Sequence[CacheEntry]) -> list[tuple[str, str, str, str, str]]:
    return [(e.key, e.workflow_id, e.step, e.run_id, dumps_json(e.to_json())) for e in entries]

