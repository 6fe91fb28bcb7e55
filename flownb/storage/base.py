"""The storage contract: a small abstract ``Store`` over JSON snapshots.

A run is stored as one *snapshot*: a header (ids, status, version, timestamps, the
workflow's input, a JSON description of its graph, and ``meta``: suspended paths, state,
result, error, resume claim) plus two ordered maps of small JSON records: ``steps``
(display path -> ``StepResult.to_dict()``) and ``journal`` (replay records of loop
iterations and decisions). Updates send only the records that changed, so writing after
each step costs O(what changed), not O(run).

Every update is a compare-and-swap on ``version``: the store applies it only if the
stored version is still ``expected_version``, else raises ``ConcurrentRunError``. That is
what makes two concurrent resumes of one run resolve to exactly one winner.
``update_many`` applies many such updates (of many runs) together, each with its own
check: a store that writes to disk can then commit them in one transaction.

Values are JSON data; the built-in stores write them with ``dumps_json`` (a value that is
not JSON raises ``TypeError`` and nothing is stored) and read them with ``loads_json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from pydantic_core import PydanticSerializationError, from_json, to_json

from ..core.results import RunInfo
from ..errors import ConcurrentRunError, FlownbError, RunNotFoundError
from .cache import CacheEntry

__all__ = ["POLL_INTERVAL", "SCHEMA_VERSION", "Snapshot", "Store", "Update", "watch_versions"]

SCHEMA_VERSION = 2
"""Version of a snapshot's contents: 2 writes journal keys in the bracketed grammar of
``flownb.core.keys`` (``inc[@2]``); runs of version 1 (``inc@2``) are read by upgrading
their keys on load."""

# Shared by the stores. One standard encoder for every value: ``json.dumps`` with options
# builds a new encoder per call, which costs more than encoding a small record.
_dumps_std = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


def dumps_json(value: Any) -> str:
    """Strict JSON text (RFC 8259) of ``value``; ``TypeError`` (nothing stored) if it is
    not JSON data.

    pydantic-core's encoder writes it (it runs once per step written, and writes a small
    record with two timestamps 3-4x as fast as the standard one, floats above all). JSON
    has no NaN or infinities: they are written as the strings ``"NaN"``, ``"Infinity"``
    and ``"-Infinity"``, which a ``float`` field reads back (``flownb.core.codec``). The
    standard encoder takes what pydantic-core refuses: it writes lone surrogates as
    escapes, and raises ``TypeError`` for objects neither knows.
    """
    try:
        return to_json(value, inf_nan_mode="strings").decode()
    except (PydanticSerializationError, ValueError):
        return _dumps_std(_finite(value))


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by its JSON string form."""
    if isinstance(value, float):
        return value if math.isfinite(value) else _NON_FINITE[str(value)]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def loads_json(text: str) -> Any:
    """Parse stored JSON text: pydantic-core's parser (2-4x the standard one's speed on
    small records), the standard one for what it refuses (lone surrogate escapes)."""
    try:
        return from_json(text)
    except ValueError:
        return json.loads(text)


def as_dict(value: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON encoders take dicts only; other mappings are copied (dicts need not be)."""
    return value if isinstance(value, dict) else dict(value)


def suspended_paths(meta_text: str) -> list[list[str]]:
    """``RunInfo.suspended`` from a stored ``meta`` JSON text (missing or null: none)."""
    meta = loads_json(meta_text)
    paths = meta.get("suspended_paths") if isinstance(meta, dict) else None
    return [list(path) for path in paths or ()]


def run_not_found(run_id: str) -> RunNotFoundError:
    return RunNotFoundError(f"No stored run has id {run_id!r}.", run_id=run_id)


def already_stored(run_id: str) -> ConcurrentRunError:
    return ConcurrentRunError(
        f"A run with id {run_id!r} is already stored; start a new run with another id, or "
        "resume the stored one.", run_id=run_id)


def version_conflict(run_id: str, expected: int, stored: int) -> ConcurrentRunError:
    return ConcurrentRunError(
        f"Run {run_id!r} was changed concurrently: expected version {expected}, stored "
        f"version is {stored}. Another start or resume of this run won the race; nothing "
        "was applied.", run_id=run_id)


@dataclass
class Snapshot:
    """One stored run, all JSON data (never pickle)."""

    run_id: str
    workflow_id: str
    status: str
    version: int
    created_at: float
    updated_at: float
    input: Any
    graph: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    journal: dict[str, dict[str, Any]] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        """The whole snapshot as one JSON document."""
        return {
            "schema_version": self.schema_version,
            "run_id": self.run_id,
            "workflow_id": self.workflow_id,
            "status": self.status,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "input": self.input,
            "graph": self.graph,
            "meta": self.meta,
            "steps": self.steps,
            "journal": self.journal,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Snapshot:
        return cls(
            run_id=doc["run_id"],
            workflow_id=doc["workflow_id"],
            status=doc["status"],
            version=doc["version"],
            created_at=doc["created_at"],
            updated_at=doc["updated_at"],
            input=doc.get("input"),
            graph=doc.get("graph") or {},
            meta=doc.get("meta") or {},
            steps=dict(doc.get("steps") or {}),
            journal=dict(doc.get("journal") or {}),
            schema_version=doc.get("schema_version", SCHEMA_VERSION),
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Update:
    """One change for ``Store.update_many``: the arguments of ``Store.update``, by the same
    names (``run_id`` positional, the rest by keyword).

    >>> Update("r1", expected_version=1, status="success", updated_at=2.0, meta=None,
    ...        steps={"add": {"status": "success", "output": 3}}).expected_version
    1
    """

    run_id: str
    _: KW_ONLY
    expected_version: int
    status: str | None
    updated_at: float
    meta: Mapping[str, Any] | None
    steps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    journal: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cache: Sequence[CacheEntry] = ()
    """Step-cache entries to add in the same write (``Store.cache_put``); added only if
    the update applies."""


class Store(ABC):
    """Where runs live. Implementations: ``MemoryStore``, ``SQLiteStore``.

    Implementations must be safe to call from several threads, and (for stores shared
    between processes) must apply ``update`` atomically with its version check.
    """

    @abstractmethod
    def insert(self, snapshot: Snapshot) -> None:
        """Store a new run (its ``version`` as given, normally 1).

        Raises ``ConcurrentRunError`` if a run with that id exists.
        """

    @abstractmethod
    def load(self, run_id: str) -> Snapshot | None:
        """The stored run, steps and journal in insertion order; ``None`` if unknown."""

    @abstractmethod
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
        """Apply a change atomically if the stored version is ``expected_version``.

        Replaces ``updated_at``, and status and ``meta`` unless they are ``None`` (unchanged:
        callers that write after every step send them only when they change, which spares
        SQLite an index update per write); upserts the given step and journal
        records (a new key goes after the existing ones, an existing key keeps its place).
        Returns the new version (``expected_version + 1``). Raises ``ConcurrentRunError``
        if the version differs, ``RunNotFoundError`` if the run is unknown.
        """

    def insert_many(self, snapshots: Sequence[Snapshot]) -> list[FlownbError | None]:
        """Store many new runs, each as ``insert`` would, and say how each one went:
        ``None``, or the ``ConcurrentRunError`` of a run whose id is already stored (that
        one is not written; the others are). A fault of the store itself raises
        ``StorageError`` for the whole batch.

        This default calls ``insert`` once per snapshot; ``SQLiteStore`` writes the batch
        in one transaction (the runs started together in one loop turn share a commit).
        """
        results: list[FlownbError | None] = []
        for snapshot in snapshots:
            try:
                self.insert(snapshot)
            except ConcurrentRunError as exc:
                results.append(exc)
            else:
                results.append(None)
        return results

    def update_many(self, updates: Sequence[Update]) -> list[int | FlownbError]:
        """Apply many updates, each as ``update`` would, and say how each one went.

        Returns, for each update in order, the run's new version, or the
        ``ConcurrentRunError`` or ``RunNotFoundError`` that ``update`` would have raised for
        it: that update changed nothing, and the others still apply. Updates are applied in
        order, so two updates of one run can share a batch (the second expects the version
        the first produces). A value that is not JSON raises ``TypeError``, and a fault of
        the store itself raises ``StorageError``, for the whole batch.

        This default calls ``update`` once per item. ``SQLiteStore`` writes the whole batch
        in one transaction (one commit), so a fault leaves none of it written, and
        ``MemoryStore`` applies it under one lock; both serialize every value before
        applying anything, so a ``TypeError`` leaves the batch unapplied as well.

        >>> from flownb.storage import MemoryStore, Snapshot, Update
        >>> store = MemoryStore()
        >>> store.insert(Snapshot(run_id="r1", workflow_id="wf", status="running", version=1,
        ...                       created_at=0.0, updated_at=0.0, input=None, graph={}))
        >>> store.update_many([
        ...     Update("r1", expected_version=1, status=None, updated_at=1.0, meta=None),
        ...     Update("nope", expected_version=1, status=None, updated_at=1.0, meta=None),
        ...     Update("r1", expected_version=2, status="success", updated_at=2.0, meta={}),
        ... ])  # doctest: +ELLIPSIS
        [2, RunNotFoundError(...), 3]
        """
        results: list[int | FlownbError] = []
        for u in updates:
            try:
                results.append(self.update(
                    u.run_id, expected_version=u.expected_version, status=u.status,
                    updated_at=u.updated_at, meta=u.meta, steps=u.steps, journal=u.journal))
            except (ConcurrentRunError, RunNotFoundError) as exc:
                results.append(exc)
            else:
                if u.cache:
                    self.cache_put(u.cache)
        return results

    @abstractmethod
    def list_runs(
        self, *, workflow_id: str | None = None, status: str | None = None
    ) -> list[RunInfo]:
        """Stored runs, newest first (by ``created_at``), optionally filtered."""

    @abstractmethod
    def delete(self, run_id: str) -> bool:
        """Forget a run and its step-cache entries; ``True`` if the run existed."""

    # -- the step cache (``flownb.storage.cache``); these defaults keep nothing, so a store
    # that does not implement them simply never reuses a step.

    def cache_put(self, entries: Sequence[CacheEntry]) -> None:  # noqa: B027 - optional
        """Add step-cache entries (normally through ``Update.cache``, in a run's write)."""

    def cache_find(self, key: str) -> list[CacheEntry]:
        """The entries with fingerprint ``key``, newest first, at most
        ``CACHE_FIND_LIMIT``: one indexed read."""
        return []

    def cache_last(self, workflow_id: str, step: str) -> CacheEntry | None:
        """The newest entry of ``step`` (dotted path without item markers) in runs of
        ``workflow_id``, whatever its fingerprint; ``None`` if there is none."""
        return None

    def clear_cache(self) -> int:
        """Forget every step-cache entry (no run changes); returns how many there were."""
        return 0

    def version_of(self, run_id: str) -> int | None:
        """The stored run's ``version`` now, ``None`` if it is not stored: what a watcher
        of a run that executes elsewhere reads to learn whether anything changed (every
        change of a run moves its version), so it loads the run again only when it did.

        This default loads the whole run; a store overrides it with one indexed read of
        the header (``SQLiteStore``: ``SELECT version FROM runs WHERE run_id = ?``).
        """
        snap = self.load(run_id)
        return None if snap is None else snap.version

    def on_change(self, run_id: str,
                  wake: Callable[[], None]) -> Callable[[], None] | None:
        """Push changes of ``run_id`` to a watcher, if this store can: call ``wake()``
        (from any thread, with no arguments) whenever the run's version may have moved,
        until the returned function is called. ``None`` (this default): the store cannot
        push, and watchers poll :meth:`version_of` (at most 4 times a second).

        A store that can push (PostgreSQL's ``LISTEN``/``NOTIFY``) implements it; a
        spurious ``wake()`` costs a watcher one :meth:`version_of`, so it may wake for
        more than the one run. Watchers still poll, seldom, when pushed to: a missed
        notification delays an update, it never loses one. See :func:`watch_versions`.
        """
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing
        """Release resources (connections); the store is not used afterwards."""


POLL_INTERVAL = 0.25
"""Seconds between two checks of a watched run's version when its store cannot push
changes: at most 4 checks a second."""
PUSHED_POLL_INTERVAL = 5.0
"""Seconds between two checks when the store pushes changes (a safety net only)."""


async def watch_versions(store: Store, run_id: str, version: int | None, *,
                         interval: float = POLL_INTERVAL) -> AsyncIterator[int | None]:
    """Yield the stored version of ``run_id`` each time it differs from the last one seen
    (starting from ``version``), and ``None`` once the run is gone (then stop). It never
    blocks the event loop: between checks it sleeps (``interval`` seconds, or until the
    store pushes a change, :meth:`Store.on_change`), and each check is one
    :meth:`Store.version_of`, a cheap indexed read. The caller stops it by leaving its
    ``async for`` (or cancelling its task): the push subscription ends with it.

    >>> async for version in watch_versions(store, run.run_id, 3):   # doctest: +SKIP
    ...     snap = store.load(run.run_id)  # it moved: read it again
    """
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def wake() -> None:  # from the store's thread, maybe
        loop.call_soon_threadsafe(woken.set)

    unsubscribe = store.on_change(run_id, wake)
    pause = interval if unsubscribe is None else max(interval, PUSHED_POLL_INTERVAL)
    try:
        while True:
            if unsubscribe is None:
                await asyncio.sleep(pause)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), pause)
                woken.clear()
            now = store.version_of(run_id)
            if now != version:
                version = now
                yield now
                if now is None:
                    return
    finally:
        if unsubscribe is not None:
            unsubscribe()
