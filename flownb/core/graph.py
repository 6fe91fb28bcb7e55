"""The graph model: one tagged entry per construct, shared by the engine and every renderer."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

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


@dataclass(frozen=True, slots=True)
class StepEntry:
    kind: ClassVar[str] = "step"
    step: StepLike


@dataclass(frozen=True, slots=True)
class ParallelEntry:
    kind: ClassVar[str] = "parallel"
    id: str
    steps: tuple[StepLike, ...]


@dataclass(frozen=True, slots=True)
class BranchEntry:
    kind: ClassVar[str] = "branch"
    id: str
    branches: tuple[tuple[Condition, StepLike], ...]


@dataclass(frozen=True, slots=True)
class MapEntry:
    kind: ClassVar[str] = "map"
    id: str
    fn: Callable[..., Any] | None
    signature: Signature | None
    spec: Mapping[str, Any] | None
    label: str


@dataclass(frozen=True, slots=True)
class LoopEntry:
    kind: ClassVar[str] = "loop"
    step: StepLike
    condition: Condition
    mode: str  # "until" | "while"


@dataclass(frozen=True, slots=True)
class ForeachEntry:
    kind: ClassVar[str] = "foreach"
    step: StepLike
    concurrency: int
    # Where the items run; not part of the description or fingerprint, so a run started
    # with one executor can be resumed with another.
    executor: Any = None


@dataclass(frozen=True, slots=True)
class SleepEntry:
    kind: ClassVar[str] = "sleep"
    id: str
    mode: str  # "sleep" | "sleep_until"
    seconds: float | None = None
    until: datetime | None = None
    fn: Callable[..., Any] | None = None
    signature: Signature | None = None
    label: str = field(default="")


Entry = StepEntry | ParallelEntry | BranchEntry | MapEntry | LoopEntry | ForeachEntry | SleepEntry


def entry_steps(entry: Entry) -> tuple[StepLike, ...]:
    """The steps (or nested workflows) an entry runs."""
    if isinstance(entry, (StepEntry, LoopEntry, ForeachEntry)):
        return (entry.step,)
    if isinstance(entry, ParallelEntry):
        return entry.steps
    if isinstance(entry, BranchEntry):
        return tuple(step for _, step in entry.branches)
    return ()


def entry_own_id(entry: Entry) -> str | None:
    """The id of an entry that is not itself a step (map, sleep, parallel, branch)."""
    if isinstance(entry, (ParallelEntry, BranchEntry, MapEntry, SleepEntry)):
        return entry.id
    return None


@dataclass(frozen=True)
class Graph:
    """The frozen graph of a committed workflow.

    ``entries`` is the ordered list of constructs; ``describe()`` gives the JSON
    description stored in every snapshot, so stored runs can be drawn without user code.
    """

    workflow: Workflow
    entries: tuple[Entry, ...]

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @functools.cached_property
    def description(self) -> dict[str, Any]:
        """The JSON description (computed once; the graph is frozen)."""
        return describe_step(self.workflow)

    @functools.cached_property
    def fingerprint(self) -> Any:
        return fingerprint(self.description)

    def describe(self) -> dict[str, Any]:
        """A fresh copy of the JSON description."""
        return copy.deepcopy(self.description)


def describe_step(step: StepLike) -> dict[str, Any]:
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
        out["entries"] = [_describe_entry(e) for e in step.graph.entries]
    return out


def _json_schema(schema: Any) -> dict[str, Any]:
    from .schema import adapter

    try:
        return adapter(schema).json_schema()
    except Exception:
        return {}


def _describe_entry(entry: Entry) -> dict[str, Any]:
    if isinstance(entry, StepEntry):
        return {"kind": "step", "step": describe_step(entry.step)}
    if isinstance(entry, ParallelEntry):
        return {"kind": "parallel", "id": entry.id,
                "steps": [describe_step(s) for s in entry.steps]}
    if isinstance(entry, BranchEntry):
        return {"kind": "branch", "id": entry.id,
                "branches": [{"label": c.label, "step": describe_step(s)}
                             for c, s in entry.branches]}
    if isinstance(entry, MapEntry):
        return {"kind": "map", "id": entry.id, "label": entry.label}
    if isinstance(entry, LoopEntry):
        return {"kind": "loop", "mode": entry.mode, "label": entry.condition.label,
                "step": describe_step(entry.step)}
    if isinstance(entry, ForeachEntry):
        return {"kind": "foreach", "concurrency": entry.concurrency,
                "step": describe_step(entry.step)}
    return {"kind": "sleep", "id": entry.id, "mode": entry.mode,
            "seconds": entry.seconds,
            "until": entry.until.isoformat() if entry.until else None,
            "label": entry.label}


def fingerprint(description: Mapping[str, Any]) -> Any:
    """The structure of a described graph (kinds and ids), ignoring labels and text.

    Two definitions with the same fingerprint can continue each other's stored runs.
    """
    if "entries" in description:
        return (description["id"], tuple(_fp_entry(e) for e in description["entries"]))
    return description["id"]


def _fp_entry(e: Mapping[str, Any]) -> Any:
    kind = e["kind"]
    if kind in ("step", "loop", "foreach"):
        return (kind, fingerprint(e["step"]))
    if kind == "parallel":
        return (kind, tuple(fingerprint(s) for s in e["steps"]))
    if kind == "branch":
        return (kind, tuple(fingerprint(b["step"]) for b in e["branches"]))
    return (kind, e.get("id"))
