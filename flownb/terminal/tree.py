"""A workflow's graph description → a ``rich`` tree: with step statuses, or as an outline.

Pure functions of their input (the JSON description kept in every snapshot, plus step
results as ``StepResult`` objects or their stored dicts), so a live run, ``Run.__rich__``,
``flownb show`` and ``flownb inspect`` of a stored run all draw the same tree, and tests
compare its exact text.

Every user-provided string (ids, descriptions, labels, payloads, errors) goes into ``Text``
objects, never into console markup, so ``[bold]`` in a description shows as written; and its
control characters are escaped first (``flownb._text``), so none reaches the terminal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import RenderableType
from rich.highlighter import JSONHighlighter
from rich.text import Text
from rich.tree import Tree

from .._text import escape_controls, escape_json_controls
from ..core import keys
from ..core.description import (
    BranchArmDescription,
    BranchEntryDescription,
    EntryDescription,
    EntryVisitor,
    ForeachEntryDescription,
    LoopEntryDescription,
    MapEntryDescription,
    ParallelEntryDescription,
    SleepEntryDescription,
    StepEntryDescription,
    Unit,
    entry_nodes,
    top_entries,
)
from ..core.results import StepResult
from ..render.status import graph_path, node_statuses

__all__ = [
    "GLYPHS",
    "STYLES",
    "RunFacts",
    "format_duration",
    "json_block",
    "loop_iterations",
    "outline_tree",
    "preview",
    "status_text",
    "status_tree",
]

GLYPHS: dict[str, str] = {
    "pending": "○",
    "running": "●",
    "success": "✓",
    "failed": "✗",
    "suspended": "‖",
    "canceled": "⊘",
    "skipped": "–",
}
"""The glyph each status shows in front of a step."""

STYLES: dict[str, str] = {
    "pending": "dim",
    "running": "bold blue",
    "success": "green",
    "failed": "bold red",
    "suspended": "bold yellow",
    "canceled": "magenta",
    "skipped": "dim",
}
"""The ``rich`` style of each status."""

_ACTIVE = ("running", "suspended", "failed", "canceled")
_ITEM = re.compile(r"\[\d+\]$")
MAX_ITEMS = 5
"""How many unfinished foreach items a status tree lists under their step."""
BAR_WIDTH = 20
"""Characters in a foreach's progress bar."""


@dataclass
class RunFacts:
    """What a status tree shows besides the graph.

    ``steps``: step path → ``StepResult`` or its dict; ``status``: the run's status;
    ``iterations``: loop step node → iterations so far; ``outputs``: node → the latest
    custom ``step-output`` payload; ``waiting``: sleep node → what it waits for; ``now``:
    the clock for the elapsed time of running steps.
    """

    steps: Mapping[str, Any]
    status: str | None = None
    iterations: Mapping[str, int] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    waiting: Mapping[str, str] = field(default_factory=dict)
    now: float | None = None


# -- small formatters ---------------------------------------------------------------------------


def format_duration(seconds: float | None) -> str:
    """``"12 ms"``, ``"1.50 s"``, ``"2m 03s"``; empty for an unknown duration.

    >>> format_duration(0.0123), format_duration(1.5), format_duration(123)
    ('12 ms', '1.50 s', '2m 03s')
    """
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def preview(value: Any, width: int = 60) -> str:
    """A value as compact one-line JSON, cut to ``width`` characters with ``…``; control
    characters are ``\\uNNNN`` escapes (as JSON writes them), whitespace runs one space.

    >>> preview({"a": [1, 2]}), preview("x" * 10, width=5)
    ('{"a": [1, 2]}', '"xxx…')
    """
    from ..core.schema import to_jsonable

    try:
        text = json.dumps(to_jsonable(value), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    text = " ".join(escape_json_controls(text).split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def status_text(status: str) -> Text:
    """``✓ success`` in the status's colour."""
    return Text(f"{GLYPHS.get(status, '?')} {escape_controls(str(status))}",
                style=STYLES.get(status, ""))


def json_block(value: Any) -> RenderableType:
    """``value`` as indented, highlighted JSON (what ``rich.json.JSON.from_data`` draws),
    with its control characters escaped as ``\\uNNNN``: ``json.dumps`` escapes C0 ones
    itself, but not DEL, C1 or the bidi characters."""
    from ..core.schema import to_jsonable

    text = json.dumps(to_jsonable(value), indent=2, ensure_ascii=False, default=str)
    block = JSONHighlighter()(escape_json_controls(text))
    block.no_wrap = True
    block.overflow = None
    return block


def loop_iterations(journal: Mapping[str, Any]) -> dict[str, int]:
    """Loop step node → iterations decided so far, from a run's journal (the key grammar
    is ``flownb.core.keys``); a loop inside a foreach item or another loop counts its
    furthest instance."""
    return {graph_path(node): n for node, n in keys.loop_iterations(journal).items()}


def read_field(result: Any, name: str) -> Any:
    """A field of a step result: a ``StepResult`` (a live run) or its dict (a stored one)."""
    if result is None:
        return None
    if type(result) is dict:  # the common cases first: an ABC check costs ten times more
        return result.get(name)
    if type(result) is StepResult:
        return getattr(result, name)
    if isinstance(result, Mapping):
        return result.get(name)
    return getattr(result, name, None)


def _duration(result: Any, now: float | None) -> tuple[float | None, bool]:
    """(seconds, still running) of a step result."""
    started, ended = read_field(result, "started_at"), read_field(result, "ended_at")
    if started is None:
        return None, False
    if ended is not None:
        return ended - started, False
    if now is not None and read_field(result, "status") == "running":
        return now - started, True
    return None, False


def _first_line(text: Any, width: int = 80) -> str:
    """The first line of a description or error, its control characters escaped."""
    block = escape_controls(str(text), keep_newlines=True).strip()
    line = escape_controls(block.splitlines()[0]) if block else ""
    return line if len(line) <= width else line[: width - 1] + "…"


# -- the trees ------------------------------------------------------------------------------------


def status_tree(description: Mapping[str, Any], facts: RunFacts) -> Tree:
    """The workflow's steps as a tree, each with its status glyph, colour and duration.

    Nested workflows are subtrees; parallel and branch constructs group their steps (a
    branch's arms that did not run show ``skipped``); loops show their condition and
    iterations; a foreach shows a progress bar of its items and lists the unfinished ones.
    """
    return _Walker(facts).tree(description)


def outline_tree(description: Mapping[str, Any]) -> Tree:
    """The workflow's structure as a tree: steps, constructs, schemas, descriptions."""
    return _Walker(None).tree(description)


@dataclass(frozen=True, slots=True)
class _At:
    """Where an entry is drawn: the tree node it goes under, and whether the run is past it."""

    parent: Tree
    passed: bool


class _Walker(EntryVisitor[_At, None]):
    """Draws each construct (one ``visit_*`` method per entry kind) under its parent."""

    def __init__(self, facts: RunFacts | None) -> None:
        self.facts = facts
        steps = facts.steps if facts is not None else {}
        self.statuses = node_statuses(steps)
        # One pass: each node's foreach items, and its other results (a foreach's own).
        self.items: dict[str, list[tuple[str, Any]]] = {}
        self.own: dict[str, list[Any]] = {}
        for path, result in steps.items():
            node = graph_path(path)
            if path.endswith("]") and _ITEM.search(path):
                self.items.setdefault(node, []).append((path, result))
            else:
                self.own.setdefault(node, []).append(result)

    # -- structure -------------------------------------------------------------------------

    def tree(self, desc: Mapping[str, Any]) -> Tree:
        root = Tree(self.root_label(desc), guide_style="dim")
        status = self.facts.status if self.facts is not None else None
        # Only a run that got to its end has passed every construct (a failed one stopped).
        # A lone step's description is drawn as a one-step workflow.
        self.sequence(root, top_entries(desc), "", settled=status == "success")
        return root

    def sequence(self, parent: Tree, entries: Sequence[EntryDescription], prefix: str,
                 *, settled: bool) -> None:
        # A later construct that started means this one is behind the run.
        passed = [settled] * len(entries)
        later = settled
        for index in range(len(entries) - 1, -1, -1):
            passed[index] = later
            later = later or self.started(entries[index], prefix)
        for entry, behind in zip(entries, passed, strict=True):
            self.visit(entry, prefix, _At(parent, behind))

    def started(self, entry: EntryDescription, prefix: str) -> bool:
        return any(self.status(n.path) != "pending"
                   for n in entry_nodes(entry, prefix) if n.shows_status)

    def visit_step(self, entry: StepEntryDescription, unit: Unit, at: _At) -> None:
        self.unit(at.parent, unit)

    def visit_parallel(self, entry: ParallelEntryDescription, path: str, units: list[Unit],
                       at: _At) -> None:
        node = at.parent.add(self.group_label("⇉", entry["id"], "parallel", "all at once"))
        for unit in units:
            self.unit(node, unit)

    def visit_branch(self, entry: BranchEntryDescription, path: str,
                     arms: list[tuple[BranchArmDescription, Unit]], at: _At) -> None:
        node = at.parent.add(self.group_label("◇", entry["id"], "branch",
                                              "first true condition"))
        chosen = any(self.status(unit.path) != "pending" for _, unit in arms)
        for arm, unit in arms:
            self.unit(node, unit, note=f"when {_text(arm.get('label'))}",
                      skipped=chosen or at.passed)

    def visit_loop(self, entry: LoopEntryDescription, unit: Unit, at: _At) -> None:
        mode = "dountil" if entry.get("mode") == "until" else "dowhile"
        label = _text(entry.get("label"))
        note = mode if label in ("", entry.get("mode")) else f"{mode} {label}"
        self.unit(at.parent, unit, note=note, loop=True)

    def visit_foreach(self, entry: ForeachEntryDescription, unit: Unit, at: _At) -> None:
        self.unit(at.parent, unit, note=f"foreach, {entry.get('concurrency', 1)} at a time",
                  foreach=True)

    def visit_map(self, entry: MapEntryDescription, path: str, at: _At) -> None:
        label = _text(entry.get("label"))
        self.small(at.parent, path, entry["id"],
                   "map" if label in ("", "map") else f"map {label}")

    def visit_sleep(self, entry: SleepEntryDescription, path: str, at: _At) -> None:
        label = _text(entry.get("label"))
        if entry.get("mode") == "sleep_until":
            what = "sleep until" if label in ("", "until") else f"sleep until {label}"
        else:
            what = "sleep" if label in ("", "sleep") else f"sleep {label}"
        self.small(at.parent, path, entry["id"], what)

    # -- labels ----------------------------------------------------------------------------

    def status(self, path: str) -> str:
        return self.statuses.get(path, "pending")

    def root_label(self, desc: Mapping[str, Any]) -> Text:
        wf_id = escape_controls(str(desc["id"]))
        if self.facts is None:
            text = Text.assemble(("workflow ", "dim"), (wf_id, "bold"))
            text.append(f"  {_schemas(desc)}", style="cyan")
            if desc.get("description"):
                text.append(f"  {_first_line(desc['description'])}", style="dim italic")
            return text
        status = self.facts.status or "pending"
        text = Text.assemble((GLYPHS.get(status, "?") + " ", STYLES.get(status, "")),
                             (wf_id, "bold"), "  ", (status, STYLES.get(status, "")))
        seconds, running = self.span()
        if seconds is not None:
            text.append(f"  {format_duration(seconds)}{'…' if running else ''}", style="dim")
        return text

    def span(self) -> tuple[float | None, bool]:
        """(seconds from the first step's start to the last end, still running)."""
        assert self.facts is not None
        steps = self.facts.steps.values()
        starts = [s for r in steps if (s := read_field(r, "started_at")) is not None]
        if not starts:
            return None, False
        running = self.facts.status == "running"
        ends = [e for r in steps if (e := read_field(r, "ended_at")) is not None]
        end = self.facts.now if running and self.facts.now is not None else max(ends or starts)
        return end - min(starts), running

    def group_label(self, glyph: str, ident: str, kind: str, what: str) -> Text:
        return Text.assemble((glyph + " ", "cyan"), escape_controls(str(ident)),
                             (f"  {kind}: {what}", "dim"))

    def lead(self, status: str, ident: str) -> Text:
        ident = escape_controls(ident)
        if self.facts is None:
            return Text(ident, style="bold")
        return Text.assemble((GLYPHS.get(status, "?") + " ", STYLES.get(status, "")), ident)

    def unit(self, parent: Tree, unit: Unit, *, note: str = "", skipped: bool = False,
             loop: bool = False, foreach: bool = False) -> None:
        """A step, or a nested workflow with its entries as children."""
        path, step, nested = unit.path, unit.step, unit.nested
        status = self.status(path)
        if skipped and status == "pending":
            status = "skipped"
        label = self.lead(status, unit.id)
        if nested:
            label.append("  workflow", style="dim")
        if note:
            label.append(f"  {note}", style="dim")
        if self.facts is None:
            label.append(f"  {_schemas(step)}", style="cyan")
            if "resume_schema" in step:
                label.append("  can suspend", style="yellow")
            if step.get("description"):
                label.append(f"  {_first_line(step['description'])}", style="dim italic")
        else:
            self.facts_of(label, path, status, loop=loop, container=nested or foreach)
        if foreach and self.facts is not None:
            self.add_progress(label, path)
        node = parent.add(label)
        if self.facts is not None:
            if foreach:
                self.unfinished_items(node, path)
            if path in self.facts.outputs:
                node.add(Text(f"» {preview(self.facts.outputs[path], 70)}", style="dim cyan"))
        if nested:
            self.sequence(node, unit.entries, unit.prefix, settled=status == "success")

    def facts_of(self, label: Text, path: str, status: str, *, loop: bool = False,
                 container: bool = False) -> None:
        """Append iterations, duration, attempts and what the step waits for or failed of."""
        assert self.facts is not None
        result = self.facts.steps.get(path)
        if loop:
            done = self.facts.iterations.get(path, 0)
            count = done + (1 if status in _ACTIVE else 0)
            if count:
                label.append(f"  {count} iteration{'s' if count != 1 else ''}", style="dim")
        seconds, running = _duration(result, self.facts.now)
        if seconds is not None:
            label.append(f"  {format_duration(seconds)}{'…' if running else ''}", style="dim")
        attempts = read_field(result, "attempts") or 0
        if attempts > 1:
            label.append(f"  {attempts} attempts", style="yellow")
        if status == "skipped":
            label.append("  skipped", style="dim")
        elif status == "suspended" and not container:  # the step inside says it
            label.append("  waiting for resume", style=STYLES["suspended"])
        elif status in ("failed", "canceled") and read_field(result, "error"):
            label.append(f"  {_first_line(read_field(result, 'error'))}", style=STYLES[status])
        if path in self.facts.waiting and status == "running":
            label.append(f"  {escape_controls(self.facts.waiting[path])}", style="dim")

    def add_progress(self, label: Text, path: str) -> None:
        """Append a bar of the foreach's finished items (once it has started)."""
        assert self.facts is not None
        total = 0
        for result in self.own.get(path, ()):  # one per run of the foreach
            payload = read_field(result, "payload")
            if isinstance(payload, list):
                total += len(payload)
        if not total:
            return
        done = sum(1 for _, r in self.items.get(path, []) if read_field(r, "status") == "success")
        filled = round(BAR_WIDTH * done / total)
        label.append("  ")
        label.append("━" * filled, style="green")
        label.append("─" * (BAR_WIDTH - filled), style="dim")
        label.append(f" {done}/{total}")

    def unfinished_items(self, node: Tree, path: str) -> None:
        assert self.facts is not None
        open_items = [(p, r) for p, r in self.items.get(path, [])
                      if read_field(r, "status") != "success"]
        for item, result in open_items[:MAX_ITEMS]:
            status = str(read_field(result, "status") or "pending")
            label = self.lead(status, item.rsplit(".", 1)[-1])
            self.facts_of(label, item, status)
            node.add(label)
        if len(open_items) > MAX_ITEMS:
            node.add(Text(f"… and {len(open_items) - MAX_ITEMS} more", style="dim"))

    def small(self, parent: Tree, path: str, ident: str, what: str) -> None:
        """A ``.map`` or ``.sleep``: its id, then ``what`` it does."""
        status = self.status(path)
        label = self.lead(status, str(ident))
        label.append(f"  {what}", style="dim")
        if self.facts is not None:
            self.facts_of(label, path, status)
        parent.add(label)


def _text(value: Any) -> str:
    """A label or schema name as shown: ``""`` for none, control characters escaped."""
    return "" if value is None else escape_controls(str(value))


def _schemas(desc: Mapping[str, Any]) -> str:
    given, made = _text(desc.get("input_schema")), _text(desc.get("output_schema"))
    return f"{given or 'Any'} → {made or 'Any'}"
