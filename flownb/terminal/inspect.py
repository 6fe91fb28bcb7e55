"""Stored runs, drawn from their snapshots alone (no user code is imported): the table of
``flownb runs`` and the report of ``flownb inspect``.

A stored run may hold any text (it may even come from another program's store), so every
string from it is a ``Text`` (never markup) with its control characters escaped; a table
cell is one line (newlines show as ``\\n``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from .._text import escape_controls
from ..render.status import timeline
from .tree import RunFacts, format_duration, loop_iterations, preview, status_text, status_tree
from .view import outcome

if TYPE_CHECKING:
    from ..core.results import RunInfo
    from ..storage.base import Snapshot

__all__ = ["format_time", "inspect_run", "runs_table", "steps_table", "timeline_table"]


def format_time(timestamp: float | None) -> str:
    """Epoch seconds as local ``YYYY-MM-DD HH:MM:SS``."""
    if timestamp is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _table() -> Table:
    # No rules, two spaces between columns (as `docker ps` lists things): it reads the same
    # in a terminal, a pipe and a CI log, and leaves the most room for the columns.
    return Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold")


class _Fitted:
    """A renderable built for the width it is drawn at (payload previews use what is left)."""

    def __init__(self, build: Callable[[int], RenderableType]) -> None:
        self.build = build

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.build(options.max_width)


def _cell(value: Any) -> Text:
    """A table cell of stored text: one line, control characters escaped, no markup."""
    return Text(escape_controls(str(value)))


def runs_table(runs: Sequence[RunInfo]) -> Table:
    """Stored runs, one row each: id, workflow, status (with the suspended steps), created.

    On a narrow terminal the run id, status and time keep their width (an id is copied into
    ``flownb resume``); the workflow name is cut with an ellipsis and the waiting steps fold.
    """
    rows = []
    for info in runs:
        status = status_text(info.status)
        if info.suspended:
            status.append(": " + escape_controls(", ".join(".".join(p) for p in info.suspended)))
        rows.append((_cell(info.run_id), _cell(info.workflow_id), status,
                     format_time(info.created_at)))
    table = _table()
    table.add_column("run id", no_wrap=True,
                     min_width=max((len(r[0]) for r in rows), default=6))
    table.add_column("workflow", overflow="fold")
    table.add_column("status", overflow="fold",
                     min_width=max((len(r[2].plain.split(":")[0]) for r in rows), default=6))
    table.add_column("created", no_wrap=True,
                     min_width=max((len(str(r[3])) for r in rows), default=7))
    for row in rows:
        table.add_row(*row)
    return table


def steps_table(steps: dict[str, dict[str, Any]], width: int = 100) -> Table:
    """One row per step result: status, duration, attempts, input, output, error; the
    previews share what ``width`` leaves."""
    longest = max((len(path) for path in steps), default=4)
    fixed = min(longest, 40) + len("‖ suspended") + len("duration") + len("tries") + 6 * 2
    room = max(width - fixed, 30)
    shares = 3 if any(data.get("error") for data in steps.values()) else 2
    cut = max(room // shares - 2, 10)
    table = _table()
    table.add_column("step", no_wrap=True, max_width=40)
    table.add_column("status", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("tries", justify="right", no_wrap=True)
    table.add_column("input", no_wrap=True, overflow="ellipsis")
    table.add_column("output", no_wrap=True, overflow="ellipsis")
    table.add_column("error", overflow="fold")
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
            _cell(data.get("error") or ""))
    return table


def timeline_table(steps: dict[str, dict[str, Any]], start: float, width: int = 100) -> Table:
    """The step events the results imply, with times relative to the run's start."""
    events = timeline(steps)
    longest = max((len(str(e["path"])) for e in events), default=4)
    cut = max(width - len("+0000.000 s") - len("step-suspended") - longest - 3 * 2, 20)
    table = _table()
    table.add_column("at", justify="right", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("step", no_wrap=True)
    table.add_column("payload", no_wrap=True, overflow="ellipsis")
    for event in events:
        at = event["timestamp"]
        offset = f"+{at - start:.3f} s" if at is not None else ""
        table.add_row(offset, _cell(event["type"]), _cell(event["path"]),
                      Text(preview(event["payload"], cut)))
    return table


def inspect_run(snapshot: Snapshot) -> RenderableType:
    """Everything a stored run holds: header, step tree, step table, timeline, outcome."""
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
    parts: list[RenderableType] = [header, Text()]
    facts = RunFacts(steps=snapshot.steps, status=snapshot.status,
                     iterations=loop_iterations(snapshot.journal))
    if snapshot.graph:
        parts += [status_tree(snapshot.graph, facts), Text()]
    if snapshot.steps:
        steps, created = snapshot.steps, snapshot.created_at
        parts += [Text("steps", style="bold"), _Fitted(lambda w: steps_table(steps, w)), Text(),
                  Text("timeline", style="bold"),
                  _Fitted(lambda w: timeline_table(steps, created, w)), Text()]
    if snapshot.status in ("success", "failed", "suspended", "canceled"):
        suspended = [list(p) for p in meta.get("suspended_paths") or []]
        parts.append(outcome(snapshot.status, result=meta.get("result"),
                             error=meta.get("error"), steps=snapshot.steps,
                             suspended=suspended))
    return Group(*parts)
