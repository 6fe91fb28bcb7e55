"""A run as one standalone HTML file: ``run.to_html()`` and ``flownb export``.

The report is pure HTML from the view model (:mod:`flownb.render.model`) and the graph's SVG
(:mod:`flownb.render.svg`): the graph coloured by status with a legend, a timeline of each
step's start and end, the step table, and each step's input, output, error, suspend payload
and resume data; the run's input and its result or error on top. Everything is inline (no
external script, style sheet, font or image), so it opens offline, in a mail attachment
or a CI artifact; light and dark follow ``prefers-color-scheme``. Its one script is fixed text
that fits the graph's labels into their shapes in the reader's font (the report reads the
same without it).

It works for a live ``Run`` (:func:`run_report`) and for a stored run, a ``Snapshot``,
without the workflow's code (:func:`snapshot_report`). Every user string (ids, descriptions,
payloads, errors) is escaped: HTML markup shows as text and control characters as visible
escapes (``flownb._text``). Values are bounded: a long one shows its first lines with the rest
folded in a ``<details>``, and one past :data:`MAX_CHARS` is cut, saying how much was left out.

>>> html = run_report(run)                       # doctest: +SKIP
>>> Path("report.html").write_text(html)         # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from .._text import escape_controls, escape_html, escape_json_controls, format_duration
from ..core.results import StepResult
from ..core.schema import to_jsonable
from .model import Progress, RunModel, RunModeler
from .style import STATUSES, graph_theme_css

__all__ = ["FOLD_LINES", "MAX_CHARS", "MAX_ITEMS", "report_html", "run_report",
           "snapshot_report"]

FOLD_LINES = 20
"""Lines of a value shown before the rest is folded (as the live view folds results)."""

MAX_CHARS = 100_000
"""Characters of one value kept in the report; the rest is left out, and the report says so."""

MAX_ITEMS = 100
"""Items of a foreach listed under its step; the report counts the others."""


def run_report(run: Any, *, input_data: Any = None, now: Callable[[], float] | None = None,
               graph: Callable[[Mapping[str, Any], Mapping[str, str]], str] | None = None
               ) -> str:
    """The report of a live ``Run`` (``input_data``: its validated input, which the run
    holds privately; ``Run.to_html`` passes it). ``now`` is the clock for what still runs;
    ``graph`` draws the SVG (default: Graphviz, see :func:`report_html`)."""
    modeler = RunModeler(run.workflow.graph.description, now=now)
    model = modeler.of_run(run)
    result = run.result
    return report_html(
        model, run.workflow.graph.description, run.steps, input_data=input_data,
        result=result.result if result is not None and run.status == "success" else None,
        error_text=_error_text(result) if run.status != "running" else None,
        origin=run.origin, graph=graph)


def snapshot_report(snap: Any, *, now: float | None = None,
                    graph: Callable[[Mapping[str, Any], Mapping[str, str]], str] | None = None
                    ) -> str:
    """The report of a stored run (a ``Snapshot``), from the snapshot alone: its graph
    description, step records, input, result and error. No user code is imported."""
    model = RunModeler(snap.graph).of_snapshot(snap, now=now)
    meta = snap.meta
    return report_html(model, snap.graph, snap.steps, input_data=snap.input,
                       result=meta.get("result") if snap.status == "success" else None,
                       error_text=meta.get("error"), origin=meta.get("origin"),
                       created_at=snap.created_at, graph=graph)


def report_html(model: RunModel, description: Mapping[str, Any], steps: Mapping[str, Any], *,
                input_data: Any = None, result: Any = None, error_text: str | None = None,
                origin: str | None = None, created_at: float | None = None,
                graph: Callable[[Mapping[str, Any], Mapping[str, str]], str] | None = None
                ) -> str:
    """The whole HTML document of a run from its parts: the view ``model``, the graph
    ``description`` and the step results (``StepResult`` objects or stored dicts).

    ``graph(description, statuses)`` returns the SVG (default: ``workflow_svg`` restyled
    with ``svg_with_statuses``); when it raises ``RuntimeError`` (no Graphviz program) the
    report says why in place of the graph and shows everything else.
    """
    results = {path: r if isinstance(r, StepResult) else StepResult.from_dict(dict(r))
               for path, r in steps.items()}
    title = f"{model.workflow_id} · {model.run_id}"
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"color-scheme\" content=\"light dark\">\n"
        f"<title>{_line(title)} — flownb run report</title>\n<style>\n{CSS}</style>\n"
        "</head>\n<body>\n<main class=\"flownb-report\">\n",
        _header(model, origin, created_at),
        _run_values(input_data, result, error_text, model.status),
        _graph_section(model, description, graph),
        _timeline(model),
        _table(model),
        _details(model, results),
        "<footer>Written by flownb. This file needs no network access.</footer>\n"
        f"</main>\n<script>\n{FIT_LABELS}</script>\n</body>\n</html>\n",
    ]
    return "".join(parts)


# -- sections -------------------------------------------------------------------------------------


def _header(model: RunModel, origin: str | None, created_at: float | None) -> str:
    facts = [("run", _line(model.run_id)), ("workflow", _line(model.workflow_id)),
             ("status", _pill(model.status))]
    started = model.started_at if model.started_at is not None else created_at
    if started is not None:
        facts.append(("started", _line(_clock_time(started))))
    if model.seconds is not None:
        facts.append(("duration", _line(format_duration(model.seconds)
                                        + (" so far" if model.running else ""))))
    facts.append(("steps", str(len(model.rows))))
    if origin:
        facts.append(("origin", f"<code>{_line(origin)}</code>"))
    rows = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    return (f"<header>\n<h1>{_line(model.workflow_id)} <span class=\"muted\">run</span> "
            f"<code>{_line(model.run_id)}</code></h1>\n<dl class=\"facts\">{rows}</dl>\n"
            "</header>\n")


def _run_values(input_data: Any, result: Any, error_text: str | None, status: str) -> str:
    boxes = [f"<div class=\"box\"><h3>input</h3>{_value(input_data)}</div>"]
    if status == "success":
        boxes.append(f"<div class=\"box\"><h3>result</h3>{_value(result)}</div>")
    if error_text:
        boxes.append(f"<div class=\"box error\"><h3>error</h3>{_text_block(error_text)}</div>")
    return "<section class=\"values\">\n" + "\n".join(boxes) + "\n</section>\n"


def _graph_section(model: RunModel, description: Mapping[str, Any],
                   graph: Callable[[Mapping[str, Any], Mapping[str, str]], str] | None) -> str:
    draw = graph if graph is not None else _default_graph
    try:
        svg = draw(description, model.statuses)
    except RuntimeError as exc:  # no Graphviz program, or it failed: the rest still helps
        drawing = f"<p class=\"notice\">The graph could not be drawn: {_text(str(exc))}</p>"
    else:
        drawing = f"<div class=\"graph\">{svg}</div>"
    legend = "".join(f"<span class=\"legend-item status-{s}\"><span class=\"swatch\"></span>"
                     f"{s}</span>" for s in STATUSES)
    return (f"<section>\n<h2>Graph</h2>\n<div class=\"legend\">{legend}</div>\n"
            f"{drawing}\n</section>\n")


def _default_graph(description: Mapping[str, Any], statuses: Mapping[str, str]) -> str:
    from .svg import svg_with_statuses, workflow_svg

    return svg_with_statuses(workflow_svg(description), statuses)


def _timeline(model: RunModel) -> str:
    spans = []
    for row in model.rows:
        node = model.nodes.get(row.path)
        start = node.started_at if node is not None else None
        if start is None:
            continue
        end = node.ended_at if node is not None else None
        if end is None and row.seconds is not None:
            end = start + row.seconds
        spans.append((row, start, end if end is not None else start))
    if not spans:
        return "<section>\n<h2>Timeline</h2>\n<p class=\"muted\">No step started.</p>\n</section>\n"
    first = min(s for _, s, _ in spans)
    total = max(max(e for _, _, e in spans) - first, 1e-9)
    bars = []
    for row, start, end in spans:
        left = (start - first) / total * 100
        width = (end - start) / total * 100
        when = f"+{format_duration(start - first)}, {format_duration(end - start)}"
        bars.append(
            f"<div class=\"tl-label\" title=\"{_attr(row.path)}\">{_line(row.path)}</div>"
            f"<div class=\"tl-track\"><div class=\"tl-bar status-{row.status}\" "
            f"style=\"left:{left:.3f}%;width:{width:.3f}%\" "
            f"title=\"{_attr(row.path)}: {row.status}, {when}\"></div></div>"
            f"<div class=\"tl-time\">{format_duration(end - start)}</div>")
    axis = (f"<div></div><div class=\"tl-axis\"><span>0</span><span>{format_duration(total)}</span>"
            "</div><div></div>")
    return ("<section>\n<h2>Timeline</h2>\n<div class=\"timeline\">"
            + "".join(bars) + axis + "</div>\n</section>\n")


def _table(model: RunModel) -> str:
    if not model.rows:
        return "<section>\n<h2>Steps</h2>\n<p class=\"muted\">No step ran.</p>\n</section>\n"
    body = []
    for row in model.rows:
        error = row.error or ""
        output = row.output
        if row.progress is not None:
            output = _progress_text(row.progress)
        node = model.nodes.get(row.path)
        body.append(
            f"<tr><td><a href=\"#step-{_attr(row.path)}\"><code>{_line(row.path)}</code></a></td>"
            f"<td>{_pill(row.status)}{_reused(node.cached_from if node and node.reused else None)}"
            f"</td><td class=\"num\">{format_duration(row.seconds)}</td>"
            f"<td class=\"num\">{row.attempts}</td><td><code>{_line(output)}</code></td>"
            f"<td class=\"error-text\">{_line(error)}</td></tr>")
    return ("<section>\n<h2>Steps</h2>\n<div class=\"table-wrap\"><table class=\"steps\">\n"
            "<thead><tr><th>step</th><th>status</th><th>duration</th><th>tries</th>"
            "<th>output</th><th>error</th></tr></thead>\n<tbody>\n" + "\n".join(body)
            + "\n</tbody></table></div>\n</section>\n")


def _details(model: RunModel, results: Mapping[str, StepResult]) -> str:
    blocks = []
    for row in model.rows:
        own = results.get(row.path)
        parts = []
        if own is not None:
            parts.append(_field("input", _value(own.payload)))
            if own.status == "success" or own.output is not None:
                parts.append(_field("output", _value(own.output)))
            if own.error:
                parts.append(_field("error", _text_block(own.error), css="error"))
            if own.suspend_payload is not None:
                parts.append(_field("suspend payload", _value(own.suspend_payload)))
            if own.resume_payload is not None:
                parts.append(_field("resume data", _value(own.resume_payload)))
            if own.started_at is not None:
                parts.append(_field("started", _line(_clock_time(own.started_at))))
            if own.cached_from is not None:
                parts.append(_field("reused from", f"<code>{_line(_from(own.cached_from))}</code>"))
        if row.progress is not None:
            parts.append(_field("items", _items(row.path, row.progress, results)))
        if not parts:
            parts.append("<p class=\"muted\">Nothing recorded for this node itself.</p>")
        node = model.nodes.get(row.path)
        reused = _reused(node.cached_from if node and node.reused else None)
        blocks.append(
            f"<details class=\"step\" id=\"step-{_attr(row.path)}\"><summary>"
            f"<code>{_line(row.path)}</code> {_pill(row.status)}{reused} "
            f"<span class=\"muted\">{format_duration(row.seconds)}</span></summary>"
            + "".join(parts) + "</details>")
    if not blocks:
        return ""
    return "<section>\n<h2>Step details</h2>\n" + "\n".join(blocks) + "\n</section>\n"


def _items(path: str, progress: Progress, results: Mapping[str, StepResult]) -> str:
    item = re.compile(re.escape(path) + r"\[\d+\]")  # "each[3]", not "each[3].inner"
    rows: list[str] = []
    more = 0
    for key, result in results.items():
        if not item.fullmatch(key):
            continue
        if len(rows) >= MAX_ITEMS:
            more += 1
            continue
        rows.append(f"<tr><td><code>{_line(key)}</code></td><td>{_pill(result.status)}</td>"
                    f"<td class=\"num\">{format_duration(result.duration)}</td>"
                    f"<td class=\"error-text\">{_line(_first(result.error))}</td></tr>")
    note = f"<p class=\"muted\">{_line(_progress_text(progress))}"
    note += f"; {more} more items not listed.</p>" if more else ".</p>"
    return (note + "<table class=\"items\"><tbody>" + "".join(rows) + "</tbody></table>"
            if rows else note)


# -- small pieces ---------------------------------------------------------------------------------


def _field(name: str, body: str, *, css: str = "") -> str:
    return f"<div class=\"field {css}\"><h4>{name}</h4>{body}</div>"


def _pill(status: str) -> str:
    return f"<span class=\"pill status-{_attr(status)}\">{_line(status)}</span>"


def _from(cached_from: Mapping[str, Any]) -> str:
    path = cached_from.get("path")
    return f"run {cached_from.get('run_id')}" + (f" · {path}" if path else "")


def _reused(cached_from: Mapping[str, Any] | None) -> str:
    """The "reused" badge of a step whose output an earlier run gave (SPEC §3d)."""
    if cached_from is None:
        return ""
    return (f" <span class=\"reused\" title=\"reused from {_attr(_from(cached_from))}\">"
            "↺ reused</span>")


def _line(text: Any) -> str:
    """One line of user text for HTML: control characters (newlines too) as escapes."""
    return escape_html(escape_controls(str(text)))


def _attr(text: Any) -> str:
    return _line(text)


def _text(text: str) -> str:
    return escape_html(text)


def _first(text: str | None) -> str:
    if not text:
        return ""
    lines = escape_controls(text, keep_newlines=True).strip().splitlines()
    return lines[0] if lines else ""


def _value(value: Any) -> str:
    """A JSON value as a ``<pre>``, its first :data:`FOLD_LINES` lines shown."""
    if value is None:
        return "<pre class=\"value muted\">null</pre>"
    try:
        text = json.dumps(to_jsonable(value), indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return _folded(escape_json_controls(text))


def _text_block(text: str) -> str:
    return _folded(escape_controls(text, keep_newlines=True))


def _folded(text: str) -> str:
    cut = ""
    if len(text) > MAX_CHARS:
        cut = (f"\n… {len(text) - MAX_CHARS:,} more characters left out of the report "
               f"({len(text):,} in all)")
        text = text[:MAX_CHARS]
    lines = text.split("\n")
    if len(lines) <= FOLD_LINES and not cut:
        return f"<pre class=\"value\">{escape_html(text)}</pre>"
    head, rest = "\n".join(lines[:FOLD_LINES]), "\n".join(lines[FOLD_LINES:]) + cut
    return (f"<pre class=\"value\">{escape_html(head)}</pre><details class=\"more\">"
            f"<summary>show {len(lines) - FOLD_LINES} more lines</summary>"
            f"<pre class=\"value\">{escape_html(rest)}</pre></details>")


def _progress_text(progress: Progress) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in progress.counts.items())
    return f"{progress.done}/{progress.total} items done" + (f" ({counts})" if counts else "")




def _clock_time(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(timestamp)).strip()


def _error_text(result: Any) -> str | None:
    """The run's error, with the traceback of the user's exception when the run keeps it."""
    if result is None or not result.error:
        return None
    exc = result.exception
    cause = getattr(exc, "cause", None) or exc
    if cause is None or cause.__traceback__ is None:
        return str(result.error)
    trace = "".join(traceback.format_exception(cause))
    return f"{result.error}\n\n{trace}"


# Graphviz measured the labels with its own font metrics; the reader's font may be wider. A
# label wider than its shape gets a smaller font (then, at 70 %, is squeezed), as the live
# view does. Fixed text (no user data): without scripts the report reads the same, only
# a long label may spill out of its shape.
FIT_LABELS = """\
(() => {
  for (const g of document.querySelectorAll(".graph svg g.node, .graph svg g.cluster")) {
    const shape = g.querySelector("path, polygon, ellipse");
    if (!shape) continue;
    const outer = shape.getBBox();
    const room = outer.width - (g.classList.contains("cluster") ? 12 : 10);
    if (room <= 0) continue;
    for (const text of g.querySelectorAll("text")) {
      if (text.getBBox().width <= room) continue;
      const size = parseFloat(text.getAttribute("font-size")) || 11;
      text.setAttribute("font-size", (Math.max(0.7, room / text.getBBox().width) * size)
        .toFixed(2));
      if (text.getBBox().width > room) {
        text.setAttribute("textLength", room.toFixed(1));
        text.setAttribute("lengthAdjust", "spacingAndGlyphs");
      }
    }
  }
})();
"""

CSS = """\
:root {
  --bg: #ffffff; --bg2: #f1f3f4; --fg: #202124; --fg2: #5f6368; --fg3: #80868b;
  --line: #dadce0; --code-bg: #f8f9fa;
  --pending: #80868b; --running: #1a73e8; --success: #188038; --failed: #d93025;
  --suspended: #e37400; --canceled: #5f6368; --skipped: #bdc1c6;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #1e1f22; --bg2: #2b2d31; --fg: #e8eaed; --fg2: #bdc1c6; --fg3: #9aa0a6;
    --line: #3c4043; --code-bg: #26282c;
    --pending: #9aa0a6; --running: #8ab4f8; --success: #81c995; --failed: #f28b82;
    --suspended: #fdd663; --canceled: #9aa0a6; --skipped: #5f6368;
  }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--fg); }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica,
  Arial, sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 22px; margin: 0 0 8px; overflow-wrap: anywhere; }
h2 { font-size: 16px; margin: 28px 0 10px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3, h4 { font-size: 12px; margin: 0 0 4px; color: var(--fg2); text-transform: uppercase;
  letter-spacing: 0.04em; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12.5px; }
.muted { color: var(--fg2); }
.notice { color: var(--fg2); border: 1px dashed var(--line); padding: 8px 12px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
.facts dt { color: var(--fg2); }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.status-pending { --c: var(--pending); } .status-running { --c: var(--running); }
.status-success { --c: var(--success); } .status-failed { --c: var(--failed); }
.status-suspended { --c: var(--suspended); } .status-canceled { --c: var(--canceled); }
.status-skipped { --c: var(--skipped); }
.pill { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px;
  border: 1px solid var(--c); color: var(--fg); white-space: nowrap;
  background: color-mix(in srgb, var(--c) 22%, var(--bg)); }
.pill.status-pending { background: var(--bg2); }
.pill.status-canceled { border-style: dashed; }
.pill.status-skipped { border-style: dotted; border-color: var(--fg3); background: transparent; }
.values { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr));
  gap: 12px; margin-top: 16px; align-items: start; }
.box { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; min-width: 0; }
.box.error, .field.error pre { border-color: var(--failed); }
pre.value { margin: 0; padding: 6px 8px; background: var(--code-bg); border-radius: 4px;
  border: 1px solid var(--line); white-space: pre-wrap; overflow-wrap: anywhere;
  color: var(--fg); }
details.more > summary { cursor: pointer; color: var(--fg2); font-size: 12px; margin: 4px 0; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 12px; color: var(--fg2);
  margin-bottom: 8px; }
.legend-item { display: inline-flex; align-items: center; gap: 4px; }
.swatch { width: 12px; height: 12px; border-radius: 3px; border: 1.5px solid var(--c);
  background: color-mix(in srgb, var(--c) 22%, var(--bg)); }
.status-pending > .swatch { background: var(--bg2); }
.status-canceled > .swatch { border-style: dashed; }
.status-skipped > .swatch { border-style: dotted; border-color: var(--fg3);
  background: transparent; }
.graph { border: 1px solid var(--line); border-radius: 6px; padding: 12px;
  display: flex; justify-content: center; overflow: auto; }
.graph > svg { display: block; max-width: 100%; height: auto; max-height: 80vh; }
""" + graph_theme_css(".graph svg", fg="var(--fg)", fg2="var(--fg2)", fg3="var(--fg3)",
                      bg="var(--bg)") + """\
.graph svg g.node[class*="status"] path, .graph svg g.node[class*="status"] polygon,
.graph svg g.node[class*="status"] ellipse {
  fill: color-mix(in srgb, var(--c) 20%, var(--bg)); stroke: var(--c); stroke-width: 1.4; }
.graph svg g.node.status-pending path, .graph svg g.node.status-pending polygon,
.graph svg g.node.status-pending ellipse { fill: var(--bg2); }
.graph svg g.node.status-canceled path, .graph svg g.node.status-canceled polygon,
.graph svg g.node.status-canceled ellipse { stroke-dasharray: 5 3; }
.graph svg g.node.status-skipped path, .graph svg g.node.status-skipped polygon,
.graph svg g.node.status-skipped ellipse {
  fill: transparent; stroke: var(--fg3); stroke-dasharray: 1.5 2.5; }
.graph svg g.node.status-skipped text { fill: var(--fg3); }
.graph svg g.cluster[class*="status"] path, .graph svg g.cluster[class*="status"] polygon {
  fill: color-mix(in srgb, var(--c) 5%, transparent); stroke: var(--c); stroke-width: 1.2; }
.graph svg g.cluster.status-pending path, .graph svg g.cluster.status-pending polygon {
  stroke: var(--line); }
.timeline { display: grid; grid-template-columns: minmax(80px, max-content) 1fr max-content;
  gap: 4px 10px; align-items: center; }
.tl-label { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 12.5px; max-width: 260px; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
.tl-track { position: relative; height: 14px; background: var(--bg2); border-radius: 3px; }
.tl-bar { position: absolute; top: 0; bottom: 0; min-width: 3px; border-radius: 3px;
  background: var(--c); }
.tl-bar.status-pending { background: var(--fg3); }
.tl-time, .num { font-variant-numeric: tabular-nums; color: var(--fg2); text-align: right;
  white-space: nowrap; font-size: 12.5px; }
.tl-axis { display: flex; justify-content: space-between; font-size: 11px; color: var(--fg2); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th { text-align: left; font-weight: 600; color: var(--fg2); font-size: 12px;
  border-bottom: 1px solid var(--line); padding: 4px 8px; }
td { border-bottom: 1px solid var(--line); padding: 4px 8px; vertical-align: top;
  overflow-wrap: anywhere; }
table.steps td:nth-child(5) { max-width: 360px; }
td a { color: inherit; text-decoration: none; }
td a:hover code { text-decoration: underline; }
.error-text { color: var(--failed); }
.reused { display: inline-block; padding: 0 6px; border-radius: 10px; font-size: 12px;
  border: 1px dashed var(--fg3); color: var(--fg2); white-space: nowrap; }
details.step { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0;
  padding: 6px 10px; }
details.step > summary { cursor: pointer; display: flex; gap: 8px; align-items: center;
  flex-wrap: wrap; }
details.step > summary code { overflow-wrap: anywhere; }
details.step[open] > summary { margin-bottom: 8px; }
.field { margin: 6px 0 10px; }
table.items { width: auto; }
footer { margin-top: 32px; color: var(--fg3); font-size: 12px; }
"""
