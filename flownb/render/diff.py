"""A ``RunDiff`` as HTML for a notebook: the two runs side by side, then each changed step's
differences. Pure: diff → text, tested on its content.

Every user string (run ids, step paths, JSON paths, values, errors) goes through
``flownb._text.escape_html``; colours are JupyterLab's ``--jp-*`` variables (with light
fallbacks), so the table reads in the light and the dark theme alike. What is shown is
bounded: long values are cut, and long step lists and difference lists are folded with a
count of what was left out.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .._text import escape_html
from ..core.compare import MISSING

if TYPE_CHECKING:
    from ..core.compare import RunDiff, RunSide, StepDiff

__all__ = ["MAX_DIFFERENCES", "MAX_ROWS", "MAX_STEPS_SHOWN", "MAX_VALUE", "diff_html"]

MAX_ROWS = 200
"""Step rows drawn in each run's table; the rest are counted."""
MAX_STEPS_SHOWN = 50
"""Changed steps whose differences are listed; the rest are counted."""
MAX_DIFFERENCES = 50
"""Differences listed per changed step; the rest are counted."""
MAX_VALUE = 200
"""Characters of a value shown (as compact JSON) before it is cut with "…"."""

_MARK = {"same": "", "changed": "changed", "only_a": "only in A", "only_b": "only in B"}

CSS = """
.flownb-diff { font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px); color: var(--jp-ui-font-color1, #212121); }
.flownb-diff .fd-sides { display: flex; gap: 16px; flex-wrap: wrap; }
.flownb-diff .fd-side { flex: 1 1 280px; min-width: 0; }
.flownb-diff h4 { margin: 8px 0 4px; font-size: var(--jp-ui-font-size2, 14px); }
.flownb-diff .fd-sub { color: var(--jp-ui-font-color2, #616161); font-weight: normal; }
.flownb-diff table { border-collapse: collapse; width: 100%; }
.flownb-diff th, .flownb-diff td { text-align: left; padding: 2px 8px; vertical-align: top;
  border-bottom: 1px solid var(--jp-border-color2, #e0e0e0); }
.flownb-diff th { color: var(--jp-ui-font-color2, #616161); font-weight: 600; }
.flownb-diff code, .flownb-diff .fd-value { font-family: var(--jp-code-font-family, monospace);
  font-size: var(--jp-code-font-size, 12px); white-space: pre-wrap; word-break: break-all; }
.flownb-diff tr.fd-changed td { background: var(--jp-warn-color3, #fff3e0); }
.flownb-diff tr.fd-changed td.fd-mark { color: var(--jp-warn-color0, #e65100); font-weight: 600; }
.flownb-diff tr.fd-only td { background: var(--jp-info-color3, #e3f2fd); }
.flownb-diff tr.fd-only td.fd-mark { color: var(--jp-info-color0, #01579b); }
.flownb-diff tr.fd-absent td { color: var(--jp-ui-font-color3, #9e9e9e); }
.flownb-diff .st-success { color: var(--jp-success-color1, #388e3c); }
.flownb-diff .st-failed { color: var(--jp-error-color1, #d32f2f); }
.flownb-diff .st-suspended { color: var(--jp-warn-color1, #f57c00); }
.flownb-diff .st-canceled, .flownb-diff .st-running {
  color: var(--jp-ui-font-color2, #616161); }
.flownb-diff td.fd-a { background: var(--jp-error-color3, #ffebee); }
.flownb-diff td.fd-b { background: var(--jp-success-color3, #e8f5e9); }
.flownb-diff .fd-missing { color: var(--jp-ui-font-color3, #9e9e9e); font-style: italic; }
.flownb-diff .fd-more { color: var(--jp-ui-font-color2, #616161); font-style: italic; }
.flownb-diff details { margin: 6px 0; }
.flownb-diff summary { cursor: pointer; }
"""


def diff_html(diff: RunDiff) -> str:
    """The HTML of ``diff``: a summary line, each run's step table (changed steps marked,
    a step the run lacks shown as an empty row so the tables line up) and, per changed
    step, a table of JSON path, value in A, value in B."""
    parts = ['<div class="flownb-diff">', f"<style>{CSS}</style>", _summary(diff),
             '<div class="fd-sides">', _side_table(diff, diff.a, "A"),
             _side_table(diff, diff.b, "B"), "</div>", _changes(diff), "</div>"]
    return "\n".join(p for p in parts if p)


def _summary(diff: RunDiff) -> str:
    counts = [f"{len(diff)} step{'' if len(diff) == 1 else 's'}",
              f"{len(diff.changed)} changed"]
    if diff.only_a:
        counts.append(f"{len(diff.only_a)} only in A")
    if diff.only_b:
        counts.append(f"{len(diff.only_b)} only in B")
    return (f'<div class="fd-summary">Comparing run <code>{_e(diff.a.run_id)}</code> (A) '
            f'with <code>{_e(diff.b.run_id)}</code> (B): {", ".join(counts)}</div>')


def _side_table(diff: RunDiff, side: RunSide, name: str) -> str:
    title = (f'<h4>{name}: <code>{_e(side.run_id)}</code> <span class="fd-sub">'
             f'{_e(side.workflow_id)} · {_status(side.status)}</span></h4>')
    rows = []
    for i, path in enumerate(diff):
        if i == MAX_ROWS:
            rows.append(f'<tr><td colspan="3" class="fd-more">… {len(diff) - MAX_ROWS} more '
                        "steps</td></tr>")
            break
        rows.append(_row(diff[path], side.steps.get(path)))
    return (f'<div class="fd-side" data-side="{name}">{title}<table><thead><tr><th>step</th>'
            "<th>status</th><th></th></tr></thead><tbody>" + "".join(rows) +
            "</tbody></table></div>")


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
            "<table><thead><tr><th>path</th><th>A</th><th>B</th></tr></thead><tbody>" +
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
