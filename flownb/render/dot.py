"""A workflow's JSON graph description (and step statuses) → DOT text.

A pure function of its input, standard library only: a stored run is drawn from the
description kept in its snapshot, without importing the user's code. The output is
deterministic, so it is tested on the exact text.

Visual language: ``start`` and ``end`` markers; a step is a rounded box (label: its id,
tooltip: its description); parallel is a fork bar, the branches, a join bar; branch is a
decision diamond whose edges carry the condition labels, then a merge diamond; a loop is a
dashed back edge labelled ``until``/``while`` and the condition; foreach adds
``× each, N at a time`` to the step's label; map is a small ellipse and sleep a small tag; a
nested workflow is a cluster titled with its id.

The graph reads top to bottom (``direction="TB"``, the default) or left to right
(``direction="LR"``, for long chains); left to right, the fork and join bars stand upright.

Every node that can have a status has a stable id derived from its step path
(:func:`node_id`), which Graphviz copies to the SVG group, and the classes
``flownb-<kind> status-<status>``; see :mod:`flownb.render.svg`.

A node may also carry a *mark* (what a plan says of it, ``plan-reuse``, ``plan-run``,
``plan-depends``: one more class and its own colours, :data:`~flownb.render.style.PLAN_FILL`)
and a *note*: a second, smaller line of its label (a Graphviz HTML-like label, its text
escaped by :func:`html_text`), also added to its tooltip. :mod:`flownb.render.plan` draws
plans with them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from .._text import escape_controls
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
from . import style

__all__ = ["DIRECTIONS", "check_direction", "dot_string", "html_text", "node_id", "workflow_dot"]

DIRECTIONS = ("TB", "LR")
"""The directions a graph can read in: top to bottom, left to right."""

# What a node of each kind looks like, apart from label, tooltip and colours.
_MAP = (("shape", "ellipse"), ("style", "filled"), ("fontsize", 9), ("height", 0.3))
_SLEEP = (("shape", "cds"), ("style", "filled"), ("fontsize", 9), ("height", 0.3))
# A fork or join bar lies across the flow: flat top to bottom, upright left to right.
_BAR_LONG, _BAR_THIN = 0.9, 0.05
_BAR = (("shape", "box"), ("style", "filled"), ("label", ""))
_BAR_SIZE = {"TB": (("width", _BAR_LONG), ("height", _BAR_THIN)),
             "LR": (("width", _BAR_THIN), ("height", _BAR_LONG))}
_BAR_INK = (("fixedsize", True), ("fillcolor", style.INK), ("color", style.INK))
_DIAMOND = (("shape", "diamond"), ("style", "filled"), ("label", ""), ("fixedsize", True),
            ("fillcolor", "#ffffff"), ("color", style.INK))
_MARKER = (("style", "filled"), ("label", ""), ("fixedsize", True), ("fillcolor", style.INK),
           ("color", style.INK))


def node_id(kind: str, path: str) -> str:
    """The stable id of a node: the DOT node name, and the id of its group in the SVG.

    ``kind`` is ``step``, ``map``, ``sleep``, ``workflow``, ``parallel`` or ``branch``;
    ``path`` the dotted step path. Characters other than letters, digits and ``_.-~`` are
    percent-encoded, so the id reads the same in DOT, SVG, HTML and CSS.

    >>> node_id("step", "outer.inner"), node_id("map", "map-1"), node_id("step", 'a "b"')
    ('step:outer.inner', 'map:map-1', 'step:a%20%22b%22')
    """
    return f"{kind}:{quote(path, safe='')}"


def dot_string(text: str) -> str:
    """``text`` as a quoted DOT string that shows exactly ``text``.

    ``&``, ``<``, ``>`` become HTML entities (Graphviz passes them through to the SVG),
    ``\\`` and ``"`` are backslash-escaped, line breaks become ``\\n``, so no user text can
    end the string or start markup. Other control characters (C0, DEL, C1) and the bidi
    formatting characters show as their escapes, as in the terminal (``\\x1b``,
    ``\\u202e``): the SVG stays valid XML and reads as it was written.

    >>> print(dot_string('say "hi" <b>\\n'))
    "say \\"hi\\" &lt;b&gt;\\n"
    >>> print(dot_string("bell\\x07"))
    "bell\\\\x07"
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = escape_controls(text, keep_newlines=True)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\n", "\\n") + '"'


def html_text(text: str) -> str:
    """``text`` as the text of a Graphviz HTML-like label that shows exactly ``text``.

    Control characters (line breaks too) and bidi formatting characters show as their
    escapes, ``&``, ``<``, ``>``, ``"`` become entities: no user text can start markup or end
    the label.

    >>> print(html_text('a <b> & "c"\\n'))
    a &lt;b&gt; &amp; &quot;c&quot;\\n
    """
    text = escape_controls(text)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


class _Html(str):
    """A Graphviz HTML-like label's markup, written ``<…>`` instead of quoted."""


def _noted_label(label: str, note: str) -> _Html:
    """``label`` (its lines) over ``note`` in a smaller, grey font."""
    lines = "<BR/>".join(html_text(line) for line in label.split("\n"))
    return _Html(f'{lines}<BR/><FONT POINT-SIZE="8.5" COLOR="{style.PLAN_NOTE}">'
                 f"{html_text(note)}</FONT>")


def check_direction(direction: str) -> str:
    """``direction`` if it is one of :data:`DIRECTIONS`, else ``ValueError`` naming them.

    >>> check_direction("LR")
    'LR'
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'TB' (top to bottom) or 'LR' (left to right), "
                         f"not {direction!r}")
    return direction


def workflow_dot(description: Mapping[str, Any],
                 statuses: Mapping[str, str] | None = None, *, direction: str = "TB",
                 marks: Mapping[str, str] | None = None,
                 notes: Mapping[str, str] | None = None,
                 tips: Mapping[str, str] | None = None) -> str:
    """The DOT text of a workflow, from its JSON description (``wf.graph.description``).

    ``statuses`` maps step paths (``"a"``, ``"outer.inner"``, ``"map-1"``) to one of
    :data:`~flownb.render.style.STATUSES`; the nodes of other paths show ``pending``.
    ``direction`` is ``"TB"`` (top to bottom) or ``"LR"`` (left to right: Graphviz's
    ``rankdir=LR``, fork and join bars upright). ``marks`` maps step paths to one of
    :data:`~flownb.render.style.PLAN_MARKS` (the class ``plan-<mark>`` and its colours,
    instead of the status colours); ``notes`` maps step paths to a second, smaller line of
    their label, added to their tooltip too, or ``tips[path]`` when given (a longer text
than fits under a node). Marks and notes apply to step, map and sleep
    nodes (not to a nested workflow's cluster).

    >>> desc = {"id": "wf", "kind": "workflow", "description": None, "entries": [
    ...     {"kind": "step", "step": {"id": "a", "kind": "step", "description": None}}]}
    >>> print(workflow_dot(desc, {"a": "success"}).splitlines()[5])
      "step:a" [id="step:a", class="flownb-step status-success", label="a", tooltip="a", \
fillcolor="#ceead6", color="#188038"];
    """
    builder = _Builder(statuses or {}, check_direction(direction), marks or {}, notes or {},
                       tips or {})
    return builder.document(description)


@dataclass
class _Frag:
    """A drawn construct: where edges enter, where they leave, and its own edges."""

    head: str
    tail: str
    edges: list[str] = field(default_factory=list)


class _Builder(EntryVisitor[None, _Frag]):
    """Draws each construct (one ``visit_*`` method per entry kind) into ``lines``."""

    def __init__(self, statuses: Mapping[str, str], direction: str = "TB",
                 marks: Mapping[str, str] | None = None,
                 notes: Mapping[str, str] | None = None,
                 tips: Mapping[str, str] | None = None) -> None:
        self.statuses = {path: style.check_status(s, path) for path, s in statuses.items()}
        self.marks = {path: _check_mark(m, path) for path, m in (marks or {}).items()}
        self.notes = dict(notes or {})
        self.tips = dict(tips or {})
        self.direction = direction
        self.bar = (*_BAR, *_BAR_SIZE[direction], *_BAR_INK)
        self.lines: list[str] = []
        self.depth = 1

    # -- text -------------------------------------------------------------------------------

    def line(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    def node(self, name: str, attrs: Iterable[tuple[str, Any]]) -> str:
        self.line(f"{dot_string(name)} [{_attrs(attrs)}];")
        return name

    def status_attrs(self, kind: str, path: str) -> list[tuple[str, Any]]:
        status = self.statuses.get(path, "pending")
        mark = self.marks.get(path)
        extra = f" plan-{mark}" if mark is not None and kind != "workflow" else ""
        return [("id", node_id(kind, path)),
                ("class", f"flownb-{kind} status-{status}{extra}")]

    def labelled(self, path: str, label: str, tooltip: str,
                 rounded: bool = True) -> list[tuple[str, Any]]:
        """A node's label and tooltip (with its note), and its mark's look."""
        note = self.notes.get(path)
        tip = self.tips.get(path, note)
        attrs: list[tuple[str, Any]] = [
            ("label", _noted_label(label, note) if note else label),
            ("tooltip", f"{tooltip}\n{tip}" if tip else tooltip)]
        mark = self.marks.get(path)
        if mark is not None:
            if mark == "depends":
                attrs.append(("style", "rounded,filled,dashed" if rounded else "filled,dashed"))
            attrs += [("fillcolor", style.PLAN_FILL[mark]), ("color", style.PLAN_STROKE[mark]),
                      ("fontcolor", style.PLAN_TEXT[mark])]
            if mark == "run":
                attrs.append(("penwidth", 2))
        return attrs

    def colours(self, path: str) -> list[tuple[str, Any]]:
        """Fill and border of a status other than pending (the node defaults)."""
        if path in self.marks:
            return []  # the mark's colours (``labelled``)
        status = self.statuses.get(path, "pending")
        if status == "pending":
            return []
        return [("fillcolor", style.STATUS_FILL[status]),
                ("color", style.STATUS_STROKE[status])]

    # -- the document -----------------------------------------------------------------------

    def document(self, desc: Mapping[str, Any]) -> str:
        wf_id = str(desc["id"])
        self.node("start", [("id", "start"), ("class", "flownb-start"), ("shape", "circle"),
                            *_MARKER, ("width", 0.2), ("tooltip", "start")])
        # A lone step's description is drawn as a one-step workflow.
        body = self.sequence(top_entries(desc), "")
        self.node("end", [("id", "end"), ("class", "flownb-end"), ("shape", "doublecircle"),
                          *_MARKER, ("width", 0.16), ("tooltip", "end")])
        edges = [_edge("start", body.head), *body.edges, _edge(body.tail, "end")]
        head = [
            f"digraph {dot_string(wf_id)} {{",
            "  graph [" + _attrs([
                ("id", node_id("graph", wf_id)), ("class", "flownb-graph"),
                ("label", wf_id), ("tooltip", _text(desc.get("description")) or wf_id),
                ("labelloc", "t"), ("fontname", style.FONT), ("fontsize", 12),
                ("fontcolor", style.CLUSTER_TEXT), ("rankdir", self.direction), ("nodesep", 0.3),
                ("ranksep", 0.35)]) + "];",
            "  node [" + _attrs([("shape", "box"), ("style", "rounded,filled"),
                                 ("fontname", style.FONT), ("fontsize", 11),
                                 ("fontcolor", style.TEXT),
                                 ("fillcolor", style.STATUS_FILL["pending"]),
                                 ("color", style.STATUS_STROKE["pending"]), ("height", 0.36),
                                 ("margin", "0.14,0.05"), ("penwidth", 1.2)]) + "];",
            "  edge [" + _attrs([("fontname", style.FONT), ("fontsize", 9),
                                 ("fontcolor", style.EDGE), ("color", style.EDGE),
                                 ("arrowsize", 0.7)]) + "];",
        ]
        return "\n".join([*head, *self.lines, *("  " + e for e in edges), "}"]) + "\n"

    def sequence(self, entries: Sequence[EntryDescription], prefix: str) -> _Frag:
        """Entries one after the other."""
        if not entries:
            where = prefix.rstrip(".") or "the top level"
            raise ValueError(f"the graph description has a workflow without entries ({where})")
        frags = [self.visit(e, prefix, None) for e in entries]
        edges = list(frags[0].edges)
        for before, after in itertools.pairwise(frags):
            edges.append(_edge(before.tail, after.head))
            edges.extend(after.edges)
        return _Frag(frags[0].head, frags[-1].tail, edges)

    # -- one shape per construct ------------------------------------------------------------

    def visit_step(self, entry: StepEntryDescription, unit: Unit, ctx: None) -> _Frag:
        return self.unit(unit)

    def visit_foreach(self, entry: ForeachEntryDescription, unit: Unit, ctx: None) -> _Frag:
        return self.unit(unit, note=f"× each, {entry['concurrency']} at a time")

    def visit_map(self, entry: MapEntryDescription, path: str, ctx: None) -> _Frag:
        return self.small("map", path, _MAP, _text(entry.get("label")) or "map")

    def visit_sleep(self, entry: SleepEntryDescription, path: str, ctx: None) -> _Frag:
        return self.small("sleep", path, _SLEEP, _sleep_label(entry))

    def unit(self, unit: Unit, note: str | None = None) -> _Frag:
        """A step's box, or a nested workflow's cluster."""
        path, step = unit.path, unit.step
        label = unit.id + (f"\n{note}" if note else "")
        tooltip = _text(step.get("description")) or path
        if not unit.nested:
            name = self.node(node_id("step", path), [
                *self.status_attrs("step", path), *self.labelled(path, label, tooltip),
                *self.colours(path)])
            return _Frag(name, name)
        status = self.statuses.get(path, "pending")
        self.line(f"subgraph {dot_string('cluster_' + quote(path, safe=''))} {{")
        self.depth += 1
        self.line("graph [" + _attrs([
            *self.status_attrs("workflow", path), ("label", label), ("tooltip", tooltip),
            ("style", "rounded"), ("color", style.STATUS_STROKE[status]),
            ("fontcolor", style.CLUSTER_TEXT), ("fontsize", 10), ("labeljust", "l")]) + "];")
        body = self.sequence(unit.entries, unit.prefix)
        self.depth -= 1
        self.line("}")
        return body

    def small(self, kind: str, path: str, shape: tuple[tuple[str, Any], ...],
              label: str) -> _Frag:
        """A map or sleep: a small node of its own shape."""
        name = self.node(node_id(kind, path), [
            *self.status_attrs(kind, path), *shape,
            *self.labelled(path, label, path, rounded=False), *self.colours(path)])
        return _Frag(name, name)

    def visit_parallel(self, entry: ParallelEntryDescription, path: str, units: list[Unit],
                       ctx: None) -> _Frag:
        fork = self.node(node_id("parallel", path) + ":fork", [
            ("id", node_id("parallel", path) + ":fork"), ("class", "flownb-fork"), *self.bar,
            ("tooltip", f"{path}: run all at once")])
        branches = [self.unit(u) for u in units]
        join = self.node(node_id("parallel", path) + ":join", [
            ("id", node_id("parallel", path) + ":join"), ("class", "flownb-join"), *self.bar,
            ("tooltip", f"{path}: wait for all")])
        edges = []
        for b in branches:
            edges += [_edge(fork, b.head), *b.edges, _edge(b.tail, join)]
        return _Frag(fork, join, edges)

    def visit_branch(self, entry: BranchEntryDescription, path: str,
                     arms: list[tuple[BranchArmDescription, Unit]], ctx: None) -> _Frag:
        decide = self.node(node_id("branch", path) + ":decide", [
            ("id", node_id("branch", path) + ":decide"), ("class", "flownb-decision"),
            *_DIAMOND, ("width", 0.32), ("height", 0.32),
            ("tooltip", f"{path}: the first condition that holds")])
        drawn = [(_text(arm.get("label")), self.unit(unit)) for arm, unit in arms]
        merge = self.node(node_id("branch", path) + ":merge", [
            ("id", node_id("branch", path) + ":merge"), ("class", "flownb-merge"),
            *_DIAMOND, ("width", 0.2), ("height", 0.2), ("tooltip", f"{path}: merge")])
        edges = []
        for label, arm in drawn:
            edges += [_edge(decide, arm.head, [("label", label)]), *arm.edges,
                      _edge(arm.tail, merge)]
        return _Frag(decide, merge, edges)

    def visit_loop(self, entry: LoopEntryDescription, unit: Unit, ctx: None) -> _Frag:
        body = self.unit(unit)
        mode, cond = str(entry["mode"]), _text(entry.get("label"))
        label = mode if cond in ("", mode) else f"{mode} {cond}"
        back = _edge(body.tail, body.head, [("label", label), ("class", f"flownb-{mode}"),
                                            ("style", "dashed"), ("constraint", False)])
        return _Frag(body.head, body.tail, [*body.edges, back])


def _check_mark(mark: str, path: str) -> str:
    if mark not in style.PLAN_MARKS:
        raise ValueError(f"unknown plan mark {mark!r} for step '{path}'; expected one of "
                         f"{', '.join(style.PLAN_MARKS)}")
    return mark


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _sleep_label(e: SleepEntryDescription) -> str:
    label = _text(e.get("label"))
    if e.get("mode") == "sleep_until":
        return "sleep until" if label in ("", "until") else f"sleep until {label}"
    return "sleep" if label in ("", "sleep") else f"sleep {label}"


def _edge(tail: str, head: str, attrs: Iterable[tuple[str, Any]] = ()) -> str:
    listed = _attrs(attrs)
    return f"{dot_string(tail)} -> {dot_string(head)}" + (f" [{listed}]" if listed else "") + ";"


def _attrs(attrs: Iterable[tuple[str, Any]]) -> str:
    return ", ".join(f"{key}={_value(value)}" for key, value in attrs)


def _value(value: Any) -> str:
    if isinstance(value, _Html):
        return f"<{value}>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}"
    return dot_string(str(value))
