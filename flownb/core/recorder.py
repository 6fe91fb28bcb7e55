"""Between an ``Execution`` and a stored ``Snapshot``: the ``Recorder``.

The recorder is the only writer of a run's snapshot. ``Run`` calls it explicitly to
``begin`` a new run, ``claim`` a stored one and ``finish``; in between it subscribes to the
run's events and writes the records that changed since its last write, as one
compare-and-swap update:

* when a step finishes or suspends, a write is due: it happens before the next step
  starts, or on the event loop's next turn, whichever comes first; so every finished
  step is stored before anything after it runs, and many foreach items finishing in the
  same turn share one write;
* the writes due in one loop turn, of every run on the same store, are one group commit
  (``Store.update_many``: one transaction), so a hundred runs started together share their
  commits instead of queuing for them;
* when the run finishes (or suspends), the last write carries the final status.

This runs once per step, so it is kept lean (see docs/benchmarks.md): one callback per
loop turn rather than one per step, and step records serialized without going through
pydantic's ``TypeAdapter`` wrapper.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import describe_field_errors, field_errors_from_pydantic
from . import clock
from .codec import Unstorable, from_stored, to_stored
from .events import STEP_RESULT, STEP_START, STEP_SUSPENDED, Event
from .keys import special_ids, strip_items, upgrade_v1_key
from .results import RECORD_FIELDS, StepResult
from .schema import to_jsonable

if TYPE_CHECKING:
    from ..storage.base import Snapshot, Store, Update
    from ..storage.cache import CacheEntry
    from .execution import Execution

__all__ = ["Recorder", "hydrate", "meta_of", "new_snapshot"]

_STEP_DONE = frozenset({STEP_RESULT, STEP_SUSPENDED})
_SCALARS = frozenset({str, int, float, bool})


def meta_of(ex: Execution, *, result: Any = None, error: str | None = None,
            origin: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "suspended_paths": ex.suspended_paths(),
        # Only the journal keys that differ from the path (a loop iteration, "inc@2"):
        # the rest follow from suspended_paths.
        "suspended_keys": {d: k for d, k in ex.suspended.items() if k != d},
        "state": to_stored(ex.state),
        "targets": {k: to_stored(v) for k, v in ex.targets.items()},
    }
    if ex.breakpoints:  # so a resumed or restarted run keeps pausing at the later ones
        meta["breakpoints"] = sorted(ex.breakpoints)
    if ex.lineage:  # a fork's parent and the step it starts again at
        meta.update(ex.lineage)
    if ex.states is not None:  # when the state changed (a fork's default state)
        meta["states"] = ex.states
    if ex.prints is not None:  # what each step's code was (core.changes)
        meta["prints"] = ex.prints
    if ex.cache is not None:  # the run's cache=, kept for its resume
        meta["cache"] = ex.cache
    if ex.given_inputs:
        meta["given_inputs"] = {k: to_stored(v) for k, v in ex.given_inputs.items()}
    if result is not None:
        meta["result"] = to_stored(result)
    if error is not None:
        meta["error"] = error
    if origin is not None:
        meta["origin"] = origin
    return meta


def new_snapshot(ex: Execution, *, status: str, created_at: float,
                 origin: str | None, stored_input: Any) -> Snapshot:
    from ..storage.base import Snapshot

    snap = Snapshot(
        run_id=ex.run_id,
        workflow_id=ex.workflow_id,
        status=status,
        version=1,
        created_at=created_at,
        updated_at=created_at,
        input=stored_input,
        graph=ex.workflow.graph.description,
        meta=meta_of(ex, origin=origin),
    )
    return snap


def hydrate(ex: Execution, snap: Snapshot) -> None:
    """Fill an execution from a stored snapshot (outputs stay JSON until replay needs them)."""
    ex.replay_problems = []
    ex.input = _replay(ex, "the workflow input", ex.workflow.input_schema, snap.input)
    ex.steps = {path: StepResult.from_dict(d) for path, d in snap.steps.items()}
    journal = snap.journal
    keys = snap.meta.get("suspended_keys") or {}
    targets = snap.meta.get("targets") or {}
    if snap.schema_version < 2:  # written with the old key grammar (flownb.core.keys)
        loops, branches = special_ids(snap.graph)
        journal = {upgrade_v1_key(k, loops, branches): d for k, d in journal.items()}
        keys = {d: upgrade_v1_key(k, loops, branches) for d, k in keys.items()}
        targets = {upgrade_v1_key(k, loops, branches): d for k, d in targets.items()}
    ex.journal = {key: dict(d) for key, d in journal.items()}
    ex.stored_json = set(ex.steps) | {k for k, d in ex.journal.items() if "output" in d}
    displays = (".".join(path) for path in snap.meta.get("suspended_paths") or [])
    ex.suspended = {d: keys.get(d, d) for d in displays}
    ex.stored_targets = targets
    ex.breakpoints = frozenset(snap.meta.get("breakpoints") or ())
    ex.given_inputs = dict(snap.meta.get("given_inputs") or {})  # JSON: the step validates it
    ex.lineage = {k: snap.meta[k] for k in ("parent_run_id", "forked_at") if k in snap.meta}
    states = snap.meta.get("states")
    ex.states = list(states) if isinstance(states, list) else None
    prints = snap.meta.get("prints")
    ex.prints = dict(prints) if isinstance(prints, dict) else None
    cache = snap.meta.get("cache")
    ex.cache = cache if isinstance(cache, bool) else None
    schema = ex.workflow.state_schema
    state = snap.meta.get("state")
    ex.state = (_replay(ex, "the workflow state", schema, state)
                if schema is not None and state is not None else state)


def _replay(ex: Execution, what: str, schema: Any, data: Any) -> Any:
    """Stored data validated into ``schema``; if it no longer fits (the definition changed
    since the run was stored), the raw data, with the problem noted for ``resume`` to
    report before it claims the run: reattaching never fails because code changed."""
    try:
        return from_stored(schema, data)
    except ValidationError as exc:
        fields = describe_field_errors(field_errors_from_pydantic(exc))
        ex.replay_problems.append(f"{what} no longer matches its schema: {fields}")
        return data


class Recorder:
    """The one writer of a run's stored snapshot.

    Its life is explicit: ``begin`` stores a new run, ``claim`` takes a stored one over
    (resume, restart: a compare-and-swap, so one writer wins), ``finish`` writes the final
    status. In between it is a subscriber of the run's events (the run's first, critical
    listener): a step's record is encoded when the step finishes, so a success or a
    suspension whose values cannot be stored raises ``Unstorable`` right there, inside the
    engine, which fails that step (records of other statuses are encoded leniently: they
    are never replayed). It owns the change log: the execution tells it which records
    changed (``step_changed``, ``journal_changed``) and only the recorder reads and clears
    that log.

    Writes are group commits: the changes of every run recording into the same store on
    the same event loop during one loop turn go to the store as one ``update_many`` (one
    transaction). A finished step is written before the next step of its run starts
    (``sync``, awaited by the engine), or on the loop's next turn, whichever comes first;
    the record of the step about to start (``running``) goes in that same write.
    """

    def __init__(self, store: Store, ex: Execution, version: int, origin: str | None) -> None:
        self.store = store
        self.ex = ex
        self.version = version
        self.origin = origin
        self.status = "running"
        self._result: Any = None
        self._error_text: str | None = None
        self._sent_status: str | None = None  # what the store holds, to send only changes
        self._sent_meta: dict[str, Any] | None = None
        self._steps: dict[str, None] = {}  # the change log: an ordered set of display paths
        self._journal: dict[str, None] = {}
        self._due = False  # a finished step waits to be written
        self._batch: _Batch | None = None  # the group commit this recorder waits in
        self._company = True  # its last group commit had other runs in it (or none yet)
        self.side_by_side = 0  # foreach workers / parallel branches of this run running now
        self._failure: BaseException | None = None  # raised by a write the run did not await
        # the last output encoded, as (object, stored form): a step's payload is most often
        # the output of the step before, encoded once
        self._last_output: tuple[Any, Any] = (None, None)
        # display path -> (the StepResult, its record encoded when it finished)
        self._ready: dict[str, tuple[StepResult, dict[str, Any]]] = {}
        # display path -> (the payload of a step written as running, its stored form): its
        # record when it ends holds the same payload, encoded once (a foreach item's input)
        self._started: dict[str, tuple[Any, Any]] = {}
        self._cache: list[CacheEntry] = []  # step-cache entries of steps that just succeeded

    # -- the change log ---------------------------------------------------------------------

    def step_changed(self, display: str) -> None:
        self._steps[display] = None

    def journal_changed(self, key: str) -> None:
        self._journal[key] = None

    # -- explicit life --------------------------------------------------------------------------

    async def begin(self, stored_input: Any, created_at: float) -> None:
        """Store the run as new (status ``running``, version 1), in the group commit of
        this loop turn (the runs started together share it). Raises
        ``ConcurrentRunError`` when a run with this id is stored already."""
        self._raise_failure()
        snapshot = new_snapshot(self.ex, status="running", created_at=created_at,
                                origin=self.origin, stored_input=stored_input)
        batch = _Batch.open(self.store)
        batch.inserts.append((self, snapshot))
        waiter = batch.loop.create_future()
        batch.waiters.append(waiter)
        await waiter
        self._raise_failure()
        self.version = 1
        self._sent_status = "running"
        self._sent_meta = snapshot.meta
        # The first step's start is due: stored as running when it starts (a watcher
        # elsewhere sees it run), in the same loop turn's group commit.
        self._due = True

    def claim(self) -> None:
        """Take the stored run over (status ``running``): raises ``ConcurrentRunError`` when
        another writer moved it on since it was loaded; nothing is written then."""
        self.status = "running"
        self._sent_status = None  # always sent: the claim is the status change
        self._write_alone()

    async def finish(self, status: str, result: Any, error: str | None) -> None:
        """Write the final status (and the result or error) with what is still due."""
        self.status, self._result, self._error_text = status, result, error
        self._due = True
        await self._await_write()

    # -- the subscriber ------------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        kind = event.type
        if kind in _STEP_DONE:
            display = ".".join(event.path)
            sr = self.ex.steps.get(display)
            started = self._started.pop(display, None)
            if sr is not None:
                if sr.status in _REPLAYED:
                    record = stored_record(sr, self._last_output if started is None
                                           or started[0] is not sr.payload else started)
                    if sr.output is not None and type(sr.output) not in _SCALARS:
                        # The next step's input is most often this very object.
                        self._last_output = (sr.output, record["output"])
                    if display in self.ex.cache_pending:
                        self._add_cache_entry(display, sr, record)
                else:
                    record = shown_record(sr)
                self._ready[display] = (sr, record)
                self._steps[display] = None
            self._due = True
            self._join()  # written on the loop's next turn at the latest
        elif (kind == STEP_START and self._due and "cached" not in event.payload
              and ".".join(event.path) in self._steps):
            # A step that the engine does not await a write for (a nested workflow, a
            # foreach, a map, a sleep) starts: what finished before it is written now,
            # with the starting step's own record (running). A step whose record is
            # written already (a leaf, after ``sync``) needs nothing: what finished
            # since (another item of its foreach) is awaited by the worker it ran in.
            self._write_now()

    def _add_cache_entry(self, display: str, sr: StepResult, record: dict[str, Any]) -> None:
        """The step at ``display`` may be reused later (``core.reuse``): its cache entry
        waits for the run's last write (or ``CACHE_BATCH`` entries: ``_take``)."""
        key, parts, reads, effects = self.ex.cache_pending.pop(display)
        if sr.status != "success":
            return
        ex = self.ex
        self._cache.append((_CACHE_ENTRY or _cache_entry_type())(
            key=key, workflow_id=ex.workflow_id, step=strip_items(display),
            run_id=ex.run_id, path=display, output=record["output"], parts=parts,
            reads=reads, effects=effects, created_at=sr.ended_at or clock.now()))

    @property
    def due(self) -> bool:
        """A finished step waits to be written (the engine then awaits ``sync``)."""
        return self._due

    async def sync(self) -> None:
        """Before the next step starts: write what is due, together with the other runs
        whose writes are due in this loop turn.

        Waiting for the loop's next turn lets other runs join the write, and the other
        items of a foreach (or branches of a parallel) of this run that finish in this
        turn: one commit for them all, each still stored before its worker's next item
        starts. It costs a run alone two loop iterations a step for nothing: so a run
        whose last group commit had no other run in it, and that runs nothing side by
        side (``side_by_side``, counted by the engine), writes at once (with whatever
        else is due in the store).
        The record of the step starting now (``running``) goes in the same write, so the
        store shows what runs (a watcher elsewhere, ``flownb inspect``) at no extra write;
        its input is most often the output just encoded, so it costs no encoding either."""
        if self._company or self.side_by_side:
            await self._await_write()
        else:
            self._write_now()

    # -- writing ----------------------------------------------------------------------------

    def _join(self) -> _Batch:
        batch = self._batch
        if batch is None:
            batch = self._batch = _Batch.open(self.store)
            batch.recorders[self] = None
        return batch

    async def _await_write(self) -> None:
        self._raise_failure()
        if not self._due:
            return
        batch = self._join()
        waiter = batch.loop.create_future()
        batch.waiters.append(waiter)
        await waiter
        self._raise_failure()

    def _write_now(self) -> None:
        """Write synchronously: the batch this recorder waits in goes now (with the other
        runs in it), or a batch of this recorder alone."""
        self._raise_failure()
        if self._batch is not None:
            self._batch.flush()
        else:
            self._write_alone()
        self._raise_failure()

    def _write_alone(self) -> None:
        update = self._take()
        self._written(self.store.update_many([update])[0], update)
        self._raise_failure()

    def _raise_failure(self) -> None:
        failure = self._failure
        if failure is not None:
            self._failure = None
            raise failure

    def _take(self) -> Update:
        """This run's changes as one ``Update`` (the log is cleared once it is written)."""
        ex = self.ex
        records = ex.steps
        steps = {p: self._record(p, records[p]) for p in self._steps if p in records}
        journal = {k: _json_record(ex.journal[k]) for k in self._journal if k in ex.journal}
        state = ex.state
        sent = self._sent_meta
        if (sent is not None and not ex.suspended and not ex.targets and self._result is None
                and self._error_text is None and sent["state"] == {} and not sent["targets"]
                and not sent["suspended_paths"] and type(state) is dict and not state):
            meta = None  # the usual write: nothing in the meta changed (spares building it)
        else:
            meta = meta_of(ex, result=self._result, error=self._error_text,
                           origin=self.origin)
            if meta == sent:
                meta = None
        status = None if self.status == self._sent_status else self.status
        if self._cache and (self.status != "running" or len(self._cache) >= CACHE_BATCH):
            return (_UPDATE or _update_type())(
                ex.run_id, expected_version=self.version, status=status,
                updated_at=clock.now(), meta=meta, steps=steps, journal=journal,
                cache=tuple(self._cache))
        return (_NEW_UPDATE or _new_update())(ex.run_id, self.version, status, clock.now(),
                                              meta, steps, journal)

    def _written(self, outcome: int | BaseException, update: Update) -> None:
        self._batch = None
        if isinstance(outcome, BaseException):
            self._failure = outcome
            return
        self.version = outcome
        self._sent_status = self.status
        if update.cache:
            self._cache = []
        if update.meta is not None:
            self._sent_meta = dict(update.meta)
        for path in update.steps:
            self._steps.pop(path, None)
        for key in update.journal:
            self._journal.pop(key, None)
        self._due = False

    def _record(self, display: str, sr: StepResult) -> dict[str, Any]:
        ready = self._ready.pop(display, None)
        if ready is not None and ready[0] is sr and ready[1]["status"] == sr.status:
            return ready[1]
        payload = sr.payload
        if (sr.status == "running" and payload is not None and type(payload) not in _SCALARS
                and payload is not self._last_output[0]):
            try:
                known = (payload, to_stored(payload))
            except Unstorable:  # shown as a placeholder; its end record says why it fails
                return shown_record(sr, self._last_output)
            self._started[display] = known
            return shown_record(sr, known)
        return shown_record(sr, self._last_output)


class _Batch:
    """One group commit: the recorders of one store whose writes are due in this loop turn.

    It is written on the loop's next turn, or at once when a recorder needs it written
    (``flush``). It stays open until that next turn, so the steps of a run that follow one
    another without yielding to the loop share one batch object and one loop callback.
    """

    _open: dict[tuple[int, int], _Batch] = {}  # (id(loop), id(store)) -> the batch open now

    def __init__(self, store: Store, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.loop = loop
        self.recorders: dict[Recorder, None] = {}
        self.inserts: list[tuple[Recorder, Snapshot]] = []  # new runs, written first
        self.waiters: list[asyncio.Future[None]] = []
        self._key = (id(loop), id(store))
        loop.call_soon(self._on_next_turn)

    @classmethod
    def open(cls, store: Store) -> _Batch:
        loop = asyncio.get_running_loop()
        batch = cls._open.get((id(loop), id(store)))
        if batch is None:
            batch = cls._open[(id(loop), id(store))] = cls(store, loop)
        return batch

    def _on_next_turn(self) -> None:
        if _Batch._open.get(self._key) is self:
            del _Batch._open[self._key]
        self.flush()

    def flush(self) -> None:
        """Write every recorder's changes in one ``update_many``; wake those who wait."""
        recorders = list(self.recorders)
        self.recorders.clear()
        inserts, self.inserts = self.inserts, []
        waiters, self.waiters = self.waiters, []
        if inserts:
            try:
                created: list[Any] = list(self.store.insert_many([s for _, s in inserts]))
            except BaseException as exc:  # a fault of the store: every new run hears it
                created = [exc] * len(inserts)
            for (recorder, _), outcome in zip(inserts, created, strict=True):
                if outcome is not None:
                    recorder._failure = outcome
        if recorders:
            updates: list[Update] = []
            try:
                for recorder in recorders:
                    updates.append(recorder._take())
                outcomes: list[Any] = list(self.store.update_many(updates))
            except BaseException as exc:  # a fault of the store: every run in it hears it
                outcomes = [exc] * len(recorders)
                updates += [None] * (len(recorders) - len(updates))  # type: ignore[list-item]
            company = len(recorders) > 1
            for recorder, outcome, update in zip(recorders, outcomes, updates, strict=True):
                recorder._company = company
                recorder._written(outcome, update)
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


def _update_type() -> type[Update]:
    """``flownb.storage.Update`` (the storage layer sits above the core: imported late)."""
    global _UPDATE
    if _UPDATE is None:
        from ..storage.base import Update

        _UPDATE = Update
    return _UPDATE


_UPDATE: type[Update] | None = None


def _new_update() -> Callable[..., Update]:
    """A maker of ``Update(run_id, expected_version=, status=, updated_at=, meta=, steps=,
    journal=)`` (no cache entries) that fills the frozen dataclass's slots directly: its
    generated ``__init__`` (keyword-only arguments, one ``object.__setattr__`` each) costs
    about twice as much, once per step. Falls back to the constructor if ``Update`` has
    other fields than these."""
    global _NEW_UPDATE
    update = _UPDATE or _update_type()
    names = ("run_id", "expected_version", "status", "updated_at", "meta", "steps",
             "journal", "cache")
    if (tuple(f.name for f in dataclasses.fields(update)) != names
            or not all(hasattr(getattr(update, name, None), "__set__") for name in names)):
        def make(run_id: str, expected_version: int, status: str | None, updated_at: float,
                 meta: Any, steps: Any, journal: Any) -> Update:
            return update(run_id, expected_version=expected_version, status=status,
                          updated_at=updated_at, meta=meta, steps=steps, journal=journal)
    else:
        new = object.__new__
        (set_id, set_version, set_status, set_at, set_meta, set_steps, set_journal,
         set_cache) = (getattr(update, name).__set__ for name in names)

        def make(run_id: str, expected_version: int, status: str | None, updated_at: float,
                 meta: Any, steps: Any, journal: Any) -> Update:
            u = new(update)
            set_id(u, run_id)
            set_version(u, expected_version)
            set_status(u, status)
            set_at(u, updated_at)
            set_meta(u, meta)
            set_steps(u, steps)
            set_journal(u, journal)
            set_cache(u, ())
            return u
    _NEW_UPDATE = make
    return make


_NEW_UPDATE: Callable[..., Update] | None = None


def _cache_entry_type() -> type[CacheEntry]:
    """``flownb.storage.cache.CacheEntry`` (imported late, as ``Update`` is)."""
    global _CACHE_ENTRY
    if _CACHE_ENTRY is None:
        from ..storage.cache import CacheEntry

        _CACHE_ENTRY = CacheEntry
    return _CACHE_ENTRY


_CACHE_ENTRY: type[CacheEntry] | None = None

CACHE_BATCH = 64
"""Step-cache entries wait for the run's last write (its end or suspension), or until this
many are pending: an entry is not needed until a later run looks it up, and losing the
unwritten ones with a dead process only loses their reuse. So a step's commit does not also
carry an indexed row of the cache (a miss would cost a SQLite step about half again)."""

_REPLAYED = frozenset({"success", "suspended"})


def stored_record(sr: StepResult, known: tuple[Any, Any] = (None, None)) -> dict[str, Any]:
    """``sr`` as stored JSON data that replays; raises ``Unstorable`` naming the field.
    ``known``: a value and its stored form, reused for a field that is that very object.

    The fields are written out (``RECORD_FIELDS``, in that order) rather than looped over:
    this runs once per step."""
    payload, output = sr.payload, sr.output
    suspend_payload, resume_payload = sr.suspend_payload, sr.resume_payload
    # The checks of ``_stored_field`` for what most often is there (None, the value just
    # encoded) written out: a call each would cost more than the test.
    return {"status": sr.status,
            "payload": known[1] if payload is known[0] and payload is not None
            else _stored_field(payload, "payload", known),
            "output": output if output is None
            else _stored_field(output, "output", known),
            "error": sr.error,
            "suspend_payload": suspend_payload if suspend_payload is None
            else _stored_field(suspend_payload, "suspend_payload", known),
            "resume_payload": resume_payload if resume_payload is None
            else _stored_field(resume_payload, "resume_payload", known),
            "started_at": sr.started_at, "ended_at": sr.ended_at, "attempts": sr.attempts,
            "cached_from": sr.cached_from}


def _stored_field(value: Any, name: str, known: tuple[Any, Any]) -> Any:
    if value is None or type(value) in _SCALARS:
        return value
    if value is known[0]:
        return known[1]
    try:
        return to_stored(value)
    except Unstorable as exc:
        raise Unstorable(exc.reason, path=exc.path, field=name) from None


def shown_record(sr: StepResult, known: tuple[Any, Any] = (None, None)) -> dict[str, Any]:
    """``sr`` as JSON data for a record that is never replayed (running, failed,
    canceled): what cannot be stored is shown as a placeholder rather than failing.
    ``known`` as for :func:`stored_record`."""
    if (sr.status == "running" and sr.output is None and sr.error is None
            and sr.suspend_payload is None and sr.resume_payload is None
            and sr.ended_at is None and sr.cached_from is None):
        # A step that just started (written with the step before it): its payload is most
        # often the output just encoded.
        payload = sr.payload
        return {"status": "running",
                "payload": payload if payload is None or type(payload) in _SCALARS
                else known[1] if payload is known[0] else _shown(payload),
                "output": None, "error": None, "suspend_payload": None,
                "resume_payload": None, "started_at": sr.started_at, "ended_at": None,
                "attempts": sr.attempts, "cached_from": None}
    out: dict[str, Any] = {}
    for name in RECORD_FIELDS:
        value = getattr(sr, name)
        if value is None or type(value) in _SCALARS:
            out[name] = value
        elif value is known[0]:
            out[name] = known[1]
        else:
            try:
                out[name] = to_stored(value)
            except Unstorable:
                out[name] = to_jsonable(value)
    return out


def _shown(value: Any) -> Any:
    try:
        return to_stored(value)
    except Unstorable:
        return to_jsonable(value)


def _json_record(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v if v is None or type(v) in _SCALARS else to_stored(v)
            for k, v in record.items()}
