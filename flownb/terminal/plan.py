"""A :class:`~flownb.core.plan.Plan` in the terminal (``Plan.__rich__``, ``flownb plan``): a
table of step, status, reason and where a reused step's output comes from.

User text (step ids, reasons, run ids) is a ``rich`` ``Text``, never markup, with its control
characters escaped.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from .._text import escape_controls
from ..render.plan import plan_rows

__all__ = ["PLAN_STYLES", "plan_table"]

PLAN_STYLES = {"reuse": "dim", "run": "bold yellow", "depends": "yellow"}
"""How each status shows: a reused step is dim, what runs stands out."""

_GLYPHS = {"reuse": "↺", "run": "▶", "depends": "⋯"}


def plan_table(plan: Any) -> Table:
    """The plan as a table (a ``Plan``, or any mapping of path → ``PlanItem`` with a
    ``workflow``): one row per step, in graph order, and the counts under it."""
    items = dict(plan.items())
    workflow = getattr(plan, "workflow", None)
    title = None
    if workflow is not None:
        title = Text.assemble(("plan of workflow ", "dim"),
                              (escape_controls(str(workflow.id)), "bold"))
    counts = {s: sum(1 for i in items.values() if i.status == s) for s in _GLYPHS}
    caption = f"{counts['reuse']} reused, {counts['run']} run, {counts['depends']} depends"
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left",
                  box=None, padding=(0, 1), pad_edge=False, header_style="bold")
    table.add_column("step", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("reason", overflow="fold")
    table.add_column("reused from", overflow="fold")
    for row in plan_rows(items):
        style = PLAN_STYLES.get(row.status, "")
        table.add_row(Text(escape_controls(row.path), style="dim" if row.status == "reuse"
                           else ""),
                      Text(escape_controls(f"{_GLYPHS.get(row.status, '?')} {row.status}"),
                           style=style),
                      Text(escape_controls(row.reason), style="dim" if row.status == "reuse"
                           else ""),
                      Text(escape_controls(row.reused_from), style="dim"))
    return table
