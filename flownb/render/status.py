"""From a run's step results to what its views show: one status per graph node, a timeline.

Pure functions over ``StepResult`` objects or their stored dicts (``StepResult.to_dict()``), so
the notebook view, the terminal view and ``inspect`` of a stored run all read the same thing.
What a view shows of a run is :mod:`flownb.render.model`, which maps results to nodes here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

from ..core.description import walk

__all__ = ["graph_path", "node_paths", "node_statuses", "timeline"]

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
    # interned: the item paths of one node share one node string, which later
    # comparisons (grouping a view's results by node) find equal by identity
    node = _NODES[path] = sys.intern(_INDEX.sub("", path)) if "[" in path else path
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
