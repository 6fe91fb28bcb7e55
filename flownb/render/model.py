"""The view model: what a person sees of a run, computed once, as plain data.

Every face of a run draws this and computes nothing of its own: the notebook's live view
(HTML now; widget traits for the browser next), the terminal's live tree and plain lines,
``console.print(run)`` and ``flownb inspect``. A :class:`RunModeler` is made once per view
from the graph description; each redraw asks it for a :class:`RunModel` of the run's state
now. Throttling is the feed's business (``run.feed``); the model is what each redraw shows.

Pure Python (the standard library and flownb's own pure layers): the clock is injected, so
tests compare exact values, and the model is JSON-able (``model.to_dict()``) so the browser
can receive it as it is.

>>> modeler = RunModeler(wf.graph.description, now=lambda: 12.5)     # doctest: +SKIP
>>> model = modeler.of_run(run)                                      # doctest: +SKIP
>>> model.nodes["embed"].progress.done, model.nodes["embed"].progress.total  # doctest: +SKIP
(3, 8)

What the model holds, and the rules that make it:

* **Statuses**, one per graph node: the results drawn on a node (a foreach's items, a step
  inside a foreach's nested workflow) show the one that matters most (``failed``, then
  ``running``, ``suspended``, ``canceled``, ``success``); a node with no result is
  ``pending``, or ``skipped`` when the run went past it: a branch arm once another arm
  started or a later construct did, everything inside a skipped nested workflow, and every
  node a successful run never reached.
* **Times**: a node's own result's duration, or its elapsed time so far while it runs
  (``running`` is then true); a node with only items or instances spans the first start to
  the last end. The run spans its first step's start (or ``started``) to its last end, or
  to now while it runs.
* **Progress** of a foreach: ``total`` items from its start (its input list), ``done`` the
  items that succeeded, ``counts`` the items started by status, and the first unfinished
  items.
* **Text**: ``error`` is an error's first line and ``output``/``payload`` previews are
  one-line JSON, both with control characters escaped as flownb shows all user text; ids
  and paths are kept as they are (faces escape them where they draw them).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import chain, groupby
from operator import attrgetter, is_, itemgetter
from typing import Any, cast

from .._text import escape_controls, escape_json_controls
from ..core import clock, keys
from ..core.description import Node, top_entries
from ..core.description import entry_nodes as _entry_nodes
from ..core.results import StepResult
from ..core.schema import to_jsonable
from .status import _NODES, _RANK, graph_path

__all__ = [
    "OPEN_ITEMS",
    "EventRow",
    "ItemView",
    "NodeView",
    "Notes",
    "Progress",
    "Row",
    "RunModel",
    "RunModeler",
    "first_line",
    "preview",
    "step_seconds",
    "waiting_text",
]

OPEN_ITEMS = 5
"""How many unfinished items of a foreach the model lists (``Progress.open``)."""

PREVIEW = 80
"""Characters of an output preview."""

EVENT_PREVIEW = 100
"""Characters of an event's payload preview."""

_ACTIVE = frozenset({"running", "suspended", "failed", "canceled"})
_LOOPS = frozenset({"dountil", "dowhile"})


# -- the data -------------------------------------------------------------------------------------


@dataclass(slots=True)
class ItemView:
    """One item of a foreach (``"each[3]"``): its status, time, attempts and error."""

    path: str
    status: str
    seconds: float | None = None
    running: bool = False
    attempts: int = 0
    error: str | None = None


@dataclass(slots=True)
class Progress:
    """A foreach's items: ``done`` of ``total`` succeeded; ``counts`` the items started, by
    status; ``open`` the first :data:`OPEN_ITEMS` not done, ``more`` how many others."""

    done: int = 0
    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    open: list[ItemView] = field(default_factory=list)
    more: int = 0


@dataclass(slots=True)
class NodeView:
    """One node of the graph as shown.

    ``kind`` is ``step``, ``workflow``, ``map`` or ``sleep``; ``holder`` the construct that
    runs it (``then``, ``parallel``, ``branch``, ``dountil``, ``dowhile``, ``foreach``,
    ``map``, ``sleep``; ``""`` for a result the description does not name). ``seconds`` is
    its duration, or its time so far when ``running``. ``attempts`` is its own result's (the
    most of any when it has no own result). ``iterations`` counts a loop's runs so far
    (``None`` for other nodes), ``progress`` a foreach's items (``None`` for others).
    ``emitted`` is the latest payload it sent with ``emit`` and ``waiting`` what a sleep
    waits for (when the caller saw those events, see :class:`Notes`). ``reused`` says
    that its output was reused from an earlier run instead of run (SPEC §3d: its own
    result has ``cached_from``; a node without one, when every result drawn on it was
    reused), ``cached_from`` where (its own result's, else the first of them).
    """

    path: str
    kind: str = "step"
    holder: str = ""
    status: str = "pending"
    started_at: float | None = None
    ended_at: float | None = None
    seconds: float | None = None
    running: bool = False
    attempts: int = 0
    error: str | None = None
    output: str = ""
    iterations: int | None = None
    progress: Progress | None = None
    emitted: Any = None
    waiting: str | None = None
    reused: bool = False
    cached_from: dict[str, str] | None = None


@dataclass(slots=True)
class Row:
    """A row of the step table: a node that has results, in the order it started (whether
    it was reused is its node's: ``model.nodes[row.path].reused``, :attr:`RunModel.reused`).
    """

    path: str
    status: str
    seconds: float | None
    running: bool
    attempts: int
    output: str
    error: str | None
    progress: Progress | None = None


@dataclass(slots=True)
class Suspension:
    """A step waiting to be resumed: its path (``"outer.approve"``, ``"review[1]"``), the
    payload it suspended with (JSON-able) and when it suspended."""

    path: str
    payload: Any = None
    at: float | None = None


@dataclass(slots=True)
class EventRow:
    """An event of the log: ``offset`` is seconds since the run's start (``None`` when not
    known), ``payload`` a one-line preview (a ``workflow-finish`` shows its status only)."""

    type: str
    path: str
    timestamp: float
    offset: float | None
    payload: str


@dataclass(slots=True)
class RunModel:
    """A run as shown now. ``nodes`` maps each graph node (drawing order, then nodes of
    results the description does not name) to its :class:`NodeView`; ``rows`` is the step
    table; ``suspended`` the steps waiting for a person; ``events`` the recent events and
    ``events_total`` how many there were in all."""

    run_id: str
    workflow_id: str
    status: str
    started_at: float | None
    seconds: float | None
    running: bool
    error: str | None
    nodes: dict[str, NodeView]
    rows: list[Row]
    suspended: list[Suspension]
    events: list[EventRow]
    events_total: int

    @property
    def statuses(self) -> dict[str, str]:
        """Graph node path → its status (what colours the graph)."""
        return {path: node.status for path, node in self.nodes.items()}

    @property
    def reused(self) -> list[str]:
        """The nodes whose output was reused from an earlier run, in drawing order."""
        return [path for path, node in self.nodes.items() if node.reused]

    def to_dict(self) -> dict[str, Any]:
        """The model as JSON-able data; ``nodes`` as a list in drawing order."""
        data = asdict(self)
        data["nodes"] = list(data["nodes"].values())
        return data


# -- small pure helpers -----------------------------------------------------------------------


def first_line(text: Any) -> str:
    """The first line of an error or description, control characters escaped.

    >>> first_line("ValueError: no\\nsecond line"), first_line("  \\x1b[2J boom ")
    ('ValueError: no', '\\\\x1b[2J boom')
    """
    block = escape_controls(str(text), keep_newlines=True).strip()
    return escape_controls(block.splitlines()[0]) if block else ""


def preview(value: Any, limit: int = PREVIEW) -> str:
    """A one-line JSON preview of ``value`` cut at ``limit`` characters (``""`` for
    ``None``), control characters as ``\\uNNNN``. A long list or mapping is cut before it
    is encoded, so previewing the outputs of a 5,000-item foreach costs what 80 cost.

    >>> preview({"a": [1, 2]}), preview(list(range(100)), 12)
    ('{"a": [1, 2]}', '[0, 1, 2, 3…')
    """
    if value is None:
        return ""
    # Each element takes at least a character and a separator: ``limit`` of them fill it.
    if isinstance(value, (list, tuple)) and len(value) > limit:
        value = list(value[:limit])
    elif isinstance(value, Mapping) and len(value) > limit:
        value = dict(list(value.items())[:limit])
    text = escape_json_controls(json.dumps(to_jsonable(value), default=str, ensure_ascii=False))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def step_seconds(result: Any, now: float | None) -> tuple[float | None, bool]:
    """(seconds, still running) of one step result: its duration once it ended, its time
    so far while it runs (when ``now`` is known), else ``None``."""
    started, ended = result.started_at, result.ended_at
    if started is None:
        return None, False
    if ended is not None:
        return ended - started, False
    if now is not None and result.status == "running":
        return now - started, True
    return None, False


def waiting_text(payload: Mapping[str, Any]) -> str:
    """What a ``step-waiting`` event says a sleep waits for.

    >>> waiting_text({"seconds": 0.5}), waiting_text({"until": "2030-01-01T00:00:00"})
    ('waiting 0.5 s', 'waiting until 2030-01-01T00:00:00')
    """
    until, seconds = payload.get("until"), payload.get("seconds")
    if until:
        return f"waiting until {until}"
    if seconds is not None:
        return f"waiting {seconds:g} s"
    return "waiting"


class Notes:
    """What only events tell (results do not keep it): each node's latest ``emit`` payload
    and what each sleep waits for. A view that sees every event (``run.watch``) hands them
    to :meth:`see` and passes the notes to the model."""

    __slots__ = ("emitted", "waiting")

    def __init__(self) -> None:
        self.emitted: dict[str, Any] = {}
        self.waiting: dict[str, str] = {}

    def see(self, event: Any) -> None:
        """Note ``event`` (an ``Event``) if it says something results do not."""
        kind = event.type
        if kind == "step-output":
            self.emitted[graph_path(event.step_path)] = event.payload
        elif kind == "step-waiting":
            self.waiting[graph_path(event.step_path)] = waiting_text(event.payload)
        elif kind == "step-start":
            self.waiting.pop(graph_path(event.step_path), None)


# -- the modeler ----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    """A construct of one workflow level, as the status rules need it."""

    paths: list[str]  # its nodes that show a status
    arms: list[str] | None  # a branch's arms
    inner: list[tuple[str, list[_Entry]]]  # its nested workflows: (path, their entries)


class RunModeler:
    """Makes the :class:`RunModel` of runs of one graph description.

    Made once per view (it reads the description once); ``now`` is the clock for the time
    of what still runs (default: ``flownb.core.clock.now``, the clock the engine stamps
    results with). :meth:`of_run` and :meth:`of_snapshot` read a live or a stored run;
    :meth:`model` takes the parts.
    """

    def __init__(self, description: Mapping[str, Any], *,
                 now: Callable[[], float] | None = None) -> None:
        self.description = description
        self.now: Callable[[], float] = now if now is not None else (lambda: clock.now())
        self._nodes: dict[str, Node] = {}
        self._entries = self._level(top_entries(description), "")
        # The result paths of the last update and the node of each: an update maps only the
        # paths that are new since (the module's shared cache of ``graph_path`` is bounded,
        # and a run of more items than that bound would miss it on every update).
        self._mapped = _Mapped()
        # Node path -> its results folded in chunks (``_fold_chunks``), kept between updates.
        self._chunks: dict[str, list[_Chunk]] = {}

    def _level(self, entries: Sequence[Any], prefix: str) -> list[_Entry]:
        out = []
        for entry in entries:
            nodes = [n for n in _entry_nodes(entry, prefix) if n.shows_status]
            inner = []
            for node in nodes:
                self._nodes[node.path] = node
                unit = node.unit
                if unit is not None and unit.nested:
                    inner.append((node.path, self._level(unit.entries, unit.prefix)))
            arms = [n.path for n in nodes] if entry["kind"] == "branch" else None
            out.append(_Entry([n.path for n in nodes], arms, inner))
        return out

    @property
    def node_paths(self) -> list[str]:
        """Every node of the graph that shows a status, in drawing order."""
        return list(self._nodes)

    # -- reading runs ---------------------------------------------------------------------------

    def of_run(self, run: Any, *, events: Iterable[Any] = (), events_total: int | None = None,
               notes: Notes | None = None, iterations: Mapping[str, int] | None = None,
               started: float | None = None) -> RunModel:
        """The model of a live ``Run`` now: ``events`` its recent ``Event`` objects (as a
        feed keeps them), ``notes`` what its events told (:class:`Notes`); ``iterations``
        (default: the run's ``loop_iterations``) and ``started`` as for :meth:`model`."""
        result = run.result
        status = run.status
        if iterations is None:
            iterations = run.loop_iterations
        return self._model(
            run.steps, status=status, run_id=run.run_id, workflow_id=run.workflow.id,
            error=result.error if result is not None and status != "running" else None,
            suspended=run.suspended if status == "suspended" else (),
            events=events, events_total=events_total, iterations=iterations, started=started,
            emitted=notes.emitted if notes is not None else None,
            waiting=notes.waiting if notes is not None else None, clock=None)

    def of_snapshot(self, snap: Any, *, iterations: Mapping[str, int] | None = None,
                    now: float | None = None) -> RunModel:
        """The model of a stored run (a ``Snapshot``: its steps are dicts). A stored run has
        no clock of its own: what it records as running shows no time unless ``now``."""
        meta = snap.meta
        if iterations is None:
            iterations = keys.loop_iterations(snap.journal)
        return self.model(snap.steps, status=snap.status, run_id=snap.run_id,
                          workflow_id=snap.workflow_id, error=meta.get("error"),
                          suspended=meta.get("suspended_paths") or (),
                          iterations=iterations, clock=lambda: now)

    # -- the model ------------------------------------------------------------------------------

    def model(self, steps: Mapping[str, Any], *, status: str | None = "pending",
              run_id: str = "", workflow_id: str = "", error: str | None = None,
              suspended: Iterable[Sequence[str] | str] = (), events: Iterable[Any] = (),
              events_total: int | None = None, iterations: Mapping[str, int] | None = None,
              emitted: Mapping[str, Any] | None = None, waiting: Mapping[str, str] | None = None,
              started: float | None = None,
              clock: Callable[[], float | None] | None = None) -> RunModel:
        """The model of a run in this state.

        ``steps`` maps step paths to ``StepResult`` objects or their dicts; ``status`` is the
        run's; ``suspended`` the paths waiting (lists of ids or dotted); ``events`` recent
        ``Event`` objects (oldest first) of ``events_total`` in all; ``iterations`` each loop
        node's iterations decided so far; ``emitted`` each node's latest ``emit`` payload
        and ``waiting`` what each sleep waits for (see :class:`Notes`);
        ``started`` when the run started if the caller knows (its ``workflow-start``),
        else its first step's start; ``clock`` replaces the modeler's (``None`` for no
        clock: nothing shows time so far).
        """
        return self._model(
            _step_results(steps), status=status, run_id=run_id, workflow_id=workflow_id,
            error=error, suspended=suspended, events=events, events_total=events_total,
            iterations=iterations, emitted=emitted, waiting=waiting, started=started,
            clock=clock)

    def _model(self, results: Mapping[str, StepResult], *, status: str | None,
               run_id: str, workflow_id: str, error: str | None,
               suspended: Iterable[Sequence[str] | str], events: Iterable[Any],
               events_total: int | None, iterations: Mapping[str, int] | None,
               emitted: Mapping[str, Any] | None, waiting: Mapping[str, str] | None,
               started: float | None, clock: Callable[[], float | None] | None) -> RunModel:
        """:meth:`model` of ``results`` already read as ``StepResult`` objects (a live
        run's: the check of 5,000 results' types is a tenth of a millisecond)."""
        status = status or "pending"
        now = (clock or self.now)()
        nodes, span = self._nodes_of(results, now, items_timed=started is None)
        self._settle(nodes, status)
        emitted = emitted or {}
        waiting = waiting or {}
        iterations = iterations or {}
        for path, node in nodes.items():
            if node.holder in _LOOPS:
                count = iterations.get(path, 0) + (1 if node.status in _ACTIVE else 0)
                node.iterations = count
            if path in emitted:
                node.emitted = to_jsonable(emitted[path])
            if path in waiting:
                node.waiting = waiting[path]
        rows = [Row(n.path, n.status, n.seconds, n.running, n.attempts, n.output, n.error,
                    n.progress) for n in (nodes[p] for p in span.order)]
        running = status == "running"
        first = started if started is not None else span.first
        seconds = None
        if first is not None:
            if running and now is not None:
                seconds = now - first
            elif span.last_end is not None:
                seconds = span.last_end - first
            elif started is None and span.last_start is not None:
                seconds = span.last_start - first
        events = list(events)
        return RunModel(
            run_id=run_id, workflow_id=workflow_id, status=status, started_at=first,
            seconds=seconds, running=running, error=first_line(error) if error else None,
            nodes=nodes, rows=rows, suspended=_suspensions(suspended, results),
            events=_event_rows(events, first),
            events_total=len(events) if events_total is None else events_total)

    def _nodes_of(self, results: Mapping[str, StepResult], now: float | None, *,
                  items_timed: bool = True) -> tuple[dict[str, NodeView], _Span]:
        """Every node's view, from the results gathered by node; and the span of the run.

        The last update of a 5,000-item foreach reads 5,000 results: they are gathered by
        node in runs (a foreach's items are one run of one node), and each node's results
        are folded field by field with built-ins (``map``, ``min``, ``list.count``) rather
        than one Python step per result; what a fold shows is as if each result were seen
        in turn, in the order of ``results``.

        ``items_timed=False`` (the caller knows when the run started): the results of a
        node that has a result of its own (a foreach's items) are not read for their times
        and attempts, which only the span of the run would take from them (the node shows
        its own): the span's end is the latest end of the other results, as a node's own
        result ends after its items."""
        known = self._nodes
        nodes: dict[str, NodeView] = {}
        for path, node in known.items():
            nodes[path] = NodeView(path, kind=node.kind, holder=node.holder,
                                   progress=Progress() if node.holder == "foreach" else None)
        span = _Span()
        for node_path, (paths, group) in _by_node(results, self._mapped).items():
            whole = items_timed or not (paths[0] == node_path or node_path in paths)
            a = _fold_chunks(node_path, paths, group, span, self._chunks, whole=whole)
            view = nodes.get(node_path)
            if view is None:  # a result the description does not name
                view = nodes[node_path] = NodeView(node_path)
                if a.items:
                    view.progress = Progress()
            own = a.own
            view.status = a.status
            if own is not None and own.cached_from is not None:
                view.reused, view.cached_from = True, own.cached_from
            elif a.cached and a.cached == (len(a.items) if a.items else a.count):
                # a foreach whose items were all reused (its own result gathers them), or
                # a node whose results (a nested workflow's steps) all were
                view.reused, view.cached_from = True, a.cached_from
            if own is not None:
                view.started_at, view.ended_at = own.started_at, own.ended_at
                view.seconds, view.running = step_seconds(own, now)
                view.attempts = own.attempts
                view.error = first_line(own.error) if own.error else \
                    (first_line(a.error) if a.error else None)
                if view.progress is None:
                    view.output = preview(own.output)
            else:
                view.started_at = a.started
                view.ended_at = a.ended if not a.open else None
                view.attempts = a.attempts
                view.error = first_line(a.error) if a.error else None
                if a.started is not None:
                    if not a.open and a.ended is not None:
                        view.seconds = a.ended - a.started
                    elif a.status == "running" and now is not None:
                        view.seconds, view.running = now - a.started, True
            if view.progress is not None:
                view.progress = _progress(a, now)
            span.order.append(node_path)
        return nodes, span

    def _settle(self, nodes: dict[str, NodeView], status: str) -> None:
        """Pending nodes the run went past show ``skipped``."""
        _settle_level(self._entries, nodes, settled=status == "success")
        if status == "success":
            for node in nodes.values():
                if node.status == "pending":
                    node.status = "skipped"


@dataclass(slots=True)
class _Acc:
    """One node's results, as the pass over them gathers them."""

    status: str
    own: StepResult | None = None
    started: float | None = None
    ended: float | None = None
    open: int = 0
    attempts: int = 0
    error: str | None = None
    total: int = 0
    items: list[StepResult] = field(default_factory=list)  # its items ("each[3]"), in order
    item_paths: list[str] = field(default_factory=list)
    item_statuses: list[str] = field(default_factory=list)
    count: int = 0  # results drawn on the node
    cached: int = 0  # of which reused
    kinds: Iterable[str] = field(default=(), compare=False)  # its statuses (of _fold)
    cached_from: dict[str, str] | None = None


@dataclass(slots=True)
class _Span:
    """The run's first and last step times, and its nodes in the order they started."""

    first: float | None = None
    last_start: float | None = None
    last_end: float | None = None
    order: list[str] = field(default_factory=list)

    def started(self, at: float) -> None:
        if self.first is None or at < self.first:
            self.first = at
        if self.last_start is None or at > self.last_start:
            self.last_start = at


_STATUS = attrgetter("status")
_STARTED = attrgetter("started_at")
_ENDED = attrgetter("ended_at")
_ATTEMPTS = attrgetter("attempts")
_CACHED = attrgetter("cached_from")
_ERROR = attrgetter("error")
_LAST = itemgetter(-1)


@dataclass(slots=True)
class _Mapped:
    """The result paths a modeler saw last, in order, and the node of each (``_by_node``)."""

    paths: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)


def _by_node(results: Mapping[str, StepResult], mapped: _Mapped,
             ) -> dict[str, tuple[list[str], list[StepResult]]]:
    """``results`` gathered by graph node, nodes in the order of their first result, each
    node's paths and results in the order of ``results``. A run of consecutive results of
    one node (a foreach's items) costs one step here, not one per result.

    ``mapped`` holds the paths of the modeler's last update and their nodes: a run's results
    only grow (new paths come last), so when those paths are still the first ones (the same
    string objects: compared by identity) only the new paths are mapped; else all are."""
    paths = list(results)
    values = list(results.values())
    seen = len(mapped.paths)
    if seen and seen <= len(paths) and paths[:seen] == mapped.paths:
        found = mapped.nodes + _nodes_of_paths(paths[seen:])
    else:
        found = _nodes_of_paths(paths)
    mapped.paths, mapped.nodes = paths, found
    node_paths = found  # every path's node, in order
    if node_paths and node_paths.count(node_paths[0]) == len(node_paths):
        # one node (a foreach's own result and its items): node strings are interned, so
        # the count compares pointers
        return {node_paths[0]: (paths, values)}
    groups: dict[str, tuple[list[str], list[StepResult]]] = {}
    at = 0
    for node_path, run in groupby(node_paths):
        end = at + len(list(run))
        group = groups.get(node_path)
        if group is None:
            groups[node_path] = (paths[at:end], values[at:end])
        else:
            group[0].extend(paths[at:end])
            group[1].extend(values[at:end])
        at = end
    return groups


def _nodes_of_paths(paths: list[str]) -> list[str]:
    """The graph node of each of ``paths``: the shared cache's, else :func:`graph_path`."""
    found: list[str | None] = list(map(_NODES.get, paths))
    at = -1
    try:
        while True:  # its misses (few, unless it is past its bound)
            at = found.index(None, at + 1)
            found[at] = graph_path(paths[at])
    except ValueError:
        pass
    return cast("list[str]", found)


def _fold(node_path: str, paths: list[str], results: list[StepResult], span: _Span, *,
          whole: bool = True) -> _Acc:
    """One node's results (in order) folded into an :class:`_Acc`, and into ``span``: the
    same as seeing each result in turn (a status of the first lowest rank, the first error
    and reuse, the earliest start, the latest end).

    Not ``whole`` (the node's own result is among its results, maybe in another chunk):
    times and attempts are left out (``None``, 0) but the node's own, and ``open`` counts
    the results without a final status (a step's end is set with its final status).

    Each field is read with one ``map`` over the results; a time that is absent (``None``:
    not started, not ended) is looked for only when ``min`` or ``max`` meets one (comparing
    a float with ``None`` raises), as testing each value for ``None`` costs as much as the
    ``min``: the last update of a 5,000-item foreach folds 5,000 results."""
    statuses = list(map(_STATUS, results))
    distinct = dict.fromkeys(statuses)
    if len(distinct) == 1:
        status = statuses[0]
    else:
        rank = _RANK
        status = min(distinct, key=lambda s: (rank.get(s, 99), statuses.index(s)))
    a = _Acc(status)
    a.kinds = distinct.keys()
    a.count = len(results)
    try:
        own_at = paths.index(node_path)
    except ValueError:
        own_at = -1
    else:
        a.own = results[own_at]
    if whole:
        timed = results
        a.attempts = max(0, max(map(_ATTEMPTS, results)))
    else:
        timed = [] if a.own is None else [a.own]
        a.attempts = 0 if a.own is None else max(0, a.own.attempts)
    first, last, _ = _bounds(list(map(_STARTED, timed)))
    if first is not None and last is not None:
        a.started = first
        if span.first is None or first < span.first:
            span.first = first
        if span.last_start is None or last > span.last_start:
            span.last_start = last
    _, last_end, a.open = _bounds(list(map(_ENDED, timed)))
    if not whole:  # the results without a final status
        a.open = len(results) - sum(map(statuses.count, _SETTLED.intersection(distinct)))
    if last_end is not None:
        a.ended = last_end
        if span.last_end is None or last_end > span.last_end:
            span.last_end = last_end
    cached = list(filter(None, map(_CACHED, results)))
    if cached:
        a.cached = len(cached)
        a.cached_from = cached[0]
    if any(map(_ERROR, results)):  # the first error of a result other than the node's own
        for at, error in enumerate(map(_ERROR, results)):
            if error and at != own_at:
                a.error = f"{paths[at]}: {error}"
                break
    ends = list(map(_LAST, paths))
    items = ends.count("]")
    if items == len(paths):  # only items (a foreach inside a foreach's nested workflow)
        a.items, a.item_paths, a.item_statuses = results, paths, statuses
    else:
        if items == len(paths) - 1 and own_at >= 0:  # a foreach: its own result, items
            others = [own_at]
            after = own_at + 1
            a.items = results[:own_at] + results[after:]
            a.item_paths = paths[:own_at] + paths[after:]
            a.item_statuses = statuses[:own_at] + statuses[after:]
        else:
            others = [at for at, end in enumerate(ends) if end != "]"]
            if items:
                chosen = [at for at, end in enumerate(ends) if end == "]"]
                a.items = [results[at] for at in chosen]
                a.item_paths = [paths[at] for at in chosen]
                a.item_statuses = [statuses[at] for at in chosen]
        for at in others:  # a run of the node: its items to come
            payload = results[at].payload
            if isinstance(payload, list):
                a.total += len(payload)
    return a


def _bounds(times: list[float | None]) -> tuple[float | None, float | None, int]:
    """The earliest and the latest of ``times`` that are not ``None``, and how many are
    ``None``."""
    try:
        low, high = min(times), max(times)  # type: ignore[type-var]  # None raises
    except (TypeError, ValueError):  # a None beside a time; no times
        pass
    else:
        if low is not None:
            return low, high, 0
    known = [t for t in times if t is not None]
    if not known:
        return None, None, len(times)
    return min(known), max(known), len(times) - len(known)


CHUNK = 512
"""Results of one node folded together and kept as one part (``_fold_chunks``)."""

_SETTLED = frozenset({"success", "failed", "canceled", "skipped"})


@dataclass(slots=True)
class _Chunk:
    """``CHUNK`` consecutive results of one node, folded; ``settled`` when none of them can
    change any more (each has ended, with a final status: a result that runs again, on a
    retry of its run or a resume, is a new object)."""

    results: list[StepResult]
    acc: _Acc
    span: _Span
    settled: bool
    whole: bool  # folded with the results' times (``_fold``)


def _fold_chunks(node_path: str, paths: list[str], results: list[StepResult], span: _Span,
                 kept: dict[str, list[_Chunk]], *, whole: bool = True) -> _Acc:
    """:func:`_fold` of a node's results, reusing the parts folded by an earlier update:
    a chunk of results that were all settled then, still the very same objects at the same
    places, is not read again. A 100,000-item foreach's update reads its items by identity
    and folds only the chunks where something runs (or that are new)."""
    if len(results) <= CHUNK:
        kept.pop(node_path, None)
        return _fold(node_path, paths, results, span, whole=whole)
    before = kept.get(node_path, ())
    chunks: list[_Chunk] = []
    for index, start in enumerate(range(0, len(results), CHUNK)):
        part = results[start:start + CHUNK]
        old = before[index] if index < len(before) else None
        if (old is None or not old.settled or len(old.results) != len(part)
                or (whole and not old.whole) or not all(map(is_, part, old.results))):
            part_span = _Span()
            acc = _fold(node_path, paths[start:start + CHUNK], part, part_span, whole=whole)
            settled = acc.open == 0 and _SETTLED.issuperset(acc.kinds)
            old = _Chunk(part, acc, part_span, settled, whole)
        chunks.append(old)
    kept[node_path] = chunks
    return _merge(chunks, span)


def _merge(chunks: list[_Chunk], span: _Span) -> _Acc:
    """The :class:`_Acc` of consecutive chunks, as :func:`_fold` of all their results."""
    accs = [c.acc for c in chunks]
    rank = _RANK
    # the first status of the lowest rank, as _fold picks it among results in order
    a = _Acc(min(accs, key=lambda x: rank.get(x.status, 99)).status)
    a.count = sum(x.count for x in accs)
    starts = [x.started for x in accs if x.started is not None]
    a.started = min(starts) if starts else None
    ends = [x.ended for x in accs if x.ended is not None]
    a.ended = max(ends) if ends else None
    a.open = sum(x.open for x in accs)
    a.attempts = max(x.attempts for x in accs)
    a.cached = sum(x.cached for x in accs)
    a.cached_from = next((x.cached_from for x in accs if x.cached_from is not None), None)
    a.own = next((x.own for x in accs if x.own is not None), None)
    a.error = next((x.error for x in accs if x.error is not None), None)
    a.total = sum(x.total for x in accs)
    a.items = list(chain.from_iterable(x.items for x in accs))
    a.item_paths = list(chain.from_iterable(x.item_paths for x in accs))
    a.item_statuses = list(chain.from_iterable(x.item_statuses for x in accs))
    for part in (c.span for c in chunks):
        if part.first is not None and (span.first is None or part.first < span.first):
            span.first = part.first
        if part.last_start is not None and (span.last_start is None
                                            or part.last_start > span.last_start):
            span.last_start = part.last_start
        if part.last_end is not None and (span.last_end is None
                                          or part.last_end > span.last_end):
            span.last_end = part.last_end
    return a


def _progress(a: _Acc, now: float | None) -> Progress:
    progress = Progress(total=a.total)
    statuses = a.item_statuses
    counts = progress.counts
    for item_status in dict.fromkeys(statuses):  # in the order they first show
        counts[item_status] = statuses.count(item_status)
    progress.done = counts.get("success", 0)
    # The first OPEN_ITEMS items not done: at most that many of each status, by index.
    found: list[int] = []
    for item_status in counts:
        if item_status == "success":
            continue
        at = -1
        for _ in range(min(OPEN_ITEMS, counts[item_status])):
            at = statuses.index(item_status, at + 1)
            found.append(at)
    found.sort()
    unfinished = progress.open
    items, paths = a.items, a.item_paths
    for at in found[:OPEN_ITEMS]:
        result = items[at]
        seconds, running = step_seconds(result, now)
        unfinished.append(ItemView(paths[at], result.status, seconds, running,
                                   result.attempts,
                                   first_line(result.error) if result.error else None))
    progress.more = len(statuses) - progress.done - len(unfinished)
    return progress


def _settle_level(entries: list[_Entry], nodes: dict[str, NodeView], *, settled: bool) -> None:
    def status(path: str) -> str:
        return nodes[path].status

    # A construct is behind the run when a later one started (or the level is settled).
    passed = [settled] * len(entries)
    later = settled
    for index in range(len(entries) - 1, -1, -1):
        passed[index] = later
        later = later or any(status(p) != "pending" for p in entries[index].paths)
    for entry, behind in zip(entries, passed, strict=True):
        arms = entry.arms
        if arms is not None and (behind or any(status(p) != "pending" for p in arms)):
            for path in arms:
                if status(path) == "pending":
                    nodes[path].status = "skipped"
        for path, inner in entry.inner:
            if status(path) == "skipped":
                _skip_all(inner, nodes)
            else:
                _settle_level(inner, nodes, settled=status(path) == "success")


def _skip_all(entries: list[_Entry], nodes: dict[str, NodeView]) -> None:
    for entry in entries:
        for path in entry.paths:
            if nodes[path].status == "pending":
                nodes[path].status = "skipped"
        for _, inner in entry.inner:
            _skip_all(inner, nodes)


def _step_results(steps: Mapping[str, Any]) -> Mapping[str, StepResult]:
    """``steps`` with every stored dict read as a ``StepResult``."""
    if set(map(type, steps.values())) <= {StepResult}:
        return steps
    return {path: StepResult.from_dict(dict(r)) if isinstance(r, Mapping) else r
            for path, r in steps.items()}


def _suspensions(suspended: Iterable[Sequence[str] | str],
                 results: Mapping[str, StepResult]) -> list[Suspension]:
    out = []
    for parts in suspended:
        path = parts if isinstance(parts, str) else ".".join(parts)
        result = results.get(path)
        if result is None:
            out.append(Suspension(path))
        else:
            out.append(Suspension(path, to_jsonable(result.suspend_payload), result.ended_at))
    return out


def _event_rows(events: Sequence[Any], started: float | None) -> list[EventRow]:
    rows = []
    for e in events:
        payload = e.payload
        if e.type == "workflow-finish":  # the whole result: its status says enough here
            payload = {"status": payload.get("status")}
        rows.append(EventRow(e.type, e.step_path, e.timestamp,
                             None if started is None else e.timestamp - started,
                             preview(payload, EVENT_PREVIEW)))
    return rows
