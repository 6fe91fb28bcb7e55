"""From a run's step results to what its views show: one status per graph node, a timeline.

Pure functions over ``StepResult`` objects or their stored dicts (``StepResult.to_dict()``), so
the notebook view, the terminal view and ``inspect`` of a stored run all read the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.description import walk

__all__ = ["NodeSummary", "graph_path", "node_paths", "node_statuses", "summarize", "timeline"]

_INDEX = re.compile(r"\[\d+\]")

# When several results draw on one node (the items of a foreach), the one that matters most
# shows: a failure first, then work still going on, then a wait for a person.
_PRECEDENCE = ("failed", "running", "suspended", "canceled", "success", "skipped", "pending")
_RANK = {status: rank for rank, status in enumerate(_PRECEDENCE)}


def graph_path(path: str) -> str:
    """The graph node a step path draws on: foreach item indexes dropped.

    >>> graph_path("per-doc[3].embed"), graph_path("review[12]"), graph_path("a.b")
    ('per-doc.embed', 'review', 'a.b')
    """
    node = _NODES.get(path)
    return node if node is not None else _node_of(path)


# Path -> node, for every path seen: a view update maps thousands of foreach item paths,
# and a dict lookup is a quarter of the cost of an ``lru_cache`` hit (which also reorders
# its recency list). Emptied when it grows past the bound.
_NODES: dict[str, str] = {}
_NODES_MAX = 1 << 16


def _node_of(path: str) -> str:
    if len(_NODES) >= _NODES_MAX:
        _NODES.clear()
    node = _NODES[path] = _INDEX.sub("", path) if "[" in path else path
    return node


def node_paths(description: Mapping[str, Any]) -> list[str]:
    """Every node of a graph description that shows a status, in drawing order: steps,
    nested workflows (and their steps, ``"outer.inner"``), map and sleep entries.

    >>> node_paths({"id": "wf", "entries": [
    ...     {"kind": "step", "step": {"id": "a"}},
    ...     {"kind": "parallel", "id": "p", "steps": [{"id": "b"}, {"id": "c"}]},
    ...     {"kind": "map", "id": "map-1"}]})
    ['a', 'b', 'c', 'map-1']
    """
    return [node.path for node in walk(description) if node.shows_status]


def node_statuses(steps: Mapping[str, Any]) -> dict[str, str]:
    """Step path → status → graph node path → the status its node shows.

    ``steps`` maps step paths to ``StepResult`` objects or their dicts. The items of a foreach
    (``"s[0]"``, ``"s[1]"`` …) share the node ``"s"``: it shows ``failed`` if any item
    failed, else ``running`` while any runs, else ``suspended``, ``canceled``, ``success``.
    """
    shown: dict[str, str] = {}
    for path, result in steps.items():
        status = _status_of(result)
        node = graph_path(path)
        current = shown.get(node)
        if current is None or _RANK.get(status, 99) < _RANK.get(current, 99):
            shown[node] = status
    return shown


@dataclass(slots=True)
class NodeSummary:
    """What one graph node shows: its own result and, for a foreach, its items'.

    ``status`` is the node's status (as :func:`node_statuses`); ``own`` the result recorded
    under the node's own path, if any; ``counts`` the number of items per status;
    ``started``/``ended`` span every result; ``attempts`` is the most of any; ``error`` the
    first error (an item's prefixed with its path).
    """

    status: str = "pending"
    own: Any = None
    items: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    started: float | None = None
    ended: float | None = None
    open: int = 0
    attempts: int = 0
    error: str | None = None


def summarize(steps: Mapping[str, Any]) -> dict[str, NodeSummary]:
    """Graph node path → its :class:`NodeSummary`, in one pass over a run's step results
    (``StepResult`` objects), cheap enough to redo for every view update."""
    out: dict[str, NodeSummary] = {}
    rank = _RANK
    nodes = _NODES
    # One pass, run for every view update: the common case (a path seen before, an item
    # whose status is its node's already) skips the regex and the precedence lookups.
    for path, result in steps.items():
        node = nodes.get(path)
        if node is None:
            node = _node_of(path)
        summary = out.get(node)
        status = result.status
        if summary is None:
            summary = out[node] = NodeSummary(status=status)
        elif status != summary.status and rank.get(status, 99) < rank.get(summary.status, 99):
            summary.status = status
        if path == node:
            summary.own = result
        else:
            summary.items += 1
            counts = summary.counts
            counts[status] = counts.get(status, 0) + 1
        started, ended = result.started_at, result.ended_at
        if started is not None and (summary.started is None or started < summary.started):
            summary.started = started
        if ended is None:
            summary.open += 1
        elif summary.ended is None or ended > summary.ended:
            summary.ended = ended
        if result.attempts > summary.attempts:
            summary.attempts = result.attempts
        if result.error and summary.error is None:
            summary.error = result.error if path == node else f"{path}: {result.error}"
    return out


def timeline(steps: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The step events a run's results imply, in time order (for stored runs, which keep
    results, not events).

    Each item is ``{"type", "path", "timestamp", "payload"}`` like ``Event.to_dict()``:
    ``step-start`` at ``started_at`` (payload: the step's input) and, once it ended,
    ``step-result`` (status and output or error) or ``step-suspended`` (the suspend payload).
    """
    items: list[tuple[float, int, dict[str, Any]]] = []
    for order, (path, result) in enumerate(steps.items()):
        data = _as_dict(result)
        started, ended = data.get("started_at"), data.get("ended_at")
        status = data.get("status")
        if started is not None:
            items.append((started, 2 * order, {
                "type": "step-start", "path": path, "timestamp": started,
                "payload": {"input": data.get("payload")}}))
        if status == "suspended":
            at = ended if ended is not None else started
            items.append((at or 0.0, 2 * order + 1, {
                "type": "step-suspended", "path": path, "timestamp": at,
                "payload": {"suspend_payload": data.get("suspend_payload")}}))
        elif status != "running" and ended is not None:
            payload: dict[str, Any] = {"status": status}
            if status == "success":
                payload["output"] = data.get("output")
            else:
                payload["error"] = data.get("error")
            items.append((ended, 2 * order + 1, {
                "type": "step-result", "path": path, "timestamp": ended, "payload": payload}))
    items.sort(key=lambda item: (item[0], item[1]))
    return [event for _, _, event in items]


def _status_of(result: Any) -> str:
    # A stored result's dict, else a StepResult's attribute: cheap checks before the
    # Mapping ABC's (ten times their cost), since views call this for every result.
    if type(result) is dict:
        status = result.get("status")
    else:
        status = getattr(result, "status", None)
        if status is None and isinstance(result, Mapping):
            status = result.get("status")
    return str(status or "pending")


def _as_dict(result: Any) -> Mapping[str, Any]:
    if isinstance(result, Mapping):
        return result
    to_dict = getattr(result, "to_dict", None)
    return to_dict() if callable(to_dict) else {}
