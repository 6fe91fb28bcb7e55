"""The graph model: one tagged entry per construct, run by the engine and described as JSON.

The JSON description's shape and its walker are in :mod:`flownb.core.description`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from . import description as D
from .params import Signature
from .schema import schema_name

if TYPE_CHECKING:
    from .workflow import Workflow

__all__ = [
    "BranchEntry",
    "Entry",
    "ForeachEntry",
    "Graph",
    "LoopEntry",
    "MapEntry",
    "ParallelEntry",
    "SleepEntry",
    "StepEntry",
    "describe_step",
]

StepLike = Any  # a Step or a committed Workflow


@dataclass(frozen=True, slots=True)
class Condition:
    fn: Callable[..., Any]
    signature: Signature
    label: str


# Every entry class says, besides its fields, what it runs (``units``: steps or nested
# workflows, in order), the id of its own node if it has one (``node``: a map's, a sleep's)
# and its JSON description (``describe()``, a ``TypedDict`` of flownb.core.description).
# Readers of the description walk it with that module's walker; tests/core/test_description.py
# holds the two sides equal (the kinds, and each entry's units and node).


@dataclass(frozen=True, slots=True)
class StepEntry:
    kind: ClassVar[str] = "step"
    node: ClassVar[str | None] = None
    step: StepLike

    @property
    def units(self) -> tuple[StepLike, ...]:
        return (self.step,)

    def describe(self) -> D.StepEntryDescription:
        return {"kind": "step", "step": describe_step(self.step)}


@dataclass(frozen=True, slots=True)
class ParallelEntry:
    kind: ClassVar[str] = "parallel"
    node: ClassVar[str | None] = None
    id: str
    steps: tuple[StepLike, ...]

    @property
    def units(self) -> tuple[StepLike, ...]:
        return self.steps

    def describe(self) -> D.ParallelEntryDescription:
        return {"kind": "parallel", "id": self.id,
                "steps": [describe_step(s) for s in self.steps]}


@dataclass(frozen=True, slots=True)
class BranchEntry:
    kind: ClassVar[str] = "branch"
    node: ClassVar[str | None] = None  # its decision records a choice, but shows no status
    id: str
    branches: tuple[tuple[Condition, StepLike], ...]

    @property
    def units(self) -> tuple[StepLike, ...]:
        return tuple(step for _, step in self.branches)

    def describe(self) -> D.BranchEntryDescription:
        return {"kind": "branch", "id": self.id,
                "branches": [{"label": c.label, "step": describe_step(s)}
                             for c, s in self.branches]}


@dataclass(frozen=True, slots=True)
class MapEntry:
    kind: ClassVar[str] = "map"
    units: ClassVar[tuple[StepLike, ...]] = ()
    id: str
    fn: Callable[..., Any] | None
    signature: Signature | None
    spec: Mapping[str, Any] | None
    label: str

    @property
    def node(self) -> str | None:
        return self.id

    def describe(self) -> D.MapEntryDescription:
        return {"kind": "map", "id": self.id, "label": self.label}


@dataclass(frozen=True, slots=True)
class LoopEntry:
    kind: ClassVar[str] = "loop"
    node: ClassVar[str | None] = None
    step: StepLike
    condition: Condition
    mode: Literal["until", "while"]

    @property
    def units(self) -> tuple[StepLike, ...]:
        return (self.step,)

    def describe(self) -> D.LoopEntryDescription:
        return {"kind": "loop", "mode": self.mode, "label": self.condition.label,
                "step": describe_step(self.step)}


@dataclass(frozen=True, slots=True)
class ForeachEntry:
    kind: ClassVar[str] = "foreach"
    node: ClassVar[str | None] = None
    step: StepLike
    concurrency: int
    # Where the items run; not part of the description or fingerprint, so a run started
    # with one executor can be resumed with another.
    executor: Any = None

    @property
    def units(self) -> tuple[StepLike, ...]:
        return (self.step,)

    def describe(self) -> D.ForeachEntryDescription:
        return {"kind": "foreach", "concurrency": self.concurrency,
                "step": describe_step(self.step)}


@dataclass(frozen=True, slots=True)
class SleepEntry:
    kind: ClassVar[str] = "sleep"
    units: ClassVar[tuple[StepLike, ...]] = ()
    id: str
    mode: Literal["sleep", "sleep_until"]
    seconds: float | None = None
    until: datetime | None = None
    fn: Callable[..., Any] | None = None
    signature: Signature | None = None
    label: str = field(default="")

    @property
    def node(self) -> str | None:
        return self.id

    def describe(self) -> D.SleepEntryDescription:
        return {"kind": "sleep", "id": self.id, "mode": self.mode, "seconds": self.seconds,
                "until": self.until.isoformat() if self.until else None,
                "label": self.label}


Entry = StepEntry | ParallelEntry | BranchEntry | MapEntry | LoopEntry | ForeachEntry | SleepEntry


def entry_steps(entry: Entry) -> tuple[StepLike, ...]:
    """The steps (or nested workflows) an entry runs."""
    return entry.units


@dataclass(frozen=True)
class Graph:
    """The frozen graph of a committed workflow.

    ``entries`` is the ordered list of constructs; ``description`` the JSON description
    stored in every snapshot (a :class:`~flownb.core.description.WorkflowDescription`), so
    stored runs can be drawn without user code.
    """

    workflow: Workflow
    entries: tuple[Entry, ...]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @functools.cached_property
    def description(self) -> dict[str, Any]:
        """The JSON description (computed once; the graph is frozen: don't change it)."""
        # Typed loosely for the stores and views that take any JSON dict.
        return cast(dict[str, Any], describe_step(self.workflow))

    @functools.cached_property
    def fingerprint(self) -> Any:
        return D.fingerprint(self.description)


def describe_step(step: StepLike) -> D.UnitDescription:
    """JSON description of a step or workflow (recursively)."""
    out: dict[str, Any] = {
        "id": step.id,
        "kind": "workflow" if step.is_workflow else "step",
        "description": step.description,
        "input_schema": schema_name(step.input_schema),
        "output_schema": schema_name(step.output_schema),
    }
    for attr in ("resume_schema", "suspend_schema"):
        schema = getattr(step, attr, None)
        if schema is not None:
            out[attr] = _json_schema(schema)
    if step.is_workflow:
        out["entries"] = [e.describe() for e in step.graph.entries]
    return cast(D.UnitDescription, out)


def _json_schema(schema: Any) -> dict[str, Any]:
    from .schema import adapter

    try:
        return adapter(schema).json_schema()
    except Exception:
        return {}
