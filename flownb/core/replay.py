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
from .description import fingerprint, walk

if TYPE_CHECKING:
    from .execution import Execution

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
    steps = workflow.steps
    return {node.path: Place(node.holder, node.kind == "workflow",
                             steps.get(node.path) if node.unit is not None else None)
            for node in walk(workflow.graph.description)}


def stored_places(description: Mapping[str, Any]) -> dict[str, Place]:
    """Node path → ``Place``, from the graph description stored with a run."""
    return {node.path: Place(node.holder, node.kind == "workflow")
            for node in walk(description)}


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
