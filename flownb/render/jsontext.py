"""Values shown as JSON to read: in the notebook's views and forms and the terminal's.

JSON indented by two, where each object or array that fits on one line (:data:`LINE`
characters, its indent included) keeps to one, so a list of records reads a record a line
(and a long list of numbers or strings as many to a line as fit)::

    [
      {"n": 1, "ok": true},
      {"n": 2, "ok": false}
    ]

not one field a line, as ``json.dumps(indent=2)`` writes it. Control characters become
``\\uNNNN`` escapes (``flownb._text.escape_json_controls``).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import PydanticSerializationError, to_json

from .._text import escape_json_controls
from ..core.schema import to_jsonable

__all__ = ["LINE", "json_text", "packed"]

LINE = 72
"""Characters within which an object or array of a value shown as JSON stays on one line."""


def json_text(value: Any, *, spread: bool = False) -> str:
    """``value`` as JSON to read: indented by two, where each object or array whose JSON
    fits on one line (:data:`LINE` characters, its indent included) stays on one line, so a
    list of small records shows one record a line (``{"n": 1, "ok": true}``), not one
    field a line. ``spread``: the outer object or array takes a line per member whatever
    its length (the first members of a longer one, whose lines are then cut). Control
    characters are ``\\uNNNN`` escapes.

    >>> print(json_text({"items": [{"n": 1}, {"n": 2}], "note": "x" * 70}))
    {
      "items": [{"n": 1}, {"n": 2}],
      "note": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    }
    """
    data = to_jsonable(value)
    if type(data) in (dict, list) and data:
        flat = _flat(data)
        if len(flat) > _LAID_OUT:
            # Laid out in Python a long value would cost ~4 µs an element (a 10,000-record
            # output 40 ms an update): pydantic-core's encoder indents it, a line per member
            # at every level (~3 ms); the standard one for what it refuses (lone surrogates).
            try:
                text = to_json(data, indent=2, fallback=str).decode()
            except (PydanticSerializationError, ValueError):
                text = json.dumps(data, indent=2, default=str, ensure_ascii=False)
            return escape_json_controls(text)
        if not spread and len(flat) <= LINE:
            return escape_json_controls(flat)
    out: list[str] = []
    _pretty(data, "", out, spread)
    return escape_json_controls("".join(out))


_LAID_OUT = 32 * 1024  # characters of flat JSON up to which a value is laid out line by line


def _pretty(data: Any, indent: str, out: list[str], spread: bool = False) -> None:
    """Append ``data``'s JSON at ``indent`` (the current line's indent) to ``out``."""
    kind = type(data)
    if (kind is not dict and kind is not list) or not data:
        out.append(_flat(data))
        return
    # Each element takes three characters at least ("1, "): a long container cannot fit,
    # so it is not encoded flat only to be thrown away.
    if not spread and 3 * len(data) < LINE - len(indent):
        flat = _flat(data)
        if len(flat) + len(indent) <= LINE:
            out.append(flat)
            return
    inner = indent + "  "
    if kind is dict:
        out.append("{\n")
        last = len(data) - 1
        for i, (key, member) in enumerate(data.items()):
            out.append(inner + _flat(str(key)) + ": ")
            _pretty(member, inner, out)
            out.append(",\n" if i < last else "\n")
        out.append(indent + "}")
    elif packed(data):
        # Numbers, strings, booleans: as many to a line as fit, not one a line.
        out.append("[\n")
        room = LINE - len(inner)
        last = len(data) - 1
        line: list[str] = []
        used = 0
        for i, member in enumerate(data):
            piece = _flat(member) + ("," if i < last else "")
            if line and used + 1 + len(piece) > room:
                out.append(inner + " ".join(line) + "\n")
                line, used = [], 0
            used += len(piece) + (1 if line else 0)
            line.append(piece)
        out.append(inner + " ".join(line) + "\n" + indent + "]")
    else:
        out.append("[\n")
        last = len(data) - 1
        for i, member in enumerate(data):
            out.append(inner)
            _pretty(member, inner, out)
            out.append(",\n" if i < last else "\n")
        out.append(indent + "]")


_SCALARS = (str, int, float, bool, type(None))


def packed(members: Any) -> bool:
    """Does an array of ``members`` show several to a line (numbers, strings, booleans,
    nulls), rather than a member a line?"""
    return all(type(member) in _SCALARS for member in members)


def _flat(data: Any) -> str:
    """``data`` as JSON on one line, a space after each comma and colon (the standard
    encoder's C path: no indent)."""
    return json.dumps(data, ensure_ascii=False, separators=(", ", ": "), default=str)


