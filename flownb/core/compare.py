"""Compare two runs step by step: ``flownb.compare(a, b)`` → ``RunDiff``.

Pure: each side is read as JSON data (``schema.to_jsonable``) from a run's step records,
whether they are ``StepResult`` objects (``Run.steps``, ``WorkflowResult.steps``) or the
dicts of a stored ``Snapshot.steps``, so a stored run compares without its workflow's code.
Of each record four fields count (SPEC §3d): ``input`` (the record's payload), ``output``,
``status`` and ``error``; timings and attempts never make two steps differ.

>>> from flownb.core.results import StepResult, WorkflowResult
>>> def result(run_id, score):
...     steps = {"score": StepResult("success", output={"score": score})}
...     return WorkflowResult("success", run_id, "wf", steps=steps)
>>> diff = compare(result("r1", 3), result("r2", 4))
>>> diff.changed, diff["score"].paths
(['score'], ('output.score',))
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import FlownbError, RunNotFoundError
from .schema import to_jsonable

if TYPE_CHECKING:
    from ..storage.base import Store

__all__ = ["FIELDS", "MISSING", "Difference", "RunDiff", "StepDiff", "compare"]

FIELDS: tuple[str, ...] = ("input", "output", "status", "error")
"""The fields of a step record a comparison reads, in the order ``StepDiff.fields`` lists
them (``input`` is the record's ``payload``)."""

_RECORD_KEY = {"input": "payload", "output": "output", "status": "status", "error": "error"}
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


class _Missing:
    """The value on the side that has no such key or list item."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""``Difference.a`` or ``.b`` where that side has no value at the path (a key or list item
only the other side has)."""


@dataclass(frozen=True, slots=True)
class Difference:
    """One JSON path where two step records differ, with the value on each side (JSON
    data, or :data:`MISSING`)."""

    path: str
    a: Any
    b: Any

    def to_dict(self) -> dict[str, Any]:
        """``{"path", "a", "b"}``; a side that is :data:`MISSING` is left out."""
        out: dict[str, Any] = {"path": self.path}
        if self.a is not MISSING:
            out["a"] = self.a
        if self.b is not MISSING:
            out["b"] = self.b
        return out


@dataclass(frozen=True, slots=True)
class StepDiff:
    """How one step (dotted path, as ``result.steps`` keys) differs between two runs.

    ``status`` is ``"same"``, ``"changed"``, ``"only_a"`` or ``"only_b"``; ``fields`` the
    record fields that differ (of ``"input"``, ``"output"``, ``"status"``, ``"error"``);
    ``paths`` the JSON paths that differ (``"output.score"``, ``"input.items[2]"``);
    ``differences`` each of those paths with its value in A and in B. A step only one run
    has lists no fields or paths.
    """

    path: str
    status: str
    fields: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    differences: tuple[Difference, ...] = field(default=(), repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "fields": list(self.fields),
                "paths": list(self.paths),
                "differences": [d.to_dict() for d in self.differences]}


@dataclass(frozen=True, slots=True)
class RunSide:
    """One of the two runs compared: its ids, status and step records as JSON data (each
    ``{"input", "output", "status", "error"}``), in execution order."""

    run_id: str | None
    workflow_id: str | None
    status: str | None
    steps: dict[str, dict[str, Any]]
    graph: dict[str, Any] | None = None
    """Its graph description (a stored run's, or a ``Run``'s workflow's), for drawing it;
    ``None`` for a ``WorkflowResult`` (the display then looks the run up by id)."""


class RunDiff(Mapping[str, StepDiff]):
    """Two runs compared step by step: ``diff[path]`` is a :class:`StepDiff`; iterating
    yields every step path (A's steps in execution order, then the ones only B has).

    >>> diff = flownb.compare(run, fork)                          # doctest: +SKIP
    >>> diff.changed                                              # doctest: +SKIP
    ['score', 'publish']
    """

    def __init__(self, a: RunSide, b: RunSide, steps: dict[str, StepDiff]) -> None:
        self.a = a
        self.b = b
        self._steps = steps

    def __getitem__(self, path: str) -> StepDiff:
        return self._steps[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def _with(self, status: str) -> list[str]:
        return [path for path, d in self._steps.items() if d.status == status]

    @property
    def changed(self) -> list[str]:
        """Paths of the steps both runs have whose records differ, in execution order."""
        return self._with("changed")

    @property
    def only_a(self) -> list[str]:
        """Paths of the steps only run A has."""
        return self._with("only_a")

    @property
    def only_b(self) -> list[str]:
        """Paths of the steps only run B has."""
        return self._with("only_b")

    @property
    def same(self) -> bool:
        """True when every step is ``"same"``."""
        return all(d.status == "same" for d in self._steps.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON data: both runs' ids and statuses and every step's diff, in order."""
        def side(s: RunSide) -> dict[str, Any]:
            return {"run_id": s.run_id, "workflow_id": s.workflow_id, "status": s.status}

        return {"a": side(self.a), "b": side(self.b),
                "steps": [d.to_dict() for d in self._steps.values()]}

    def _repr_html_(self) -> str:
        """Jupyter: both runs side by side, each as its step graph (from the graph stored
        with the run) over its step table, the changed steps marked in both, then their
        differences. Without Graphviz or a stored graph, the tables and a line saying why."""
        from ..render.diff import diff_view_html

        return diff_view_html(self)

    def __repr__(self) -> str:
        return (f"RunDiff(a={self.a.run_id!r}, b={self.b.run_id!r}, steps={len(self)}, "
                f"changed={self.changed!r}, only_a={self.only_a!r}, only_b={self.only_b!r})")


def compare(a: Any, b: Any, *, store: Store | None = None) -> RunDiff:
    """Compare two runs step by step. Each of ``a``, ``b`` is a ``Run``, a
    ``WorkflowResult``, a stored ``Snapshot`` or a run id (looked up in ``store``, else the
    default store; ``RunNotFoundError`` names an id it does not hold).

    >>> diff = flownb.compare(first, second)                      # doctest: +SKIP
    >>> diff["score"].status, diff["score"].paths                 # doctest: +SKIP
    ('changed', ('output.score',))
    """
    side_a, side_b = _side(a, store, "a"), _side(b, store, "b")
    steps: dict[str, StepDiff] = {}
    for path, rec_a in side_a.steps.items():
        rec_b = side_b.steps.get(path)
        steps[path] = (StepDiff(path, "only_a") if rec_b is None
                       else _step_diff(path, rec_a, rec_b))
    for path in side_b.steps:
        if path not in steps:
            steps[path] = StepDiff(path, "only_b")
    return RunDiff(side_a, side_b, steps)


def _side(value: Any, store: Store | None, name: str) -> RunSide:
    if isinstance(value, str):
        value = _load(value, store)
    records = getattr(value, "steps", None)
    if not isinstance(records, Mapping):
        raise FlownbError(f"compare(): {name} must be a Run, a WorkflowResult or a run id, "
                          f"got {type(value).__name__}")
    workflow_id = getattr(value, "workflow_id", None)
    if workflow_id is None:  # a Run names its workflow through the workflow itself
        workflow_id = getattr(getattr(value, "workflow", None), "id", None)
    return RunSide(run_id=getattr(value, "run_id", None), workflow_id=workflow_id,
                   status=getattr(value, "status", None),
                   steps={str(path): _record(r) for path, r in records.items()},
                   graph=_graph_of(value))


def _graph_of(value: Any) -> dict[str, Any] | None:
    """The graph description of a stored run (``Snapshot.graph``) or of a ``Run``: the one
    stored with it, else its workflow's."""
    graph = getattr(value, "graph", None)  # a Snapshot
    if isinstance(graph, Mapping) and graph:
        return dict(graph)
    stored = getattr(value, "_graph", None)  # a Run reattached from its store
    if isinstance(stored, Mapping) and stored:
        return dict(stored)
    workflow = getattr(value, "workflow", None)
    if workflow is not None and getattr(workflow, "committed", False):
        return dict(workflow.graph.description)
    return None


def _load(run_id: str, store: Store | None) -> Any:
    if store is None:
        from ..config import resolve_store

        store = resolve_store(None)
    snap = store.load(run_id) if store is not None else None
    if snap is None:
        where = "no store is configured" if store is None else "it is not in the store"
        raise RunNotFoundError(f"compare(): no stored run '{run_id}' ({where}; pass store=)",
                               run_id=run_id)
    return snap


def _record(record: Any) -> dict[str, Any]:
    def get(key: str) -> Any:
        if isinstance(record, Mapping):
            return record.get(key)
        return getattr(record, key, None)

    return {name: to_jsonable(get(key)) for name, key in _RECORD_KEY.items()}


def _step_diff(path: str, a: dict[str, Any], b: dict[str, Any]) -> StepDiff:
    found: list[Difference] = []
    fields_: list[str] = []
    for name in FIELDS:
        before = len(found)
        _walk(name, a[name], b[name], found)
        if len(found) > before:
            fields_.append(name)
    if not found:
        return StepDiff(path, "same")
    return StepDiff(path, "changed", tuple(fields_), tuple(d.path for d in found),
                    tuple(found))


def _walk(path: str, a: Any, b: Any, out: list[Difference]) -> None:
    """Append a :class:`Difference` for every JSON path under ``path`` where ``a`` and
    ``b`` differ: into objects by key (A's keys first, then B's), into lists by index."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key, value in a.items():
            _walk(_key_path(path, key), value, b.get(key, MISSING), out)
        for key, value in b.items():
            if key not in a:
                _walk(_key_path(path, key), MISSING, value, out)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            _walk(f"{path}[{i}]", a[i] if i < len(a) else MISSING,
                  b[i] if i < len(b) else MISSING, out)
    elif not _same_scalar(a, b):
        out.append(Difference(path, a, b))


def _same_scalar(a: Any, b: Any) -> bool:
    # JSON's true is not its 1 (Python's True == 1); 1 and 1.0 are the same JSON number.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (a != a and b != b)  # two NaNs are the same value here
    return type(a) is type(b) and a == b


def _key_path(path: str, key: str) -> str:
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"
