"""The fields of a form: the :class:`Field` tree a form is drawn from, holding what was typed.

:mod:`flownb.notebook.fields` builds the tree from a pydantic schema;
:mod:`flownb.notebook.forms` sends it to the browser as JSON (:meth:`Field.spec`: kinds,
paths, titles, hints, options) with the values as typed (:meth:`Field.state`), and applies
what the browser sends back (:meth:`ScalarField.set_raw`, a list's *add item*, ...). No
widget lives here: a field is plain Python, so a form is one anywidget widget however many
fields it has.

A field reads its value (:meth:`Field.read`, ``EMPTY`` when nothing is filled in), writes a
value into its input (:meth:`Field.write`), lists its required fields still empty
(:meth:`Field.missing`) and holds its error. A leaf (:class:`ScalarField`) or a list
(:class:`ListField`) is what ``form.fields[path]`` gives: ``.value`` is what its input shows
(setting it shows the new value in the browser), ``.kind`` says what input it is.
"""

from __future__ import annotations

import datetime as _dt
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .._text import escape_html

__all__ = ["ADD_LABEL", "EMPTY", "LOAD_LABEL", "REQUIRED_MARK", "SCALAR_KINDS", "Field",
           "FieldInputError", "ListField", "ModelField", "OptionalField", "ScalarField",
           "error_html"]

_ERROR_STYLE = "color:var(--jp-error-color1,#d93025);font-size:12px"
REQUIRED_MARK = "*"
"""The marker shown after the title of a field that must be filled."""
ADD_LABEL = "add item"
"""The text of a list's button that adds a row."""
LOAD_LABEL = "load JSON"
"""The text of a list's button that replaces the rows by a pasted JSON list."""

SCALAR_KINDS = ("text", "textarea", "date", "number", "checkbox", "yesno", "dropdown", "json")
"""The kinds of one-input fields: ``text`` (``""`` is empty), ``textarea``, ``date`` (a date,
datetime or time as ISO text; blank is empty), ``number`` (the text as typed, read as an
``int`` or ``float``), ``checkbox``, ``yesno`` (two buttons, neither pressed when required),
``dropdown`` (``Literal`` / ``Enum``; nothing chosen is empty) and ``json`` (parsed)."""

_TEXT_KINDS = ("text", "textarea", "date", "json")
_CHOICE_KINDS = ("yesno", "dropdown")


class _Empty:
    """The value of a field nobody filled in (left out of what the form submits)."""

    _instance: _Empty | None = None

    def __new__(cls) -> _Empty:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "EMPTY"

    def __bool__(self) -> bool:
        return False


EMPTY: Any = _Empty()
"""What :meth:`Field.read` returns for an empty field."""


class FieldInputError(ValueError):
    """A value an input holds cannot even be handed to pydantic (JSON that does not parse)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or 'value'}: {message}")
        self.path = path
        self.message = message


def error_html(message: str) -> str:
    """An escaped one-line error, as the static HTML of a form shows it."""
    return f'<span class="flownb-error" style="{_ERROR_STYLE}">{escape_html(message)}</span>'


# -- fields -------------------------------------------------------------------------------


class Field(ABC):
    """One field of a form: what it is (:meth:`spec`), how to read and write its value, and
    its error (``field.error``, ``None`` when there is none).

    ``required`` fields must be filled: empty, they are listed by :meth:`missing` and
    marked ``*`` beside their title (``marked``). A change (a value typed, a row added) goes
    up the tree to the root's ``listener``: the form, which sends it to the browser.
    """

    kind = "field"

    def __init__(self, path: str, title: str, description: str | None,
                 constraints: Mapping[str, Any], default: Any, *, required: bool = False,
                 marked: bool | None = None) -> None:
        self.path = path
        self.title = title
        self.description = description
        self.constraints = dict(constraints)
        self.default = default
        self.required = required
        self.marked = required if marked is None else marked
        self.error: str | None = None
        self.parent: Field | None = None
        self.listener: Callable[[bool], None] | None = None  # the root's: the form

    # -- what subclasses provide ------------------------------------------------------------

    @abstractmethod
    def read(self) -> Any:
        """The typed value the inputs hold now, or ``EMPTY`` when nothing is filled in."""

    @abstractmethod
    def write(self, value: Any) -> None:
        """Show ``value`` in the inputs (``None`` empties a field that can be empty)."""

    @abstractmethod
    def inputs(self) -> dict[str, Field]:
        """Field path → the field a person types into (a leaf or a list)."""

    def state(self, typed: dict[str, Any], flags: dict[str, bool]) -> None:
        """Put what the inputs show into ``typed`` (path → the value as the browser shows
        it) and whether each ``X | None`` is set into ``flags``."""
        for child in self.children():
            child.state(typed, flags)

    def spec(self) -> dict[str, Any]:
        """The field as the browser draws it (JSON; every text is shown as text)."""
        return {"kind": self.kind, "path": self.path, "title": self.title,
                "description": self.description, "required": self.marked,
                "hint": self.hint()}

    def children(self) -> list[Field]:
        return []

    def is_empty(self) -> bool:
        """Whether nothing is filled in (a checkbox or a list never is)."""
        return False

    def missing(self) -> list[str]:
        """Paths of the required fields here that are empty, in the form's order."""
        out = [self.path] if self.required and self.is_empty() else []
        for child in self.children():
            out.extend(child.missing())
        return out

    # -- shared ---------------------------------------------------------------------------------

    def walk(self) -> Iterator[Field]:
        yield self
        for child in self.children():
            yield from child.walk()

    def adopt(self, child: Field) -> Field:
        child.parent = self
        return child

    def changed(self, *, structure: bool = False) -> None:
        """Tell the form something here changed (``structure``: fields came or went)."""
        if self.parent is not None:
            self.parent.child_changed(self, structure=structure)
        elif self.listener is not None:
            self.listener(structure)

    def child_changed(self, child: Field, *, structure: bool) -> None:
        self.changed(structure=structure)

    def show_error(self, message: str | None) -> None:
        """Set the error shown next to the field (the form sends it on its next change)."""
        self.error = message or None

    def hint(self) -> str:
        """Description, constraints and default, as text for the line under the input."""
        parts = []
        if self.description:
            parts.append(self.description)
        bounds = _describe_constraints(self.constraints)
        if bounds:
            parts.append(bounds)
        if self.default not in (PydanticUndefined, None, "") \
                and not isinstance(self.default, (BaseModel, list, dict)):
            parts.append("default: " + _short(self.default))
        return " · ".join(parts)


class ScalarField(Field):
    """One input (``kind``, one of :data:`SCALAR_KINDS`): what ``form.fields[path]`` gives.

    ``value`` is what the input shows: the text of a text, date or JSON box, the number of
    a number box (``None`` when empty, the text as typed when it is not a number: pydantic
    says why on submit), the chosen option's value (``None``: nothing chosen) or a
    checkbox's ``bool``. ``options`` are the choices as ``(label, value)`` pairs.
    """

    def __init__(self, path: str, title: str, description: str | None,
                 constraints: Mapping[str, Any], default: Any, *, kind: str,
                 start: Any = None, placeholder: str = "",
                 options: Sequence[tuple[str, Any]] = (), number_type: type = float,
                 required: bool = False, marked: bool | None = None) -> None:
        if kind not in SCALAR_KINDS:
            raise ValueError(f"not a kind of input: {kind!r}")
        super().__init__(path, title, description, constraints, default, required=required,
                         marked=marked)
        self.kind = kind
        self.number_type = number_type
        self.options: list[tuple[str, Any]] = list(options)
        if kind == "number" and not placeholder:
            placeholder = "whole number" if number_type is int else "number"
        self.placeholder = placeholder
        self._raw: Any = False if kind == "checkbox" else None if kind in _CHOICE_KINDS \
            else ""
        self.value = start

    @property
    def raw(self) -> Any:
        """The value as the browser shows it: text (a number as typed), an option's index
        (``None``: nothing chosen) or a checkbox's ``bool``."""
        return self._raw

    def set_raw(self, raw: Any) -> None:
        """What the browser sent; a value of the wrong shape is ignored."""
        if self.kind == "checkbox":
            if not isinstance(raw, bool):
                return
        elif self.kind in _CHOICE_KINDS:
            if raw is not None and not (isinstance(raw, int) and not isinstance(raw, bool)
                                        and 0 <= raw < len(self.options)):
                return
        elif not isinstance(raw, str):
            return
        if raw != self._raw:
            self._raw = raw
            self.changed()

    @property
    def value(self) -> Any:
        if self.kind == "number":
            return self.number()
        if self.kind in _CHOICE_KINDS:
            return None if self._raw is None else self.options[self._raw][1]
        return self._raw

    @value.setter
    def value(self, value: Any) -> None:
        if self.kind == "checkbox":
            raw: Any = bool(value)
        elif self.kind in _CHOICE_KINDS:
            raw = None if value is None else self._index(value)
        elif self.kind == "number":
            raw = "" if value is None else value if isinstance(value, str) else (
                repr(value) if isinstance(value, float) else str(value))
        else:
            raw = "" if value is None else str(value)
        if raw != self._raw:
            self._raw = raw
            self.changed()

    def _index(self, value: Any) -> int:
        for i, (_label, option) in enumerate(self.options):
            if option is value or (option == value and type(option) is type(value)):
                return i
        for i, (_label, option) in enumerate(self.options):
            if option == value:
                return i
        labels = ", ".join(label for label, _ in self.options)
        raise ValueError(f"{self.path or 'value'}: {value!r} is not one of the options "
                         f"({labels})")

    def number(self) -> Any:
        """A number box's value: an ``int`` or ``float`` (a ``float`` field's always a
        ``float``), ``None`` when empty, or the text as typed when it is not a number."""
        value = _parse_number(self._raw, self.number_type)
        if self.number_type is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    def read(self) -> Any:
        if self.kind == "json":
            return _parse_json(self._raw, self.path)
        if self.kind == "number":
            number = self.number()
            return EMPTY if number is None else number
        if self.kind == "date":
            return self._raw.strip() or EMPTY
        value = self.value
        if value is None or value == "":
            return EMPTY
        return value

    def is_empty(self) -> bool:
        try:
            return self.read() is EMPTY
        except FieldInputError:
            return False

    def write(self, value: Any) -> None:
        if self.kind in _CHOICE_KINDS:
            if value is None or any(v == value for _, v in self.options):
                self.value = value
            return
        if self.kind == "json":
            self.value = None if value is None else json.dumps(value, indent=1, default=str)
        elif self.kind == "checkbox":
            self.value = bool(value)
        elif self.kind == "number":
            self.value = value
        else:
            self.value = None if value is None else (
                value.isoformat() if isinstance(value, (_dt.date, _dt.time)) else value)

    def inputs(self) -> dict[str, Field]:
        return {self.path: self}

    def state(self, typed: dict[str, Any], flags: dict[str, bool]) -> None:
        typed[self.path] = self._raw

    def spec(self) -> dict[str, Any]:
        out = super().spec()
        out["placeholder"] = self.placeholder
        if self.kind in _CHOICE_KINDS:
            out["options"] = [label for label, _ in self.options]
        return out

    def __repr__(self) -> str:
        return f"<{self.kind} field {self.path!r}: {self.value!r}>"


class OptionalField(Field):
    """``X | None``: the input for ``X`` and a toggle saying whether a value is set
    (``is_set``; typing sets it, emptying a one-input field unsets it again)."""

    kind = "optional"

    def __init__(self, inner: Field, *, is_set: bool) -> None:
        self.inner = inner  # before Field.__init__: errors show on the inner field's line
        super().__init__(inner.path, inner.title, inner.description, inner.constraints,
                         inner.default)
        self.adopt(inner)
        self._set = is_set

    @property
    def error(self) -> str | None:
        return self.inner.error

    @error.setter
    def error(self, message: str | None) -> None:
        self.inner.error = message

    @property
    def is_set(self) -> bool:
        return self._set

    @is_set.setter
    def is_set(self, value: bool) -> None:
        if bool(value) != self._set:
            self._set = bool(value)
            self.changed()

    def child_changed(self, child: Field, *, structure: bool) -> None:
        # Typing sets the value; emptying a one-input field unsets it again.
        self._set = not (isinstance(self.inner, ScalarField) and self.inner.is_empty())
        self.changed(structure=structure)

    def read(self) -> Any:
        if not self._set:
            return None
        value = self.inner.read()
        return None if value is EMPTY else value

    def write(self, value: Any) -> None:
        if value is None:
            self.is_set = False
            return
        self.inner.write(value)
        self.is_set = True

    def inputs(self) -> dict[str, Field]:
        return self.inner.inputs()

    def children(self) -> list[Field]:
        return self.inner.children()

    def missing(self) -> list[str]:
        return self.inner.missing() if self._set else []

    def state(self, typed: dict[str, Any], flags: dict[str, bool]) -> None:
        flags[self.path] = self._set
        self.inner.state(typed, flags)

    def spec(self) -> dict[str, Any]:
        out = super().spec()
        out["inner"] = self.inner.spec()
        return out


class ModelField(Field):
    """A pydantic model: a titled group holding one field per model field (the form's own
    fields when ``top``)."""

    kind = "group"

    def __init__(self, path: str, title: str, description: str | None, fields: list[Field],
                 keys: list[str], *, top: bool = False) -> None:
        super().__init__(path, title, description, {}, PydanticUndefined)
        self.fields = [self.adopt(f) for f in fields]
        self.keys = keys
        self.top = top

    def read(self) -> Any:
        """The filled-in fields by key; empty ones are left out (pydantic applies their
        defaults, or says "Field required")."""
        out = {}
        for key, field in zip(self.keys, self.fields, strict=True):
            value = field.read()
            if value is not EMPTY:
                out[key] = value
        return out

    def write(self, value: Any) -> None:
        if isinstance(value, BaseModel):
            value = value.model_dump(by_alias=True)
        if not isinstance(value, Mapping):
            return
        for key, field in zip(self.keys, self.fields, strict=True):
            if key in value:
                field.write(value[key])

    def inputs(self) -> dict[str, Field]:
        out: dict[str, Field] = {}
        for field in self.fields:
            out.update(field.inputs())
        return out

    def children(self) -> list[Field]:
        return list(self.fields)

    def spec(self) -> dict[str, Any]:
        out = super().spec()
        out["top"] = self.top
        out["children"] = [f.spec() for f in self.fields]
        return out


class ListField(Field):
    """``list[X]``: one sub-field per item, ``path.0``, ``path.1`` … and what
    ``form.fields[path]`` gives for the list: ``add(value)``, ``remove(i)``,
    ``load_json(text)`` (the browser's *add item*, remove and *load JSON* buttons), ``rows``.

    A list with no rows is the empty list (``min_length`` says when that is not enough);
    each row is required: an empty one is "Field required" on submit."""

    kind = "list"

    def __init__(self, path: str, title: str, description: str | None,
                 constraints: Mapping[str, Any], default: Any,
                 make_item: Callable[[str], Field]) -> None:
        super().__init__(path, title, description, constraints, default)
        self.make_item = make_item
        self.items: list[Field] = []
        if isinstance(default, list):
            self.write(default)

    @property
    def rows(self) -> int:
        return len(self.items)

    @property
    def value(self) -> list[Any]:
        """The rows' values (an empty row is ``None``); set, it replaces the rows."""
        return list(self.read())

    @value.setter
    def value(self, values: Sequence[Any]) -> None:
        self.write(list(values))

    def _new_item(self, value: Any = PydanticUndefined) -> Field:
        index = len(self.items)
        item = self.make_item(f"{self.path}.{index}" if self.path else str(index))
        if value is not PydanticUndefined:
            item.write(value)
        return self.adopt(item)

    def add(self, value: Any = PydanticUndefined) -> None:
        """Add a row (empty, or showing ``value``)."""
        self.items.append(self._new_item(value))
        self.changed(structure=True)

    def remove(self, index: int) -> None:
        """Remove row ``index``; the rows after it move up (their paths with them)."""
        values = [item.read() for item in self.items]
        del values[index]
        self.write([None if v is EMPTY else v for v in values])

    def load_json(self, text: str) -> bool:
        """Replace the rows by the JSON list ``text`` (the *load JSON* button); on text that
        is not a JSON list, show why next to the list and keep the rows."""
        try:
            values = json.loads(text or "[]")
        except json.JSONDecodeError as exc:
            self.show_error(f"not valid JSON: {exc.msg} (line {exc.lineno})")
            self.changed()
            return False
        if not isinstance(values, list):
            self.show_error("paste a JSON list, e.g. [1, 2, 3]")
            self.changed()
            return False
        self.show_error(None)
        self.write(values)
        return True

    def read(self) -> Any:
        # An empty row stays in its place (None) so later rows keep their paths.
        return [None if value is EMPTY else value
                for value in (item.read() for item in self.items)]

    def write(self, value: Any) -> None:
        if not isinstance(value, (list, tuple)):
            return
        self.items = []
        for v in value:
            self.items.append(self._new_item(v))
        self.changed(structure=True)

    def inputs(self) -> dict[str, Field]:
        out: dict[str, Field] = {self.path: self}
        for item in self.items:
            out.update(item.inputs())
        return out

    def children(self) -> list[Field]:
        return list(self.items)

    def spec(self) -> dict[str, Any]:
        out = super().spec()
        out["items"] = [item.spec() for item in self.items]
        out["add_label"], out["load_label"] = ADD_LABEL, LOAD_LABEL
        return out

    def __repr__(self) -> str:
        return f"<list field {self.path!r}: {self.rows} rows>"


# -- small helpers -----------------------------------------------------------------------


def _parse_number(text: Any, number_type: type) -> Any:
    if not isinstance(text, str):
        return text
    stripped = text.strip()
    if not stripped:
        return None
    for kind in ((int,) if number_type is int else (int, float)):
        try:
            return kind(stripped)
        except ValueError:
            continue
    return text


def _parse_json(text: Any, path: str) -> Any:
    if not isinstance(text, str) or not text.strip():
        return EMPTY
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FieldInputError(path, f"not valid JSON: {exc.msg} (line {exc.lineno})") \
            from None


def _describe_constraints(c: Mapping[str, Any]) -> str:
    parts = []
    for key, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
        if key in c:
            parts.append(f"{sign} {c[key]}")
    if "multiple_of" in c:
        parts.append(f"a multiple of {c['multiple_of']}")
    if "min_length" in c and "max_length" in c:
        parts.append(f"{c['min_length']}–{c['max_length']} long")
    elif "min_length" in c:
        parts.append(f"at least {c['min_length']} long")
    elif "max_length" in c:
        parts.append(f"at most {c['max_length']} long")
    if "pattern" in c:
        parts.append(f"matches {c['pattern']}")
    return ", ".join(parts)


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit - 1] + "…"
