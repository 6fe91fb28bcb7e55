"""A :class:`~flownb.core.plan.Plan` drawn: the step graph with what a run would reuse dimmed
and what it would run marked with the reason (SPEC §3d), and the same as a list.

Pure (standard library and flownb's own pure layers) up to :func:`plan_dot` and
:func:`plan_html`; :func:`plan_mimebundle` (``Plan._repr_mimebundle_``) lays the graph out
with Graphviz (:mod:`flownb.render.svg`) and still shows the list when there is none.

A plan's paths are leaf steps (``"outer.inner"``) and foreach items (``"embed[3]"``); a graph
node shows one mark, so the items of a foreach share their node: it shows ``run`` when one of
them runs, else ``depends`` when one depends, else ``reuse``, and its note counts them.

Every user string (step ids, reasons, run ids) is escaped: in DOT by
:func:`~flownb.render.dot.dot_string` / :func:`~flownb.render.dot.html_text`, in HTML by
``flownb._text.escape_html``.

>>> [row.reused_from for row in plan_rows({"a": PlanItem(
...     "reuse", "unchanged since run …9c01", {"run_id": "3f2a9c01", "path": "a"})})]
...                                                                  # doctest: +SKIP
['run 3f2a9c01']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._text import escape_controls, escape_html
from . import style
from .dot import workflow_dot
from .status import graph_path

__all__ = ["NOTE_CHARS", "PLAN_HTML_CSS", "PlanRow", "counted", "plan_counts", "plan_dot",
           "plan_html", "plan_marks", "plan_mimebundle", "plan_rows", "plan_svg", "reused_from",
           "short_reason"]

NOTE_CHARS = 32
"""Characters of a reason shown under a node's id (the tooltip and the list have it whole)."""

_RANK = {"run": 0, "depends": 1, "reuse": 2}
_AFTER = re.compile(r"\(after '(.*)'\)$")
_GLYPH = {"reuse": "↺", "run": "▶", "depends": "⋯"}
# What the steps (or items) of each status do, after their number: "1 runs", "2 run".
_WORDS = {"reuse": ("reused", "reused"), "run": ("runs", "run"),
          "depends": ("depends", "depend")}


def counted(status: str, n: int) -> str:
    """``n`` steps of ``status``, in words that agree with the number.

    >>> counted("run", 1), counted("run", 2), counted("depends", 3), counted("reuse", 1)
    ('1 runs', '2 run', '3 depend', '1 reused')
    """
    return f"{n} {_WORDS[status][0 if n == 1 else 1]}"


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One line of a plan's list: the step path, its status, the reason, and where a reused
    step's output comes from (``"run <id>"``, ``· <path>`` added when that is another
    path; ``""`` when it runs)."""

    path: str
    status: str
    reason: str
    reused_from: str
    cached_from: Mapping[str, Any] | None = None  # the item's own: {"run_id", "path"}


def reused_from(cached_from: Mapping[str, Any] | None, path: str | None = None) -> str:
    """Where a reused execution ran: ``"run <run id>"``, with ``· <path>`` when the path
    there is not ``path`` (the step's own: a foreach item reused from another index, or
    ``path`` not given); ``""`` for ``None``.

    >>> reused_from({"run_id": "3f2a", "path": "a"}, "a")
    'run 3f2a'
    >>> reused_from({"run_id": "3f2a", "path": "each[7]"}, "each[3]")
    'run 3f2a · each[7]'
    """
    if not cached_from:
        return ""
    run_id, there = cached_from.get("run_id"), cached_from.get("path")
    return f"run {run_id}" + (f" · {there}" if there and there != path else "")


def short_reason(status: str, reason: str) -> str:
    """The reason as a node's second label line: short, cut at :data:`NOTE_CHARS`.

    >>> short_reason("run", "code changed: score")
    '▶ code changed: score'
    >>> short_reason("depends", "its input comes from a step that will run (after 'a')")
    "⋯ after 'a' runs"
    >>> short_reason("reuse", "unchanged since run 3f2a9c01")
    '↺ reused'
    """
    if status == "reuse":
        text = "reused"
    elif status == "depends":
        after = _AFTER.search(reason)
        text = f"after '{after.group(1)}' runs" if after else (reason or "depends")
    else:
        text = reason or "runs"
    if len(text) > NOTE_CHARS:
        text = text[:NOTE_CHARS - 1] + "…"
    return f"{_GLYPH.get(status, '')} {text}".strip()


def plan_rows(items: Mapping[str, Any]) -> list[PlanRow]:
    """The list of a plan (``items``: path → ``PlanItem``), in its order."""
    return [PlanRow(path, item.status, item.reason, reused_from(item.cached_from, path),
                    item.cached_from) for path, item in items.items()]


def plan_marks(items: Mapping[str, Any]
               ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(graph node path → mark, → note, → tooltip) of a plan's ``items``: the note is the
    short reason (:func:`short_reason`), the tooltip the whole one. The foreach items of one
    node give it the mark that matters most (``run``, ``depends``, ``reuse``), a note
    counting them and the reason of the first that matters most."""
    grouped: dict[str, list[tuple[str, Any]]] = {}
    for path, item in items.items():
        grouped.setdefault(graph_path(path), []).append((path, item))
    marks: dict[str, str] = {}
    notes: dict[str, str] = {}
    tips: dict[str, str] = {}
    for node, members in grouped.items():
        ranked = sorted(members, key=lambda m: _RANK.get(m[1].status, 9))
        first = ranked[0][1]
        status = first.status if first.status in style.PLAN_MARKS else "run"
        marks[node] = status
        tips[node] = f"{status}: {first.reason}" if first.reason else status
        if len(members) == 1 and members[0][0] == node:
            notes[node] = short_reason(status, first.reason)
            continue
        counts = {s: sum(1 for _, i in members if i.status == s) for s in style.PLAN_MARKS}
        parts = [counted(s, counts[s]) for s in ("run", "depends", "reuse") if counts[s]]
        notes[node] = f"{_GLYPH[status]} {len(members)} items: {', '.join(parts)}"
        tips[node] = f"{ranked[0][0]}: {tips[node]}"
    return marks, notes, tips


def plan_dot(description: Mapping[str, Any], items: Mapping[str, Any], *,
             direction: str = "TB") -> str:
    """The DOT text of a plan: the workflow's graph (``description``) with each planned
    node marked ``plan-<status>`` and its short reason as a second label line."""
    marks, notes, tips = plan_marks(items)
    return workflow_dot(description, direction=direction, marks=marks, notes=notes, tips=tips)


def plan_svg(description: Mapping[str, Any], items: Mapping[str, Any], *,
             direction: str = "TB") -> str:
    """The SVG of :func:`plan_dot` (runs Graphviz; ``RuntimeError`` when there is none)."""
    from .svg import workflow_svg

    marks, notes, tips = plan_marks(items)
    return workflow_svg(description, direction=direction, marks=marks, notes=notes, tips=tips)


def _line(text: Any) -> str:
    return escape_html(escape_controls(str(text)))


def plan_counts(items: Mapping[str, Any]) -> str:
    """How many steps of a plan's ``items`` each status has, the empty ones left out.

    >>> from flownb.core.plan import PlanItem
    >>> plan_counts({"a": PlanItem("reuse", ""), "b": PlanItem("reuse", ""),
    ...              "c": PlanItem("run", "")})
    '2 reused, 1 runs'
    """
    counts = {s: sum(1 for i in items.values() if i.status == s) for s in style.PLAN_MARKS}
    return ", ".join(counted(s, counts[s]) for s in ("reuse", "run", "depends")
                     if counts[s]) or "no steps"


def plan_html(workflow_id: str, items: Mapping[str, Any], svg: str | None, *,
              notice: str | None = None) -> str:
    """A plan as an HTML fragment: a title with the counts, a legend, the graph ``svg``
    (or ``notice``, why there is none) and the list of path → status → reason → reused
    from. Readable in JupyterLab's light and dark themes (its colours are the theme's, with
    light fallbacks elsewhere); only ``svg`` is taken as markup."""
    legend = "".join(
        f'<span class="flownb-plan-key plan-{s}"><span class="flownb-plan-swatch"></span>'
        f"{_GLYPH[s]} {text}</span>"
        for s, text in (("reuse", "reused (will not run)"), ("run", "runs"),
                        ("depends", "runs: its input comes from a step that runs")))
    if svg is not None:
        drawing = f'<div class="flownb-plan-graph">{svg}</div>'
    else:
        drawing = f'<p class="flownb-plan-muted">{_line(notice or "no graph")}</p>'
    listed = plan_rows(items)
    reused = any(r.reused_from for r in listed)  # else no column of empty cells
    rows = "".join(
        f'<tr class="plan-{_line(r.status)}"><td><code>{_line(r.path)}</code></td>'
        f'<td><span class="flownb-plan-pill plan-{_line(r.status)}">'
        f"{_GLYPH.get(r.status, '')} {_line(r.status)}</span></td>"
        f"<td>{_line(r.reason)}</td>"
        + (f"<td><code>{_line(r.reused_from)}</code></td>" if reused else "") + "</tr>"
        for r in listed)
    table = (f'<table class="flownb-plan-list"><thead><tr><th>step</th><th>status</th>'
             f"<th>reason</th>{'<th>reused from</th>' if reused else ''}</tr></thead>"
             f"<tbody>{rows}</tbody></table>"
             if rows else '<p class="flownb-plan-muted">The workflow has no steps to plan.</p>')
    return (f'<div class="flownb-plan"><style>{PLAN_HTML_CSS}</style>'
            f'<div class="flownb-plan-head"><b>plan</b> of <b>{_line(workflow_id)}</b> '
            f'<span class="flownb-plan-muted">{_line(plan_counts(items))}</span></div>'
            f'<div class="flownb-plan-legend">{legend}</div>'
            f'<div class="flownb-plan-body">{drawing}{table}</div></div>')


def plan_mimebundle(plan: Any, include: Any = None, exclude: Any = None) -> dict[str, str]:
    """``Plan._repr_mimebundle_``: ``text/plain`` (the repr) and ``text/html`` (the graph
    and the list, :func:`plan_html`), unless ``include``/``exclude`` leave it out."""
    bundle = {"text/plain": repr(plan)}
    wanted = (include is None or "text/html" in include) and \
        (exclude is None or "text/html" not in exclude)
    if not wanted:
        return bundle
    description = plan.workflow.graph.description
    items = dict(plan.items())
    svg: str | None = None
    notice = None
    try:
        svg = plan_svg(description, items)
    except RuntimeError as exc:  # no Graphviz program: the list still says it all
        notice = f"The graph could not be drawn: {exc}"
    bundle["text/html"] = plan_html(str(plan.workflow.id), items, svg, notice=notice)
    return bundle


# Scoped to .flownb-plan. Colours are JupyterLab's theme variables with light fallbacks; the
# graph's own colours (a static SVG) are replaced by them, so a dark theme reads well too.
# Graphviz measures labels in Helvetica: where there is none, fonts of about its width come
# first, and the note line is drawn a little smaller than measured (nothing measures it in
# the page), so it stays inside its node. A step's path wraps only when it must (a
# "reused from" run id is what gives way).
PLAN_HTML_CSS = """
.flownb-plan { --fp-bg: var(--jp-layout-color1, #ffffff); --fp-bg2: var(--jp-layout-color2, #eeeeee);
  --fp-fg: var(--jp-ui-font-color1, rgba(0,0,0,.87)); --fp-fg2: var(--jp-ui-font-color2, rgba(0,0,0,.6));
  --fp-fg3: var(--jp-ui-font-color3, rgba(0,0,0,.45)); --fp-line: var(--jp-border-color2, #e0e0e0);
  --fp-run: var(--jp-brand-color1, #1a73e8);
  color: var(--fp-fg); font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px); line-height: 1.4; text-align: left; max-width: 100%; }
.flownb-plan .flownb-plan-muted { color: var(--fp-fg2); }
.flownb-plan .flownb-plan-head { margin-bottom: 4px; }
.flownb-plan .flownb-plan-legend { display: flex; flex-wrap: wrap; gap: 2px 12px; font-size: 11px;
  color: var(--fp-fg2); margin-bottom: 6px; }
.flownb-plan .flownb-plan-key { display: inline-flex; align-items: center; gap: 4px; }
.flownb-plan .flownb-plan-swatch { display: inline-block; width: 10px; height: 10px; border-radius: 3px;
  border: 1.5px solid var(--fp-fg3); background: var(--fp-bg2); }
.flownb-plan .plan-run > .flownb-plan-swatch { border: 2px solid var(--fp-run);
  background: color-mix(in srgb, var(--fp-run) 22%, var(--fp-bg)); }
.flownb-plan .plan-depends > .flownb-plan-swatch { border: 1.5px dashed var(--fp-run);
  background: color-mix(in srgb, var(--fp-run) 10%, var(--fp-bg)); }
.flownb-plan .plan-reuse > .flownb-plan-swatch { border-color: var(--fp-line);
  background: color-mix(in srgb, var(--fp-fg3) 6%, var(--fp-bg)); }
.flownb-plan .flownb-plan-body { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.flownb-plan .flownb-plan-graph { max-width: 100%; overflow: auto; }
.flownb-plan .flownb-plan-graph > svg { display: block; max-width: 100%; height: auto; overflow: visible; }
.flownb-plan svg text { font-family: Helvetica, Arial, "Liberation Sans", "Nimbus Sans",
  "DejaVu Sans Condensed", sans-serif; }
.flownb-plan svg g.node text + text { font-size: 7.5px; }
""" + style.graph_theme_css(".flownb-plan svg", fg="var(--fp-fg)", fg2="var(--fp-fg2)",  # noqa: E501
                            fg3="var(--fp-fg3)", bg="var(--fp-bg)") + """\
.flownb-plan svg g.cluster path, .flownb-plan svg g.cluster polygon { fill: none; stroke: var(--fp-line); }
.flownb-plan svg g.node[class*="status"] path, .flownb-plan svg g.node[class*="status"] polygon,
.flownb-plan svg g.node[class*="status"] ellipse { fill: var(--fp-bg2); stroke: var(--fp-fg3); }
.flownb-plan svg g.node.plan-reuse path, .flownb-plan svg g.node.plan-reuse polygon,
.flownb-plan svg g.node.plan-reuse ellipse {
  fill: color-mix(in srgb, var(--fp-fg3) 6%, var(--fp-bg)); stroke: var(--fp-line); }
.flownb-plan svg g.node.plan-reuse text { fill: var(--fp-fg3); }
.flownb-plan svg g.node.plan-run path, .flownb-plan svg g.node.plan-run polygon,
.flownb-plan svg g.node.plan-run ellipse {
  fill: color-mix(in srgb, var(--fp-run) 20%, var(--fp-bg)); stroke: var(--fp-run); stroke-width: 2; }
.flownb-plan svg g.node.plan-depends path, .flownb-plan svg g.node.plan-depends polygon,
.flownb-plan svg g.node.plan-depends ellipse {
  fill: color-mix(in srgb, var(--fp-run) 9%, var(--fp-bg)); stroke: var(--fp-run);
  stroke-dasharray: 4 2; }
.flownb-plan svg g.node text + text { fill: var(--fp-fg2); }
.flownb-plan table.flownb-plan-list { border-collapse: collapse; font-size: 12px; color: var(--fp-fg); }
.flownb-plan table.flownb-plan-list th { text-align: left; font-weight: 600; color: var(--fp-fg2);
  border-bottom: 1px solid var(--fp-line); padding: 2px 8px; }
.flownb-plan table.flownb-plan-list td { text-align: left; vertical-align: top; padding: 2px 8px;
  border-bottom: 1px solid var(--fp-line); overflow-wrap: anywhere; }
.flownb-plan table.flownb-plan-list td:first-child { overflow-wrap: break-word; }
.flownb-plan table.flownb-plan-list code { font-family: var(--jp-code-font-family, monospace);
  color: inherit; background: none; }
.flownb-plan tr.plan-reuse td { color: var(--fp-fg2); }
.flownb-plan .flownb-plan-pill { display: inline-block; padding: 0 7px; border-radius: 9px;
  font-size: 11px; white-space: nowrap; border: 1px solid var(--fp-fg3); }
.flownb-plan .flownb-plan-pill.plan-run { border: 1.5px solid var(--fp-run);
  background: color-mix(in srgb, var(--fp-run) 20%, var(--fp-bg)); color: var(--fp-fg); }
.flownb-plan .flownb-plan-pill.plan-depends { border: 1px dashed var(--fp-run); }
.flownb-plan .flownb-plan-pill.plan-reuse { border-color: var(--fp-line); color: var(--fp-fg2); }
"""  # noqa: E501
