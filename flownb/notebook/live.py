"""What the live view sends to the browser: bounded, JSON-able parts of a run.

:class:`~flownb.notebook.view.RunView` is an anywidget widget; its traits carry what this
module builds from a :class:`~flownb.render.model.RunModel` and the run's step results:

* :func:`model_state` — the ``model`` trait: the run, every graph node's status and times,
  the step table's rows (a foreach's items as counts, done/total and its first unfinished
  items), the result folded past :data:`FOLD_LINES` lines. Its size depends on the graph,
  not on how many items or events the run has.
* :func:`inspect_step` — ``view.inspector``: everything about one step or item, whole (for
  Python and tests); :func:`bounded_inspector` is what the browser gets of it (long values
  folded, a foreach's items one page at a time, filtered by status).
* :func:`timeline` — the Gantt bars: one per node, and the first :data:`TIMELINE_ITEMS`
  items.

Pure functions of their inputs (the clock is passed in), so tests compare exact values.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from ..core.results import StepResult
from ..core.schema import to_jsonable
from ..render.jsontext import LINE, json_text, packed
from ..render.model import Progress, Row, RunModel, preview
from ..render.status import graph_path
from ..render.tracebacks import user_traceback

__all__ = [
    "FOLD_LINES",
    "INSPECTOR_KEYS",
    "ITEMS_PAGE",
    "TIMELINE_ITEMS",
    "bounded_inspector",
    "cell_name",
    "fold",
    "inspect_step",
    "item_index",
    "model_state",
    "svg_ids",
    "timeline",
    "traceback_text",
]

FOLD_LINES = 20
"""Lines of a long value shown before "show more"."""

FOLD_CHARS = 4_000
"""Characters of a long value shown before "show more"."""

EXPANDED_LINES = 2_000
"""Lines of a value once "show more" was asked for (still bounded: one message)."""

EXPANDED_CHARS = 200_000
"""Characters of a value once "show more" was asked for."""

ITEMS_PAGE = 50
"""Items of a foreach per page of the inspector's item list."""

TIMELINE_ITEMS = 200
"""Foreach items drawn in the timeline, besides one bar per node."""

EVENTS_SHOWN = 50
"""Recent events the events tab shows."""

CHANGES_SHOWN = 20
"""Changes of the workflow since a stored run (``run.changes()``) listed in its notice."""

INSPECTOR_KEYS = ("path", "status", "input", "output", "error", "traceback", "attempts",
                  "started_at", "ended_at", "suspend_payload", "resume_data", "resumed_at",
                  "cached_from", "items")
"""The keys of ``view.inspector`` (SPEC §6b), in this order."""

_INDEX = re.compile(r"\[(\d+)\]$")


# -- folding ------------------------------------------------------------------------------------


def fold(value: Any, *, expanded: bool = False, text: str | None = None) -> dict[str, Any] | None:
    """``value`` as pretty JSON cut for display: ``{"text", "lines", "chars", "cut"}``
    (``lines``/``chars`` of the whole text, ``cut`` whether ``text`` is only its start), or
    ``None`` for ``None``. ``text`` is shown instead of JSON when given (a traceback). A list
    or mapping of more elements than the lines shown can hold is cut before it is encoded
    (:func:`_first_members`): then ``lines`` and ``chars`` are ``None`` and ``items`` says
    how many elements it has.

    >>> fold({"a": 1})
    {'text': '{"a": 1}', 'lines': 1, 'chars': 8, 'cut': False}
    """
    if value is None and text is None:
        return None
    max_lines, max_chars = (EXPANDED_LINES, EXPANDED_CHARS) if expanded else \
        (FOLD_LINES, FOLD_CHARS)
    part = _first_members(value, max_lines) if text is None else None
    if part is not None:
        shown = "\n".join(json_text(part, spread=True).split("\n", max_lines)[:max_lines]
                          )[:max_chars]
        return {"text": shown, "lines": None, "chars": None, "cut": True,
                "items": len(value)}
    whole = text if text is not None else json_text(value)
    lines = whole.count("\n") + 1
    shown = whole
    if lines > max_lines:
        shown = "\n".join(whole.split("\n", max_lines)[:max_lines])
    if len(shown) > max_chars:
        shown = shown[:max_chars]
    return {"text": shown, "lines": lines, "chars": len(whole), "cut": shown != whole}


def _first_members(value: Any, lines: int) -> Any:
    """The first members of a list or mapping too long to show in ``lines`` lines (``None``
    for one that may fit): encode only what can show (a foreach's input of 100,000 items is
    not encoded whole for every update). A member takes a line at least; numbers and
    strings share lines (``json_text``), three characters each at least, so that many of
    them fill more lines than are shown (and the "]" never shows)."""
    if isinstance(value, Mapping):
        return dict(list(value.items())[:lines]) if len(value) > lines else None
    if not isinstance(value, (list, tuple)) or len(value) <= lines:
        return None
    part = list(value[:lines * LINE // 3])
    if not packed(part):
        return part[:lines]
    return part if len(value) > len(part) else None


# -- the model trait ------------------------------------------------------------------------------


def _progress(progress: Progress | None) -> dict[str, Any] | None:
    if progress is None:
        return None
    return {"done": progress.done, "total": progress.total, "counts": dict(progress.counts),
            "open": [{"path": i.path, "status": i.status, "seconds": i.seconds,
                      "running": i.running, "error": i.error} for i in progress.open],
            "more": progress.more}


def _row(row: Row, started_at: float | None) -> dict[str, Any]:
    return {"path": row.path, "status": row.status, "seconds": row.seconds,
            "running": row.running, "started_at": started_at if row.running else None,
            "attempts": row.attempts, "output": row.output, "error": row.error,
            "progress": _progress(row.progress)}


def model_state(model: RunModel, *, now: float | None, result: Any = None,
                has_result: bool = False, expanded: Iterable[str] = (),
                read_only: bool = False, notice: str | None = None,
                events: bool = False, seq: int = 0,
                can_rerun: bool = False, breakpoints: Iterable[str] = (),
                changes: Iterable[Mapping[str, str]] = ()) -> dict[str, Any]:
    """The ``model`` trait of the live view: ``model`` as the browser draws it, bounded.

    ``now`` is the kernel's clock when the model was made (the browser counts running
    times up from it); ``reused`` lists the nodes reused from an earlier run; ``result`` the
    run's output when ``has_result`` (folded unless
    ``"result"`` is in ``expanded``); ``events`` whether to include the recent events;
    ``can_rerun`` whether the view offers Re-run (a button in its header);
    ``breakpoints`` the suspended steps that are paused at a breakpoint (listed again under
    ``"breakpoints"`` with a preview of their input: the view offers Continue and Edit
    input for them instead of a resume form); ``changes`` what differs between the stored run and
    the current definition (``run.changes()``, shown as a notice; at most
    :data:`CHANGES_SHOWN` of them, and ``changes_total``).
    """
    paused = set(breakpoints)
    changed = list(changes)
    nodes = {}
    for path, node in model.nodes.items():
        nodes[path] = {"status": node.status, "seconds": node.seconds, "running": node.running,
                       "started_at": node.started_at, "attempts": node.attempts,
                       "iterations": node.iterations,
                       "progress": None if node.progress is None else
                       {"done": node.progress.done, "total": node.progress.total}}
    rows = [_row(row, model.nodes[row.path].started_at if row.path in model.nodes else None)
            for row in model.rows]
    state: dict[str, Any] = {
        "seq": seq,
        "run_id": model.run_id,
        "workflow_id": model.workflow_id,
        "status": model.status,
        "started_at": model.started_at,
        "seconds": model.seconds,
        "running": model.running,
        "now": now,
        "error": model.error,
        "read_only": read_only,
        "can_rerun": can_rerun,
        "notice": notice,
        "nodes": nodes,
        "rows": rows,
        "reused": model.reused,  # the nodes whose output an earlier run gave (SPEC §3d)
        "suspended": [{"path": s.path, "payload": preview(s.payload, 200)}
                      for s in model.suspended],
        "breakpoints": [{"path": s.path, "input": preview(
            s.payload.get("input") if isinstance(s.payload, Mapping) else None, 200)}
            for s in model.suspended if s.path in paused],
        "changes": [{"path": str(c.get("path", "")), "kind": str(c.get("kind", "")),
                     "detail": str(c.get("detail", ""))} for c in changed[:CHANGES_SHOWN]],
        "changes_total": len(changed),
        "result": fold(result, expanded="result" in set(expanded)) if has_result else None,
        "events_total": model.events_total,
        "events": None,
    }
    if events:
        state["events"] = [{"type": e.type, "path": e.path, "offset": e.offset,
                            "payload": e.payload} for e in model.events[-EVENTS_SHOWN:]]
    return state


# -- the inspector --------------------------------------------------------------------------------


def item_index(path: str) -> int | None:
    """The index of a foreach item's path (``"work[3]"`` → 3), else ``None``."""
    match = _INDEX.search(path)
    return int(match.group(1)) if match else None


def _items_of(path: str, steps: Mapping[str, StepResult]) -> list[dict[str, Any]]:
    items = []
    for key, result in steps.items():
        if key[-1] == "]" and key != path and graph_path(key) == path:
            items.append({"index": item_index(key), "path": key, "status": result.status})
    return items


def traceback_text(exc: BaseException | None, run_error: str | None, path: str,
                   step_error: str | None) -> str | None:
    """The traceback of the user's exception that failed the run, when it failed at step
    ``path`` (a live run keeps the exception; a stored run does not): ``run_error`` (the
    run's error message) names the step and carries the step's ``step_error``."""
    if exc is None or not run_error or not step_error:
        return None
    if f"'{path}'" not in run_error or step_error not in run_error:
        return None
    return user_traceback(exc, cell=cell_name)


def cell_name(filename: str) -> str | None:
    """The notebook cell whose code ``filename`` is, as IPython names it in its own
    tracebacks (``"In[3]"``), or ``None`` (a module, or no IPython)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    name_of = getattr(getattr(shell, "compile", None), "format_code_name", None)
    if name_of is None:
        return None
    found = name_of(filename)
    return found[1] if isinstance(found, tuple) and len(found) == 2 else None


def inspect_step(path: str, *, status: str | None, steps: Mapping[str, StepResult],
                 is_foreach: bool = False, exception: BaseException | None = None,
                 run_error: str | None = None) -> dict[str, Any]:
    """Everything the inspector shows of step (or item) ``path``, whole: the keys of
    :data:`INSPECTOR_KEYS`, ``None`` where one does not apply.

    ``status`` is the status the view shows for it (a node with no result is pending or
    skipped); ``steps`` the run's results; ``is_foreach`` whether it is a foreach node
    (then ``items`` lists its items, ``{"index", "path", "status"}``); ``exception`` and
    ``run_error`` the failed run's exception and message (for the user's traceback).
    ``resumed_at`` is when a resumed step's execution with its answer (``resume_data``)
    started (then ``started_at`` is the same time); ``None`` for a step never resumed.
    """
    result = steps.get(path)
    info: dict[str, Any] = dict.fromkeys(INSPECTOR_KEYS)
    info["path"] = path
    info["status"] = status or (result.status if result is not None else "pending")
    if result is not None:
        info["input"] = to_jsonable(result.payload)
        info["output"] = to_jsonable(result.output)
        info["error"] = result.error
        info["started_at"] = result.started_at
        info["ended_at"] = result.ended_at
        info["suspend_payload"] = to_jsonable(result.suspend_payload)
        info["resume_data"] = to_jsonable(result.resume_payload)
        info["cached_from"] = dict(result.cached_from) if result.cached_from else None
        # A resumed step runs again from its start with the answer: its record's start is
        # when that execution began (the suspension's own start is not kept).
        if result.resume_payload is not None:
            info["resumed_at"] = result.started_at
        # Only the last attempt is recorded (its error and end); earlier ones are counted.
        attempts = []
        for n in range(1, result.attempts + 1):
            last = n == result.attempts
            attempts.append({"attempt": n, "error": result.error if last else None,
                             "started_at": result.started_at if n == 1 else None,
                             "ended_at": result.ended_at if last else None})
        info["attempts"] = attempts
        if result.error:
            info["traceback"] = traceback_text(exception, run_error, path, result.error)
    if is_foreach:
        info["items"] = _items_of(path, steps)
    return info


def bounded_inspector(info: Mapping[str, Any], *, expanded: Iterable[str] = (),
                      item_status: str = "", item_offset: int = 0) -> dict[str, Any]:
    """What the browser gets of ``info`` (:func:`inspect_step`): values folded (whole up to
    a bound for the fields in ``expanded``), attempts and items bounded; items filtered by
    ``item_status`` (all when empty) and paged from ``item_offset``."""
    open_ = set(expanded)
    out: dict[str, Any] = {k: info[k] for k in ("path", "status", "started_at", "ended_at",
                                                  "resumed_at", "cached_from")}
    out["error"] = info["error"]
    for key in ("input", "output", "suspend_payload", "resume_data"):
        out[key] = fold(info[key], expanded=key in open_)
    tb = info["traceback"]
    out["traceback"] = None if tb is None else fold(None, text=tb,
                                                      expanded="traceback" in open_)
    attempts = info["attempts"]
    out["attempts"] = None if attempts is None else attempts[-20:]
    items = info["items"]
    if items is None:
        out["items"] = None
    else:
        counts: dict[str, int] = {}
        for item in items:
            counts[item["status"]] = counts.get(item["status"], 0) + 1
        chosen = [i for i in items if i["status"] == item_status] if item_status else items
        offset = max(0, min(item_offset, max(0, len(chosen) - 1)))
        out["items"] = {"total": len(items), "counts": counts, "status": item_status,
                        "offset": offset, "matching": len(chosen),
                        "page": chosen[offset:offset + ITEMS_PAGE]}
    return out


# -- the timeline ---------------------------------------------------------------------------------


def timeline(model: RunModel, steps: Mapping[str, StepResult], *,
             limit: int = TIMELINE_ITEMS) -> dict[str, Any]:
    """Gantt bars of the run: ``{"start", "bars": [{"path", "status", "start", "end",
    "item"}], "items_left"}``, one bar per node that started (in the order they started)
    and the first ``limit`` foreach items; ``end`` is ``None`` while it runs."""
    bars: list[dict[str, Any]] = []
    for row in model.rows:
        node = model.nodes.get(row.path)
        if node is None or node.started_at is None:
            continue
        bars.append({"path": row.path, "status": row.status, "start": node.started_at,
                     "end": node.ended_at, "item": False})
    shown = left = 0
    for key, result in steps.items():
        if key[-1] != "]" or result.started_at is None:
            continue
        if shown >= limit:
            left += 1
            continue
        shown += 1
        bars.append({"path": key, "status": result.status, "start": result.started_at,
                     "end": result.ended_at, "item": True})
    starts = [b["start"] for b in bars]
    return {"start": min(starts) if starts else None, "bars": bars, "items_left": left}


def svg_ids(description: Mapping[str, Any]) -> dict[str, str]:
    """Graph node path → the id of its group in the SVG (``render.dot.node_id``)."""
    from ..core.description import walk
    from ..render.dot import node_id

    return {n.path: node_id(n.kind, n.path) for n in walk(description) if n.shows_status}
