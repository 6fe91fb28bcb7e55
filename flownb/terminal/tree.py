"""A workflow's graph description → a ``rich`` tree: with step statuses, or as an outline.

Pure functions of their input (the JSON description kept in every snapshot, plus the run's
:class:`~flownb.render.model.RunModel`, or the parts to make one: step results as
``StepResult`` objects or their stored dicts), so a live run, ``Run.__rich__``, ``flownb
show`` and ``flownb inspect`` of a stored run all draw the same tree, and tests compare its
exact text. What a status tree shows of a run (statuses, skipped arms, times, attempts,
errors, foreach progress) is computed in the model, as for the notebook's view; this module
only draws it.

Every user-provided string (ids, descriptions, labels, payloads, errors) goes into ``Text``
objects, never into console markup, so ``[bold]`` in a description shows as written; and its
control characters are escaped first (``flownb._text``), so none reaches the terminal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.highlighter import JSONHighlighter
from rich.text import Text
from rich.tree import Tree

from .._text import escape_controls, escape_json_controls, format_duration
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
    top_entries,
)
from ..core.results import StepResult
from ..render.jsontext import json_text
from ..render.model import OPEN_ITEMS, ItemView, NodeView, RunModel, RunModeler
from ..render.status import graph_path

__all__ = [
    "GLYPHS",
    "STYLES",
    "Fitted",
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

MAX_ITEMS = OPEN_ITEMS
"""How many unfinished foreach items a status tree lists under their step (the model's)."""
BAR_WIDTH = 20
"""Characters in a foreach's progress bar."""


@dataclass
class RunFacts:
    """The parts of a run a status tree shows besides the graph (it makes their
    :class:`~flownb.render.model.RunModel`; :meth:`model` shows how).

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

    def model(self, description: Mapping[str, Any]) -> RunModel:
        """The run's model, as a view of it shows it."""
        now = self.now
        return RunModeler(description).model(
            self.steps, status=self.status, iterations=self.iterations, emitted=self.outputs,
            waiting=self.waiting, clock=lambda: now)


# -- small formatters ---------------------------------------------------------------------------


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


class Fitted:
    """A renderable built for the width it is drawn at: ``build(width)`` makes it (a table
    whose columns share what is left, a layout that changes on a narrow terminal)."""

    def __init__(self, build: Callable[[int], RenderableType]) -> None:
        self.build = build

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.build(options.max_width)


def status_text(status: str) -> Text:
    """``✓ success`` in the status's colour."""
    return Text(f"{GLYPHS.get(status, '?')} {escape_controls(str(status))}",
                style=STYLES.get(status, ""))


def json_block(value: Any) -> RenderableType:
    """``value`` as highlighted JSON (what ``rich.json.JSON.from_data`` draws), laid out as
    the notebook shows it (``flownb.render.jsontext``: a record a line), its control
    characters escaped as ``\\uNNNN``."""
    block = JSONHighlighter()(json_text(value))
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


def _first_line(text: Any, width: int = 80) -> str:
    """The first line of a description or error, its control characters escaped."""
    block = escape_controls(str(text), keep_newlines=True).strip()
    line = escape_controls(block.splitlines()[0]) if block else ""
    return line if len(line) <= width else line[: width - 1] + "…"


# -- the trees ------------------------------------------------------------------------------------


def status_tree(description: Mapping[str, Any], run: RunModel | RunFacts) -> Tree:
    """The workflow's steps as a tree, each with its status glyph, colour and duration:
    ``run`` is the run's :class:`~flownb.render.model.RunModel` (or the parts to make it).

    Nested workflows are subtrees; parallel and branch constructs group their steps (a
    branch's arms that did not run show ``skipped``); loops show their condition and
    iterations; a foreach shows a progress bar of its items and lists the unfinished ones.
    """
    return _Walker(run.model(description) if isinstance(run, RunFacts) else run).tree(
        description)


def outline_tree(description: Mapping[str, Any]) -> Tree:
    """The workflow's structure as a tree: steps, constructs, schemas, descriptions."""
    return _Walker(None).tree(description)


class _Walker(EntryVisitor[Tree, None]):
    """Draws each construct (one ``visit_*`` method per entry kind) under its parent tree
    node; with a run's model, each node as the model shows it."""

    def __init__(self, model: RunModel | None) -> None:
        self.model = model

    # -- structure -------------------------------------------------------------------------

    def tree(self, desc: Mapping[str, Any]) -> Tree:
        root = Tree(self.root_label(desc), guide_style="dim")
        # A lone step's description is drawn as a one-step workflow.
        self.sequence(root, top_entries(desc), "")
        return root

    def sequence(self, parent: Tree, entries: Sequence[EntryDescription], prefix: str) -> None:
        for entry in entries:
            self.visit(entry, prefix, parent)

    def visit_step(self, entry: StepEntryDescription, unit: Unit, parent: Tree) -> None:
        self.unit(parent, unit)

    def visit_parallel(self, entry: ParallelEntryDescription, path: str, units: list[Unit],
                       parent: Tree) -> None:
        node = parent.add(self.group_label("⇉", entry["id"], "parallel", "all at once"))
        for unit in units:
            self.unit(node, unit)

    def visit_branch(self, entry: BranchEntryDescription, path: str,
                     arms: list[tuple[BranchArmDescription, Unit]], parent: Tree) -> None:
        node = parent.add(self.group_label("◇", entry["id"], "branch", "first true condition"))
        for arm, unit in arms:
            self.unit(node, unit, note=f"when {_text(arm.get('label'))}")

    def visit_loop(self, entry: LoopEntryDescription, unit: Unit, parent: Tree) -> None:
        mode = "dountil" if entry.get("mode") == "until" else "dowhile"
        label = _text(entry.get("label"))
        note = mode if label in ("", entry.get("mode")) else f"{mode} {label}"
        self.unit(parent, unit, note=note)

    def visit_foreach(self, entry: ForeachEntryDescription, unit: Unit, parent: Tree) -> None:
        self.unit(parent, unit, note=f"foreach, {entry.get('concurrency', 1)} at a time")

    def visit_map(self, entry: MapEntryDescription, path: str, parent: Tree) -> None:
        label = _text(entry.get("label"))
        self.small(parent, path, entry["id"], "map" if label in ("", "map") else f"map {label}")

    def visit_sleep(self, entry: SleepEntryDescription, path: str, parent: Tree) -> None:
        label = _text(entry.get("label"))
        if entry.get("mode") == "sleep_until":
            what = "sleep until" if label in ("", "until") else f"sleep until {label}"
        else:
            what = "sleep" if label in ("", "sleep") else f"sleep {label}"
        self.small(parent, path, entry["id"], what)

    # -- labels ----------------------------------------------------------------------------

    def node(self, path: str) -> NodeView:
        assert self.model is not None
        node = self.model.nodes.get(path)
        return node if node is not None else NodeView(path)

    def root_label(self, desc: Mapping[str, Any]) -> Text:
        wf_id = escape_controls(str(desc["id"]))
        model = self.model
        if model is None:
            text = Text.assemble(("workflow ", "dim"), (wf_id, "bold"))
            text.append(f"  {_schemas(desc)}", style="cyan")
            if desc.get("description"):
                text.append(f"  {_first_line(desc['description'])}", style="dim italic")
            return text
        status = model.status
        text = Text.assemble((GLYPHS.get(status, "?") + " ", STYLES.get(status, "")),
                             (wf_id, "bold"), "  ", (status, STYLES.get(status, "")))
        if model.seconds is not None:
            text.append(f"  {format_duration(model.seconds)}{'…' if model.running else ''}",
                        style="dim")
        return text

    def group_label(self, glyph: str, ident: str, kind: str, what: str) -> Text:
        return Text.assemble((glyph + " ", "cyan"), escape_controls(str(ident)),
                             (f"  {kind}: {what}", "dim"))

    def lead(self, status: str, ident: str) -> Text:
        ident = escape_controls(ident)
        if self.model is None:
            return Text(ident, style="bold")
        return Text.assemble((GLYPHS.get(status, "?") + " ", STYLES.get(status, "")), ident)

    def unit(self, parent: Tree, unit: Unit, *, note: str = "") -> None:
        """A step, or a nested workflow with its entries as children."""
        path, step, nested = unit.path, unit.step, unit.nested
        shown = self.node(path) if self.model is not None else None
        label = self.lead(shown.status if shown is not None else "pending", unit.id)
        if nested:
            label.append("  workflow", style="dim")
        if note:
            label.append(f"  {note}", style="dim")
        if shown is None:
            label.append(f"  {_schemas(step)}", style="cyan")
            if "resume_schema" in step:
                label.append("  can suspend", style="yellow")
            if step.get("description"):
                label.append(f"  {_first_line(step['description'])}", style="dim italic")
        else:
            self.facts_of(label, shown, container=nested or shown.progress is not None)
            if shown.progress is not None:
                self.add_progress(label, shown)
        node = parent.add(label)
        if shown is not None:
            if shown.progress is not None:
                self.unfinished_items(node, shown)
            if shown.emitted is not None:
                node.add(Text(f"» {preview(shown.emitted, 70)}", style="dim cyan"))
        if nested:
            self.sequence(node, unit.entries, unit.prefix)

    def facts_of(self, label: Text, shown: NodeView | ItemView, *,
                 container: bool = False) -> None:
        """Append iterations, duration, attempts and what the step waits for or failed of."""
        status = shown.status
        count = shown.iterations if isinstance(shown, NodeView) else None
        if count:
            label.append(f"  {count} iteration{'s' if count != 1 else ''}", style="dim")
        if shown.seconds is not None:
            label.append(f"  {format_duration(shown.seconds)}{'…' if shown.running else ''}",
                         style="dim")
        if shown.attempts > 1:
            label.append(f"  {shown.attempts} attempts", style="yellow")
        if status == "skipped":
            label.append("  skipped", style="dim")
        elif status == "suspended" and not container:  # the step inside says it
            label.append("  waiting for resume", style=STYLES["suspended"])
        elif status in ("failed", "canceled") and shown.error:
            label.append(f"  {_first_line(shown.error)}", style=STYLES[status])
        waiting = shown.waiting if isinstance(shown, NodeView) else None
        if waiting and status == "running":
            label.append(f"  {escape_controls(waiting)}", style="dim")

    def add_progress(self, label: Text, shown: NodeView) -> None:
        """Append a bar of the foreach's finished items (once it has started)."""
        progress = shown.progress
        if progress is None or not progress.total:
            return
        filled = round(BAR_WIDTH * progress.done / progress.total)
        label.append("  ")
        label.append("━" * filled, style="green")
        label.append("─" * (BAR_WIDTH - filled), style="dim")
        label.append(f" {progress.done}/{progress.total}")

    def unfinished_items(self, node: Tree, shown: NodeView) -> None:
        progress = shown.progress
        if progress is None:
            return
        for item in progress.open:
            label = self.lead(item.status, item.path.rsplit(".", 1)[-1])
            self.facts_of(label, item)
            node.add(label)
        if progress.more:
            node.add(Text(f"… and {progress.more} more", style="dim"))

    def small(self, parent: Tree, path: str, ident: str, what: str) -> None:
        """A ``.map`` or ``.sleep``: its id, then ``what`` it does."""
        shown = self.node(path) if self.model is not None else None
        label = self.lead(shown.status if shown is not None else "pending", str(ident))
        label.append(f"  {what}", style="dim")
        if shown is not None:
            self.facts_of(label, shown)
        parent.add(label)


def _text(value: Any) -> str:
    """A label or schema name as shown: ``""`` for none, control characters escaped."""
    return "" if value is None else escape_controls(str(value))


def _schemas(desc: Mapping[str, Any]) -> str:
    given, made = _text(desc.get("input_schema")), _text(desc.get("output_schema"))
    return f"{given or 'Any'} → {made or 'Any'}"
