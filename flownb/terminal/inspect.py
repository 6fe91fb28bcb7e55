"""Stored runs, drawn from their snapshots alone (no user code is imported): the table of
``flownb runs`` and the report of ``flownb inspect``.

A stored run may hold any text (it may even come from another program's store), so every
string from it is a ``Text`` (never markup) with its control characters escaped; a table
cell is one line (newlines show as ``\\n``).

Both stay bounded however large the run: ``flownb runs`` lists the latest
:data:`RUNS_SHOWN`; ``flownb inspect`` folds a foreach of more than :data:`ITEMS_SHOWN`
items (:func:`fold_items`: the failed, suspended and running items listed, the rest counted
by status on one row) and cuts a long list result, unless asked for everything."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .._text import escape_controls
from ..core import keys
from ..render.status import timeline
from .tree import (
    GLYPHS,
    STYLES,
    Fitted,
    RunFacts,
    format_duration,
    loop_iterations,
    preview,
    status_text,
    status_tree,
)
from .view import outcome

if TYPE_CHECKING:
    from ..core.results import RunInfo
    from ..storage.base import Snapshot

__all__ = ["ITEMS_SHOWN", "RUNS_SHOWN", "Fold", "changes_notice", "fold_items",
           "format_time", "inspect_run", "more_runs", "runs_table", "steps_table",
           "suspensions_table", "timeline_table"]

RUNS_SHOWN = 20  # `flownb runs` lists the latest 20 unless told --limit N or --all
ITEMS_SHOWN = 10  # a foreach of more items than this is folded by `flownb inspect`
ITEMS_FLAGGED = 20  # at most this many failed/suspended/running items of a fold are listed
_FLAGGED = ("failed", "suspended", "running")


def format_time(timestamp: float | None) -> str:
    """Epoch seconds as local ``YYYY-MM-DD HH:MM:SS``."""
    if timestamp is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _table() -> Table:
    # No rules, two spaces between columns (as `docker ps` lists things): it reads the same
    # in a terminal, a pipe and a CI log, and leaves the most room for the columns.
    return Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold")


def _cell(value: Any) -> Text:
    """A table cell of stored text: one line, control characters escaped, no markup."""
    return Text(escape_controls(str(value)))


def more_runs(shown: int, total: int) -> Text:
    """The line under a cut run list: how many more there are, and how to see them."""
    return Text(f"… {total - shown:,} more: the latest {shown:,} of {total:,} runs are listed "
                "(--limit N or --all lists more)", style="dim")




def _fork_text(parent: str, at: str | None) -> Text:
    return Text(escape_controls(f"⑂ fork of {parent}" + (f" at {at}" if at else "")),
                style="dim")


def runs_table(runs: Sequence[RunInfo],
               forks: Mapping[str, str | None] | None = None) -> RenderableType:
    """Stored runs, one row each: id, workflow, status (with the suspended steps), created.
    A fork's id has a second line, "⑂ fork of PARENT at STEP" (``forks``: run id → the
    step it was forked at, :func:`flownb.core.fork.fork_points`).

    Laid out for the width it is printed at: on a narrow terminal the run id, status and
    time keep their width (an id is copied into ``flownb resume``); the workflow name takes
    what is left, cut with an ellipsis (one line per run), and the waiting steps fold.
    """
    rows = []
    for info in runs:
        status = status_text(info.status)
        if info.suspended:
            status.append(": " + escape_controls(", ".join(".".join(p) for p in info.suspended)))
        run_id: Text = _cell(info.run_id)
        if info.parent_run_id is not None:
            run_id = Text("\n").join([run_id, _fork_text(info.parent_run_id,
                                                        (forks or {}).get(info.run_id))])
        rows.append((run_id, _cell(info.workflow_id), status,
                     format_time(info.created_at)))
    id_width = max((len(r[0].plain.split("\n")[0]) for r in rows), default=6)
    status_width = max((len(r[2].plain.split(":")[0]) for r in rows), default=6)
    created_width = max((len(str(r[3])) for r in rows), default=7)
    workflow_width = max((cell_len(r[1].plain) for r in rows), default=8)

    def build(width: int) -> Table:
        room = width - id_width - status_width - created_width - 3 * 2
        table = _table()
        table.add_column("run id", no_wrap=True, min_width=id_width)
        table.add_column("workflow", no_wrap=True, overflow="ellipsis",
                         width=max(len("workflow"), min(workflow_width, room)))
        table.add_column("status", overflow="fold", min_width=status_width)
        table.add_column("created", no_wrap=True, min_width=created_width)
        for row in rows:
            table.add_row(*row)
        return table

    return Fitted(build)


@dataclass
class Fold:
    """A foreach whose items are not all listed: ``path`` (its display path, ``"work"``),
    ``counts`` (status → items, of all its items), ``hidden`` (the same, of the items not
    listed) and ``hidden_paths`` (their step paths, sub-steps of an item included)."""

    path: str
    counts: dict[str, int]
    hidden: dict[str, int]
    hidden_paths: set[str] = field(default_factory=set)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def label(self) -> str:
        """The row standing for the items not listed: ``work[…]``."""
        return f"{self.path}[…]"


def _status_of(data: Any) -> str:
    return str((data or {}).get("status") or "pending")


def fold_items(steps: Mapping[str, Any], *,
               limit: int = ITEMS_SHOWN) -> tuple[dict[str, Any], list[Fold]]:
    """The step results to list, and the folds of the foreaches of more than ``limit``
    items: of those, the failed, suspended and running items (at most
    :data:`ITEMS_FLAGGED`, each with its sub-steps) are listed, the others counted.

    Items are grouped by their first ``[i]`` marker (``work[3]``, ``work[3].inner``,
    ``outer.work[3]``), so an item of a nested foreach folds with the outer item it is in.
    """
    items = keys.items_by_foreach(steps)
    folds: list[Fold] = []
    hidden: set[str] = set()
    for foreach, by_index in items.items():
        if len(by_index) <= limit:
            continue
        statuses = {i: _status_of(steps.get(f"{foreach}[{i}]")) for i in by_index}
        flagged = [i for i in sorted(by_index) if statuses[i] in _FLAGGED][:ITEMS_FLAGGED]
        folded = set(by_index) - set(flagged)
        fold = Fold(foreach, dict(Counter(statuses.values())),
                    dict(Counter(statuses[i] for i in sorted(folded))),
                    {path for i in folded for path in by_index[i]})
        folds.append(fold)
        hidden |= fold.hidden_paths
    return {path: data for path, data in steps.items() if path not in hidden}, folds


def _counts_text(counts: Mapping[str, int]) -> Text:
    text = Text()
    for n, (status, count) in enumerate(counts.items()):
        if n:
            text.append("\n")
        text.append(f"{GLYPHS.get(status, '?')} {count:,} {escape_controls(status)}",
                    style=STYLES.get(status, ""))
    return text


def steps_table(steps: Mapping[str, Any], width: int = 100,
                folds: Sequence[Fold] = ()) -> Table:
    """One row per step result: status, duration, attempts, input, output, and the error
    when a step has one (no column of blanks otherwise); the previews share what ``width``
    leaves. Each of ``folds`` is one row (``work[…]``) after its foreach's, counting the
    items not listed by status."""
    longest = max([len(path) for path in steps] + [len(fold.label) for fold in folds],
                  default=4)
    status_width = max([len("‖ suspended")] + [line.cell_len for fold in folds
                                               for line in _counts_text(fold.hidden).split()])
    fixed = min(longest, 40) + status_width + len("duration") + len("tries") + 6 * 2
    room = max(width - fixed, 30)
    errors = any(data.get("error") for data in steps.values())  # else no error column
    cut = max(room // (3 if errors else 2) - 2, 10)
    table = _table()
    table.add_column("step", no_wrap=True, max_width=40)
    table.add_column("status", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("tries", justify="right", no_wrap=True)
    table.add_column("input", no_wrap=True, overflow="ellipsis")
    table.add_column("output", no_wrap=True, overflow="ellipsis")
    if errors:
        table.add_column("error", overflow="fold")
    pending = {fold.path: fold for fold in folds}
    for path, data in steps.items():
        started, ended = data.get("started_at"), data.get("ended_at")
        duration = ended - started if started is not None and ended is not None else None
        status = str(data.get("status") or "pending")
        output = data.get("output")
        if status == "suspended":
            output = data.get("suspend_payload")
        table.add_row(
            _cell(path), status_text(status), format_duration(duration),
            _cell(data.get("attempts") or ""),
            Text(preview(data.get("payload"), cut)),
            Text("" if output is None and status != "success" else preview(output, cut)),
            *((_cell(data.get("error") or ""),) if errors else ()))
        if path in pending:
            _fold_row(table, pending.pop(path))
    for fold in pending.values():  # a foreach whose own record is missing: its fold last
        _fold_row(table, fold)
    return table


def _fold_row(table: Table, fold: Fold) -> None:
    table.add_row(_cell(fold.label), _counts_text(fold.hidden), "", "",
                  Text(f"{sum(fold.hidden.values()):,} folded", style="dim"), "",
                  *("",) * (len(table.columns) - 6))


def timeline_table(steps: Mapping[str, Any], start: float, width: int = 100,
                   folds: Sequence[Fold] = ()) -> Table:
    """The step events the results imply, with times relative to the run's start; an answer
    to a suspended step is a ``step-resumed`` event when the step started again. The events
    of the items in ``folds`` are one row each, where the first of them would be."""
    events = _with_answers(timeline(steps), steps)
    hidden = {path: fold for fold in folds for path in fold.hidden_paths}
    longest = max((len(str(e["path"])) for e in events if e["path"] not in hidden),
                  default=4)
    longest = max([longest, *(len(fold.label) for fold in folds)])
    cut = max(width - len("+0000.000 s") - len("step-suspended") - longest - 3 * 2, 20)
    table = _table()
    table.add_column("at", justify="right", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("step", no_wrap=True)
    table.add_column("payload", no_wrap=True, overflow="ellipsis")
    folded = Counter(hidden[e["path"]].path for e in events if e["path"] in hidden)
    for event in events:
        at = event["timestamp"]
        offset = f"+{at - start:.3f} s" if at is not None else ""
        fold = hidden.get(event["path"])
        if fold is None:
            table.add_row(offset, _cell(event["type"]), _cell(event["path"]),
                          Text(preview(event["payload"], cut)))
        elif fold.path in folded:  # the first event of the fold's items stands for all
            table.add_row(offset, "…", _cell(fold.label),
                          Text(f"{folded.pop(fold.path):,} events of "
                               f"{sum(fold.hidden.values()):,} folded items", style="dim"))
    return table


def _with_answers(events: list[dict[str, Any]],
                  steps: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for event in events:
        data = steps.get(event["path"]) or {}
        if event["type"] == "step-start" and data.get("resume_payload") is not None:
            out.append({"type": "step-resumed", "path": event["path"],
                        "timestamp": event["timestamp"],
                        "payload": {"resume_data": data["resume_payload"]}})
        out.append(event)
    return out


def suspensions_table(steps: Mapping[str, Any], width: int = 100) -> Table | None:
    """Each step that suspended: what it asked (its suspend payload), the answer (the
    resume data) and when it was answered (the resumed execution's start), or since when it
    waits. ``None`` when no step suspended.

    A stored record keeps one execution: once answered, its times are the resumed one's, so
    when the question was asked is not known any more (the answer's time is).
    """
    asked = {path: data for path, data in steps.items()
             if (data or {}).get("suspend_payload") is not None}
    if not asked:
        return None
    longest = min(max(len(path) for path in asked), 40)
    cut = max(width - longest - len("answered  ") - 2 * 2, 20)
    table = _table()
    table.show_header = False
    table.add_column("step", no_wrap=True, max_width=40)
    table.add_column("", no_wrap=True, style="dim")
    table.add_column("", no_wrap=True, overflow="ellipsis")
    for path, data in asked.items():
        table.add_row(_cell(path), "asked", Text(preview(data["suspend_payload"], cut)))
        answer = data.get("resume_payload")
        if _status_of(data) == "suspended" or answer is None:
            since = format_time(data.get("ended_at") or data.get("started_at"))
            table.add_row("", "answer", Text(f"none yet: waiting since {since}",
                                             style=STYLES["suspended"]))
        else:
            table.add_row("", "answer", Text(preview(answer, cut)))
            table.add_row("", "answered", format_time(data.get("started_at")))
    return table


def changes_notice(changes: Sequence[Mapping[str, Any]]) -> RenderableType | None:
    """What changed in the workflow since a stored run (``run.changes()``, SPEC §4b): a
    heading and one line per change, escaped; ``None`` when nothing did."""
    if not changes:
        return None
    lines = [Text("⚠ the workflow changed since this run was stored:", style="bold yellow")]
    for change in changes:
        line = Text("  ")
        line.append(escape_controls(str(change.get("path", ""))), style="bold")
        line.append(" " + escape_controls(str(change.get("kind", ""))), style="yellow")
        line.append(": " + escape_controls(str(change.get("detail", ""))))
        lines.append(line)
    return Group(*lines)


def inspect_run(snapshot: Snapshot, *, show_all: bool = False,
                changes: Sequence[Mapping[str, Any]] = ()) -> RenderableType:
    """Everything a stored run holds: header, step tree, step table, timeline, the
    suspensions and their answers, outcome. A foreach of many items is folded and a long
    list result cut (:func:`fold_items`), unless ``show_all``. ``changes``
    (``run.changes()``, computed by the caller: this module imports no user code) shows
    as a notice under the header; a fork says what it was forked from."""
    meta = snapshot.meta
    header = Table.grid(padding=(0, 2))
    header.add_column(style="dim")
    header.add_column()
    header.add_row("run", _cell(snapshot.run_id))
    header.add_row("workflow", _cell(snapshot.workflow_id))
    header.add_row("status", status_text(snapshot.status))
    header.add_row("created", format_time(snapshot.created_at))
    header.add_row("updated", format_time(snapshot.updated_at))
    if meta.get("origin"):
        header.add_row("origin", _cell(meta["origin"]))
    header.add_row("input", Text(preview(snapshot.input, 80)))
    parent, at = meta.get("parent_run_id"), meta.get("forked_at")
    if isinstance(parent, str):
        header.add_row("forked", _fork_text(parent, at if isinstance(at, str) else None))
    parts: list[RenderableType] = [header, Text()]
    notice = changes_notice(changes)
    if notice is not None:
        parts += [notice, Text()]
    facts = RunFacts(steps=snapshot.steps, status=snapshot.status,
                     iterations=loop_iterations(snapshot.journal))
    if snapshot.graph:
        parts += [status_tree(snapshot.graph, facts), Text()]
    listed, folds = (dict(snapshot.steps), []) if show_all else fold_items(snapshot.steps)
    if snapshot.steps:
        steps, created = snapshot.steps, snapshot.created_at
        parts += [Text("steps", style="bold"),
                  Fitted(lambda w: steps_table(listed, w, folds))]
        parts += [_fold_note(fold) for fold in folds]
        parts += [Text(), Text("timeline", style="bold"),
                  Fitted(lambda w: timeline_table(steps, created, w, folds)), Text()]
        if suspensions_table(listed) is not None:
            parts += [Text("suspensions", style="bold"),
                      Fitted(lambda w: suspensions_table(listed, w) or Text()), Text()]
    if snapshot.status in ("success", "failed", "suspended", "canceled"):
        suspended = [list(p) for p in meta.get("suspended_paths") or []]
        parts.append(outcome(snapshot.status, result=meta.get("result"),
                             error=meta.get("error"), steps=snapshot.steps,
                             suspended=suspended,
                             whole=None if show_all else "--all shows the whole result"))
    return Group(*parts)


def _fold_note(fold: Fold) -> Text:
    folded = sum(fold.hidden.values())
    return Text(escape_controls(f"{fold.label}: {folded:,} of {fold.total:,} recorded items "
                                "folded; --all lists every item"), style="dim")
