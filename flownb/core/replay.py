"""Does a stored run still fit the current definition of its workflow?

``resume``, ``restart`` (and, later, ``fork``) call ``replay_problems`` *before* they claim a
stored run: every record the replay will reuse must sit at the same place in the current
graph, and every stored output must validate against the current schema of its step. If
not, they raise and the stored run stays exactly as it was, resumable by a definition that
fits (SPEC §4b).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import describe_field_errors, field_errors_from_pydantic
from .graph import (
    BranchEntry,
    ForeachEntry,
    LoopEntry,
    MapEntry,
    ParallelEntry,
    SleepEntry,
    StepEntry,
    fingerprint,
)

if TYPE_CHECKING:
    from .engine import Execution

__all__ = ["Place", "current_places", "replay_problems", "stored_places"]


@dataclass(frozen=True, slots=True)
class Place:
    """Where a node sits: the construct that holds it, and whether it is a workflow."""

    holder: str  # "then", "parallel", "branch", "dountil", "dowhile", "foreach", "map", ...
    workflow: bool
    step: Any = None  # the current definition's Step or Workflow (None for stored places)

    def same_as(self, other: Place) -> bool:
        return self.holder == other.holder and self.workflow == other.workflow

    def describe(self) -> str:
        what = "nested workflow" if self.workflow else "step"
        return f"a {what} in a .{self.holder}" if self.holder not in ("map", "sleep",
                                                                       "decision") else \
            {"map": "a .map", "sleep": "a sleep", "decision": "a .branch"}[self.holder]


def current_places(workflow: Any) -> dict[str, Place]:
    """Node path (dotted step ids) → ``Place``, for a committed workflow."""
    out: dict[str, Place] = {}

    def walk(wf: Any, prefix: str) -> None:
        for entry in wf.graph.entries:
            if isinstance(entry, (MapEntry, SleepEntry)):
                out[prefix + entry.id] = Place(entry.kind, False)
                continue
            if isinstance(entry, BranchEntry):
                out[prefix + entry.id] = Place("decision", False)
                steps: tuple[Any, ...] = tuple(step for _, step in entry.branches)
                holder = "branch"
            elif isinstance(entry, ParallelEntry):
                steps, holder = entry.steps, "parallel"
            elif isinstance(entry, LoopEntry):
                steps, holder = (entry.step,), f"do{entry.mode}"
            elif isinstance(entry, ForeachEntry):
                steps, holder = (entry.step,), "foreach"
            else:
                assert isinstance(entry, StepEntry)
                steps, holder = (entry.step,), "then"
            for step in steps:
                out[prefix + step.id] = Place(holder, step.is_workflow, step)
                if step.is_workflow:
                    walk(step, f"{prefix}{step.id}.")

    walk(workflow, "")
    return out


def stored_places(description: Mapping[str, Any]) -> dict[str, Place]:
    """Node path → ``Place``, from the graph description stored with a run."""
    out: dict[str, Place] = {}

    def add(step: Mapping[str, Any], holder: str, prefix: str) -> None:
        is_workflow = step.get("kind") == "workflow"
        out[prefix + step["id"]] = Place(holder, is_workflow)
        if is_workflow:
            walk(step, f"{prefix}{step['id']}.")

    def walk(wf: Mapping[str, Any], prefix: str) -> None:
        for entry in wf.get("entries") or ():
            kind = entry.get("kind")
            if kind in ("map", "sleep"):
                out[prefix + entry["id"]] = Place(kind, False)
            elif kind == "branch":
                out[prefix + entry["id"]] = Place("decision", False)
                for arm in entry["branches"]:
                    add(arm["step"], "branch", prefix)
            elif kind == "parallel":
                for step in entry["steps"]:
                    add(step, "parallel", prefix)
            elif kind == "loop":
                add(entry["step"], f"do{entry['mode']}", prefix)
            elif kind == "foreach":
                add(entry["step"], "foreach", prefix)
            elif kind == "step":
                add(entry["step"], "then", prefix)

    walk(description, "")
    return out


_MARK = re.compile(r"\[[^\]]*\]")


def _node(key: str) -> str:
    return _MARK.sub("", key) if "[" in key else key


def _records(ex: Execution) -> Iterator[tuple[str, str, Mapping[str, Any] | None]]:
    """(key, display, record) for every stored record: steps (key == display) and
    journal records; the record is ``None`` for a step result (read from ``ex.steps``)."""
    for display in ex.steps:
        yield display, display, None
    for key, record in ex.journal.items():
        yield key, "", record


def replay_problems(ex: Execution, stored_graph: Mapping[str, Any] | None) -> list[str]:
    """What stops the current definition from continuing the stored run ``ex`` holds."""
    problems = list(ex.replay_problems)
    places = current_places(ex.workflow)
    structure_changed = (stored_graph is not None and
                         fingerprint(stored_graph) != ex.workflow.graph.fingerprint)
    before = stored_places(stored_graph) if structure_changed and stored_graph else {}
    seen: set[str] = set()
    for key, display, record in _records(ex):
        node = _node(key)
        place = places.get(node)
        if place is None:
            if node not in seen:
                seen.add(node)
                problems.append(f"step '{node}' ran in the stored run but is not in the "
                                "workflow now (removed or renamed)")
            continue
        old = before.get(node)
        if old is not None and not old.same_as(place):
            if node not in seen:
                seen.add(node)
                problems.append(f"step '{node}' was {old.describe()} and is now "
                                f"{place.describe()}")
            continue
        problem = _output_problem(ex, key, display, record, node, place)
        if problem is not None:
            problems.append(problem)
    return problems


def _output_problem(ex: Execution, key: str, display: str, record: Mapping[str, Any] | None,
                    node: str, place: Place) -> str | None:
    if key not in ex.stored_json or place.step is None:
        return None  # nothing stored to read back, or a .map/sleep/decision (no schema)
    if record is None:
        sr = ex.steps[display]
        if sr.status != "success":
            return None
    elif record.get("status") != "success":
        return None
    schema = place.step.output_schema
    if place.holder == "foreach" and not key.endswith("]"):
        schema = list[schema]  # type: ignore[valid-type]  # the foreach's list of outputs
    try:
        ex.live_output(key, display, schema)
    except ValidationError as exc:
        fields = describe_field_errors(field_errors_from_pydantic(exc))
        where = display or node
        return f"step '{where}': its stored output no longer matches its output_schema " \
               f"({fields})"
    return None
