"""The colours of the step graph, in one place: the DOT renderer and the live view share them.

A node's status shows twice, on purpose: as DOT fill/stroke colours (so a static SVG is right
on its own) and as a ``status-<name>`` class that :data:`STATUS_CSS` colours (so a live view
can restyle a laid-out SVG by rewriting classes, without running Graphviz again).
"""

from __future__ import annotations

__all__ = [
    "STATUSES",
    "STATUS_CSS",
    "STATUS_FILL",
    "STATUS_STROKE",
    "check_status",
    "status_css",
]

STATUSES = ("pending", "running", "success", "failed", "suspended", "canceled", "skipped")
"""Every status a node can show, in lifecycle order."""

STATUS_FILL: dict[str, str] = {
    "pending": "#f1f3f4",
    "running": "#d2e3fc",
    "success": "#ceead6",
    "failed": "#fad2cf",
    "suspended": "#feefc3",
    "canceled": "#e8eaed",
    "skipped": "#ffffff",
}
"""Node fill colour per status."""

STATUS_STROKE: dict[str, str] = {
    "pending": "#9aa0a6",
    "running": "#1a73e8",
    "success": "#188038",
    "failed": "#d93025",
    "suspended": "#e37400",
    "canceled": "#5f6368",
    "skipped": "#dadce0",
}
"""Node border (and nested-workflow cluster border) colour per status."""

# The structural parts of the graph, which have no status.
INK = "#3c4043"  # start/end markers, fork/join bars
EDGE = "#80868b"  # edges and their labels
TEXT = "#202124"  # node labels
CLUSTER_TEXT = "#5f6368"  # nested-workflow titles
FONT = "Helvetica,Arial,sans-serif"

# Groups carrying a status class, by the kind of shape Graphviz draws for them.
_NODE_CLASSES = ("flownb-step", "flownb-map", "flownb-sleep")
_CLUSTER_CLASSES = ("flownb-workflow",)
_SHAPES = ("path", "polygon", "ellipse")


def check_status(status: str, path: str) -> str:
    """``status`` if it is one of :data:`STATUSES`; a ``ValueError`` naming them otherwise."""
    if status not in STATUS_FILL:
        raise ValueError(f"unknown status {status!r} for step '{path}'; expected one of "
                         f"{', '.join(STATUSES)}")
    return status


def status_css() -> str:
    """CSS that colours nodes by their ``status-<name>`` class.

    Rules in a style sheet override the fill/stroke attributes Graphviz writes, so changing a
    group's class is enough to recolour it.
    """
    rules = []
    for status in STATUSES:
        fill, stroke = STATUS_FILL[status], STATUS_STROKE[status]
        nodes = ", ".join(f"g.{cls}.status-{status} {shape}"
                          for cls in _NODE_CLASSES for shape in _SHAPES)
        clusters = ", ".join(f"g.{cls}.status-{status} {shape}"
                             for cls in _CLUSTER_CLASSES for shape in _SHAPES)
        rules.append(f"{nodes} {{ fill: {fill}; stroke: {stroke}; }}")
        rules.append(f"{clusters} {{ stroke: {stroke}; }}")
    return "\n".join(rules)


STATUS_CSS = status_css()
"""The style sheet of :func:`status_css`, computed once."""
