"""Drawing workflows: graph description → DOT text (pure) → SVG (a Graphviz binary).

``flownb.render.dot`` uses only the standard library; ``flownb.render.svg`` runs the
``graphviz-pure`` program. Neither is imported by ``import flownb``.
"""

from __future__ import annotations

from .dot import node_id, workflow_dot
from .status import graph_path, node_statuses, timeline
from .svg import dot_to_svg, svg_with_statuses, workflow_svg

__all__ = ["dot_to_svg", "graph_path", "node_id", "node_statuses", "svg_with_statuses", "timeline",
           "workflow_dot", "workflow_svg"]
