"""A run's state while it executes (``Execution``) and where a piece of the graph runs
(``Scope``): what the engine's handlers (``core.engine``) read and change.

``Execution`` holds the records (``steps``, the ``journal``), the state, the resume
targets, the breakpoints, the reuse settings, and the run's observers: it emits every
``Event`` (the feeds' buffer first, then the listeners, the recorder being the first).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import clock
from .codec import from_stored, to_stored
from .context import RuntimeContext
from .events import Event
from .feed import EventBuffer
from .keys import strip_items
from .remote import top_executor
from .results import StepResult

if TYPE_CHECKING:
    from .recorder import Recorder

__all__ = ["CANCELED", "FAILED", "RUNNING", "SUCCESS", "SUSPENDED", "Execution", "Listener",
           "Scope"]

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
        # The feeds' buffer when nothing else observes: the engine then keeps a step's
        # start and success as (type, path, StepResult, time), its payload built only if
        # a feed reads it (core.feed), and skips the call of ``emit``
        self.feed_only: EventBuffer | None = None
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
        self.observers_changed()

    def unlisten(self, entry: Listener) -> None:
        if entry in self.listeners:
            rest = list(self.listeners)
            rest.remove(entry)
            self.listeners = tuple(rest)
        self.observers_changed()

    def observers_changed(self) -> None:
        """Set ``observed`` and ``feed_only`` from the listeners and the feeds' buffer."""
        self.observed = bool(self.listeners) or self.buffer is not None
        self.feed_only = None if self.listeners else self.buffer

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
