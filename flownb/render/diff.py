"""A ``RunDiff`` as HTML for a notebook: the two runs side by side, each as its step graph
(changed steps marked) over its step table, then each changed step's differences.

:func:`diff_marks` and :func:`diff_html` are pure (diff → text, tested on their content);
:func:`diff_view_html` (``RunDiff._repr_html_``) finds each run's stored graph description
(:func:`side_description`) and lays the graphs out with Graphviz
(:func:`~flownb.render.svg.workflow_svg`); without Graphviz, or without a stored graph, the
tables still show, with a one-line notice saying why there is no graph.

A graph node of a step that differs carries the class ``diff-changed`` and a second label
line (``≠ changed: output``) on both sides; a step only one run has is ``diff-only`` on that
side (``only in A``) and ``diff-absent`` on the other when its graph has the node (``not run
in B``). The items of a foreach share their node: it is marked when one item is, and its
note counts them.

Every user string (run ids, step paths, JSON paths, values, errors) goes through
``flownb._text.escape_html`` (in the graphs, through :mod:`flownb.render.dot`'s escaping);
colours are JupyterLab's ``--jp-*`` variables (with light fallbacks), so the page reads in
the light and the dark theme alike. What is shown is bounded: long values are cut, and long
step lists and difference lists are folded with a count of what was left out.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._text import escape_html
from ..core.compare import MISSING
from .dot import node_id
from .status import graph_path
from .style import STATUSES, graph_theme_css

if TYPE_CHECKING:
    from ..core.compare import RunDiff, RunSide, StepDiff
    from ..storage.base import Store

__all__ = ["DIFF_CLASSES", "MAX_DIFFERENCES", "MAX_ROWS", "MAX_STEPS_SHOWN", "MAX_VALUE",
           "diff_html", "diff_marks", "diff_svg", "diff_view_html", "side_description",
           "svg_with_classes"]

MAX_ROWS = 200
"""Step rows drawn in each run's table; the rest are counted."""
MAX_STEPS_SHOWN = 50
"""Changed steps whose differences are listed; the rest are counted."""
MAX_DIFFERENCES = 50
"""Differences listed per changed step; the rest are counted."""
MAX_VALUE = 200
"""Characters of a value shown (as compact JSON) before it is cut with "…"."""
NOTE_FIELDS = 3
"""Changed fields named in a node's note (``≠ changed: input, output``); more are counted."""

DIFF_CLASSES = ("diff-changed", "diff-only", "diff-absent")
"""The classes a graph node of a compared run can carry (see the module's docstring)."""

_MARK = {"same": "", "changed": "changed", "only_a": "only in A", "only_b": "only in B"}
_RANK = {"diff-changed": 0, "diff-only": 1, "diff-absent": 2}
_GROUP = re.compile(r"<g\b[^>]*>")
_ATTR = re.compile(r'\s(id|class)="([^"]*)"')
_KINDS = ("step", "map", "sleep", "workflow")

# Scoped to .flownb-diff (the table rules name it twice, to win over JupyterLab's own table
# style: right-aligned, zebra-striped). Colours are JupyterLab's theme variables with light
# fallbacks, mixed with transparency for backgrounds (JupyterLab's *-color3 stay light in its
# dark theme). The graphs keep their status fills (light, with dark labels, in either theme);
# their lines, markers and titles take the theme's colours, and the diff classes add outlines.
# Graphviz measures labels in Helvetica; where there is none, fonts of about its width come
# first.
CSS = """
.flownb-diff { --fd-fg: var(--jp-ui-font-color1, rgba(0,0,0,.87));
  --fd-fg2: var(--jp-ui-font-color2, rgba(0,0,0,.6)); --fd-fg3: var(--jp-ui-font-color3, rgba(0,0,0,.45));
  --fd-bg: var(--jp-layout-color1, #ffffff); --fd-line: var(--jp-border-color2, #e0e0e0);
  --fd-changed: var(--jp-warn-color1, #ff9800); --fd-only: var(--jp-brand-color1, #2196f3);
  --fd-a: var(--jp-error-color1, #f44336); --fd-b: var(--jp-success-color1, #4caf50);
  font-family: var(--jp-ui-font-family, system-ui, sans-serif); line-height: 1.4;
  font-size: var(--jp-ui-font-size1, 13px); color: var(--fd-fg); text-align: left; max-width: 100%; }
.flownb-diff .fd-sides { display: flex; gap: 8px 24px; flex-wrap: wrap; align-items: flex-start; }
.flownb-diff .fd-side { flex: 1 1 300px; min-width: 0; max-width: 100%; }
.flownb-diff h4 { margin: 8px 0 4px; font-size: var(--jp-ui-font-size2, 14px); color: var(--fd-fg);
  overflow-wrap: anywhere; }
.flownb-diff .fd-sub { color: var(--fd-fg2); font-weight: normal; }
.flownb-diff .fd-notice { color: var(--fd-fg2); font-style: italic; margin: 4px 0; overflow-wrap: anywhere; }
.flownb-diff .fd-legend { display: flex; flex-wrap: wrap; gap: 2px 14px; margin: 4px 0; font-size: 11px;
  color: var(--fd-fg2); }
.flownb-diff .fd-key { display: inline-flex; align-items: center; gap: 5px; }
.flownb-diff .fd-swatch { display: inline-block; width: 12px; height: 10px; border-radius: 3px;
  border: 1.5px solid var(--fd-fg3); }
.flownb-diff .diff-changed > .fd-swatch { border: 2.5px solid var(--fd-changed); }
.flownb-diff .diff-only > .fd-swatch { border: 2px dashed var(--fd-only); }
.flownb-diff .diff-absent > .fd-swatch { border: 1.5px dashed var(--fd-fg2); }
.flownb-diff .fd-graph { max-width: 100%; overflow-x: auto; margin: 2px 0 6px; }
.flownb-diff .fd-graph > svg { display: block; max-width: 100%; height: auto; margin: 0 auto;
  overflow: visible; }
.flownb-diff svg text { font-family: Helvetica, Arial, "Liberation Sans", "Nimbus Sans",
  "DejaVu Sans Condensed", sans-serif; }
""" + graph_theme_css(".flownb-diff svg", fg="var(--fd-fg)", fg2="var(--fd-fg2)",  # noqa: E501
                      fg3="var(--fd-fg3)", bg="var(--fd-bg)") + """\
.flownb-diff svg g.node.diff-changed path, .flownb-diff svg g.node.diff-changed polygon,
.flownb-diff svg g.node.diff-changed ellipse, .flownb-diff svg g.cluster.diff-changed path,
.flownb-diff svg g.cluster.diff-changed polygon { stroke: var(--fd-changed); stroke-width: 3; }
.flownb-diff svg g.node.diff-only path, .flownb-diff svg g.node.diff-only polygon,
.flownb-diff svg g.node.diff-only ellipse, .flownb-diff svg g.cluster.diff-only path,
.flownb-diff svg g.cluster.diff-only polygon { stroke: var(--fd-only); stroke-width: 2.5;
  stroke-dasharray: 5 2; }
.flownb-diff svg g.diff-absent { opacity: .55; }
.flownb-diff svg g.node.diff-absent path, .flownb-diff svg g.node.diff-absent polygon,
.flownb-diff svg g.node.diff-absent ellipse { stroke-dasharray: 3 2; }
.flownb-diff table { border-collapse: collapse; width: 100%; margin: 0; table-layout: auto; }
.flownb-diff.flownb-diff th, .flownb-diff.flownb-diff td { text-align: left; padding: 2px 8px;
  vertical-align: top; line-height: 1.4; color: var(--fd-fg); border: none;
  border-bottom: 1px solid var(--fd-line); }
.flownb-diff.flownb-diff th { color: var(--fd-fg2); font-weight: 600; }
.flownb-diff code, .flownb-diff .fd-value { font-family: var(--jp-code-font-family, monospace);
  font-size: var(--jp-code-font-size, 12px); white-space: pre-wrap; overflow-wrap: anywhere;
  color: inherit; }
.flownb-diff tr.fd-changed td { background: color-mix(in srgb, var(--fd-changed) 16%, transparent); }
.flownb-diff tr.fd-changed td.fd-mark { font-weight: 600; }
.flownb-diff tr.fd-only td { background: color-mix(in srgb, var(--fd-only) 13%, transparent); }
.flownb-diff tr.fd-absent td { color: var(--fd-fg3); }
.flownb-diff .st-success { color: var(--jp-success-color0, #388e3c); }
.flownb-diff .st-failed { color: var(--jp-error-color1, #f44336); }
.flownb-diff .st-suspended { color: var(--jp-warn-color1, #ff9800); }
.flownb-diff .st-canceled, .flownb-diff .st-running { color: var(--fd-fg2); }
.flownb-diff td.fd-a { background: color-mix(in srgb, var(--fd-a) 13%, transparent); }
.flownb-diff td.fd-b { background: color-mix(in srgb, var(--fd-b) 14%, transparent); }
.flownb-diff .fd-missing { color: var(--fd-fg3); font-style: italic; }
.flownb-diff .fd-more { color: var(--fd-fg2); font-style: italic; }
.flownb-diff table.fd-diffs { table-layout: fixed; }
.flownb-diff table.fd-diffs th:first-child { width: 30%; }
.flownb-diff details { margin: 6px 0; }
.flownb-diff summary { cursor: pointer; }
.flownb-diff svg g.node text + text { font-size: 7.5px; }
.flownb-diff svg g.node[class*="status-"] text { fill: var(--fd-fg); }
.flownb-diff svg g.node[class*="status-"] text + text { fill: var(--fd-fg2); }
"""  # noqa: E501
# The nodes' status fills are tints of the theme's colours over the page (the static SVG's
# light fills glare in a dark theme); the note line is drawn a little smaller than Graphviz
# measured it (nothing measures it in the page), so it stays inside its node.
_TINTS = {"pending": ("--fd-fg3", 8), "running": ("--fd-only", 16), "success": ("--fd-b", 16),
          "failed": ("--fd-a", 16), "suspended": ("--fd-changed", 16),
          "canceled": ("--fd-fg3", 12), "skipped": ("--fd-fg3", 4)}
CSS += "".join(
    ", ".join(f".flownb-diff svg g.node.status-{status} {shape}"
              for shape in ("path", "polygon", "ellipse"))
    + f" {{ fill: color-mix(in srgb, var({_TINTS[status][0]}) {_TINTS[status][1]}%, "
    "transparent); }\n"
    for status in STATUSES)


def diff_html(diff: RunDiff, graphs: Mapping[str, tuple[str | None, str | None]] | None = None,
              *, notice: str | None = None) -> str:
    """The HTML of ``diff``: a summary line, each run's column (its step graph over its step
    table: changed steps marked, a step the run lacks shown as an empty row so the tables
    line up) and, per changed step, a table of JSON path, value in A, value in B.

    ``graphs`` maps ``"A"``/``"B"`` to (the SVG of that run's graph, :func:`diff_svg`, or
    ``None``; a one-line notice of why there is none); ``notice`` is one line shown above
    the tables instead (no Graphviz). Only the SVG is taken as markup."""
    graphs = graphs or {}
    drawn = any(svg for svg, _ in graphs.values())
    parts = ['<div class="flownb-diff">', f"<style>{CSS}</style>", _summary(diff),
             _legend() if drawn else "",
             f'<div class="fd-notice">{_e(notice)}</div>' if notice else "",
             '<div class="fd-sides">', _side(diff, diff.a, "A", graphs.get("A")),
             _side(diff, diff.b, "B", graphs.get("B")), "</div>", _changes(diff), "</div>"]
    return "\n".join(p for p in parts if p)


def _legend() -> str:
    keys = (("diff-changed", "≠ changed"), ("diff-only", "+ only in this run"),
            ("diff-absent", "– not run in this run"))
    return ('<div class="fd-legend">' + "".join(
        f'<span class="fd-key {cls}"><span class="fd-swatch"></span>{text}</span>'
        for cls, text in keys) + "</div>")


def _side(diff: RunDiff, side: RunSide, name: str,
          graph: tuple[str | None, str | None] | None) -> str:
    title = (f'<h4>{name}: <code>{_e(side.run_id)}</code> <span class="fd-sub">'
             f'{_e(side.workflow_id)} · {_status(side.status)}</span></h4>')
    drawing = ""
    if graph is not None:
        svg, why = graph
        drawing = (f'<div class="fd-graph">{svg}</div>' if svg
                   else f'<div class="fd-notice">{_e(why or "No graph.")}</div>')
    rows = []
    for i, path in enumerate(diff):
        if i == MAX_ROWS:
            rows.append(f'<tr><td colspan="3" class="fd-more">… {len(diff) - MAX_ROWS} more '
                        "steps</td></tr>")
            break
        rows.append(_row(diff[path], side.steps.get(path)))
    return (f'<div class="fd-side" data-side="{name}">{title}{drawing}<table><thead><tr>'
            "<th>step</th><th>status</th><th></th></tr></thead><tbody>" + "".join(rows) +
            "</tbody></table></div>")


def _summary(diff: RunDiff) -> str:
    counts = [f"{len(diff)} step{'' if len(diff) == 1 else 's'}",
              f"{len(diff.changed)} changed"]
    if diff.only_a:
        counts.append(f"{len(diff.only_a)} only in A")
    if diff.only_b:
        counts.append(f"{len(diff.only_b)} only in B")
    return (f'<div class="fd-summary">Comparing run <code>{_e(diff.a.run_id)}</code> (A) '
            f'with <code>{_e(diff.b.run_id)}</code> (B): {", ".join(counts)}</div>')


def _row(step: StepDiff, record: dict[str, Any] | None) -> str:
    path = _e(step.path)
    if record is None:
        return (f'<tr class="fd-absent" data-path="{path}"><td><code>{path}</code></td>'
                "<td>—</td><td>not in this run</td></tr>")
    css = {"changed": "fd-changed", "only_a": "fd-only", "only_b": "fd-only"}.get(step.status)
    attr = f' class="{css}"' if css else ""
    mark = _MARK[step.status]
    if step.status == "changed":
        mark = f"changed: {', '.join(step.fields)}"
    return (f'<tr{attr} data-path="{path}"><td><code>{path}</code></td>'
            f'<td>{_status(record.get("status"))}</td><td class="fd-mark">{_e(mark)}</td></tr>')


def _changes(diff: RunDiff) -> str:
    changed = diff.changed
    if not changed:
        return ""
    parts = ["<h4>Differences</h4>"]
    for path in changed[:MAX_STEPS_SHOWN]:
        parts.append(_step_changes(diff[path]))
    if len(changed) > MAX_STEPS_SHOWN:
        parts.append(f'<div class="fd-more">… {len(changed) - MAX_STEPS_SHOWN} more changed '
                     "steps</div>")
    return "\n".join(parts)


def _step_changes(step: StepDiff) -> str:
    rows = []
    for d in step.differences[:MAX_DIFFERENCES]:
        rows.append(f"<tr><td><code>{_e(d.path)}</code></td><td class=\"fd-a\">{_value(d.a)}"
                    f"</td><td class=\"fd-b\">{_value(d.b)}</td></tr>")
    more = len(step.differences) - MAX_DIFFERENCES
    if more > 0:
        rows.append(f'<tr><td colspan="3" class="fd-more">… {more} more differences</td></tr>')
    n = len(step.differences)
    return (f'<details open data-path="{_e(step.path)}"><summary><code>{_e(step.path)}</code> '
            f'<span class="fd-sub">{n} difference{"" if n == 1 else "s"}</span></summary>'
            '<table class="fd-diffs"><thead><tr><th>path</th><th>A</th><th>B</th></tr></thead>'
            "<tbody>" +
            "".join(rows) + "</tbody></table></details>")


def _value(value: Any) -> str:
    if value is MISSING:
        return '<span class="fd-missing">(missing)</span>'
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    if len(text) > MAX_VALUE:
        text = text[:MAX_VALUE - 1] + "…"
    return f'<span class="fd-value">{_e(text)}</span>'


def _status(status: str | None) -> str:
    if status is None:
        return "—"
    return f'<span class="st-{_e(status)}">{_e(status)}</span>'


def _e(text: Any) -> str:
    return escape_html("—" if text is None else str(text))


def diff_marks(diff: RunDiff, side: str
               ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(graph node path → class, → note, → tooltip) of run ``side`` (``"A"`` or ``"B"``)
    of ``diff``: ``diff-changed`` for a step whose records differ, ``diff-only`` for a step
    only this run has, ``diff-absent`` for one only the other run has. Same steps get
    nothing. The note is the node's second label line (``≠ changed: output``), the tooltip
    the whole of it. A node several paths draw on (a foreach's items) gets the class that
    matters most (changed, only, absent) and a note counting its items."""
    if side not in ("A", "B"):
        raise ValueError(f"side must be 'A' or 'B', not {side!r}")
    own, other = ("only_a", "only_b") if side == "A" else ("only_b", "only_a")
    other_name = "B" if side == "A" else "A"
    kind = {"changed": "diff-changed", own: "diff-only", other: "diff-absent"}
    grouped: dict[str, list[StepDiff]] = {}
    totals: dict[str, int] = {}
    for path, step in diff.items():
        node = graph_path(path)
        totals[node] = totals.get(node, 0) + 1
        if step.status in kind:
            grouped.setdefault(node, []).append(step)
    classes: dict[str, str] = {}
    notes: dict[str, str] = {}
    tips: dict[str, str] = {}
    for node, members in grouped.items():
        ranked = sorted(members, key=lambda s: _RANK[kind[s.status]])
        first = ranked[0]
        classes[node] = kind[first.status]
        if len(members) == 1 and totals[node] == 1 and first.path == node:
            notes[node] = _note(first, side, other_name)
            tips[node] = _tip(first, side, other_name)
            continue
        counts = {c: sum(1 for s in members if kind[s.status] == c) for c in DIFF_CLASSES}
        words = {"diff-changed": "changed", "diff-only": f"only in {side}",
                 "diff-absent": f"not run in {side}"}
        parts = [f"{counts[c]} {words[c]}" for c in DIFF_CLASSES if counts[c]]
        notes[node] = f"{_GLYPH[classes[node]]} {', '.join(parts)} of {totals[node]} items"
        tips[node] = f"{notes[node]}; first: {first.path}: {_tip(first, side, other_name)}"
    return classes, notes, tips


_GLYPH = {"diff-changed": "≠", "diff-only": "+", "diff-absent": "–"}


def _note(step: StepDiff, side: str, other: str) -> str:
    if step.status == "changed":
        shown = ", ".join(step.fields[:NOTE_FIELDS])
        more = len(step.fields) - NOTE_FIELDS
        return f"≠ changed: {shown}" + (f" +{more}" if more > 0 else "")
    if step.status == ("only_a" if side == "A" else "only_b"):
        return f"+ only in {side}"
    return f"– not run in {side}"


def _tip(step: StepDiff, side: str, other: str) -> str:
    if step.status == "changed":
        n = len(step.paths)
        return (f"changed: {', '.join(step.fields)} ({n} difference{'' if n == 1 else 's'}, "
                "listed below)")
    if step.status == ("only_a" if side == "A" else "only_b"):
        return f"only run {side} has this step"
    return f"run {side} did not run this step; only run {other} has it"


def svg_with_classes(svg: str, classes: Mapping[str, str]) -> str:
    """``svg`` (of :func:`~flownb.render.svg.workflow_svg`) with ``classes[path]`` added to
    the class of the group of the node of each graph path (a step, map or sleep node, or a
    nested workflow's cluster). Nothing else changes: no new layout."""
    wanted: dict[str, str] = {}
    for path, cls in classes.items():
        if cls not in DIFF_CLASSES:
            raise ValueError(f"unknown diff class {cls!r} for step '{path}'; expected one of "
                             f"{', '.join(DIFF_CLASSES)}")
        for kind in _KINDS:
            wanted[node_id(kind, path)] = cls

    def add(match: re.Match[str]) -> str:
        tag = match.group(0)
        attrs = dict(_ATTR.findall(tag))
        cls = wanted.get(html.unescape(attrs.get("id", "")))
        if cls is None or "class" not in attrs:
            return tag
        return tag.replace(f' class="{attrs["class"]}"', f' class="{attrs["class"]} {cls}"', 1)

    return _GROUP.sub(add, svg)


def diff_svg(diff: RunDiff, side: str, description: Mapping[str, Any], *,
             direction: str = "TB") -> str:
    """The step graph of run ``side`` (``"A"`` or ``"B"``) of ``diff``, drawn from its graph
    ``description`` with its steps' statuses, the steps that differ marked
    (:func:`diff_marks`). Runs Graphviz: ``RuntimeError`` when there is none."""
    from .status import node_statuses
    from .svg import workflow_svg

    run = diff.a if side == "A" else diff.b
    statuses = {node: status for node, status in node_statuses(run.steps).items()
                if status in STATUSES}
    classes, notes, tips = diff_marks(diff, side)
    svg = workflow_svg(description, statuses, direction=direction, notes=notes, tips=tips)
    return svg_with_classes(svg, classes)


def side_description(side: RunSide, store: Store | None = None
                     ) -> tuple[dict[str, Any] | None, str | None]:
    """(the graph description of a compared run, ``None``) or (``None``, why there is
    none). It is the run's own ``graph`` when it has one, else the one stored with the run:
    ``store``'s, else the default store's (as ``compare`` finds a run given by its id)."""
    graph = getattr(side, "graph", None)
    if isinstance(graph, Mapping) and graph.get("id") is not None:
        return dict(graph), None
    if side.run_id is None:
        return None, "it has no run id"
    try:
        if store is None:
            from ..config import resolve_store

            store = resolve_store(None)
        if store is None:
            return None, "no store is configured"
        snap = store.load(side.run_id)
    except Exception as exc:  # a display never raises: say why instead
        return None, f"its store could not be read ({type(exc).__name__}: {exc})"
    if snap is None:
        return None, "it is not in the store"
    if side.workflow_id is not None and snap.workflow_id != side.workflow_id:
        return None, f"the stored run of that id is of workflow '{snap.workflow_id}'"
    if not snap.graph or snap.graph.get("id") is None:
        return None, "its stored run has no graph description"
    return dict(snap.graph), None


def diff_view_html(diff: RunDiff, *, store: Store | None = None,
                   direction: str = "TB") -> str:
    """``RunDiff._repr_html_``: :func:`diff_html` with both runs' step graphs
    (:func:`diff_svg`, from :func:`side_description`); a side without a graph says why in
    one line, and without Graphviz one line says so above the tables."""
    graphs: dict[str, tuple[str | None, str | None]] = {}
    for name, side in (("A", diff.a), ("B", diff.b)):
        description, why = side_description(side, store)
        if description is None:
            graphs[name] = (None, f"No graph: {why}.")
            continue
        try:
            graphs[name] = (diff_svg(diff, name, description, direction=direction), None)
        except RuntimeError as exc:  # no Graphviz program: the tables still say it all
            return diff_html(diff, notice=f"The graphs could not be drawn: {exc}")
        except Exception as exc:  # a description this version cannot draw
            graphs[name] = (None, f"The graph could not be drawn: {type(exc).__name__}: {exc}")
    return diff_html(diff, graphs)
