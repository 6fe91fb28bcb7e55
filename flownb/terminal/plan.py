"""A :class:`~flownb.core.plan.Plan` in the terminal (``Plan.__rich__``, ``flownb plan``): a
table of step, status, reason and where a reused step's output comes from.

It is laid out for the width it is drawn at. When every column fits whole, one table;
else the "reused from" column goes, and where the reused outputs come from is said under
the table, one line per run, its id whole (it is what one copies to ``flownb inspect``).
Step ids are never cut or folded; reasons wrap.

User text (step ids, reasons, run ids) is a ``rich`` ``Text``, never markup, with its control
characters escaped.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .._text import escape_controls
from ..render.plan import PlanRow, plan_counts, plan_rows
from .tree import Fitted

__all__ = ["PLAN_STYLES", "plan_table"]

PLAN_STYLES = {"reuse": "dim", "run": "bold yellow", "depends": "yellow"}
"""How each status shows: a reused step is dim, what runs stands out."""

_GLYPHS = {"reuse": "↺", "run": "▶", "depends": "⋯"}
_GAP = 2  # between columns: padding (0, 1), no padding at the edges


def plan_table(plan: Any) -> RenderableType:
    """The plan as a table (a ``Plan``, or any mapping of path → ``PlanItem`` with a
    ``workflow``): one row per step, in graph order, and the counts under it; laid out
    for the width it is printed at (see the module's docstring)."""
    items = dict(plan.items())
    rows = plan_rows(items)
    workflow = getattr(plan, "workflow", None)
    title = None if workflow is None else Text.assemble(
        ("plan of workflow ", "dim"), (escape_controls(str(workflow.id)), "bold"))
    caption = plan_counts(items)

    def build(width: int) -> RenderableType:
        cells = [_cells(row) for row in rows]
        reused = any(row.reused_from for row in rows)
        names = ("step", "status", "reason", "reused from")[:4 if reused else 3]
        widths = [max([cell_len(name)] + [cell_len(c[i].plain) for c in cells])
                  for i, name in enumerate(names)]
        whole = sum(widths) + _GAP * (len(names) - 1) <= width
        table = Table(title=title, title_justify="left", caption=caption,
                      caption_justify="left", box=None, padding=(0, 1), pad_edge=False,
                      header_style="bold")
        table.add_column("step", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("reason", overflow="fold", no_wrap=whole)
        shown = names if whole else names[:3]
        if len(shown) == 4:
            table.add_column("reused from", no_wrap=True)
        for c in cells:
            table.add_row(*c[:len(shown)])
        if len(shown) == len(names):
            return table
        return Group(table, *_sources(rows))

    return Fitted(build)


def _cells(row: PlanRow) -> list[Text]:
    dim = "dim" if row.status == "reuse" else ""
    return [Text(escape_controls(row.path), style=dim),
            Text(escape_controls(f"{_GLYPHS.get(row.status, '?')} {row.status}"),
                 style=PLAN_STYLES.get(row.status, "")),
            Text(escape_controls(row.reason), style=dim),
            Text(escape_controls(row.reused_from), style="dim")]


def _sources(rows: list[PlanRow]) -> list[Text]:
    """``↺ reused from run <id>: a, b`` for each run the reused outputs come from."""
    by_run: dict[str, list[str]] = {}
    for row in rows:
        if row.cached_from:
            there = row.cached_from.get("path")
            by_run.setdefault(str(row.cached_from.get("run_id")), []).append(
                f"{row.path} (as {there})" if there and there != row.path else row.path)
    return [Text.assemble(("↺ reused from ", "dim"), escape_controls(f"run {run_id}"),
                          (": " + escape_controls(", ".join(paths)), "dim"))
            for run_id, paths in by_run.items()]
