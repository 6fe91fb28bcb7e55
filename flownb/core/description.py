"""The graph description: its typed shape, and the one walker every reader of it uses.

A committed workflow describes its graph as JSON (``wf.graph.description``, built by
:mod:`flownb.core.graph`), and every snapshot keeps that description, so a stored run can be
drawn and checked without importing the user's code. This module is the description's
single point of truth, standard library only:

* its shape, as ``TypedDict`` classes: a step or nested workflow is a *unit*
  (:class:`StepDescription`, :class:`WorkflowDescription`); a workflow's ``entries`` are its
  constructs, each a dict tagged by ``kind`` (:data:`ENTRY_KINDS`), one class per kind;
* :class:`EntryVisitor`, one method per entry kind, and its :meth:`~EntryVisitor.visit`,
  the one place that switches on ``kind``: it hands each method the entry with its units
  (and its own node's path) at their place in the graph, as dotted paths (``"outer.inner"``);
* :func:`entry_nodes` and :func:`walk`, the places of the graph that record results (steps,
  nested workflows, maps, sleeps, a branch's decision), for readers that need no drawing.

The renderers (``render/dot.py``, ``terminal/tree.py``) are visitors; statuses, the terminal
view, the replay check and the fingerprint read :func:`walk` or :func:`entry_nodes`. A new
construct adds here its ``TypedDict`` (and its name in :data:`EntryKind`), its abstract
method on :class:`EntryVisitor`, its branch in ``visit`` and the nodes it holds
(``_Nodes``); then one method to each other visitor (a visitor without it cannot be
instantiated), and nothing in the readers of :func:`walk`.

>>> desc = {"id": "wf", "kind": "workflow", "entries": [
...     {"kind": "step", "step": {"id": "a", "kind": "step"}},
...     {"kind": "branch", "id": "branch-1", "branches": [
...         {"label": "big", "step": {"id": "inner", "kind": "workflow", "entries": [
...             {"kind": "map", "id": "map-1", "label": "to_prompt"}]}}]}]}
>>> [(n.path, n.kind, n.holder) for n in walk(desc)]
[('a', 'step', 'then'), ('branch-1', 'decision', 'decision'), ('inner', 'workflow', 'branch'), \
('inner.map-1', 'map', 'map')]

The stored format is the one written since the first release; readers accept descriptions
with the optional texts (``description``, ``label``, schemas) left out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, NotRequired, TypedDict, TypeVar, cast, get_args

__all__ = [
    "ENTRY_KINDS",
    "BranchArmDescription",
    "BranchEntryDescription",
    "EntryDescription",
    "EntryKind",
    "EntryVisitor",
    "ForeachEntryDescription",
    "LoopEntryDescription",
    "MapEntryDescription",
    "Node",
    "ParallelEntryDescription",
    "SleepEntryDescription",
    "StepDescription",
    "StepEntryDescription",
    "Unit",
    "UnitDescription",
    "WorkflowDescription",
    "entry_nodes",
    "fingerprint",
    "top_entries",
    "walk",
]

# -- the shape ----------------------------------------------------------------------------------


class StepDescription(TypedDict):
    """A step. ``input_schema``/``output_schema`` are schema names (``"Msg"``, ``"Any"``);
    ``resume_schema``/``suspend_schema`` JSON schemas, present when the step has them."""

    id: str
    kind: Literal["step"]
    description: str | None
    input_schema: str
    output_schema: str
    resume_schema: NotRequired[dict[str, Any]]
    suspend_schema: NotRequired[dict[str, Any]]


class WorkflowDescription(TypedDict):
    """A workflow (the top of a description, or a nested one): its constructs in order."""

    id: str
    kind: Literal["workflow"]
    description: str | None
    input_schema: str
    output_schema: str
    entries: list[EntryDescription]


UnitDescription = StepDescription | WorkflowDescription
"""What a construct runs: a step or a nested workflow (``"entries" in`` it)."""


class StepEntryDescription(TypedDict):
    """``.then(step)``."""

    kind: Literal["step"]
    step: UnitDescription


class ParallelEntryDescription(TypedDict):
    """``.parallel([...])``: ``id`` is ``parallel-N``; it has no node of its own."""

    kind: Literal["parallel"]
    id: str
    steps: list[UnitDescription]


class BranchArmDescription(TypedDict):
    """One arm of a ``.branch``: its condition's label (the function's name) and step."""

    label: str
    step: UnitDescription


class BranchEntryDescription(TypedDict):
    """``.branch([...])``: ``id`` (``branch-N``) names its decision, which the run records."""

    kind: Literal["branch"]
    id: str
    branches: list[BranchArmDescription]


class MapEntryDescription(TypedDict):
    """``.map(fn or mapping)``: a node of its own; ``label`` the function's name or
    ``"mapping"``."""

    kind: Literal["map"]
    id: str
    label: str


class LoopEntryDescription(TypedDict):
    """``.dountil``/``.dowhile``: ``mode`` ``"until"``/``"while"``, ``label`` the
    condition's name."""

    kind: Literal["loop"]
    mode: Literal["until", "while"]
    label: str
    step: UnitDescription


class ForeachEntryDescription(TypedDict):
    """``.foreach(step, concurrency)``."""

    kind: Literal["foreach"]
    concurrency: int
    step: UnitDescription


class SleepEntryDescription(TypedDict):
    """``.sleep``/``.sleep_until``: a node of its own; ``seconds`` or ``until`` (ISO 8601)
    when fixed, ``label`` what it waits for."""

    kind: Literal["sleep"]
    id: str
    mode: Literal["sleep", "sleep_until"]
    seconds: float | None
    until: str | None
    label: str


EntryDescription = (StepEntryDescription | ParallelEntryDescription | BranchEntryDescription
                    | MapEntryDescription | LoopEntryDescription | ForeachEntryDescription
                    | SleepEntryDescription)
"""One construct of a workflow, tagged by ``kind``."""

EntryKind = Literal["step", "parallel", "branch", "map", "loop", "foreach", "sleep"]
ENTRY_KINDS: tuple[EntryKind, ...] = get_args(EntryKind)
"""Every entry kind the walker knows (a test holds it equal to the graph's ``Entry`` kinds)."""


def top_entries(description: Mapping[str, Any]) -> list[EntryDescription]:
    """A workflow description's entries; a lone step's description as a one-step workflow."""
    entries = description.get("entries")
    if entries is None:
        return [cast(StepEntryDescription, {"kind": "step", "step": description})]
    return cast(list[EntryDescription], entries)


# -- the walker ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unit:
    """A step or nested workflow at its place in the graph: ``path`` is its dotted step path
    (``"outer.inner"``), ``step`` its description."""

    path: str
    step: UnitDescription

    @classmethod
    def at(cls, step: UnitDescription, prefix: str) -> Unit:
        return cls(prefix + str(step["id"]), step)

    @property
    def id(self) -> str:
        return str(self.step["id"])

    @property
    def nested(self) -> bool:
        """Whether it is a nested workflow (it has entries of its own)."""
        return "entries" in self.step

    @property
    def entries(self) -> list[EntryDescription]:
        """A nested workflow's entries (``[]`` for a step)."""
        return cast(list[EntryDescription], self.step.get("entries") or [])

    @property
    def prefix(self) -> str:
        """The path prefix of the entries inside it."""
        return self.path + "."


C = TypeVar("C")
R = TypeVar("R")


class EntryVisitor(ABC, Generic[C, R]):
    """One method per entry kind; :meth:`visit` calls the one of an entry's kind.

    Each method receives the entry, its units (:class:`Unit`, with their paths) or the path
    of its own node, and ``ctx``, whatever the visitor threads through (a parent tree node,
    ``None``). A visitor goes into a nested workflow itself (``unit.entries`` with
    ``unit.prefix``), so it decides what wraps the inner entries.
    """

    def visit(self, entry: EntryDescription, prefix: str, ctx: C) -> R:
        """Call the method of ``entry``'s kind; ``prefix`` is the path prefix of the
        workflow holding it (``""`` at the top, ``"outer."`` inside ``outer``)."""
        kind: Any = entry.get("kind")
        if entry["kind"] == "step":
            return self.visit_step(entry, Unit.at(entry["step"], prefix), ctx)
        if entry["kind"] == "parallel":
            return self.visit_parallel(entry, prefix + str(entry["id"]),
                                       [Unit.at(s, prefix) for s in entry["steps"]], ctx)
        if entry["kind"] == "branch":
            return self.visit_branch(entry, prefix + str(entry["id"]),
                                     [(arm, Unit.at(arm["step"], prefix))
                                      for arm in entry["branches"]], ctx)
        if entry["kind"] == "map":
            return self.visit_map(entry, prefix + str(entry["id"]), ctx)
        if entry["kind"] == "loop":
            return self.visit_loop(entry, Unit.at(entry["step"], prefix), ctx)
        if entry["kind"] == "foreach":
            return self.visit_foreach(entry, Unit.at(entry["step"], prefix), ctx)
        if entry["kind"] == "sleep":
            return self.visit_sleep(entry, prefix + str(entry["id"]), ctx)
        raise ValueError(f"unknown entry kind {kind!r} in the graph description")

    @abstractmethod
    def visit_step(self, entry: StepEntryDescription, unit: Unit, ctx: C) -> R:
        """``.then``: one unit."""

    @abstractmethod
    def visit_parallel(self, entry: ParallelEntryDescription, path: str, units: list[Unit],
                       ctx: C) -> R:
        """``.parallel``: ``path`` is the construct's (it names no node), then its units."""

    @abstractmethod
    def visit_branch(self, entry: BranchEntryDescription, path: str,
                     arms: list[tuple[BranchArmDescription, Unit]], ctx: C) -> R:
        """``.branch``: ``path`` is its decision's; each arm with its unit."""

    @abstractmethod
    def visit_map(self, entry: MapEntryDescription, path: str, ctx: C) -> R:
        """``.map``: a node of its own at ``path``."""

    @abstractmethod
    def visit_loop(self, entry: LoopEntryDescription, unit: Unit, ctx: C) -> R:
        """``.dountil``/``.dowhile``: one unit, run again and again."""

    @abstractmethod
    def visit_foreach(self, entry: ForeachEntryDescription, unit: Unit, ctx: C) -> R:
        """``.foreach``: one unit, run once per item (``"path[i]"``)."""

    @abstractmethod
    def visit_sleep(self, entry: SleepEntryDescription, path: str, ctx: C) -> R:
        """``.sleep``/``.sleep_until``: a node of its own at ``path``."""


NodeKind = Literal["step", "workflow", "map", "sleep", "decision"]


@dataclass(frozen=True, slots=True)
class Node:
    """A place of the graph that records results.

    ``kind``: ``step``, ``workflow`` (a unit), ``map``, ``sleep`` or ``decision`` (an entry's
    own node). ``holder``: for a unit, the builder method of the construct that runs it
    (``then``, ``parallel``, ``branch``, ``dountil``, ``dowhile``, ``foreach``); for an
    entry's own node, its ``kind``. ``unit`` is set for units. Every node but a decision
    shows a status.
    """

    path: str
    kind: NodeKind
    holder: str
    entry: EntryDescription
    unit: Unit | None = None

    @property
    def shows_status(self) -> bool:
        return self.kind != "decision"


def _unit_node(unit: Unit, holder: str, entry: EntryDescription) -> Node:
    return Node(unit.path, "workflow" if unit.nested else "step", holder, entry, unit)


class _Nodes(EntryVisitor[None, list[Node]]):
    """The nodes an entry holds directly: its own first, then its units in order."""

    def visit_step(self, entry: StepEntryDescription, unit: Unit, ctx: None) -> list[Node]:
        return [_unit_node(unit, "then", entry)]

    def visit_parallel(self, entry: ParallelEntryDescription, path: str, units: list[Unit],
                       ctx: None) -> list[Node]:
        return [_unit_node(u, "parallel", entry) for u in units]

    def visit_branch(self, entry: BranchEntryDescription, path: str,
                     arms: list[tuple[BranchArmDescription, Unit]], ctx: None) -> list[Node]:
        return [Node(path, "decision", "decision", entry),
                *(_unit_node(u, "branch", entry) for _, u in arms)]

    def visit_map(self, entry: MapEntryDescription, path: str, ctx: None) -> list[Node]:
        return [Node(path, "map", "map", entry)]

    def visit_loop(self, entry: LoopEntryDescription, unit: Unit, ctx: None) -> list[Node]:
        return [_unit_node(unit, f"do{entry['mode']}", entry)]

    def visit_foreach(self, entry: ForeachEntryDescription, unit: Unit,
                      ctx: None) -> list[Node]:
        return [_unit_node(unit, "foreach", entry)]

    def visit_sleep(self, entry: SleepEntryDescription, path: str, ctx: None) -> list[Node]:
        return [Node(path, "sleep", "sleep", entry)]


_NODES = _Nodes()


def entry_nodes(entry: EntryDescription, prefix: str = "") -> list[Node]:
    """The nodes ``entry`` holds directly (not those inside a nested workflow)."""
    return _NODES.visit(entry, prefix, None)


def walk(description: Mapping[str, Any]) -> Iterator[Node]:
    """Every node of a description, in drawing order: each entry's nodes, a nested
    workflow's nodes right after it. A lone step's description is one node."""
    return _walk(top_entries(description), "")


def _walk(entries: Sequence[EntryDescription], prefix: str) -> Iterator[Node]:
    for entry in entries:
        for node in entry_nodes(entry, prefix):
            yield node
            if node.unit is not None and node.unit.nested:
                yield from _walk(node.unit.entries, node.unit.prefix)


def fingerprint(description: Mapping[str, Any]) -> Any:
    """The structure of a described graph (kinds and ids), ignoring labels and text.

    Two definitions with the same fingerprint can continue each other's stored runs.
    """
    if "entries" not in description:
        return description["id"]
    shape = []
    for entry in top_entries(description):
        nodes = entry_nodes(entry)
        shape.append((entry["kind"], tuple(fingerprint(n.unit.step) if n.unit is not None
                                           else n.path for n in nodes)))
    return (description["id"], tuple(shape))
