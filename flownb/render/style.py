"""The colours of the step graph, in one place: the DOT renderer and the live view share them.

A node's status shows twice, on purpose: as DOT fill/stroke colours (so a static SVG is right
on its own) and as a ``status-<name>`` class that :data:`STATUS_CSS` colours (so a live view
can restyle a laid-out SVG by rewriting classes, without running Graphviz again).
"""

from __future__ import annotations

__all__ = [
    "PLAN_CSS",
    "graph_theme_css",
    "PLAN_FILL",
    "PLAN_MARKS",
    "PLAN_STROKE",
    "PLAN_TEXT",
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


PLAN_MARKS = ("reuse", "run", "depends")
"""What a plan says of a step (``PlanItem.status``); a node shows it as ``plan-<mark>``."""

PLAN_FILL: dict[str, str] = {"reuse": "#f8f9fa", "run": "#d2e3fc", "depends": "#e8f0fe"}
"""Node fill per plan mark: a reused step is dimmed, the others stand out (blue: will run)."""

PLAN_STROKE: dict[str, str] = {"reuse": "#dadce0", "run": "#1a73e8", "depends": "#669df6"}
"""Node border per plan mark (``depends`` is also dashed)."""

PLAN_TEXT: dict[str, str] = {"reuse": "#80868b", "run": TEXT, "depends": TEXT}
"""Label colour per plan mark: grey for a reused step."""

PLAN_NOTE = "#5f6368"  # the second, smaller label line of a plan's node


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


def plan_css() -> str:
    """CSS that colours nodes by their ``plan-<mark>`` class (a plan's graph, see
    :mod:`flownb.render.plan`). It follows :data:`STATUS_CSS` in the SVG's style sheet, so a
    plan's mark wins over the ``status-pending`` look its nodes also have."""
    rules = []
    for mark in PLAN_MARKS:
        shapes = ", ".join(f"g.{cls}.plan-{mark} {shape}"
                           for cls in _NODE_CLASSES for shape in _SHAPES)
        dash = " stroke-dasharray: 4 2;" if mark == "depends" else ""
        width = " stroke-width: 2;" if mark == "run" else ""
        rules.append(f"{shapes} {{ fill: {PLAN_FILL[mark]}; stroke: {PLAN_STROKE[mark]};"
                     f"{dash}{width} }}")
    return "\n".join(rules)


PLAN_CSS = plan_css()
"""The style sheet of :func:`plan_css`, computed once."""


def graph_theme_css(svg: str, *, fg: str, fg2: str, fg3: str, bg: str) -> str:
    """CSS that draws a workflow's SVG (``svg``: the selector of the ``<svg>``, such as
    ``".graph svg"``) in a page's theme: no background of its own, labels in ``fg``,
    titles, cluster and edge labels in ``fg2``, edges in ``fg3``, the start, end, fork and
    join marks in ``fg2`` and decision diamonds filled with ``bg`` (CSS colours, usually
    ``var(...)`` of the page). The live view's live.css does the same in the browser."""
    g = svg
    return f"""
{g} g.graph > polygon:first-child,
{g} g.graph > g > a > polygon:first-child {{ fill: transparent; stroke: none; }}
{g} text {{ fill: {fg}; }}
{g} g.graph > text, {g} g.graph > g > a > text, {g} g.cluster text, {g} g.edge text {{
  fill: {fg2}; }}
{g} g.edge path {{ stroke: {fg3}; }}
{g} g.edge polygon {{ fill: {fg3}; stroke: {fg3}; }}
{g} g.flownb-start ellipse, {g} g.flownb-end ellipse,
{g} g.flownb-fork polygon, {g} g.flownb-join polygon {{ fill: {fg2}; stroke: {fg2}; }}
{g} g.flownb-end ellipse:first-of-type {{ fill: none; }}
{g} g.flownb-decision polygon, {g} g.flownb-merge polygon {{ fill: {bg}; stroke: {fg2}; }}
"""
