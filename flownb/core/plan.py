"""``wf.plan(...)``: what a run would reuse and what it would run, and why (SPEC §3d).

A plan is a dry run: the engine walks the workflow from the top with a :class:`Planner`
in place of running steps. A step whose fingerprint finds an earlier execution gives that
output (so the steps after it are planned on real values: branch conditions and ``.map``
functions run, as they are cheap and pure); a step that would run stops its branch, as a
suspension does, and every step the walk did not reach *depends* on one that runs. Sleeps
do not wait. Nothing is stored.

Causes of ``"run"``, the first that applies: ``"effects"``, ``"not cached"`` (reuse is off
for it, or it cannot be fingerprinted: the reason follows), ``"code changed: <step>"``
(its code or schemas), ``"input changed: <fields>"`` (its input's top-level fields, or
``state``, ``runtime_context``, ``init data``, ``run_id`` or another step's output it
read), ``"no earlier run"``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .codec import from_stored
from .description import walk
from .engine import Suspended, run_entries
from .execution import SUCCESS, Execution, Scope
from .keys import decision_key, node_path, strip_items
from .reuse import cache_on, find, read_digests, take
from .signals import Bail, StepFailed

if TYPE_CHECKING:
    from ..storage.base import Store
    from ..storage.cache import CacheEntry
    from .results import StepResult
    from .reuse import Taken

__all__ = ["Plan", "PlanItem", "make_plan"]

REUSE, RUN, DEPENDS = "reuse", "run", "depends"


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One step of a :class:`Plan`: ``status`` (``"reuse"``, ``"run"``, ``"depends"``), the
    ``reason``, and for ``"reuse"`` where the reused execution ran (``cached_from``)."""

    status: str
    reason: str
    cached_from: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "cached_from": self.cached_from}


class Plan(Mapping[str, PlanItem]):
    """Step path (dotted, foreach items as ``"step[i]"``) → :class:`PlanItem`, in graph
    order. Displays in a notebook as the step graph with reused steps dimmed."""

    def __init__(self, workflow: Any, items: dict[str, PlanItem]) -> None:
        self.workflow = workflow
        self._items = items

    def __getitem__(self, path: str) -> PlanItem:
        return self._items[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def will_run(self) -> list[str]:
        """The paths that run (``"run"`` or ``"depends"``), in graph order."""
        return [p for p, item in self._items.items() if item.status != REUSE]

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {path: item.to_dict() for path, item in self._items.items()}

    def __repr__(self) -> str:
        counts = {s: sum(1 for i in self._items.values() if i.status == s)
                  for s in (REUSE, RUN, DEPENDS)}
        return (f"Plan(workflow={self.workflow.id!r}, reuse={counts[REUSE]}, "
                f"run={counts[RUN]}, depends={counts[DEPENDS]})")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter display: the graph, reused steps dimmed, the others with their reason."""
        from ..render.plan import plan_mimebundle

        return plan_mimebundle(self, include, exclude)

    def __rich__(self) -> Any:
        from ..terminal.plan import plan_table

        return plan_table(self)


class Planner:
    """What the engine calls instead of running a leaf step, in a plan's dry run."""

    def __init__(self, store: Store | None) -> None:
        self.store = store
        self.items: dict[str, PlanItem] = {}

    def reach(self, scope: Scope, step: Any, value: Any, key: str, display: str,
              sr: StepResult) -> Any:
        """Plan ``step`` at ``display`` on its validated input: return the output it would
        reuse, or note why it runs and stop this branch (``Suspended``)."""
        ex = scope.execution
        if step.effects:
            return self._run(display, "effects")
        if not cache_on(step, scope):
            return self._run(display, "not cached")
        taken = take(scope, step, value)
        if taken.key is None:
            return self._run(display, f"not cached: {taken.reason}")
        entry = find(self.store, ex, taken.key) if self.store is not None else None
        if entry is not None:
            try:
                out = from_stored(step.output_schema, entry.output)
            except ValidationError:
                entry = None
            else:
                sr.status, sr.output, sr.cached_from = SUCCESS, out, entry.cached_from
                # the run by the end of its id: ids of runs made close in time begin alike
                reason = f"unchanged since run …{entry.run_id[-8:]}"
                if taken.by_type:
                    reason += "; counted by type only: " + ", ".join(taken.by_type)
                self.items[display] = PlanItem(REUSE, reason, entry.cached_from)
                return out
        return self._run(display, self._why(ex, step, display, taken))

    def _run(self, display: str, reason: str) -> Any:
        self.items[display] = PlanItem(RUN, reason)
        raise Suspended()

    def _why(self, ex: Execution, step: Any, display: str, taken: Taken) -> str:
        last = (self.store.cache_last(ex.workflow_id, strip_items(display))
                if self.store is not None else None)
        if last is None:
            return "no earlier run"
        parts = taken.parts
        if last.parts.get("code") != parts["code"] or last.parts.get("schema") != parts[
                "schema"]:
            return f"code changed: {step.id}"
        changed = _changed_fields(last.parts.get("input"), parts["input"])
        names = {"state": "state", "runtime_context": "runtime_context",
                 "get_init_data": "init data", "run_id": "run_id"}
        changed += [shown for name, shown in names.items()
                    if last.parts.get(name) != parts.get(name)]
        if not changed:
            changed = _changed_reads(ex, last)
        return f"input changed: {', '.join(changed)}" if changed else "no earlier run"


def _changed_fields(old: Any, new: Any) -> list[str]:
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        return [k for k in (*new, *(k for k in old if k not in new)) if old.get(k) != new.get(k)]
    return ["input"]


def _changed_reads(ex: Execution, last: CacheEntry) -> list[str]:
    now = read_digests(ex, dict.fromkeys(last.reads))
    return [path for path, digest in last.reads.items() if now.get(path) != digest]


async def make_plan(wf: Any, store: Store | None, value: Any, state: Any,
                    runtime_context: Any) -> Plan:
    """The plan of ``wf`` on the validated input ``value`` (see the module docstring)."""
    from .context import RuntimeContext

    ex = Execution("plan", wf)
    ex.input, ex.state = value, state
    ex.runtime_context = RuntimeContext.of(runtime_context)
    planner = ex.planner = Planner(store)
    # Suspended: something runs; Bail: a reused step ended the run early; StepFailed: a
    # condition or .map failed on reused values (the run would fail there too).
    with contextlib.suppress(Suspended, Bail, StepFailed):
        await run_entries(Scope(ex, wf, "", (), value), wf, value)
    return Plan(wf, _in_graph_order(wf, planner.items, _not_taken(ex)))


def _not_taken(ex: Execution) -> set[str]:
    """Paths of the branch arms the dry run decided against (and what they hold)."""
    decided: dict[str, int] = {}
    for key, rec in ex.journal.items():
        if "choice" in rec:
            decided.setdefault(node_path(key), rec["choice"])
    out: set[str] = set()
    for node in walk(ex.workflow.graph.description):
        if node.holder == "branch" and node.unit is not None:
            arms: list[Any] = list(node.entry.get("branches") or [])  # type: ignore[call-overload]
            prefix = node.path.rsplit(".", 1)[0] + "." if "." in node.path else ""
            decision = decision_key(prefix, str(node.entry.get("id")))
            choice = decided.get(node_path(decision))
            index = next((i for i, arm in enumerate(arms)
                          if arm["step"]["id"] == node.path.rsplit(".", 1)[-1]), None)
            if choice is not None and index is not None and index != choice:
                out.add(node.path)
    return out


def _in_graph_order(wf: Any, reached: dict[str, PlanItem],
                    not_taken: set[str]) -> dict[str, PlanItem]:
    """The reached items in graph order (foreach items under their step), and a
    ``"depends"`` item for each leaf step the walk did not reach when something runs
    (not for the steps of a branch arm the walk decided against: they will not run)."""
    by_step: dict[str, list[str]] = {}
    for display in reached:
        by_step.setdefault(strip_items(display), []).append(display)
    out: dict[str, PlanItem] = {}
    last_run: str | None = None
    for path, step in wf.steps.items():
        if getattr(step, "is_workflow", False):
            continue
        displays = by_step.get(path)
        if displays:
            for display in displays:
                out[display] = reached[display]
                if reached[display].status == RUN:
                    last_run = display
        elif last_run is not None and not any(
                path == arm or path.startswith(arm + ".") for arm in not_taken):
            out[path] = PlanItem(DEPENDS, f"its input comes from a step that will run "
                                          f"(after '{last_run}')")
    return out
