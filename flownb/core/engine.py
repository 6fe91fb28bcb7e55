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
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from ..errors import WorkflowDefinitionError, describe_field_errors, field_errors_from_pydantic
from . import clock
from .breakpoints import at_breakpoint, listed, pause
from .codec import Unstorable
from .events import (
    STEP_RESULT,
    STEP_START,
    STEP_SUSPENDED,
    STEP_WAITING,
)
from .execution import (
    CANCELED,
    FAILED,
    RUNNING,
    SUCCESS,
    SUSPENDED,
    Scope,
)
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
from .keys import decision_key, item_part, iteration_part, verdict_key
from .mapping import ConstSource, ContextSource, InitSource, MapSource, StepSource, pluck
from .params import READS
from .remote import item_scope, nested_executor, run_remote
from .results import StepResult
from .reuse import MISS, Taken, cache_on, effects_of, find, read_digests, reuse_entry, take
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

__all__ = ["StepFailed", "Suspended", "run_entries", "run_step"]

log = logging.getLogger("flownb")


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

    with _side_by_side(scope, len(entry.steps)):
        outputs = await gather_all([one(s) for s in entry.steps])
    failures = [o for o in outputs if isinstance(o, StepFailed)]
    if failures:
        raise _several_failed(failures, "branches of .parallel")
    if any(o is _SUSPENDED_MARK for o in outputs):
        raise Suspended()
    return {s.id: o for s, o in zip(entry.steps, outputs, strict=True)}


_SUSPENDED_MARK = object()


@contextmanager
def _side_by_side(scope: Scope, tasks: int) -> Iterator[None]:
    """While ``tasks`` > 1 of the run's steps run side by side, their writes wait for the
    loop's next turn and share a commit (``Recorder.sync``)."""
    recorder = scope.execution.recorder if tasks > 1 else None
    if recorder is None:
        yield
        return
    recorder.side_by_side += 1
    try:
        yield
    finally:
        recorder.side_by_side -= 1


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

    workers = min(entry.concurrency, len(items)) or 1
    try:
        with _side_by_side(scope, workers):
            await gather_all([worker() for _ in range(workers)])
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
    elif status is None and ex.breakpoints and listed(ex, step, display):
        pause(scope, step, value, key, path, display)
    if ex.given_inputs and key in ex.given_inputs:
        value = ex.given_inputs[key]
    if step.is_workflow:
        return await _run_nested(scope, step, value, key, path, display)
    return await _run_leaf(scope, step, value, key, path, display, resuming)


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
    started_at = clock.now()
    sr = StepResult(RUNNING, payload=value, started_at=started_at, attempts=1)
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
                reused = reuse_entry(scope, step, sr, key, display, path, value, entry)
                if reused is not MISS:
                    return reused
    if recorder is not None and recorder.due:
        await recorder.sync()  # what finished before, and this step's start, are stored
    if ex.observed:
        buffer = ex.feed_only
        if buffer is not None and not resuming:  # feeds alone: the payload when read
            buffer.count += 1
            buffer.recent.append((STEP_START, path, sr, started_at))
        else:
            ex.emit(STEP_START, path, {"payload": value, "resumed": resuming}, started_at)
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
                effects_of(ex, step, state_before))
        _succeed(scope, sr, key, display, path, out)
        return out
    raise AssertionError("unreachable: the retry loop always returns or raises")


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
    sr.ended_at = ended_at = clock.now()
    if ex.observed:
        buffer = ex.feed_only
        if buffer is not None:  # feeds alone (core.feed builds the payload when read)
            buffer.count += 1
            buffer.recent.append((STEP_RESULT, path, sr, ended_at))
        else:
            try:
                ex.emit(STEP_RESULT, path, {"status": SUCCESS, "output": out,
                                            "attempts": sr.attempts}, ended_at)
            except Unstorable as exc:  # the store refused it: the step fails, nothing lost
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
