"""The journal key grammar: how the engine names each execution's place in a run.

Every step execution, loop verdict and branch decision is recorded under a key built from
its place in the graph. A key is parts joined by ``.`` (one part per level of nesting);
a part is a step id, optionally followed by one bracketed engine marker:

====================  ===============================================================
``score``             a step (or nested workflow, ``.map``, sleep) at this level
``review[2]``         item 2 (0-based) of the foreach over ``review``
``inc[@3]``           iteration 3 (0-based) of the loop over ``inc``
``inc[@3?]``          the loop condition's verdict after iteration 3
``branch-1[?]``       which arm the ``.branch`` with id ``branch-1`` chose
====================  ===============================================================

So ``outer[@1].review[2]`` is item 2 of ``review`` inside the second iteration of a loop
over the nested workflow ``outer``. Step ids may contain any character except ``.``,
``[``, ``]`` and control characters (``check_id``), so no step id can be mistaken for a
marker and no two places share a key.

The *display path* of an execution (``result.steps``, events, ``resume(step=...)``) is the
key without loop markers: a loop's iterations all show as the loop's step, and foreach
items keep their ``[i]``.

Runs stored before this grammar (snapshot schema version 1) wrote ``inc@3``, ``inc@3?``
and ``branch-1?``; ``upgrade_v1_key`` rewrites such keys on load, using the graph
description to tell which ids are loops and branches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from .._text import BIDI

__all__ = [
    "MAX_ID_LENGTH",
    "decision_key",
    "id_problem",
    "item_part",
    "items_by_foreach",
    "iteration_part",
    "loop_iterations",
    "node_path",
    "strip_items",
    "upgrade_v1_key",
    "verdict_key",
]

MAX_ID_LENGTH = 200

_BIDI = frozenset(BIDI)
_FORBIDDEN = frozenset(".[]")


def id_problem(value: object) -> str | None:
    """Why ``value`` is not a valid step or workflow id, or ``None`` when it is."""
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not value:
        return "must not be empty"
    if len(value) > MAX_ID_LENGTH:
        return f"is {len(value)} characters long; the limit is {MAX_ID_LENGTH}"
    for ch in value:
        if ch in _FORBIDDEN:
            why = ("separates the parts of a nested path" if ch == "." else
                   "marks a foreach item or loop iteration in a step path")
            return f"contains {ch!r}, which {why}; use '-' or '_' instead"
        if ch in _BIDI or unicodedata.category(ch) == "Cc":
            return (f"contains the control character {ch!r} (U+{ord(ch):04X}); ids are "
                    "shown in terminals and pages, so control and bidirectional "
                    "formatting characters are not allowed")
    return None


def item_part(step_id: str, index: int) -> str:
    return f"{step_id}[{index}]"


def iteration_part(step_id: str, iteration: int) -> str:
    return f"{step_id}[@{iteration}]"


def verdict_key(prefix: str, step_id: str, iteration: int) -> str:
    return f"{prefix}{step_id}[@{iteration}?]"


def decision_key(prefix: str, branch_id: str) -> str:
    return f"{prefix}{branch_id}[?]"


_ITEM_MARK = re.compile(r"\[\d+\]")
_LOOP_MARK = re.compile(r"\[@\d+\]")
_VERDICT = re.compile(r"^(?P<node>.+)\[@(?P<n>\d+)\?\]$")


def named_path(step: Any) -> str | None:
    """The dotted path a ``step=`` argument names: a path (``"outer.inner"``), a list of
    its parts, or a ``Step`` (its id); ``None`` for anything else.

    >>> named_path(["outer", "inner"]), named_path("review[2]")
    ('outer.inner', 'review[2]')
    """
    if isinstance(step, (list, tuple)):
        return ".".join(str(p) for p in step)
    if isinstance(step, str):
        return step
    step_id = getattr(step, "id", None)
    return step_id if isinstance(step_id, str) else None


def strip_items(display: str) -> str:
    """``"outer.review[2]"`` → ``"outer.review"``: the step a display path runs."""
    if "[" not in display:
        return display
    return _ITEM_MARK.sub("", display)


def node_path(key: str) -> str:
    """The graph node of a key: its step ids without any marker."""
    return _ITEM_MARK.sub("", _LOOP_MARK.sub("", key))


def loop_iterations(journal: Iterable[str]) -> dict[str, int]:
    """Loop step node (dotted, no markers) → iterations decided so far, from journal keys.

    A loop inside a foreach item or another loop counts its furthest instance.
    """
    out: dict[str, int] = {}
    for key in journal:
        if not key.endswith("?]"):
            continue
        match = _VERDICT.match(key)
        if match is None:
            continue
        node = node_path(match["node"])
        out[node] = max(out.get(node, 0), int(match["n"]) + 1)
    return out


# -- stored runs of schema version 1 -----------------------------------------------------------

_V1_VERDICT = re.compile(r"^(?P<id>.+)@(?P<n>\d+)\?$")
_V1_ITERATION = re.compile(r"^(?P<id>.+)@(?P<n>\d+)$")


def special_ids(description: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """(ids of loop steps, ids of branches) anywhere in a graph description."""
    loops: set[str] = set()
    branches: set[str] = set()

    def walk(step: Mapping[str, Any]) -> None:
        for entry in step.get("entries") or ():
            kind = entry.get("kind")
            if kind == "loop":
                loops.add(entry["step"]["id"])
            elif kind == "branch":
                branches.add(entry["id"])
            for child in _children(entry):
                walk(child)

    walk(description)
    return frozenset(loops), frozenset(branches)


def _children(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if "step" in entry:
        return [entry["step"]]
    if "steps" in entry:
        return list(entry["steps"])
    if "branches" in entry:
        return [b["step"] for b in entry["branches"]]
    return []


def upgrade_v1_key(key: str, loops: frozenset[str], branches: frozenset[str]) -> str:
    """A version-1 key (``inc@3``, ``inc@3?``, ``branch-1?``) in today's grammar.

    Only parts whose id is a loop step (or a branch) of the run's own graph are rewritten,
    so a version-1 step id that happened to contain ``@`` or ``?`` keeps its meaning.
    """
    if "@" not in key and "?" not in key:
        return key
    parts = key.split(".")
    for n, part in enumerate(parts):
        match = _V1_VERDICT.match(part)
        if match is not None and match["id"] in loops:
            parts[n] = f"{match['id']}[@{match['n']}?]"
            continue
        match = _V1_ITERATION.match(part)
        if match is not None and match["id"] in loops:
            parts[n] = iteration_part(match["id"], int(match["n"]))
            continue
        if part.endswith("?") and part[:-1] in branches:
            parts[n] = f"{part[:-1]}[?]"
    return ".".join(parts)


_FIRST_ITEM = re.compile(r"^(?P<foreach>[^\[]*)\[(?P<index>\d+)\]")


def items_by_foreach(paths: Iterable[str]) -> dict[str, dict[int, list[str]]]:
    """Display paths of foreach items, grouped by the foreach (the path before the first
    item marker) and the item's index; an item's sub-steps, and an item of a foreach nested
    in it, go with that item. Other paths are left out.

    >>> items_by_foreach(["a", "work[1]", "work[0]", "work[0].inner", "x.work[2]"])
    {'work': {1: ['work[1]'], 0: ['work[0]', 'work[0].inner']}, 'x.work': {2: ['x.work[2]']}}
    """
    out: dict[str, dict[int, list[str]]] = {}
    for path in paths:
        match = _FIRST_ITEM.match(path)
        if match:
            out.setdefault(match["foreach"], {}).setdefault(int(match["index"]), []) \
                .append(path)
    return out
