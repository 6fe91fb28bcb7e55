"""The execution engine: one handler per construct, one ``Scope`` handed down.

Execution is a *replay with a journal*: every step execution, ``.map``, sleep, branch
decision and loop verdict is recorded under a key derived from its place in the graph
(``"outer.inner"``, ``"review[1]"``, ``"inc@2"`` for a loop iteration). Starting, resuming
and restarting a run all walk the graph from the top; whatever the journal already holds
is reused instead of run again. That one mechanism makes suspend/resume work in every
position (nested workflows, parallel branches, loops, foreach items) and makes a run
continue from a JSON snapshot in another process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import WorkflowDefinitionError, describe_field_errors, field_errors_from_pydantic
from . import clock
from .codec import Unstorable, from_stored, to_stored
from .context import RuntimeContext
from .events import (
    STEP_RESULT,
    STEP_START,
    STEP_SUSPENDED,
    STEP_WAITING,
    Event,
)
from .feed import EventBuffer
from .graph import (
    BranchEntry,
    ForeachEntry,
    LoopEntry,
    MapEntry,
    ParallelEntry,
    SleepEntry,
    StepEntry,
)
from .invoke import call_condition, call_user, callable_kwargs, step_kwargs
from .keys import decision_key, item_part, iteration_part, strip_items, verdict_key
from .mapping import ConstSource, ContextSource, InitSource, MapSource, StepSource, pluck
from .params import READS
from .remote import item_scope, nested_executor, run_remote, top_executor
from .results import StepResult
from .reuse import Taken, cache_on, find, read_digests, take
from .schema import validate
from .signals import (
    USER_ERRORS,
    Bail,
    BailSignal,
    ExitInThread,
    StepFailed,
    Suspended,
    SuspendSignal,
)
from .tasks import gather_all

if TYPE_CHECKING:
    from ..storage.cache import CacheEntry
    from .recorder import Recorder

__all__ = ["Execution", "Scope", "StepFailed", "Suspended"]

log = logging.getLogger("flownb")

Listener = tuple[Callable[[Event], Any], bool]
_new_event = tuple.__new__

SUCCESS, FAILED, SUSPENDED, RUNNING, CANCELED = (
    "success", "failed", "suspended", "running", "canceled")


# -- the run's mutable state -----------------------------------------------------------------


class Execution:
    """Everything a run knows while it executes; JSON-able through ``storage.snapshot``."""

    def __init__(self, run_id: str, workflow: Any) -> None:
        self.run_id = run_id
        self.workflow = workflow
        self.workflow_id: str = workflow.id
        self.input: Any = None
        self.steps: dict[str, StepResult] = {}
        self.journal: dict[str, dict[str, Any]] = {}
        self.state: Any = None
        self.runtime_context = RuntimeContext()
        self.targets: dict[str, Any] = {}  # journal key -> validated resume data
        self.suspended: dict[str, str] = {}  # display path -> journal key
        self.stored_json: set[str] = set()  # keys whose outputs are still raw JSON
        self.stored_targets: dict[str, Any] = {}  # resume data of a claimed run, as stored
        self.replay_problems: list[str] = []  # stored values the definition no longer reads
        self.storing = False  # a store records this run: values must be storable
        self.listeners: tuple[Listener, ...] = ()  # replaced on change, never mutated
        self.buffer: EventBuffer | None = None  # what the run's feeds read (run.feed)
        self.observed = False  # anything reads events: listeners or a feed
        self.active = False  # executing now (between start/resume and their return)
        self.recorder: Recorder | None = None  # writes the run to its store (core.recorder)
        self.loop: asyncio.AbstractEventLoop | None = None
        # Step paths (no item markers) to pause before, or {"*"}; stored in the run's meta
        # so a resumed or restarted run keeps pausing at the later ones.
        self.breakpoints: frozenset[str] = frozenset()
        # journal key -> the input a person gave a step at its breakpoint: it runs with
        # that input every time (a resume of its own suspension, a restart), not the replayed one
        self.given_inputs: dict[str, Any] = {}
        # Reuse (core.reuse): the run's ``cache=`` (None: the settings decide) and, per
        # display path, the cache entry of a step that just succeeded, for the recorder.
        self.cache: bool | None = None
        self.cache_pending: dict[str, tuple[str, dict[str, Any], dict[str, str],
                                            dict[str, Any]]] = {}
        # Step path -> [code, schema] fingerprints the run executed it with (core.changes)
        self.prints: dict[str, list[str | None]] | None = None
        # A fork's parent and step ({"parent_run_id", "forked_at"}), kept in every write
        self.lineage: dict[str, str] = {}
        # [[time, state as stored], ...] from the first set_state on (the state before it
        # first): the state each step saw, for a fork's default (core.fork)
        self.states: list[list[Any]] | None = None
        # ``wf.plan``: a dry run that runs nothing (core.plan) collects its items here
        self.planner: Any = None
        self._step_index: dict[str, Any] | None = None

    # events
    def listen(self, entry: Listener, *, first: bool = False) -> None:
        """Add an observer: ``(callback, critical)``. ``critical``: its errors fail the run
        (the store); else a watcher, whose errors are logged."""
        self.listeners = (entry, *self.listeners) if first else (*self.listeners, entry)
        self.observed = True

    def unlisten(self, entry: Listener) -> None:
        if entry in self.listeners:
            rest = list(self.listeners)
            rest.remove(entry)
            self.listeners = tuple(rest)
        self.observed = bool(self.listeners) or self.buffer is not None

    def emit(self, type: str, path: tuple[str, ...], payload: dict[str, Any],
             timestamp: float | None = None) -> None:
        """Tell the observers. ``timestamp`` defaults to now; a step's start and result
        pass the time their result records, so the event and the result agree."""
        feed = self.buffer
        if feed is not None:
            # The feeds' buffer first, in a few statements: with only a view watching, this
            # is all an event costs (a count and a tuple in a bounded deque).
            if timestamp is None:
                timestamp = clock.now()
            feed.count += 1
            feed.recent.append((type, path, payload, timestamp))
            if not self.listeners and path:
                return
        elif not self.listeners:
            return
        elif timestamp is None:
            timestamp = clock.now()
        self._tell(type, path, payload, timestamp, feed)

    def _tell(self, type: str, path: tuple[str, ...], payload: dict[str, Any],
              timestamp: float, feed: EventBuffer | None) -> None:
        if self.listeners:
            # ``tuple.__new__`` skips the named tuple's Python-level ``__new__``: this runs
            # twice per step whenever anything watches the run.
            event = _new_event(Event, (type, self.run_id, self.workflow_id, path, payload,
                                       timestamp))
            # ``listeners`` is replaced, never mutated, so a callback that unsubscribes does
            # not disturb this loop, and no copy is needed.
            for callback, critical in self.listeners:
                if critical:
                    callback(event)
                    continue
                try:
                    callback(event)
                except Exception:
                    log.exception("flownb: an observer of run %s failed on %s",
                                  self.run_id, type)
        if feed is not None and not path:  # a run-level event: start, suspended, finish
            feed.run_event(Event(type, self.run_id, self.workflow_id, path, payload, timestamp))

    # records
    def set_state(self, state: Any) -> None:
        """The workflow state changes (``set_state``, a reused step's effect); a stored run
        keeps when (``states``), so a fork can start from the state a step saw."""
        if self.storing:
            if self.states is None:
                self.states = [[0.0, to_stored(self.state)]]
            self.states.append([clock.now(), to_stored(state)])
        self.state = state

    def set_step(self, display: str, sr: StepResult) -> None:
        self.steps[display] = sr
        if self.recorder is not None:
            self.recorder.step_changed(display)
        if self.stored_json:
            self.stored_json.discard(display)

    def record(self, key: str, data: dict[str, Any]) -> None:
        data["at"] = clock.now()  # when: what a fork copies is what was recorded before it
        self.journal[key] = data
        if self.recorder is not None:
            self.recorder.journal_changed(key)
        self.stored_json.discard(key)

    def recorded(self, key: str, display: str) -> tuple[str | None, Any]:
        """(status, output) recorded for ``key``, or (None, None)."""
        if key == display:
            sr = self.steps.get(display)
            return (sr.status, sr.output) if sr is not None else (None, None)
        rec = self.journal.get(key)
        return (rec.get("status"), rec.get("output")) if rec else (None, None)

    def live_output(self, key: str, display: str, schema: Any) -> Any:
        """A recorded output as a Python value of ``schema`` (validating stored JSON once)."""
        _, output = self.recorded(key, display)
        if key not in self.stored_json:
            return output
        value = from_stored(schema, output)
        if key == display:
            self.steps[display].output = value
        else:
            self.journal[key]["output"] = value
        self.stored_json.discard(key)
        return value

    def step_by_display(self, display: str) -> Any:
        if self._step_index is None:
            self._step_index = self.workflow.steps
        return self._step_index.get(strip_items(display))

    def output_of(self, display: str) -> Any:
        sr = self.steps.get(display)
        if sr is None or sr.status != SUCCESS:
            return None
        if display in self.stored_json:
            step = self.step_by_display(display)
            schema = step.output_schema if step is not None else Any
            return self.live_output(display, display, schema)
        return sr.output

    def targets_under(self, key: str) -> bool:
        """Is a resume target inside the container recorded at ``key``?"""
        return any(t.startswith((key + ".", key + "[")) for t in self.targets)

    def suspended_paths(self) -> list[list[str]]:
        return [display.split(".") for display in self.suspended]


_TOP: Any = object()  # a run's top scope: resolve the executor from the workflow/config


class Scope:
    """Where a piece of the graph runs: the workflow that directly contains it, the key
    and display prefixes of its place in the run, and the executor of its steps."""

    __slots__ = ("cache", "execution", "executor", "init", "key_prefix", "path_prefix",
                 "workflow")

    def __init__(self, execution: Execution, workflow: Any, key_prefix: str,
                 path_prefix: tuple[str, ...], init: Any, executor: Any = _TOP,
                 cache: bool | None = None) -> None:
        self.execution = execution
        # reuse of its steps: the innermost workflow's setting that is not None (core.reuse)
        self.cache: bool | None = workflow.cache if workflow.cache is not None else cache
        self.workflow = workflow
        self.key_prefix = key_prefix
        self.path_prefix = path_prefix
        self.init = init  # the validated input of ``workflow`` (what get_init_data returns)
        # None: the engine runs user code itself (the local executor); else a remote one
        self.executor = top_executor(workflow) if executor is _TOP else executor

    def construct(self, index: int, text: str) -> str:
        where = ".".join(self.path_prefix)
        inside = f" (in '{where}')" if where else ""
        return f"{text} (construct {index + 1} of workflow '{self.workflow.id}'{inside})"


# -- running a workflow's entries ------------------------------------------------------------


async def run_entries(scope: Scope, workflow: Any, value: Any) -> Any:
    """Run every construct of ``workflow`` in order; a bail ends it early."""
    try:
        for index, entry in enumerate(workflow.graph.entries):
            if type(entry) is StepEntry:  # the common case, one coroutine layer less
                value = await run_step(scope, entry.step, value)
            else:
                value = await _HANDLERS[type(entry)](scope, entry, value, index)
    except Bail as b:
        return b.result
    return value


async def _on_step(scope: Scope, entry: StepEntry, value: Any, index: int) -> Any:
    return await run_step(scope, entry.step, value)


async def _on_parallel(scope: Scope, entry: ParallelEntry, value: Any, index: int) -> Any:
    # A failing branch does not cancel its siblings: each runs to completion and is
    # stored (work a restart or a fork then reuses); the failure is raised afterwards.
    async def one(step: Any) -> Any:
        try:
            return await run_step(scope, step, value)
        except Suspended:
            return _SUSPENDED_MARK
        except StepFailed as failed:
            return failed

    outputs = await gather_all([one(s) for s in entry.steps])
    failures = [o for o in outputs if isinstance(o, StepFailed)]
    if failures:
        raise _several_failed(failures, "branches of .parallel")
    if any(o is _SUSPENDED_MARK for o in outputs):
        raise Suspended()
    return {s.id: o for s, o in zip(entry.steps, outputs, strict=True)}


_SUSPENDED_MARK = object()


def _several_failed(failures: list[StepFailed], what: str) -> StepFailed:
    """One failure for the run, led by the first in order, naming every other one."""
    first = failures[0]
    if len(failures) == 1:
        return first
    others = "; ".join(f"'{f.path}': {f.message}" for f in failures[1:])
    return StepFailed(first.path, f"{first.message} ({len(failures)} {what} failed; also "
                                  f"{others})", first.cause)


async def _on_branch(scope: Scope, entry: BranchEntry, value: Any, index: int) -> Any:
    ex = scope.execution
    key = decision_key(scope.key_prefix, entry.id)
    rec = ex.journal.get(key)
    if rec is not None:
        chosen = rec["choice"]
    else:
        chosen = -1
        for n, (cond, _) in enumerate(entry.branches):
            what = scope.construct(index, f"condition {n + 1} ('{cond.label}') of .branch "
                                          f"'{entry.id}'")
            if await call_condition(scope, cond, value, None, what, entry.id):
                chosen = n
                break
        ex.record(key, {"choice": chosen})
    if chosen < 0:
        return {}
    step = entry.branches[chosen][1]
    return {step.id: await run_step(scope, step, value)}


async def _on_map(scope: Scope, entry: MapEntry, value: Any, index: int) -> Any:
    ex = scope.execution
    key, path, display = _where(scope, entry.id)
    status, _ = ex.recorded(key, display)
    if status == SUCCESS:
        return ex.live_output(key, display, Any)
    sr = StepResult(RUNNING, payload=value, started_at=clock.now(), attempts=1)
    ex.set_step(display, sr)
    ex.emit(STEP_START, path, {"payload": value})
    try:
        if entry.spec is not None:
            out = _resolve_mapping(scope, entry.spec, entry.id)
        else:
            assert entry.fn is not None and entry.signature is not None
            kwargs = callable_kwargs(scope, entry.signature, value, None)
            out = await call_user(entry.fn, entry.signature, kwargs, in_thread=False)
    except (SuspendSignal, BailSignal) as sig:
        raise _fail(scope, sr, path, index, f".map '{entry.id}'",
                    RuntimeError(f"{type(sig).__name__} is only allowed inside a step")) from None
    except USER_ERRORS as exc:
        raise _fail(scope, sr, path, index, f".map '{entry.id}'", exc) from exc
    _succeed(scope, sr, key, display, path, out)
    return out


def _resolve_mapping(scope: Scope, spec: Any, map_id: str) -> dict[str, Any]:
    ex = scope.execution
    out: dict[str, Any] = {}
    for field, src in spec.items():
        if not isinstance(src, MapSource):
            out[field] = _resolve_mapping(scope, src, map_id)
            continue
        what = f".map '{map_id}' field '{field}'"
        if isinstance(src, StepSource):
            display = ".".join((*scope.path_prefix, src.step_id))
            if display not in ex.steps:
                display = src.step_id
            sr = ex.steps.get(display)
            if sr is None or sr.status != SUCCESS:
                raise LookupError(f"{what}: step '{src.step_id}' has no output in this run")
            out[field] = pluck(ex.output_of(display), src.path, what=what)
        elif isinstance(src, InitSource):
            out[field] = pluck(scope.init, src.path, what=what)
        elif isinstance(src, ContextSource):
            out[field] = pluck(dict(ex.runtime_context), src.key, what=what)
        elif isinstance(src, ConstSource):
            out[field] = src.value
    return out


async def _on_loop(scope: Scope, entry: LoopEntry, value: Any, index: int) -> Any:
    ex = scope.execution
    step = entry.step
    iteration = 0
    what = scope.construct(index, f"condition ('{entry.condition.label}') of "
                                  f".do{entry.mode}('{step.id}')")
    while True:
        value = await run_step(scope, step, value,
                               key_part=iteration_part(step.id, iteration))
        key = verdict_key(scope.key_prefix, step.id, iteration)
        rec = ex.journal.get(key)
        if rec is not None:
            verdict = rec["verdict"]
        else:
            verdict = bool(await call_condition(scope, entry.condition, value, iteration + 1,
                                                what, step.id))
            ex.record(key, {"verdict": verdict})
        iteration += 1
        if verdict is (entry.mode == "until"):
            return value


async def _on_foreach(scope: Scope, entry: ForeachEntry, value: Any, index: int) -> Any:
    ex = scope.execution
    step = entry.step
    key, path, display = _where(scope, step.id)
    status, _ = ex.recorded(key, display)
    if status == SUCCESS:
        return ex.live_output(key, display, list[step.output_schema])  # type: ignore[name-defined]
    if status == SUSPENDED and not ex.targets_under(key):
        raise Suspended()  # no item of this foreach is being resumed
    if not isinstance(value, (list, tuple)):
        sr = StepResult(RUNNING, payload=value, started_at=clock.now())
        ex.set_step(display, sr)
        raise _fail(scope, sr, path, index, f".foreach '{step.id}'",
                    TypeError(f"foreach needs a list, got {type(value).__name__}"))
    items = list(value)
    sr = StepResult(RUNNING, payload=items, started_at=clock.now(), attempts=1)
    ex.set_step(display, sr)
    ex.emit(STEP_START, path, {"payload": items, "items": len(items)})
    outputs: list[Any] = [None] * len(items)
    pending = iter(range(len(items)))
    suspended_any = False
    inner = item_scope(scope, entry)

    failures: dict[int, StepFailed] = {}

    async def worker() -> None:
        nonlocal suspended_any
        for i in pending:  # a shared iterator: each free worker takes the next item
            part = item_part(step.id, i)
            try:
                outputs[i] = await run_step(inner, step, items[i], key_part=part,
                                            path_part=part)
            except Suspended:
                suspended_any = True
            except StepFailed as failed:
                failures[i] = failed
            if failures:
                return  # no new item starts once one has failed; running ones finish

    try:
        await gather_all([worker() for _ in range(min(entry.concurrency, len(items)) or 1)])
    except asyncio.CancelledError:
        _finish(scope, sr, CANCELED, path)
        raise
    if failures:
        failed = _several_failed([failures[i] for i in sorted(failures)], "items")
        _finish(scope, sr, FAILED, path, error=failed.message)
        raise failed
    if suspended_any:
        _finish(scope, sr, SUSPENDED, path)
        raise Suspended()
    _succeed(scope, sr, key, display, path, outputs)
    return outputs


async def _on_sleep(scope: Scope, entry: SleepEntry, value: Any, index: int) -> Any:
    ex = scope.execution
    key, path, display = _where(scope, entry.id)
    status, _ = ex.recorded(key, display)
    if status == SUCCESS or ex.planner is not None:  # done, or a plan: nothing waits
        return value
    sr = StepResult(RUNNING, payload=None, started_at=clock.now(), attempts=1)
    ex.set_step(display, sr)
    ex.emit(STEP_START, path, {"payload": None})
    try:
        target: Any = entry.seconds if entry.mode == "sleep" else entry.until
        if entry.fn is not None:
            assert entry.signature is not None
            kwargs = callable_kwargs(scope, entry.signature, value, None)
            target = await call_user(entry.fn, entry.signature, kwargs, in_thread=False)
        if entry.mode == "sleep":
            seconds = float(target)
            until = None
        else:
            until = target
            seconds = max(0.0, until.timestamp() - clock.now())
        ex.emit(STEP_WAITING, path, {"seconds": seconds,
                                     "until": until.isoformat() if until else None})
        await clock.sleep(seconds)
    except asyncio.CancelledError:
        _finish(scope, sr, CANCELED, path)
        raise
    except USER_ERRORS as exc:
        raise _fail(scope, sr, path, index, f".{entry.mode} '{entry.id}'", exc) from exc
    _succeed(scope, sr, key, display, path, None)
    return value


_HANDLERS: dict[type, Callable[[Scope, Any, Any, int], Coroutine[Any, Any, Any]]] = {
    StepEntry: _on_step,
    ParallelEntry: _on_parallel,
    BranchEntry: _on_branch,
    MapEntry: _on_map,
    LoopEntry: _on_loop,
    ForeachEntry: _on_foreach,
    SleepEntry: _on_sleep,
}


# -- one step ----------------------------------------------------------------------------------


def _where(scope: Scope, part: str) -> tuple[str, tuple[str, ...], str]:
    path = (*scope.path_prefix, part)
    return scope.key_prefix + part, path, ".".join(path)


async def run_step(scope: Scope, step: Any, value: Any, *, key_part: str | None = None,
                   path_part: str | None = None) -> Any:
    """Run a step (or nested workflow) at its place in the run, or reuse its record."""
    ex = scope.execution
    path = (*scope.path_prefix, path_part or step.id)
    display = ".".join(path)
    key = scope.key_prefix + (key_part or step.id)
    if key == display:  # ``ex.recorded`` inlined: this runs once per step
        previous = ex.steps.get(display)
        status = previous.status if previous is not None else None
    else:
        record = ex.journal.get(key)
        status = record.get("status") if record else None
    if status == SUCCESS:
        return ex.live_output(key, display, step.output_schema)
    resuming = key in ex.targets
    if status == SUSPENDED and not resuming:
        if not step.is_workflow:
            ex.suspended.setdefault(display, key)
            raise Suspended()
        if not ex.targets_under(key):
            raise Suspended()  # nothing to resume inside: leave it as it is
    if resuming and status == SUSPENDED and at_breakpoint(ex, key, display):
        # Continued from its breakpoint: it runs now as if reached for the first time
        # (with the input the person gave, if any), and does not pause there again.
        target = ex.targets.pop(key)
        ex.suspended.pop(display, None)
        if isinstance(target, dict) and "input" in target:
            ex.given_inputs[key] = target["input"]  # stored in the run's meta
        resuming = False
    elif status is None and ex.breakpoints and _listed(ex, step, display):
        _pause(scope, step, value, key, path, display)
    if ex.given_inputs and key in ex.given_inputs:
        value = ex.given_inputs[key]
    if step.is_workflow:
        return await _run_nested(scope, step, value, key, path, display)
    return await _run_leaf(scope, step, value, key, path, display, resuming)


BREAKPOINT = "before"


def is_breakpoint_payload(payload: Any) -> bool:
    """Is ``payload`` what a breakpoint's pause records (not a step's own suspend)?"""
    return (isinstance(payload, dict) and payload.get("breakpoint") == BREAKPOINT
            and set(payload) == {"breakpoint", "input"})


def is_breakpoint_pause(sr: StepResult | None) -> bool:
    """Is ``sr`` a breakpoint's pause? Its payload has the pause's shape and the step never
    ran (no attempt): a step that suspends itself with that very payload ran once."""
    return (sr is not None and sr.status == SUSPENDED and not sr.attempts
            and is_breakpoint_payload(sr.suspend_payload))


def at_breakpoint(ex: Execution, key: str, display: str) -> bool:
    """Is the suspended execution at ``key`` paused at a breakpoint?"""
    sr = ex.steps.get(display)
    if key != display and not is_breakpoint_payload(
            ex.journal.get(key, {}).get("suspend_payload")):
        return False
    return is_breakpoint_pause(sr)


def _listed(ex: Execution, step: Any, display: str) -> bool:
    if "*" in ex.breakpoints:
        return not step.is_workflow  # "*": every step that runs code, one at a time
    return strip_items(display) in ex.breakpoints


def _pause(scope: Scope, step: Any, value: Any, key: str, path: tuple[str, ...],
           display: str) -> None:
    """Suspend before ``step`` runs: its breakpoint. The payload shows the input it would
    get, as JSON data; an input its schema refuses is left for the step to fail on."""
    ex = scope.execution
    try:
        value = validate(step.input_schema, value)
        shown = to_stored(value)
    except (ValidationError, Unstorable):
        return
    payload = {"breakpoint": BREAKPOINT, "input": shown}
    now = clock.now()
    sr = StepResult(SUSPENDED, payload=value, suspend_payload=payload, started_at=now,
                    ended_at=now)
    ex.set_step(display, sr)
    ex.emit(STEP_SUSPENDED, path, {"suspend_payload": payload})
    if key != display:
        ex.record(key, {"status": SUSPENDED, "suspend_payload": payload})
    ex.suspended[display] = key
    raise Suspended()


async def _run_nested(scope: Scope, wf: Any, value: Any, key: str, path: tuple[str, ...],
                      display: str) -> Any:
    ex = scope.execution
    sr = StepResult(RUNNING, payload=value, started_at=clock.now(), attempts=1)
    previous = ex.steps.get(display)
    ex.set_step(display, sr)
    try:
        value = validate(wf.input_schema, value)
    except ValidationError as exc:
        raise _invalid(scope, sr, path, f"workflow '{wf.id}' input", exc) from None
    sr.payload = value
    ex.emit(STEP_START, path, {"payload": value, "resumed": previous is not None})
    child = Scope(ex, wf, key + ".", path, value, nested_executor(wf, scope.executor),
                  scope.cache)
    try:
        out = await run_entries(child, wf, value)
    except Suspended:
        _finish(scope, sr, SUSPENDED, path)
        raise
    except StepFailed as failed:
        _finish(scope, sr, FAILED, path, error=failed.message)
        raise
    except asyncio.CancelledError:
        _finish(scope, sr, CANCELED, path)
        raise
    try:
        out = validate(wf.output_schema, out)
    except ValidationError as exc:
        raise _invalid(scope, sr, path, f"workflow '{wf.id}' output", exc) from None
    _succeed(scope, sr, key, display, path, out)
    return out


async def _run_leaf(scope: Scope, step: Any, value: Any, key: str, path: tuple[str, ...],
                    display: str, resuming: bool) -> Any:
    ex = scope.execution
    # On its first attempt from the moment it is recorded (as nested workflows, maps and
    # sleeps are), so a view or the store never shows a running step with 0 attempts.
    sr = StepResult(RUNNING, payload=value, started_at=clock.now(), attempts=1)
    resume_data = None
    if resuming:
        resume_data = ex.targets.pop(key)
        ex.suspended.pop(display, None)
        sr.resume_payload = resume_data
        if key == display:
            previous = ex.steps.get(display)
            sr.suspend_payload = previous.suspend_payload if previous is not None else None
        else:
            sr.suspend_payload = ex.journal.get(key, {}).get("suspend_payload")
    ex.set_step(display, sr)
    try:
        value = validate(step.input_schema, value)
    except ValidationError as exc:
        raise _invalid(scope, sr, path, f"step '{step.id}' input", exc) from None
    sr.payload = value
    if ex.planner is not None:  # wf.plan: runs nothing (core.plan)
        return ex.planner.reach(scope, step, value, key, display, sr)
    recorder = ex.recorder
    taken: Taken | None = None
    if (recorder is not None and not resuming and cache_on(step, scope)
            and key not in ex.given_inputs):
        taken = take(scope, step, value)
        if taken.key is None:
            taken = None
        else:
            entry = find(recorder.store, ex, taken.key)
            if entry is not None:
                reused = _reuse(scope, step, sr, key, display, path, value, entry)
                if reused is not _MISS:
                    return reused
    if recorder is not None and recorder.due:
        await recorder.sync()  # what finished before, and this step's start, are stored
    if ex.observed:
        ex.emit(STEP_START, path, {"payload": value, "resumed": resuming}, sr.started_at)
    reads: dict[str, None] | None = None
    if taken is not None and step.signature.reads_outputs:
        # Filled by get_step_result (core.params), for the cache entry. Left set after the
        # step (no reset on every exit path): a later step sets its own or reads nothing.
        reads = {}
        READS.set(reads)
    state_before = ex.state  # set_state replaces it: reuse replays a state it set
    retry = step.retries or scope.workflow.retry_config
    attempts = 1 + (retry.attempts if retry is not None else 0)
    remote = scope.executor
    for attempt in range(attempts):
        sr.attempts = attempt + 1
        kwargs = step_kwargs(scope, step, value, resume_data, attempt, path)
        try:
            if remote is not None:
                out = await run_remote(scope, remote, step, kwargs, path)
            elif step.timeout is None:
                if step.signature.is_async:  # inline the common case of call_user
                    out = await step.execute(**kwargs)
                else:
                    out = await call_user(step.execute, step.signature, kwargs,
                                          in_thread=True)
            else:
                async with asyncio.timeout(step.timeout):
                    out = await call_user(step.execute, step.signature, kwargs, in_thread=True)
        except SuspendSignal as sig:
            _suspend_step(scope, step, sr, key, display, path, sig.payload)
        except BailSignal as sig:
            _succeed(scope, sr, key, display, path, sig.result)
            raise Bail(sig.result) from None
        except asyncio.CancelledError:
            _finish(scope, sr, CANCELED, path)
            raise
        except USER_ERRORS as exc:
            if isinstance(exc, TimeoutError) and step.timeout is not None:
                exc = TimeoutError(f"timed out after {step.timeout:g} s")
            if attempt + 1 < attempts and not isinstance(exc, WorkflowDefinitionError):
                log.info("flownb: step '%s' attempt %d failed (%s); retrying", display,
                         attempt + 1, exc)
                if retry is not None and retry.delay:
                    await clock.sleep(retry.delay)
                continue
            raise _fail(scope, sr, path, None, f"step '{display}'", exc) from exc
        try:
            out = validate(step.output_schema, out)
        except ValidationError as exc:
            raise _invalid(scope, sr, path, f"step '{step.id}' output", exc) from None
        if taken is not None:  # reusable later: the recorder writes its entry with it
            ex.cache_pending[display] = (
                taken.key or "", taken.parts, read_digests(ex, reads) if reads else {},
                _effects(ex, step, state_before))
        _succeed(scope, sr, key, display, path, out)
        return out
    raise AssertionError("unreachable: the retry loop always returns or raises")


_MISS: Any = object()


def _reuse(scope: Scope, step: Any, sr: StepResult, key: str, display: str,
           path: tuple[str, ...], value: Any, entry: CacheEntry) -> Any:
    """Finish ``step`` with the output of an earlier execution (``entry``) instead of
    running it; ``_MISS`` if that output no longer validates."""
    ex = scope.execution
    try:
        out = from_stored(step.output_schema, entry.output)
    except ValidationError:
        return _MISS
    if entry.effects:  # the state it set, set again
        schema = ex.workflow.state_schema
        state = entry.effects[_STATE]
        ex.set_state(from_stored(schema, state) if schema is not None else state)
    sr.output = out
    sr.status = SUCCESS
    sr.attempts = 0
    sr.cached_from = entry.cached_from
    sr.ended_at = sr.started_at
    if ex.observed:
        ex.emit(STEP_START, path, {"payload": value, "resumed": False, "cached": True},
                sr.started_at)
        ex.emit(STEP_RESULT, path,
                {"status": SUCCESS, "output": out, "attempts": 0, "cached": True}, sr.ended_at)
    if key != display:
        ex.record(key, {"status": SUCCESS, "output": out})
    return out


def _effects(ex: Execution, step: Any, state_before: Any) -> dict[str, Any]:
    """What a step did besides its output, replayed when it is reused: the state it set
    (only if it called ``set_state``: each call puts a new object in ``ex.state``)."""
    if not step.signature.sets_state or ex.state is state_before:
        return {}
    return {_STATE: to_stored(ex.state)}


_STATE = "new_state"  # CacheEntry.effects: the state a step set


def _suspend_step(scope: Scope, step: Any, sr: StepResult, key: str, display: str,
                  path: tuple[str, ...], payload: Any) -> None:
    ex = scope.execution
    if step.suspend_schema is not None:
        try:
            payload = validate(step.suspend_schema, payload)
        except ValidationError as exc:
            raise _invalid(scope, sr, path, f"step '{step.id}' suspend payload", exc) from None
    sr.suspend_payload = payload
    sr.status = SUSPENDED
    sr.ended_at = clock.now()
    try:
        ex.emit(STEP_SUSPENDED, path, {"suspend_payload": payload})
    except Unstorable as exc:
        sr.suspend_payload = None
        raise _unstorable(scope, sr, path, exc) from None
    if key != display:
        ex.record(key, {"status": SUSPENDED, "suspend_payload": payload})
    ex.suspended[display] = key
    raise Suspended()


def _succeed(scope: Scope, sr: StepResult, key: str, display: str, path: tuple[str, ...],
             out: Any) -> None:
    ex = scope.execution
    sr.output = out
    sr.status = SUCCESS
    sr.ended_at = clock.now()
    if ex.observed:
        try:
            ex.emit(STEP_RESULT, path,
                    {"status": SUCCESS, "output": out, "attempts": sr.attempts}, sr.ended_at)
        except Unstorable as exc:  # the store refused it: this step fails, nothing is lost
            sr.output = None
            raise _unstorable(scope, sr, path, exc) from None
    if key != display:
        ex.record(key, {"status": SUCCESS, "output": out})


def _unstorable(scope: Scope, sr: StepResult, path: tuple[str, ...],
                exc: Unstorable) -> StepFailed:
    what = {"output": "output", "suspend_payload": "suspend payload",
            "payload": "input", "resume_payload": "resume data"}.get(exc.field or "", "value")
    text = f"its {what} cannot be stored as JSON: {exc.describe()}"
    _finish(scope, sr, FAILED, path, error=text)
    display = ".".join(path)
    return StepFailed(display, f"step '{display}' in workflow '{scope.workflow.id}': {text}",
                      exc)


def _finish(scope: Scope, sr: StepResult, status: str, path: tuple[str, ...],
            error: str | None = None) -> None:
    ex = scope.execution
    sr.status = status
    sr.error = error
    sr.ended_at = clock.now()
    if status == SUSPENDED:
        ex.emit(STEP_SUSPENDED, path, {"suspend_payload": None})
    else:
        payload: dict[str, Any] = {"status": status, "attempts": sr.attempts}
        if error is not None:
            payload["error"] = error
        ex.emit(STEP_RESULT, path, payload)


def _fail(scope: Scope, sr: StepResult, path: tuple[str, ...], index: int | None, what: str,
          exc: BaseException) -> StepFailed:
    if isinstance(exc, ExitInThread):
        exc = exc.original
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    _finish(scope, sr, FAILED, path, error=text)
    where = scope.construct(index, what) if index is not None else what
    return StepFailed(".".join(path), f"{where} failed: {text}", exc)


def _invalid(scope: Scope, sr: StepResult, path: tuple[str, ...], what: str,
             exc: ValidationError) -> StepFailed:
    fields = describe_field_errors(field_errors_from_pydantic(exc))
    text = f"{what} does not match its schema: {fields}"
    _finish(scope, sr, FAILED, path, error=text)
    display = ".".join(path)
    return StepFailed(display, f"step '{display}' in workflow '{scope.workflow.id}': {text}",
                      exc)
