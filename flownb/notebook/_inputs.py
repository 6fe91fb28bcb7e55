"""The inputs of a form field: the :class:`Field` tree and the widgets it owns.

:mod:`flownb.notebook.fields` builds these from a pydantic schema. A field reads its
widgets' values (:meth:`Field.read`, ``EMPTY`` when nothing is filled in), writes values
into them, lists its required fields still empty (:meth:`Field.missing`) and shows its
error next to itself.
"""

from __future__ import annotations

import datetime as _dt
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import ipywidgets as widgets
import traitlets
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .._text import escape_html
from ._widgets import close_tree

__all__ = ["EMPTY", "REQUIRED_MARK", "Field", "FieldInputError", "ListField", "ModelField",
           "NumberText", "OptionalField", "ScalarField", "error_html"]

_ERROR_STYLE = "color:var(--jp-error-color1,#d93025);font-size:12px"
_HINT_STYLE = "color:var(--jp-ui-font-color2,#5f6368);font-size:12px"
REQUIRED_MARK = ('<span class="flownb-required" title="required" '
                 'style="color:var(--jp-error-color1,#d93025)">*</span>')
"""The marker shown after the title of a field that must be filled."""


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
    """A value a widget holds cannot even be handed to pydantic (JSON that does not parse)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or 'value'}: {message}")
        self.path = path
        self.message = message


def error_html(message: str) -> str:
    """An escaped one-line error, as shown under a field."""
    return f'<span class="flownb-error" style="{_ERROR_STYLE}">{escape_html(message)}</span>'


# -- a number box that can be empty ------------------------------------------------------


def _number_to_json(value: Any, _widget: Any) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def _number_from_json(text: Any, widget: Any) -> Any:
    """What the browser sent, as a number when it is one written plainly (``"12"``), else as
    it was typed (``"1."`` while typing ``1.5``, ``"abc"``, which pydantic will refuse):
    sending back a rewritten text would move the cursor under the person's fingers."""
    if not isinstance(text, str):
        return text
    if not text:
        return None
    number = _parse_number(text, widget.number_type)
    return number if _number_to_json(number, widget) == text else text


def _parse_number(text: str, number_type: type) -> Any:
    stripped = text.strip()
    if not stripped:
        return None
    for kind in ((int,) if number_type is int else (int, float)):
        try:
            return kind(stripped)
        except ValueError:
            continue
    return text


class NumberText(widgets.Text):  # type: ignore[misc]
    """A number input that can be empty: ``value`` is an ``int`` or ``float``, ``None``
    (nothing typed) or the text as typed when it is not a number yet (pydantic says why).

    The browser shows an ordinary text box (ipywidgets' number boxes cannot be empty: they
    show and submit 0)."""

    value = traitlets.Union(
        [traitlets.Int(), traitlets.Float(), traitlets.Unicode()], allow_none=True,
        default_value=None, help="the number, None when empty, or the text as typed",
    ).tag(sync=True, to_json=_number_to_json, from_json=_number_from_json)

    def __init__(self, *, number_type: type = float, **kwargs: Any) -> None:
        self.number_type = number_type
        kwargs.setdefault("placeholder", "whole number" if number_type is int else "number")
        super().__init__(**kwargs)

    def number(self) -> Any:
        """The value as a number (``int`` or ``float``), ``None`` when empty, or the text
        as typed when it is not a number."""
        value = self.value
        if isinstance(value, str):
            value = _parse_number(value, self.number_type)
        if self.number_type is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value


# -- fields -------------------------------------------------------------------------------


class Field(ABC):
    """One field of a form: its widgets, how to read and write its value, its errors.

    ``required`` fields must be filled: empty, they are listed by :meth:`missing` and
    marked ``*`` beside their title.
    """

    def __init__(self, path: str, title: str, description: str | None,
                 constraints: Mapping[str, Any], default: Any,
                 error: widgets.HTML | None = None, *, required: bool = False,
                 marked: bool | None = None) -> None:
        self.path = path
        self.title = title
        self.description = description
        self.constraints = dict(constraints)
        self.default = default
        self.required = required
        self.marked = required if marked is None else marked
        if error is None:
            error = widgets.HTML(value="", layout=widgets.Layout(margin="0 0 0 4px"))
            error.add_class("flownb-field-error")
        self.error = error

    # -- what subclasses provide ------------------------------------------------------------

    @property
    @abstractmethod
    def box(self) -> widgets.Widget:
        """The widget that shows the whole field."""

    @abstractmethod
    def read(self) -> Any:
        """The typed value the inputs hold now, or ``EMPTY`` when nothing is filled in."""

    @abstractmethod
    def write(self, value: Any) -> None:
        """Show ``value`` in the inputs (``None`` empties a field that can be empty)."""

    @abstractmethod
    def inputs(self) -> dict[str, widgets.Widget]:
        """Field path → the widget a person types into."""

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

    def close(self) -> None:
        """Close the field's widgets: ipywidgets keeps every open one for the kernel's life."""
        for child in self.children():
            child.close()
        for widget in (self.box, self.error):
            close_tree(widget)
            widget.close()

    def show_error(self, message: str | None) -> None:
        self.error.value = error_html(message) if message else ""

    def hint(self) -> str:
        """Description, constraints and default, escaped, for the line under the input."""
        parts = []
        if self.description:
            parts.append(escape_html(self.description))
        bounds = _describe_constraints(self.constraints)
        if bounds:
            parts.append(escape_html(bounds))
        if self.default not in (PydanticUndefined, None, "") \
                and not isinstance(self.default, (BaseModel, list, dict)):
            parts.append("default: " + escape_html(_short(self.default)))
        if not parts:
            return ""
        return f'<span style="{_HINT_STYLE}">{" · ".join(parts)}</span>'

    def labelled(self, control: widgets.Widget) -> widgets.Widget:
        # The title is the <b> alone (a page finds a field by its title's exact text).
        title = f"<b>{escape_html(self.title)}</b>" + (REQUIRED_MARK if self.marked else "")
        label = widgets.HTML(value=title,
                             layout=widgets.Layout(width="160px", min_width="160px"))
        hint = self.hint()
        row = widgets.HBox([label, control, self.error])
        parts: list[widgets.Widget] = [row]
        if hint:
            parts.append(widgets.HTML(value=hint, layout=widgets.Layout(margin="0 0 0 164px")))
        box = widgets.VBox(parts)
        box.add_class("flownb-field")
        if self.marked:
            box.add_class("flownb-field-required")
        return box


class ScalarField(Field):
    """One input: text, number, checkbox, yes/no, dropdown or JSON text.

    ``kind`` says how its widget's value reads: ``"text"`` (``""`` is empty), ``"date"``
    (stripped; blank is empty), ``"number"``, ``"choice"`` (``None`` is empty; a checkbox
    never is) or ``"json"`` (parsed; blank is empty).
    """

    def __init__(self, path: str, title: str, description: str | None,
                 constraints: Mapping[str, Any], default: Any, control: widgets.Widget,
                 *, kind: str = "text", required: bool = False,
                 marked: bool | None = None) -> None:
        super().__init__(path, title, description, constraints, default, required=required,
                         marked=marked)
        self.control = control
        self.kind = kind
        self._box = self.labelled(control)

    @property
    def is_json(self) -> bool:
        return self.kind == "json"

    @property
    def box(self) -> widgets.Widget:
        return self._box

    def read(self) -> Any:
        value = self.control.value
        if self.kind == "json":
            return _parse_json(value, self.path)
        if self.kind == "number":
            number = self.control.number()
            return EMPTY if number is None else number
        if self.kind == "date":
            return value.strip() or EMPTY
        if value is None or value == "":
            return EMPTY
        return value

    def is_empty(self) -> bool:
        try:
            return self.read() is EMPTY
        except FieldInputError:
            return False

    def write(self, value: Any) -> None:
        control = self.control
        if isinstance(control, (widgets.Dropdown, widgets.ToggleButtons)):
            options = [v for _, v in control.options]
            if value is None or value in options:
                control.value = value
            return
        if self.kind == "json":
            control.value = "" if value is None else json.dumps(value, indent=1, default=str)
            return
        if isinstance(control, NumberText):
            control.value = value
            return
        if isinstance(control, (widgets.Text, widgets.Textarea)):
            control.value = "" if value is None else str(
                value.isoformat() if isinstance(value, (_dt.date, _dt.time)) else value)
            return
        control.value = bool(value)

    def inputs(self) -> dict[str, widgets.Widget]:
        return {self.path: self.control}


class OptionalField(Field):
    """``X | None``: the input for ``X`` and a toggle saying whether a value is set."""

    def __init__(self, inner: Field, *, is_set: bool) -> None:
        super().__init__(inner.path, inner.title, inner.description, inner.constraints,
                         inner.default, error=inner.error)  # errors show on the inner line
        self.inner = inner
        self.toggle = widgets.Checkbox(value=is_set, description="set", indent=False,
                                       layout=widgets.Layout(width="56px"))
        self.toggle.add_class("flownb-set-toggle")
        for control in inner.inputs().values():
            control.observe(self._typed, names="value")
        self._box = widgets.HBox([self.toggle, inner.box])

    def _typed(self, _change: Any) -> None:
        # Typing sets the value; emptying a one-input field unsets it again.
        self.toggle.value = not (isinstance(self.inner, ScalarField) and self.inner.is_empty())

    @property
    def box(self) -> widgets.Widget:
        return self._box

    def read(self) -> Any:
        if not self.toggle.value:
            return None
        value = self.inner.read()
        return None if value is EMPTY else value

    def write(self, value: Any) -> None:
        if value is None:
            self.toggle.value = False
            return
        self.inner.write(value)
        self.toggle.value = True

    def inputs(self) -> dict[str, widgets.Widget]:
        return self.inner.inputs()

    def children(self) -> list[Field]:
        return self.inner.children()

    def missing(self) -> list[str]:
        return self.inner.missing() if self.toggle.value else []


class ModelField(Field):
    """A pydantic model: a titled group holding one field per model field."""

    def __init__(self, path: str, title: str, description: str | None, fields: list[Field],
                 keys: list[str], *, top: bool = False) -> None:
        super().__init__(path, title, description, {}, PydanticUndefined)
        self.fields = fields
        self.keys = keys
        parts: list[widgets.Widget] = []
        if not top:
            heading = f"<b>{escape_html(title)}</b>"
            if description:
                heading += f' <span style="{_HINT_STYLE}">{escape_html(description)}</span>'
            parts.append(widgets.HBox([widgets.HTML(value=heading), self.error]))
        parts.extend(f.box for f in fields)
        self._box = widgets.VBox(parts, layout=widgets.Layout(
            margin="0" if top else "4px 0 4px 12px",
            border="none" if top else "1px solid var(--jp-border-color2,#dadce0)",
            padding="0" if top else "4px"))
        self._box.add_class("flownb-group")

    @property
    def box(self) -> widgets.Widget:
        return self._box

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

    def inputs(self) -> dict[str, widgets.Widget]:
        out: dict[str, widgets.Widget] = {}
        for field in self.fields:
            out.update(field.inputs())
        return out

    def children(self) -> list[Field]:
        return list(self.fields)


class ListInput(widgets.VBox):  # type: ignore[misc]
    """The widget of a list field: rows, *add item*, and *paste JSON*. ``add()``/``remove(i)``
    work from code too (``form.fields["tags"].add()``)."""

    def __init__(self, owner: ListField, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._owner = owner

    def add(self, value: Any = PydanticUndefined) -> None:
        self._owner.add(value)

    def remove(self, index: int) -> None:
        self._owner.remove(index)

    @property
    def rows(self) -> int:
        return len(self._owner.items)


class ListField(Field):
    """``list[X]``: one sub-field per item, ``path.0``, ``path.1`` …

    A list with no rows is the empty list (``min_length`` says when that is not enough);
    each row is required: an empty one is "Field required" on submit."""

    def __init__(self, path: str, title: str, description: str | None,
                 constraints: Mapping[str, Any], default: Any,
                 make_item: Callable[[str], Field]) -> None:
        super().__init__(path, title, description, constraints, default)
        self.make_item = make_item
        self.items: list[Field] = []
        self.rows_box = widgets.VBox([])
        # Buttons size to their text and never shrink below it (a fixed width cut "add" and
        # "load JSON" to "+ …"); the paste box gives way instead.
        add = widgets.Button(description="add item", icon="plus", tooltip="add a row",
                             layout=widgets.Layout(width="auto", flex="0 0 auto"))
        add.add_class("flownb-add-row")
        add.on_click(lambda _b: self.add())
        self.paste = widgets.Textarea(placeholder="or paste a JSON list here, then load it",
                                      layout=widgets.Layout(width="320px", height="56px",
                                                            min_width="120px",
                                                            flex="0 1 auto"))
        load = widgets.Button(description="load JSON", tooltip="replace the rows with the "
                              "pasted list", layout=widgets.Layout(width="auto",
                                                                   flex="0 0 auto"))
        load.add_class("flownb-load-json")
        load.on_click(lambda _b: self.load_pasted())
        self.buttons = (add, load)
        self.control = ListInput(self, children=[
            self.rows_box, widgets.HBox([add, self.paste, load])])
        self.control.add_class("flownb-list")
        self._box = self.labelled(self.control)
        if isinstance(default, list):
            self.write(default)

    @property
    def box(self) -> widgets.Widget:
        return self._box

    def _item_path(self, index: int) -> str:
        return f"{self.path}.{index}" if self.path else str(index)

    def add(self, value: Any = PydanticUndefined) -> None:
        item = self.make_item(self._item_path(len(self.items)))
        if value is not PydanticUndefined:
            item.write(value)
        self.items.append(item)
        self._redraw()

    def remove(self, index: int) -> None:
        values = [item.read() for item in self.items]
        del values[index]
        self.write([None if v is EMPTY else v for v in values])

    def load_pasted(self) -> None:
        try:
            values = json.loads(self.paste.value or "[]")
        except json.JSONDecodeError as exc:
            self.show_error(f"not valid JSON: {exc.msg} (line {exc.lineno})")
            return
        if not isinstance(values, list):
            self.show_error("paste a JSON list, e.g. [1, 2, 3]")
            return
        self.show_error(None)
        self.write(values)
        self.paste.value = ""

    def _redraw(self) -> None:
        for row in self.rows_box.children:  # the old rows' frames; the items close apart
            *_, remove = row.children
            close_tree(remove)
            remove.close()
            row.layout.close()
            row.close()
        rows = []
        for i, item in enumerate(self.items):
            remove = widgets.Button(description="", icon="trash", tooltip=f"remove item {i}",
                                    layout=widgets.Layout(width="36px"))
            remove.add_class("flownb-remove-row")
            remove.on_click(lambda _b, i=i: self.remove(i))
            rows.append(widgets.HBox([item.box, remove]))
        self.rows_box.children = rows

    def read(self) -> Any:
        # An empty row stays in its place (None) so later rows keep their paths.
        return [None if value is EMPTY else value
                for value in (item.read() for item in self.items)]

    def write(self, value: Any) -> None:
        if not isinstance(value, (list, tuple)):
            return
        for old in self.items:
            old.close()
        self.items = []
        for v in value:
            item = self.make_item(self._item_path(len(self.items)))
            item.write(v)
            self.items.append(item)
        self._redraw()

    def inputs(self) -> dict[str, widgets.Widget]:
        out: dict[str, widgets.Widget] = {self.path: self.control}
        for item in self.items:
            out.update(item.inputs())
        return out

    def children(self) -> list[Field]:
        return list(self.items)


# -- small helpers -----------------------------------------------------------------------


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
