"""HTML fragments of the notebook layer: step table, event log, result, run list.

The step table and the event log draw a :class:`~flownb.render.model.RunModel`'s rows and
events as they are: what they show is computed there, once, for every face of a run.

Every user-provided string (ids, descriptions, payloads, errors) goes through
``escape_html`` (``html.escape`` after escaping control characters, see
``flownb._text``); nothing here is trusted markup.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._text import escape_html
from ..core import keys
from ..render import style
from ..render.jsontext import json_text
from ..render.model import EventRow, Row, preview

__all__ = ["RUNS_SHOWN", "badge", "beside", "changes_notice", "elapsed", "event_log",
           "fold_items", "fork_label", "preview", "result_block", "run_table", "run_title",
           "step_table", "suspension_table", "themed_graph", "timeline_table"]

RUNS_SHOWN = 20  # `%flow runs` lists the latest 20 unless told --limit N or --all
ITEMS_SHOWN = 10  # `%flow inspect` folds the events of a foreach of more items than this
_FLAGGED = ("failed", "suspended", "running")  # items listed even in a fold

_TABLE = ('style="border-collapse:collapse;font-size:12px;font-family:var(--jp-ui-font-family,'
          'sans-serif)"')
_CELL = ('style="padding:2px 8px;border-bottom:1px solid var(--jp-border-color2,#eee);'
         'text-align:left;vertical-align:top"')
_RESULT_ITEMS = 50  # a long list result shows its first items (run.result has them all)
_HEAD = ('style="padding:2px 8px;border-bottom:1px solid var(--jp-border-color1,#ccc);'
         'text-align:left;font-weight:600"')
# Secondary text: the theme's (JupyterLab's dark theme makes it light), grey elsewhere.
_MUTED = "color:var(--jp-ui-font-color2,#5f6368)"
_NOWRAP = '<span style="white-space:nowrap">{}</span>'


def badge(status: str) -> str:
    """A coloured status label, readable in light and dark themes: the status colour mixed
    into the theme's background, in the theme's text colour (the pastel fill and dark text
    where there is no ``color-mix`` or no JupyterLab theme); canceled has a dashed border
    (it is not pending)."""
    fill = style.STATUS_FILL.get(status, "#ffffff")
    stroke = style.STATUS_STROKE.get(status, "#5f6368")
    dash = "dashed" if status == "canceled" else "dotted" if status == "skipped" else "solid"
    return (f'<span class="flownb-badge status-{escape_html(status)}" style="background:{fill};'
            f"background:color-mix(in srgb,{stroke} 22%,var(--jp-layout-color1,{fill}));"
            f"color:#202124;color:var(--jp-ui-font-color1,#202124);"
            f'border:1px {dash} {stroke};border-radius:8px;padding:0 6px;font-size:11px;'
            f'white-space:nowrap">{escape_html(status)}</span>')


def run_title(workflow_id: str, run_id: str) -> str:
    """A run's title line: the workflow in bold, then the run id."""
    return f"<b>{escape_html(workflow_id)}</b> · run <code>{escape_html(run_id)}</code>"


def beside(graph: str, body: str) -> str:
    """A run's graph with its steps (and outcome) beside it, below it when narrow."""
    return ('<div style="display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start">'
            f"<div>{graph}</div><div>{body}</div></div>")


def themed_graph(svg: str) -> str:
    """``svg`` (a workflow's drawing) in the theme's colours on no background of its own,
    no white card in JupyterLab's dark theme: a ``div.flownb-themed-graph`` after a style
    sheet that outranks the SVG's own status colours and Graphviz's colour attributes (the
    live view's live.css does the same for its graph). Nodes keep their status colours,
    mixed into the theme's background."""
    return f'{_GRAPH_STYLE}<div class="flownb-themed-graph">{svg}</div>'


_G = ".flownb-themed-graph svg"
_GRAPH_STYLE = "<style>" + f"""
.flownb-themed-graph {{
  --g-bg: var(--jp-layout-color1, #ffffff); --g-bg2: var(--jp-layout-color2, #eeeeee);
  --g-fg: var(--jp-ui-font-color1, rgba(0, 0, 0, 0.87));
  --g-fg2: var(--jp-ui-font-color2, rgba(0, 0, 0, 0.6));
  --g-fg3: var(--jp-ui-font-color3, rgba(0, 0, 0, 0.45));
  --g-line: var(--jp-border-color1, #bdbdbd);
  max-width: 100%; overflow: auto; padding: 4px; box-sizing: border-box;
  border: 1px solid var(--jp-border-color2, #e0e0e0); border-radius: 4px;
  background: transparent;
}}
.flownb-themed-graph > svg {{
  display: block; max-width: 100%; height: auto; background: transparent;
}}
{style.graph_theme_css(_G, fg="var(--g-fg)", fg2="var(--g-fg2)", fg3="var(--g-fg3)",
                       bg="var(--g-bg)")}
{_G} g.cluster path, {_G} g.cluster polygon {{ fill: transparent; }}
""" + "".join(
    f"{_G} g.node.status-{s} path, {_G} g.node.status-{s} polygon, "
    f"{_G} g.node.status-{s} ellipse {{ fill: color-mix(in srgb, {c} 20%, var(--g-bg)); }}\n"
    for s, c in style.STATUS_STROKE.items() if s not in ("pending", "skipped")) + f"""
{_G} g.node.status-pending path, {_G} g.node.status-pending polygon,
{_G} g.node.status-pending ellipse {{ fill: var(--g-bg2); stroke: var(--g-line); }}
{_G} g.node.status-skipped path, {_G} g.node.status-skipped polygon,
{_G} g.node.status-skipped ellipse {{ fill: transparent; stroke: var(--g-fg3); }}
{_G} g.node.status-canceled path, {_G} g.node.status-canceled polygon,
{_G} g.node.status-canceled ellipse {{ stroke-dasharray: 5 3; }}
{_G} g.cluster.status-pending path, {_G} g.cluster.status-pending polygon {{
  stroke: var(--g-line);
}}
</style>"""


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], css_class: str) -> str:
    head = "".join(f"<th {_HEAD}>{escape_html(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td {_CELL}>{cell}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f'<table class="{css_class}" {_TABLE}><thead><tr>{head}</tr></thead>' \
           f"<tbody>{body}</tbody></table>"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def elapsed(seconds: float | None, running: bool) -> str:
    """`` · 1.20 s`` (``…`` after it while still running); empty when not known."""
    if seconds is None:
        return ""
    return (f' · <span class="flownb-elapsed">{_duration(seconds)}{"…" if running else ""}'
            "</span>")


def step_table(rows: Sequence[Row]) -> str:
    """The model's step table: one row per graph node that has results, with its status,
    duration (time so far, with ``…``, while it runs), attempts, output preview and the
    first line of its error.

    A foreach's items share its row: ``(done/total items)`` and a count per status, so a run
    of thousands of items stays a short table.
    """
    cells = []
    for row in rows:
        label = escape_html(row.path)
        progress = row.progress
        if progress is not None:
            output = ", ".join(f"{n:,} {status}" for status, n in progress.counts.items())
            label += (f' <span style="{_MUTED}">({progress.done:,}/{progress.total:,} '
                      "items)</span>")
        else:
            output = row.output
        duration = _duration(row.seconds) + ("…" if row.running else "")
        cells.append([label, badge(row.status), duration, str(row.attempts or ""),
                      f"<code>{escape_html(output)}</code>" if output else "",
                      escape_html(row.error or "")])
    names = ["step", "status", "duration", "attempts", "output", "error"]
    if not any(row.error for row in rows):  # no column of blanks (as flownb inspect)
        names.pop()
        cells = [c[:-1] for c in cells]
    return _table(names, cells, "flownb-step-table")


def event_log(events: Sequence[EventRow], total: int) -> str:
    """The model's recent events, newest last: time since the run started, type, step path,
    payload preview; and how many there were in all when these are not all."""
    rows = []
    for e in events:
        offset = "" if e.offset is None else f"+{e.offset * 1000:,.0f} ms"
        rows.append([_NOWRAP.format(offset), _NOWRAP.format(escape_html(e.type)),
                     escape_html(e.path),
                     f"<code>{escape_html(e.payload)}</code>"])
    note = ""
    if total > len(events):
        note = (f'<div style="{_MUTED};font-size:11px">the last {len(events):,} of '
                f"{total:,} events</div>")
    return note + _table(["time", "event", "step", "payload"], rows, "flownb-event-log")


def result_block(status: str, result: Any, error: str | None,
                 suspended: Sequence[Sequence[str]]) -> str:
    """The run's outcome: pretty JSON of the result, the error, or what it waits for."""
    if status == "success":
        shown, more = (result[:_RESULT_ITEMS], len(result) - _RESULT_ITEMS) \
            if isinstance(result, (list, tuple)) and len(result) > _RESULT_ITEMS else (result, 0)
        body = escape_html(json_text(shown), quote=False)
        note = ""
        if more:
            note = (f'<div class="flownb-result-more" style="{_MUTED};font-size:11px">… and '
                    f"{more:,} more items (the run's result has them all)</div>")
        # A long result scrolls in a box of its own: the rest of the output stays in view.
        return (f'<div class="flownb-result"><pre style="margin:0;max-height:20em;'
                "overflow:auto;padding:2px 6px;border:1px solid "
                f'var(--jp-border-color2,#e0e0e0);border-radius:3px">{body}</pre>{note}</div>')
    if status in ("failed", "canceled"):
        return (f'<pre class="flownb-result" style="margin:0;color:var(--jp-error-color1,'
                f'#d93025);white-space:pre-wrap">{escape_html(error or status)}</pre>')
    if status == "suspended":
        waiting = ", ".join(".".join(p) for p in suspended)
        return f'<div class="flownb-result">waiting for: <b>{escape_html(waiting)}</b></div>'
    return ""


def _time(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return _dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")




def fork_label(parent: str, at: str | None) -> str:
    """``"fork of PARENT at STEP"`` (plain text: escape it where it goes)."""
    return f"fork of {parent}" + (f" at {at}" if at else "")


def changes_notice(changes: Sequence[Mapping[str, Any]]) -> str:
    """The notice of what changed in the workflow since a stored run (``run.changes()``,
    SPEC §4b) as HTML, every part escaped; ``""`` when nothing did."""
    if not changes:
        return ""
    items = "".join(
        f'<li><code>{escape_html(str(c.get("path", "")))}</code> '
        f'<b>{escape_html(str(c.get("kind", "")))}</b>: '
        f'{escape_html(str(c.get("detail", "")))}</li>' for c in changes)
    return ('<div class="flownb-changes" style="border-left:3px solid '
            "var(--jp-warn-color1,#f57c00);padding:2px 8px;margin:4px 0;"
            'color:var(--jp-ui-font-color1,#1f1f1f)">⚠ the workflow changed since this run '
            f'was stored:<ul style="margin:2px 0;padding-left:18px">{items}</ul></div>')


def run_table(runs: Sequence[Any], *, total: int | None = None,
              forks: Mapping[str, str | None] | None = None) -> str:
    """Stored runs (``RunInfo``): id, workflow, status, started, duration, waiting steps;
    when ``total`` is more than these, a line says how many more there are. A fork's id
    says under it which run it is a fork of, and at which step (``forks``: run id → the
    step, from :func:`flownb.core.fork.fork_points`)."""
    rows = []
    for info in runs:
        waiting = ", ".join(".".join(p) for p in info.suspended)
        run_id = f"<code>{escape_html(info.run_id)}</code>"
        parent = getattr(info, "parent_run_id", None)
        if parent is not None:
            label = fork_label(parent, (forks or {}).get(info.run_id))
            run_id += (f'<div class="flownb-fork-of" style="color:var(--jp-ui-font-color2,'
                       f'#5f6368);font-size:11px">⑂ {escape_html(label)}</div>')
        rows.append([run_id, escape_html(info.workflow_id),
                     badge(info.status), _time(info.created_at),
                     _duration(info.updated_at - info.created_at), escape_html(waiting)])
    table = _table(["run id", "workflow", "status", "started", "duration", "waiting for"],
                   rows, "flownb-run-table")
    if total is not None and total > len(runs):
        table += (f'<div class="flownb-more" style="{_MUTED};font-size:11px">… '
                  f"{total - len(runs):,} more: the latest {len(runs):,} of {total:,} runs "
                  "are listed (<code>--limit N</code> or <code>--all</code> lists more)</div>")
    return table


def fold_items(steps: Mapping[str, Any], *,
               limit: int = ITEMS_SHOWN) -> dict[str, tuple[str, int]]:
    """The step paths of foreach items not to list: path → (the foreach's path, how many
    items of it are folded). A foreach of more than ``limit`` items is folded, except its
    failed, suspended and running items; an item's sub-steps fold with it (items are
    grouped by their first ``[i]`` marker)."""
    items = keys.items_by_foreach(steps)
    hidden: dict[str, tuple[str, int]] = {}
    for foreach, by_index in items.items():
        if len(by_index) <= limit:
            continue
        folded = [i for i in by_index
                  if _status_of(steps.get(f"{foreach}[{i}]")) not in _FLAGGED]
        for i in folded:
            for path in by_index[i]:
                hidden[path] = (foreach, len(folded))
    return hidden


def _status_of(data: Any) -> str:
    return str((data or {}).get("status") or "pending")


def timeline_table(steps: Mapping[str, Any], start: float, *, show_all: bool = False) -> str:
    """The step events a stored run's results imply, with times since ``start``; an answer
    to a suspended step is a ``step-resumed`` event. The events of folded foreach items
    (:func:`fold_items`, unless ``show_all``) are one row where the first of them was."""
    from ..render.status import timeline

    hidden = {} if show_all else fold_items(steps)
    events = []
    for e in timeline(steps):
        answer = (steps.get(e["path"]) or {}).get("resume_payload")
        if e["type"] == "step-start" and answer is not None:
            events.append({**e, "type": "step-resumed", "payload": {"resume_data": answer}})
        events.append(e)
    folded = Counter(hidden[e["path"]][0] for e in events if e["path"] in hidden)
    rows = []
    for e in events:
        at = e["timestamp"]
        offset = "" if at is None else f"+{(at - start) * 1000:,.1f} ms"
        if e["path"] not in hidden:
            rows.append([_NOWRAP.format(offset), _NOWRAP.format(escape_html(e["type"])),
                         escape_html(e["path"]),
                         f"<code>{escape_html(preview(e['payload'], 100))}</code>"])
            continue
        foreach, items = hidden[e["path"]]
        if foreach in folded:
            rows.append([offset, "…", escape_html(f"{foreach}[…]"),
                         f'<span style="{_MUTED}">{folded.pop(foreach):,} events of '
                         f"{items:,} folded items (<code>--all</code> lists them)</span>"])
    return _table(["time", "event", "step", "payload"], rows, "flownb-timeline")


def suspension_table(steps: Mapping[str, Any], *, show_all: bool = False) -> str:
    """Each step that suspended: what it asked (its suspend payload), the answer (its resume
    data) and when it was answered (the resumed execution's start), or since when it waits;
    empty when none did. A stored record keeps one execution: once a step is answered, when
    it was asked is not known any more."""
    hidden = {} if show_all else fold_items(steps)
    rows = []
    folded = 0
    for path, data in steps.items():
        if not data or data.get("suspend_payload") is None:
            continue
        if path in hidden:
            folded += 1
            continue
        asked = f"<code>{escape_html(preview(data['suspend_payload'], 200))}</code>"
        answer = data.get("resume_payload")
        if _status_of(data) == "suspended" or answer is None:
            since = _time(data.get("ended_at") or data.get("started_at"))
            rows.append([escape_html(path), asked, f"<i>none yet</i> (waiting since {since})",
                         ""])
        else:
            rows.append([escape_html(path), asked,
                         f"<code>{escape_html(preview(answer, 200))}</code>",
                         _NOWRAP.format(_time(data.get("started_at")))])
    if not rows and not folded:
        return ""
    note = ""
    if folded:
        note = (f'<div style="{_MUTED};font-size:11px">and {folded:,} answered items of '
                "folded foreaches (<code>--all</code> lists them)</div>")
    return _table(["step", "asked", "answer", "answered at"], rows,
                  "flownb-suspensions") + note
