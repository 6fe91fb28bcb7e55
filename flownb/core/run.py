"""``Run``: one execution of a workflow — start, stream, watch, cancel, resume, restart."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import (
    ConcurrentRunError,
    FlownbError,
    InputValidationError,
    RunNotFoundError,
    StorageError,
    WorkflowDefinitionError,
    describe_field_errors,
    field_errors_from_pydantic,
)
from . import clock, keys
from .changes import changes, current_prints
from .codec import DEEP, Unstorable, from_stored, to_stored
from .context import RuntimeContext
from .continuing import (
    NO_INPUT,
    prepare_fork_start,
    prepare_restart,
    prepare_resume,
    resolve_suspended,
    unstorable_fields,
)
from .engine import StepFailed, Suspended, run_entries
from .events import WORKFLOW_FINISH, WORKFLOW_START, WORKFLOW_SUSPENDED, Event
from .execution import CANCELED, FAILED, RUNNING, SUCCESS, SUSPENDED, Execution, Scope
from .feed import RunFeed
from .fork import PENDING, fork_run
from .recorder import Recorder, hydrate
from .results import StepResult, WorkflowResult
from .schema import validate

if TYPE_CHECKING:
    from ..storage.base import Snapshot, Store
    from .workflow import Workflow

__all__ = ["Run"]

log = logging.getLogger("flownb")

Watcher = Callable[[Event], Any]


class Run:
    """One execution of a workflow. Get one from ``wf.create_run()``.

    >>> run = wf.create_run()                                     # doctest: +SKIP
    >>> result = await run.start(input_data={"message": "hello"})  # doctest: +SKIP
    >>> result.status                                             # doctest: +SKIP
    'success'
    """

    def __init__(self, workflow: Workflow, run_id: str, store: Store | None) -> None:
        self.workflow = workflow
        self.run_id = run_id
        self.store = store
        self.status = "pending"
        self.result: WorkflowResult | None = None
        self.origin: str | None = None  # "module:attr" when known, for `flownb resume`
        self._ex = Execution(run_id, workflow)
        self._recorder: Recorder | None = None  # made by start/resume/restart, used by _drive
        self._new_input: Any = _NOT_STORED  # the input of a run _drive must store first
        self._version = 0
        self._created_at: float | None = None
        self._task: asyncio.Task[Any] | None = None
        self._cancel_requested = False
        self._async_watchers: list[_AsyncWatcher] = []
        self._fresh = False  # loaded from the store just now and not used since
        self._graph: dict[str, Any] | None = None  # the stored graph description
        self.parent_run_id: str | None = None  # forks (SPEC §3d): the run it was forked from
        self.forked_at: str | None = None  # ... and the step it starts again at

    # -- creation ---------------------------------------------------------------------------

    @classmethod
    def _create(cls, workflow: Workflow, run_id: str | None) -> Run:
        """A new run, or the stored run ``run_id`` reattached; a ``run_id`` that nothing
        stores makes a new run with that id (Mastra's ``createRun({ runId })``)."""
        from ..config import resolve_store

        if not workflow.committed:
            raise WorkflowDefinitionError(
                f"workflow '{workflow.id}' is not committed; call .commit() before creating runs",
                workflow_id=workflow.id)
        store = resolve_store(workflow.storage)
        if run_id is None:
            return cls(workflow, clock.new_run_id(), store)
        if not isinstance(run_id, str) or not run_id:
            raise FlownbError(f"workflow '{workflow.id}': run_id must be a non-empty string, "
                              f"got {run_id!r}", workflow_id=workflow.id)
        run = cls(workflow, run_id, store)
        snap = store.load(run_id) if store is not None else None
        if snap is not None:
            run._load(run._check_owner(snap))
            run._fresh = True
        return run

    def _fetch(self) -> Snapshot:
        assert self.store is not None
        snap = self.store.load(self.run_id)
        if snap is None:
            raise RunNotFoundError(
                f"no stored run '{self.run_id}' for workflow '{self.workflow.id}' (it was "
                "never started, or was deleted)", workflow_id=self.workflow.id,
                run_id=self.run_id)
        return self._check_owner(snap)

    def _check_owner(self, snap: Snapshot) -> Snapshot:
        wf = self.workflow
        if snap.workflow_id != wf.id:
            raise RunNotFoundError(
                f"run '{self.run_id}' belongs to workflow '{snap.workflow_id}', not '{wf.id}'",
                workflow_id=wf.id, run_id=self.run_id)
        self._graph = snap.graph
        return snap

    def _load(self, snap: Snapshot) -> None:
        hydrate(self._ex, snap)
        self.status = snap.status
        self._version = snap.version
        self._created_at = snap.created_at
        self.origin = snap.meta.get("origin", self.origin)
        self.parent_run_id = snap.meta.get("parent_run_id")
        self.forked_at = snap.meta.get("forked_at")
        if snap.status in (SUCCESS, FAILED, SUSPENDED, CANCELED):
            result = snap.meta.get("result")
            if snap.status == SUCCESS and result is not None:
                with contextlib.suppress(ValidationError):  # a changed definition: keep JSON
                    result = from_stored(self.workflow.output_schema, result)
            self.result = WorkflowResult(
                status=snap.status, run_id=self.run_id, workflow_id=self.workflow.id,
                steps=dict(self._ex.steps), result=result, error=snap.meta.get("error"),
                suspended=self._ex.suspended_paths(), state=self._ex.state)

    # -- what a view reads ----------------------------------------------------------------

    @property
    def steps(self) -> dict[str, StepResult]:
        """Every step's result so far (live while the run executes)."""
        return self._ex.steps

    @property
    def suspended(self) -> list[list[str]]:
        """Paths of the steps waiting for ``resume``."""
        return self._ex.suspended_paths()

    @property
    def state(self) -> Any:
        return self._ex.state

    @property
    def loop_iterations(self) -> dict[str, int]:
        """Loop step path (``"outer.inc"``, no item or iteration markers) → the iterations
        its condition decided so far; a loop inside a foreach item or another loop counts
        its furthest instance."""
        return keys.loop_iterations(self._ex.journal)

    def changes(self) -> list[dict[str, str]]:
        """What differs between this stored run and the workflow's current definition
        (SPEC §4b): ``{"path", "kind": "added" | "removed" | "code" | "schema", "detail"}``
        in graph order; ``[]`` when nothing changed or nothing is stored."""
        return changes(self._ex, self._graph)

    def suspended_step(self, step: Any = None) -> tuple[str, Any]:
        """The ``(path, Step)`` of the suspended step ``step`` names (as ``resume`` reads
        ``step=``); what a resume form or prompt needs: ``Step.resume_schema`` says what to
        ask, ``run.steps[path].suspend_payload`` what the step said. Raises ``ResumeError``
        (listing the suspended steps) when it names none, or several."""
        display, _key = resolve_suspended(self, step)
        return display, self._ex.step_by_display(display)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        """In a Jupyter kernel: the live view (``flownb.notebook.RunView``); elsewhere the
        step graph coloured by status, as SVG."""
        from ..notebook.display import run_mimebundle

        return run_mimebundle(self, include, exclude)

    def _ipython_display_(self) -> None:
        """IPython's ``display(run)``: the live view with a display id in a Jupyter kernel
        (its saved HTML can then show the run's end), the SVG graph elsewhere."""
        from ..notebook.display import display_run

        display_run(self)

    def to_html(self, path: Any = None) -> str:
        """A standalone HTML report of this run (graph with statuses, timeline, step table,
        inputs, outputs and errors; opens with no network access). Written to ``path`` when
        given (a ``str`` or ``Path``); the HTML is returned either way.

        >>> run.to_html("report.html")                                # doctest: +SKIP
        """
        from ..render.report import run_report

        text = run_report(self, input_data=self._ex.input)
        if path is not None:
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
        return text

    def __repr__(self) -> str:
        return f"Run(workflow={self.workflow.id!r}, run_id={self.run_id!r}, status={self.status!r})"

    def __rich__(self) -> Any:
        """``rich`` display: the tree of step statuses, then the result (``flownb.terminal``)."""
        from ..terminal.view import run_renderable

        return run_renderable(self)

    # -- observing ----------------------------------------------------------------------------

    def watch(self, callback: Watcher) -> Callable[[], None]:
        """Call ``callback(event)`` for every event; returns a function that unsubscribes.

        An async callback runs in its own task, in event order; the run waits for it to
        catch up before ``start()``/``resume()`` return.
        """
        target: Watcher = callback
        if inspect.iscoroutinefunction(callback):
            target = _AsyncWatcher(callback)
            self._async_watchers.append(target)
        entry = (target, False)
        self._ex.listen(entry)

        def unsubscribe() -> None:
            self._ex.unlisten(entry)
            if isinstance(target, _AsyncWatcher) and target in self._async_watchers:
                self._async_watchers.remove(target)
                target.close()

        return unsubscribe

    def feed(self, on_change: Callable[[Event | None], Any] | None = None, *,
             interval: float = 0.1, keep: int = 200) -> RunFeed:
        """Follow the run to draw it: a bounded, coalesced feed (see ``flownb.core.feed``).

        Every event is counted (``feed.count``) and the last ``keep`` kept
        (``feed.events(last=n)``); ``on_change(None)`` is called at most once per
        ``interval`` seconds while events come, and ``on_change(event)`` at once for
        ``workflow-start``, ``workflow-suspended`` and ``workflow-finish``. ``feed.close()``
        stops it. Every flownb view follows runs this way; use ``watch`` to see each event.
        """
        return RunFeed(self._ex, on_change, interval=interval, keep=keep)

    # -- starting -----------------------------------------------------------------------------

    async def start(self, input_data: Any = None, *,
                    runtime_context: RuntimeContext | Mapping[str, Any] | None = None,
                    initial_state: Any = None,
                    breakpoints: Iterable[str] | str | None = None,
                    cache: bool | None = None) -> WorkflowResult:
        """Validate the input, run the workflow and return its ``WorkflowResult``.

        Invalid input raises ``InputValidationError`` before anything runs or is stored. A
        failing step does not raise: the result's status is ``"failed"``.
        ``breakpoints``: step paths (``"outer.inner"``; ``"*"``: every step) to pause
        before; continue with ``resume(step=...)`` or ``resume(step=..., input_data=...)``.
        ``cache``: reuse of earlier step executions in this run (SPEC §3d): ``None`` follows
        the steps', workflows' and ``configure`` settings, ``False`` reuses nothing, ``True``
        turns it on where no step or workflow turned it off.
        """
        with self._naming_storage():
            self._prepare_start(input_data, runtime_context, initial_state, breakpoints,
                                cache)
        return await self._drive(resumed=False)

    def _prepare_start(self, input_data: Any, runtime_context: Any, initial_state: Any,
                       breakpoints: Iterable[str] | str | None,
                       cache: bool | None = None) -> None:
        wf = self.workflow
        if self.status == PENDING and self.parent_run_id is not None and not self._ex.active:
            prepare_fork_start(self, input_data, runtime_context, initial_state, breakpoints,
                                     cache)
            return
        if self.status != "pending" or self._ex.active:
            raise ConcurrentRunError(
                f"run '{self.run_id}' of workflow '{wf.id}' was already started (its status "
                f"is {self.status}); create a new run with wf.create_run()",
                workflow_id=wf.id, run_id=self.run_id)
        ex = self._ex
        listed = self._breakpoints(breakpoints)
        try:
            value = validate(wf.input_schema, input_data)
        except ValidationError as exc:
            errors = field_errors_from_pydantic(exc)
            raise InputValidationError(
                f"invalid input for workflow '{wf.id}': {describe_field_errors(errors)}",
                workflow_id=wf.id, field_errors=errors) from None
        except RecursionError:
            raise self._unstorable_input("input", Unstorable(DEEP)) from None
        state = self._initial_state(initial_state)
        stored_input = None
        if self.store is not None:
            stored_input = self._storable(value, "input")
            self._storable(state, "initial_state")
        ex.input, ex.state = value, state
        ex.breakpoints = listed
        if cache is not None and not isinstance(cache, bool):
            raise TypeError(f"cache= takes True, False or None, not {cache!r}")
        ex.cache = cache
        ex.runtime_context = RuntimeContext.of(runtime_context)
        self._created_at = clock.now()
        if self.store is not None:
            ex.prints = current_prints(wf)  # what each step's code is (run.changes())
            self._recorder = Recorder(self.store, ex, 0, self.origin)
            self._new_input = stored_input  # stored by _drive, before anything runs
        self.status = RUNNING

    def _breakpoints(self, breakpoints: Iterable[str] | str | None) -> frozenset[str]:
        """The step paths to pause before, checked against the workflow's steps."""
        if breakpoints is None:
            return frozenset()
        wf = self.workflow
        names = [breakpoints] if isinstance(breakpoints, str) else list(breakpoints)
        known = wf.steps
        listed: set[str] = set()
        unknown: list[str] = []
        for name in names:
            text = ".".join(str(p) for p in name) if isinstance(name, (list, tuple)) else (
                getattr(name, "id", name))
            if text == "*" or (isinstance(text, str) and text in known):
                listed.add(text)
            else:
                unknown.append(repr(text))
        if unknown:
            raise FlownbError(
                f"workflow '{wf.id}' has no step {', '.join(unknown)} to set a breakpoint on; "
                f"its steps: {', '.join(repr(p) for p in known) or 'none'} (or '*': every "
                "step)", workflow_id=wf.id)
        return frozenset(listed)

    def _storable(self, value: Any, what: str) -> Any:
        try:
            return to_stored(value)
        except Unstorable as exc:
            raise self._unstorable_input(what, exc) from None

    def _unstorable_input(self, what: str, exc: Unstorable) -> InputValidationError:
        wf = self.workflow
        return InputValidationError(
            f"invalid {what} for workflow '{wf.id}': it cannot be stored as JSON: "
            f"{exc.describe()}", workflow_id=wf.id, field_errors=unstorable_fields(exc))

    def _initial_state(self, initial_state: Any) -> Any:
        schema = self.workflow.state_schema
        if schema is None:
            return {} if initial_state is None else initial_state
        try:
            return validate(schema, {} if initial_state is None else initial_state)
        except ValidationError as exc:
            errors = field_errors_from_pydantic(exc)
            raise InputValidationError(
                f"invalid initial_state for workflow '{self.workflow.id}': "
                f"{describe_field_errors(errors)}",
                workflow_id=self.workflow.id, field_errors=errors) from None

    def stream(self, input_data: Any = None, *,
               runtime_context: RuntimeContext | Mapping[str, Any] | None = None,
               initial_state: Any = None,
               breakpoints: Iterable[str] | str | None = None,
               cache: bool | None = None) -> AsyncIterator[Event]:
        """Start the run and yield its events, ending with ``workflow-finish``.

        Afterwards ``run.result`` holds the ``WorkflowResult``. Closing the iterator
        early cancels the run. ``breakpoints`` and ``cache`` as for ``start``.
        """
        with self._naming_storage():
            self._prepare_start(input_data, runtime_context, initial_state, breakpoints,
                                cache)
        return self._stream(lambda: self._drive(resumed=False))

    # -- resuming -----------------------------------------------------------------------------

    async def resume(self, resume_data: Any = None, step: Any = None, *,
                     input_data: Any = NO_INPUT,
                     runtime_context: RuntimeContext | Mapping[str, Any] | None = None,
                     migrate: Mapping[str, Callable[[Any], Any]] | None = None,
                     ) -> WorkflowResult:
        """Resume a suspended step with ``resume_data``; the rest of the run continues.

        ``step`` is a ``Step``, an id, a dotted path or a list of path parts; it may be
        left out when exactly one step is suspended. Invalid data raises
        ``ResumeValidationError`` and leaves the run (and its snapshot) untouched.
        A step paused at its breakpoint takes no ``resume_data``: it runs with its input,
        or with ``input_data`` instead (invalid input raises ``InputValidationError`` and
        the run stays paused).
        ``migrate={"step-id": fn}`` converts that step's stored output (``fn(old_json)``,
        validated by its current schema) to carry the run across a schema change (§4b).
        """
        with self._naming_storage():
            prepare_resume(self, resume_data, step, runtime_context, input_data, migrate)
        return await self._drive(resumed=True)

    def stream_resume(self, resume_data: Any = None, step: Any = None, *,
                      input_data: Any = NO_INPUT,
                      runtime_context: RuntimeContext | Mapping[str, Any] | None = None,
                      migrate: Mapping[str, Callable[[Any], Any]] | None = None,
                      ) -> AsyncIterator[Event]:
        """``resume`` as a stream of the resumed part's events."""
        with self._naming_storage():
            prepare_resume(self, resume_data, step, runtime_context, input_data, migrate)
        return self._stream(lambda: self._drive(resumed=True))

    async def restart(self, *, runtime_context: RuntimeContext | Mapping[str, Any] | None = None,
                      migrate: Mapping[str, Callable[[Any], Any]] | None = None,
                      ) -> WorkflowResult:
        """Continue a run whose process died mid-run (stored status ``running``).

        Completed steps are reused from the snapshot; only the interrupted step runs again.
        Call it only when the process that ran it is gone.
        """
        with self._naming_storage():
            prepare_restart(self, runtime_context, migrate)
        return await self._drive(resumed=True)

    # -- forking --------------------------------------------------------------------------------

    def fork(self, step: Any, *, input_data: Any = None, resume_data: Any = None,
             state: Any = None, run_id: str | None = None,
             migrate: Mapping[str, Callable[[Any], Any]] | None = None) -> Run:
        """A new run that starts again at ``step`` (SPEC §3d): stored, not started; this run
        never changes. What this run recorded before ``step`` is copied, not re-run;
        ``step`` runs again with ``input_data`` (default: its original input) and ``state``
        (default: the state it saw); what follows runs with the current
        definition. ``resume_data`` answers ``step`` if it suspends. ``await
        fork.start()`` runs it.

        >>> fork = run.fork("score", input_data={"text": "shorter"})   # doctest: +SKIP
        >>> result = await fork.start()                                 # doctest: +SKIP
        """
        with self._naming_storage():
            return fork_run(self, step, input_data=NO_INPUT if input_data is None
                            else input_data, resume_data=resume_data, state=state,
                            run_id=run_id, migrate=migrate, no_input=NO_INPUT)

    # -- cancelling -----------------------------------------------------------------------------

    async def cancel(self) -> None:
        """Cancel the running steps; the pending ``start()``/``resume()`` returns a
        ``canceled`` result."""
        task = self._task
        if not self._ex.active or task is None or task.done():
            return
        self._cancel_requested = True
        if task is asyncio.current_task():
            raise asyncio.CancelledError()
        task.cancel()
        await asyncio.sleep(0)

    # -- driving ----------------------------------------------------------------------------------

    async def _drive(self, *, resumed: bool) -> WorkflowResult:
        with self._naming_storage():
            return await self._drive_named(resumed=resumed)

    @contextlib.contextmanager
    def _naming_storage(self) -> Iterator[None]:
        """A store's ``StorageError`` knows the file, not the run: add the run and its
        workflow to it (every flownb message names the workflow)."""
        try:
            yield
        except StorageError as exc:
            if exc.workflow_id is not None:
                raise
            wf = self.workflow
            raise StorageError(
                f"run '{self.run_id}' of workflow '{wf.id}': {exc.message}", store=exc.store,
                operation=exc.operation, workflow_id=wf.id, run_id=self.run_id) from exc

    async def _drive_named(self, *, resumed: bool) -> WorkflowResult:
        ex = self._ex
        wf = self.workflow
        if self._new_input is not _NOT_STORED and self._recorder is not None:
            stored_input, self._new_input = self._new_input, _NOT_STORED
            try:
                await self._recorder.begin(stored_input, clock.now()
                                           if self._created_at is None else self._created_at)
            except BaseException:
                # Not stored (its id is taken, or the store failed): nothing ran.
                self._recorder, self.status = None, "pending"
                raise
            self._version = self._recorder.version
        ex.loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._ex.active = True
        self._cancel_requested = False
        recorder, self._recorder = self._recorder, None
        critical = (recorder, True) if recorder is not None else None
        ex.storing = recorder is not None
        ex.recorder = recorder
        if critical is not None:
            ex.listen(critical, first=True)
        logging_entry = None
        if wf.logger is not None:
            from .log import log_observer

            logging_entry = (log_observer(wf.logger), False)
            ex.listen(logging_entry)
        status, output, error, exception, reraise = RUNNING, None, None, None, False
        try:
            ex.emit(WORKFLOW_START, (), {"input": ex.input, "resumed": resumed})
            try:
                output = await run_entries(Scope(ex, wf, "", (), ex.input), wf, ex.input)
                output = validate(wf.output_schema, output)
                status = SUCCESS
            except Suspended:
                status = SUSPENDED
            except StepFailed as failed:
                status, error, exception = FAILED, failed.message, failed.cause
            except ValidationError as exc:
                fields = describe_field_errors(field_errors_from_pydantic(exc))
                status, exception = FAILED, exc
                error = f"workflow '{wf.id}' output does not match its output_schema: {fields}"
            except asyncio.CancelledError:
                status = CANCELED
                error = f"run '{self.run_id}' of workflow '{wf.id}' was canceled"
                if self._cancel_requested and self._task is not None:
                    self._task.uncancel()
                else:
                    reraise = True
            if status == SUCCESS and recorder is not None:
                try:
                    to_stored(output)
                except Unstorable as exc:
                    status, exception = FAILED, exc
                    error = (f"workflow '{wf.id}' output cannot be stored as JSON: "
                             f"{exc.describe()}")
            ex.targets.clear()
            self.result = WorkflowResult(
                status=status, run_id=self.run_id, workflow_id=wf.id, steps=dict(ex.steps),
                result=output if status == SUCCESS else None,
                error=error if status in (FAILED, CANCELED) else None, exception=exception,
                suspended=ex.suspended_paths() if status == SUSPENDED else [],
                state=ex.state)
            self.status = status
            try:
                if recorder is not None:  # stored before any observer hears of the end
                    await recorder.finish(status, self.result.result, self.result.error)
                if status == SUSPENDED:
                    ex.emit(WORKFLOW_SUSPENDED, (), {"suspended": self.result.suspended})
                if any(not critical for _, critical in ex.listeners):
                    ex.emit(WORKFLOW_FINISH, (), self.result.to_dict())  # same for everyone
                elif ex.observed:  # only the store and feeds: they read run.result
                    ex.emit(WORKFLOW_FINISH, (), {"status": status})
            except BaseException:
                # When the final write fails, the run stays "running" here as in the
                # store, for restart().
                self.status = RUNNING
                raise
            for watcher in list(self._async_watchers):
                await watcher.drain()
        finally:
            for entry in (critical, logging_entry):
                if entry is not None:
                    ex.unlisten(entry)
            ex.recorder = None
            self._ex.active = False
            if recorder is not None:
                self._version = recorder.version
        if reraise:
            raise asyncio.CancelledError()
        return self.result

    def _stream(self, drive: Callable[[], Any]) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        unsubscribe = self.watch(queue.put_nowait)

        async def events() -> AsyncIterator[Event]:
            task = asyncio.ensure_future(drive())
            task.add_done_callback(lambda _: queue.put_nowait(None))
            try:
                while True:
                    event = await queue.get()
                    if event is None:
                        break
                    yield event
                task.result()  # surface an unexpected error of the run itself
            finally:
                unsubscribe()
                if not task.done():
                    self._cancel_requested = True
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)

        return events()


_NOT_STORED: Any = object()




class _AsyncWatcher:
    """Feeds an async callback from a queue, so events reach it in order."""

    def __init__(self, fn: Callable[[Event], Any]) -> None:
        self.fn = fn
        self.queue: asyncio.Queue[Event] | None = None
        self.task: asyncio.Task[None] | None = None

    def __call__(self, event: Event) -> None:
        if self.queue is None or self.task is None or self.task.done():
            self.queue = asyncio.Queue()
            self.task = asyncio.get_running_loop().create_task(self._pump(self.queue))
        self.queue.put_nowait(event)

    async def _pump(self, queue: asyncio.Queue[Event]) -> None:
        while True:
            event = await queue.get()
            try:
                await self.fn(event)
            except Exception:
                log.exception("flownb: an async watcher failed on %s", event.type)
            finally:
                queue.task_done()

    async def drain(self) -> None:
        if self.queue is not None:
            await self.queue.join()
        self.close()

    def close(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.task = None
        self.queue = None
