"""Large JSON values stored once: a value split into inline text and shared parts.

A step's payload is usually the output of the step before it, a foreach item's payload an
element of its input, the run's result the last step's output: stored as they come, a
large value is written again for every place it appears. A store that keeps each distinct
value once splits every value it writes with ``split``:

* a value whose JSON text is shorter than ``INLINE_LIMIT`` characters is kept whole,
  inline (the usual step record: nothing but one length check is added);
* a larger one is cut at its large parts: each object member or array element whose own
  text reaches the limit is split in turn, and a large part with no large members (a long
  string, a list of many small rows) becomes a *shared value*, named by the SHA-256 of its
  JSON text, and stored once however many records hold it.

What stays inline is the value's JSON with ``null`` where each shared part goes, and the
*references* are kept beside it, never inside it: a JSON object mapping each shared
value's name to the paths (lists of member names and element indexes) where it goes. The
user's data is never searched for a marker, so nothing in it can be mistaken for one.

>>> text, refs, shared = split({"name": "doc", "body": "x" * 2000})
>>> text
'{"name":"doc","body":null}'
>>> [(name[:8], paths) for name, paths in loads_json(refs).items()]
[('94bfe6f3', [['body']])]
>>> join(text, refs, shared) == {"name": "doc", "body": "x" * 2000}
True

What a value's inline part keeps, beside its shared parts, is bounded in the usual case
(objects with a few members): an object or array whose many *small* members add up past
the limit, beside a large member, keeps those small members inline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from .base import dumps_json, loads_json

__all__ = ["INLINE_LIMIT", "count_uses", "join", "names", "split", "value_name"]

INLINE_LIMIT = 1024
"""Characters of JSON text from which a value, or a part of one, is stored once and
referenced. Below it a reference (its name in the value's references and in the table of
shared values, about 150 bytes) would cost more than it saves."""

_MAX_DEPTH = 64  # deeper than this, a large part is shared whole rather than cut further

Path = list[str | int]


def split(value: Any, text: str | None = None) -> tuple[str, str | None,
                                                       dict[str, str] | None]:
    """``(text, refs, shared)``: ``value``'s inline JSON text, its references as JSON text
    (``None`` if none) and the shared values it needs (name -> JSON text; ``None`` if none).
    ``text``: ``value``'s JSON, if the caller has it already.

    Raises ``TypeError`` if ``value`` is not JSON data, as ``dumps_json`` does.
    """
    if text is None:
        text = dumps_json(value)
    if len(text) < INLINE_LIMIT:
        return text, None, None
    remembered = len(text) <= _RECENT_LIMIT
    if remembered:
        known = _recent.get(text)
        if known is not None:
            return known
    cut = _Cut()
    rest = cut(value, text, [])
    split_ = (dumps_json(rest), dumps_json(cut.refs), cut.shared)
    if remembered:
        if len(_recent) >= _RECENT_COUNT:
            _recent.clear()
        _recent[text] = split_
    return split_


# The splits of the last few values of moderate size, by their JSON text (callers only
# read what ``split`` returns): every run of a workflow stores the same graph
# description, 11 KB for a chain of 100 steps, and finding its parts costs ten times as
# much as encoding it. Larger values are split afresh: they would take the memory.
_RECENT_LIMIT = 64 * 1024
_RECENT_COUNT = 16
_recent: dict[str, tuple[str, str | None, dict[str, str] | None]] = {}


class _Cut:
    """One ``split`` of a large value: the references and shared values found so far."""

    __slots__ = ("_names", "_texts", "refs", "shared")

    def __init__(self) -> None:
        self.refs: dict[str, list[Path]] = {}
        self.shared: dict[str, str] = {}
        # By ``id``, valid while the value being split holds its members: a member found
        # twice (a step's payload that is its output) is encoded and hashed once.
        self._texts: dict[int, str] = {}
        self._names: dict[int, str] = {}

    def __call__(self, value: Any, text: str, path: Path) -> Any:
        """``value`` (whose JSON is ``text``, at least ``INLINE_LIMIT`` long) with its
        large parts replaced by ``None`` and noted; ``None`` if it is shared whole."""
        if len(path) < _MAX_DEPTH:
            # Only plain containers are cut: their members' paths are exactly the JSON's
            # (an object with a key that JSON spells differently, like 1 -> "1", is not).
            if type(value) is dict and all(type(key) is str for key in value):
                texts = {key: self._text(member) for key, member in value.items()}
                if any(len(t) >= INLINE_LIMIT for t in texts.values()):
                    return {key: self(member, texts[key], [*path, key])
                            if len(texts[key]) >= INLINE_LIMIT else member
                            for key, member in value.items()}
            elif type(value) in (list, tuple):
                items = [self._text(member) for member in value]
                if any(len(t) >= INLINE_LIMIT for t in items):
                    return [self(member, t, [*path, i]) if len(t) >= INLINE_LIMIT else member
                            for i, (member, t) in enumerate(zip(value, items, strict=True))]
        name = self._names.get(id(text))
        if name is None:
            name = self._names[id(text)] = value_name(text)
            self.shared[name] = text
        self.refs.setdefault(name, []).append(path)
        return None

    def _text(self, member: Any) -> str:
        text = self._texts.get(id(member))
        if text is None:
            text = self._texts[id(member)] = dumps_json(member)
        return text


def value_name(text: str) -> str:
    """A shared value's name: the SHA-256 of its JSON text (UTF-8), in hex."""
    # "surrogatepass": a lone surrogate only ever reaches here escaped, but a name must
    # never be what fails.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def names(refs: str) -> list[str]:
    """The shared values that references (``split``'s ``refs``) name."""
    return list(loads_json(refs))


def join(text: str, refs: str | None, shared: Mapping[str, str]) -> Any:
    """The value ``split`` cut: ``text`` with each shared value (its JSON text looked up
    in ``shared`` by name) put back at its paths. Raises ``KeyError`` for a name that
    ``shared`` lacks."""
    value = loads_json(text)
    if refs is None:
        return value
    for name, paths in loads_json(refs).items():
        part_text = shared[name]
        part = loads_json(part_text)
        for k, path in enumerate(paths):
            # Each place gets its own copy (parsed again) unless the value is immutable:
            # what a caller changes in one place must not show in another.
            if k and not isinstance(part, (str, int, float)):
                part = loads_json(part_text)
            if not path:
                value = part
                continue
            container = value
            for step in path[:-1]:
                container = container[step]
            container[path[-1]] = part
    return value


def count_uses(shares: list[tuple[str, str]]) -> dict[str, tuple[str, int]]:
    """The shared values that rows refer to, listed once per row and value as ``(name,
    JSON text)``: name -> (its text, how many rows refer to it), in the order first listed.

    >>> count_uses([("a", "[1]"), ("b", "[2]"), ("a", "[1]")])
    {'a': ('[1]', 2), 'b': ('[2]', 1)}
    """
    uses: dict[str, tuple[str, int]] = {}
    for name, text in shares:
        known = uses.get(name)
        uses[name] = (text, 1) if known is None else (text, known[1] + 1)
    return uses
