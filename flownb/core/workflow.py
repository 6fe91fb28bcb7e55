"""The workflow builder: chain constructs, then ``commit()`` checks and freezes the graph."""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ..errors import SchemaMismatchError, WorkflowDefinitionError
from . import schema as S
from .executor import Executor, check_executor
from .graph import (
    BranchEntry,
    Condition,
    Entry,
    ForeachEntry,
    Graph,
    LoopEntry,
    MapEntry,
    ParallelEntry,
    SleepEntry,
    StepEntry,
)
from .mapping import check_mapping, step_sources
from .params import CONDITION_PARAMS, MAP_PARAMS, read_signature
from .remote import remote_problems
from .step import RetryConfig, Step, check_step_id

if TYPE_CHECKING:
    from ..storage.base import Store
    from .plan import Plan
    from .results import RunInfo, WorkflowResult
    from .run import Run

__all__ = ["Workflow", "create_workflow"]


class Workflow:
    """A typed workflow. Build with :func:`create_workflow`, chain, then ``commit()``.

    A committed workflow is used like a step anywhere a step goes (nested workflow).
    """

    is_workflow = True
    resume_schema = None
    suspend_schema = None
    retries = None
    timeout = None

    def __init__(
        self,
        *,
        id: str,
        input_schema: S.Schema = Any,
        output_schema: S.Schema = Any,
        description: str | None = None,
        state_schema: S.Schema | None = None,
        retry_config: RetryConfig | None = None,
        storage: Store | bool | None = None,
        executor: Executor | None = None,
        cache: bool | None = None,
    ) -> None:
        self.id = check_step_id(id, what="workflow")
        if cache is not None and not isinstance(cache, bool):
            raise WorkflowDefinitionError(
                f"workflow '{id}': cache must be True, False or None, got {cache!r}")
        self.cache = cache  # reuse of its steps (SPEC §3d); None: the enclosing setting
        self.input_schema = input_schema
        self.output_schema = output_schema
        self.description = description
        self.state_schema = state_schema
        self.retry_config = retry_config
        self.storage = storage
        self.executor = check_executor(executor, f"workflow '{id}'")
        self._entries: list[Entry] = []
        self._counters: dict[str, int] = {}
        self._committed = False
        self._graph: Graph | None = None
        self._steps: dict[str, Any] = {}
        self._run_callbacks: list[weakref.WeakMethod[Callable[[Run], None]]] = []
        self.logger: Any = None

    # -- building ---------------------------------------------------------------------------

    def then(self, step: Any) -> Workflow:
        """Run ``step`` after what came before; it receives the previous output."""
        return self._add(StepEntry(self._checked_step(step, ".then")))

    def parallel(self, steps: Sequence[Any]) -> Workflow:
        """Run all ``steps`` at once on the same input; hands on ``{step_id: output}``."""
        if not isinstance(steps, Sequence) or not steps:
            raise self._error(".parallel() takes a non-empty list of steps")
        checked = tuple(self._checked_step(s, ".parallel") for s in steps)
        return self._add(ParallelEntry(self._next_id("parallel"), checked))

    def branch(self, branches: Sequence[tuple[Callable[..., Any], Any]]) -> Workflow:
        """Run the step of the first condition that holds (later ones are not evaluated).

        Hands on ``{executed_id: output}``, or ``{}`` when no condition holds.
        """
        if not isinstance(branches, Sequence) or not branches:
            raise self._error(".branch() takes a non-empty list of (condition, step) pairs")
        pairs = []
        for n, pair in enumerate(branches, 1):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise self._error(f".branch(): entry {n} must be a (condition, step) pair")
            cond, step = pair
            pairs.append((self._condition(cond, f".branch() condition {n}", f"cond {n}"),
                          self._checked_step(step, ".branch")))
        return self._add(BranchEntry(self._next_id("branch"), tuple(pairs)))

    def map(self, fn_or_mapping: Callable[..., Any] | Mapping[str, Any], *,
            id: str | None = None) -> Workflow:
        """Transform the data between steps.

        ``fn`` receives injected parameters (``input_data``, ``get_step_result``,
        ``get_init_data``, ``runtime_context``, ``state``) and returns the next input; a
        mapping builds it declaratively from ``from_step``/``from_init``/``from_context``/
        ``const`` values.
        """
        map_id = check_step_id(id) if id is not None else self._next_id("map")
        if isinstance(fn_or_mapping, Mapping):
            check_mapping(fn_or_mapping, f"workflow '{self.id}' .map '{map_id}'")
            entry = MapEntry(map_id, None, None, dict(fn_or_mapping), "mapping")
        else:
            sig = read_signature(fn_or_mapping, MAP_PARAMS,
                                 what=f"workflow '{self.id}' .map '{map_id}'")
            entry = MapEntry(map_id, fn_or_mapping, sig, None, _fn_label(fn_or_mapping, "map"))
        return self._add(entry)

    def dountil(self, step: Any, condition: Callable[..., Any]) -> Workflow:
        """Run ``step``, then again on its own output, until ``condition`` is true."""
        return self._loop(step, condition, "until")

    def dowhile(self, step: Any, condition: Callable[..., Any]) -> Workflow:
        """Run ``step``, then again on its own output, while ``condition`` is true."""
        return self._loop(step, condition, "while")

    def _loop(self, step: Any, condition: Callable[..., Any],
              mode: Literal["until", "while"]) -> Workflow:
        checked = self._checked_step(step, f".do{mode}")
        cond = self._condition(condition, f".do{mode}({checked.id}) condition", mode)
        return self._add(LoopEntry(checked, cond, mode))

    def foreach(self, step: Any, concurrency: int = 1, *,
                executor: Executor | None = None) -> Workflow:
        """Run ``step`` on every item of the incoming list, ``concurrency`` at a time.

        Outputs come back as a list in input order. ``executor`` runs the items somewhere
        else than the workflow's other steps (e.g. ``DaskExecutor(client)``).
        """
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise self._error(f".foreach(): concurrency must be an int >= 1, got {concurrency!r}")
        checked = check_executor(executor, f"workflow '{self.id}' .foreach()")
        return self._add(ForeachEntry(self._checked_step(step, ".foreach"), concurrency,
                                      checked))

    def sleep(self, duration: float | Callable[..., Any], *, id: str | None = None) -> Workflow:
        """Wait ``duration`` seconds (or as many as ``duration(...)`` returns); data passes."""
        sleep_id = check_step_id(id) if id is not None else self._next_id("sleep")
        if callable(duration):
            sig = read_signature(duration, MAP_PARAMS, what=f"workflow '{self.id}' .sleep")
            entry = SleepEntry(sleep_id, "sleep", fn=duration, signature=sig,
                               label=_fn_label(duration, "sleep"))
        else:
            if isinstance(duration, bool) or not isinstance(duration, (int, float)) \
                    or duration < 0:
                raise self._error(f".sleep(): expected seconds >= 0 or a function, "
                                  f"got {duration!r}")
            entry = SleepEntry(sleep_id, "sleep", seconds=float(duration),
                               label=f"{duration:g} s")
        return self._add(entry)

    def sleep_until(self, when: datetime | Callable[..., Any], *,
                    id: str | None = None) -> Workflow:
        """Wait until ``when`` (a datetime, or a function returning one); data passes."""
        sleep_id = check_step_id(id) if id is not None else self._next_id("sleep-until")
        if isinstance(when, datetime):
            entry = SleepEntry(sleep_id, "sleep_until", until=when, label=when.isoformat())
        elif callable(when):
            sig = read_signature(when, MAP_PARAMS, what=f"workflow '{self.id}' .sleep_until")
            entry = SleepEntry(sleep_id, "sleep_until", fn=when, signature=sig,
                               label=_fn_label(when, "until"))
        else:
            raise self._error(f".sleep_until(): expected a datetime or a function, got {when!r}")
        return self._add(entry)

    def commit(self) -> Workflow:
        """Check the whole workflow and freeze it; raises one error listing every problem."""
        if self._committed:
            return self
        problems, schema_problems = self._check()
        if problems or schema_problems:
            every = problems + schema_problems
            kind = SchemaMismatchError if not problems else WorkflowDefinitionError
            what = "schema problem" if not problems else "problem"
            listing = "\n".join(f"  - {p}" for p in every)
            raise kind(
                f"workflow '{self.id}' has {len(every)} {what}{'s' * (len(every) != 1)}:\n"
                f"{listing}",
                problems=every,
                workflow_id=self.id,
            )
        self._committed = True
        self._graph = Graph(self, tuple(self._entries))
        self._steps = dict(_walk_steps(self._entries, ""))
        return self

    # -- inspection -------------------------------------------------------------------------

    @property
    def committed(self) -> bool:
        return self._committed

    @property
    def graph(self) -> Graph:
        """The frozen graph model (after ``commit()``)."""
        if self._graph is None:
            raise self._error("is not committed yet; call .commit() first")
        return self._graph

    @property
    def steps(self) -> dict[str, Any]:
        """Every step id (nested: ``"outer.inner"``) mapped to its ``Step``, in order."""
        if not self._committed:
            return dict(_walk_steps(self._entries, ""))
        return dict(self._steps)

    def _clone(self, id: str) -> Workflow:
        """``clone_step(workflow, id=...)``: the same constructs under a new id, with a graph
        (and description) of its own and none of this workflow's ``on_run`` callbacks."""
        twin = copy.copy(self)
        twin.id = check_step_id(id, what="workflow")
        twin._entries = list(self._entries)
        twin._counters = dict(self._counters)
        twin._steps = dict(self._steps)
        twin._run_callbacks = []
        twin._graph = Graph(twin, self._graph.entries) if self._graph is not None else None
        return twin

    def __repr__(self) -> str:
        state = "committed" if self._committed else "open"
        return f"Workflow(id={self.id!r}, steps={len(self.steps)}, {state})"

    # -- display ----------------------------------------------------------------------------

    def to_dot(self, statuses: Mapping[str, str] | None = None, *,
               direction: str = "TB") -> str:
        """The step graph as DOT text; ``statuses`` (step path → status) colours nodes;
        ``direction`` is ``"TB"`` (top to bottom) or ``"LR"`` (left to right, for long
        chains). Another direction raises ``ValueError``.

        >>> print(wf.to_dot(direction="LR"))    # doctest: +SKIP
        digraph "shout" { ...
        """
        from ..render.dot import workflow_dot

        return workflow_dot(self.graph.description, statuses, direction=direction)

    def to_svg(self, statuses: Mapping[str, str] | None = None, *,
               direction: str = "TB") -> str:
        """The step graph as SVG text (laid out by the ``graphviz-pure`` program), top to
        bottom or, with ``direction="LR"``, left to right."""
        from ..render.svg import workflow_svg

        return workflow_svg(self.graph.description, statuses, direction=direction)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter display: the step graph as SVG, and the repr as text."""
        bundle = {"text/plain": repr(self)}
        wanted = (include is None or "image/svg+xml" in include) and \
            (exclude is None or "image/svg+xml" not in exclude)
        if wanted and self._committed:
            bundle["image/svg+xml"] = self.to_svg()
        return bundle

    # -- running ----------------------------------------------------------------------------

    def create_run(self, run_id: str | None = None) -> Run:
        """A new run; with ``run_id``, the stored run of that id reattached, or a new run
        with that id when none is stored (as Mastra's ``createRun({ runId })``)."""
        from .run import Run

        run = Run._create(self, run_id)
        if self._run_callbacks and run.status == "pending":  # a new run, not a stored one
            for ref in list(self._run_callbacks):
                callback = ref()
                if callback is None:
                    self._run_callbacks.remove(ref)
                else:
                    callback(run)
        return run

    def on_run(self, callback: Callable[[Run], None]) -> Callable[[], None]:
        """Call ``callback(run)`` with every new run this workflow creates from now on
        (``create_run()``, ``invoke()``): how ``RunView(wf)`` follows a workflow's runs.

        ``callback`` is a bound method, held weakly (an observer that is gone stops by
        itself); the returned function stops it too.
        """
        ref = weakref.WeakMethod(callback)
        self._run_callbacks.append(ref)

        def stop() -> None:
            if ref in self._run_callbacks:
                self._run_callbacks.remove(ref)

        return stop

    def invoke(self, input_data: Any = None, **options: Any) -> WorkflowResult:
        """``create_run()`` + ``start()``, synchronously; also works inside a notebook.

        >>> wf.invoke({"message": "hi"}).status    # doctest: +SKIP
        'success'
        """
        from .aio import run_sync

        return run_sync(self.create_run().start(input_data=input_data, **options))

    def plan(self, input_data: Any = None, *, state: Any = None,
             runtime_context: Any = None) -> Plan:
        """What a run on ``input_data`` would reuse and what it would run, and why; runs
        nothing (SPEC §3d). ``plan["score"].status`` is ``"reuse"``, ``"run"`` or
        ``"depends"``; ``.reason`` says why.

        >>> wf.plan({"topic": "tides"})["draft"].reason    # doctest: +SKIP
        'unchanged since run 3f2a9c01'
        """
        from ..config import resolve_store
        from .aio import run_sync
        from .plan import make_plan
        from .run import Run

        probe = Run(self, "plan", None)  # validates as start() does; never stored
        probe._prepare_start(input_data, runtime_context, state, None)
        ex = probe._ex
        return run_sync(make_plan(self, resolve_store(self.storage), ex.input, ex.state,
                                  ex.runtime_context))

    def runs(self, status: str | None = None) -> list[RunInfo]:
        """Stored runs of this workflow, newest first (optionally of one status)."""
        from ..config import resolve_store

        store = resolve_store(self.storage)
        if store is None:
            return []
        return store.list_runs(workflow_id=self.id, status=status)

    # -- internals --------------------------------------------------------------------------

    def _error(self, text: str) -> WorkflowDefinitionError:
        return WorkflowDefinitionError(f"workflow '{self.id}' {text}"
                                       if text.startswith(("is ", "has ")) else
                                       f"workflow '{self.id}': {text}", workflow_id=self.id)

    def _add(self, entry: Entry) -> Workflow:
        if self._committed:
            raise self._error("is committed; build a new workflow (or clone this one's steps) "
                              "to add more")
        self._entries.append(entry)
        return self

    def _next_id(self, kind: str) -> str:
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return f"{kind}-{self._counters[kind]}"

    def _checked_step(self, step: Any, where: str) -> Any:
        if isinstance(step, Workflow):
            if not step._committed:
                raise self._error(f"{where}(): nested workflow '{step.id}' is not committed; "
                                  "call .commit() on it first")
            if step is self:
                raise self._error(f"{where}(): a workflow cannot contain itself")
            return step
        if isinstance(step, Step):
            return step
        raise self._error(f"{where}(): expected a Step or a committed Workflow, "
                          f"got {type(step).__name__}")

    def _condition(self, fn: Any, what: str, default_label: str) -> Condition:
        sig = read_signature(fn, CONDITION_PARAMS, what=f"workflow '{self.id}' {what}")
        return Condition(fn, sig, _fn_label(fn, default_label))

    def _check(self) -> tuple[list[str], list[str]]:
        problems: list[str] = []
        if not self._entries:
            problems.append("it has no steps; add at least one with .then(), .parallel(), ...")
        seen: dict[str, str] = {}
        earlier: set[str] = set()
        for n, entry in enumerate(self._entries, 1):
            ids = [s.id for s in entry.units]
            if entry.node is not None:
                ids.append(entry.node)
            for step_id in ids:
                if step_id in seen:
                    problems.append(
                        f"step id '{step_id}' is used twice ({seen[step_id]} and "
                        f"{_ordinal(n)} construct); use clone_step(step, id=...) to reuse a step")
                else:
                    seen[step_id] = f"{_ordinal(n)} construct"
            if isinstance(entry, MapEntry) and entry.spec is not None:
                for src in step_sources(entry.spec):
                    if src.step_id not in earlier:
                        problems.append(
                            f".map '{entry.id}': from_step('{src.step_id}') does not name an "
                            "earlier step of this workflow")
            earlier.update(ids)
        problems.extend(remote_problems(self._entries, self.executor))
        return problems, self._check_schemas()

    def _check_schemas(self) -> list[str]:
        problems: list[str] = []
        current = S.json_shape(self.input_schema, "validation")
        source = f"workflow '{self.id}' input"
        # The schema that produced ``current``, when one did: a value handed to the very
        # same type passes untouched at run time, whatever its serialized shape says
        # (a model with an excluded field or a custom serializer flows into itself).
        made_by: Any = self.input_schema

        def flow(out: dict[str, Any], origin: str, into: Any, target: str) -> None:
            if made_by is not None and made_by is into:
                return
            for p in S.check_compatible(out, S.json_shape(into, "validation")):
                problems.append(f"{origin} → {target}: {p}")

        for entry in self._entries:
            if isinstance(entry, StepEntry):
                flow(current, source, entry.step.input_schema, _name(entry.step, "input"))
                current, source = _out(entry.step), _name(entry.step, "output")
                made_by = entry.step.output_schema
                continue
            if isinstance(entry, (ParallelEntry, BranchEntry)):
                steps = entry.units
                for s in steps:
                    flow(current, source, s.input_schema, _name(s, "input"))
                current = S.object_shape({s.id: _out(s) for s in steps},
                                         required=isinstance(entry, ParallelEntry))
                ids = ", ".join(f"'{s.id}'" for s in steps)
                source, made_by = f"{entry.kind} [{ids}] output", None
            elif isinstance(entry, LoopEntry):
                step = entry.step
                flow(current, source, step.input_schema, _name(step, "input"))
                made_by = step.output_schema
                flow(_out(step), _name(step, "output"), step.input_schema,
                     _name(step, "input (next iteration)"))
                current, source = _out(step), _name(step, "output")
            elif isinstance(entry, ForeachEntry):
                step = entry.step
                types = current.get("type")
                type_list = types if isinstance(types, list) else [types]
                if current and types is not None and "array" not in type_list:
                    problems.append(f"{source} → foreach '{step.id}': foreach needs a list, "
                                    f"got {'/'.join(map(str, type_list))}")
                elif current:
                    flow(current.get("items", {}), f"{source} items", step.input_schema,
                         _name(step, "input"))
                current = S.array_shape(_out(step))
                source, made_by = f"foreach '{step.id}' output", None
            elif isinstance(entry, MapEntry):
                current, source, made_by = {}, f".map '{entry.id}' output", None
        flow(current, source, self.output_schema, f"workflow '{self.id}' output")
        return problems


def _out(step: Any) -> dict[str, Any]:
    return S.json_shape(step.output_schema, "serialization")


def _name(step: Any, side: str) -> str:
    kind = "workflow" if step.is_workflow else "step"
    return f"{kind} '{step.id}' {side}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _fn_label(fn: Any, default: str) -> str:
    name = getattr(fn, "__name__", None)
    if not name or name == "<lambda>" or not isinstance(name, str):
        return default
    return name


def _walk_steps(entries: Iterable[Entry], prefix: str) -> Iterable[tuple[str, Any]]:
    for entry in entries:
        for s in entry.units:
            yield prefix + s.id, s
            if s.is_workflow:
                yield from _walk_steps(s.graph.entries, f"{prefix}{s.id}.")


def create_workflow(
    *,
    id: str,
    input_schema: S.Schema = Any,
    output_schema: S.Schema = Any,
    description: str | None = None,
    state_schema: S.Schema | None = None,
    retry_config: RetryConfig | None = None,
    storage: Store | bool | None = None,
    executor: Executor | None = None,
    cache: bool | None = None,
) -> Workflow:
    """Start building a workflow.

    ``storage``: a ``Store`` for this workflow's runs; ``None`` uses the default store
    (``flownb.configure(storage=...)``, ``FLOWNB_STORAGE``, else ``.flownb/runs.db``);
    ``False`` keeps runs in memory only.

    ``executor``: where the steps run (``flownb.executors``); ``None`` uses the one given
    to ``flownb.configure(executor=...)``, else the local executor. A nested workflow
    without one runs its steps where its parent's run.

    ``cache``: reuse of its steps' earlier executions (SPEC §3d) for steps that leave their
    own ``cache`` unset; ``None`` follows the enclosing workflow, then ``configure``.

    >>> wf = (create_workflow(id="shout", input_schema=str, output_schema=str)
    ...       .map(lambda input_data: input_data.upper())
    ...       .commit())
    """
    return Workflow(
        id=id,
        input_schema=input_schema,
        output_schema=output_schema,
        description=description,
        state_schema=state_schema,
        retry_config=retry_config,
        storage=storage,
        executor=executor,
        cache=cache,
    )

