"""Form fields generated from a pydantic schema: one implementation for resume and input forms.

:func:`build_fields` reads what pydantic already knows about a schema (a model's
``model_fields``: annotations, defaults, titles, descriptions, constraints) and returns a tree
of :class:`Field` objects, each owning its ipywidgets. Paths are pydantic's error locations
joined with dots (``"reviewer.name"``, ``"tags.1"``), so validation errors land next to the
input that caused them.

===========================  =============================================================
annotation                   input
===========================  =============================================================
``str``                      ``Text`` (``Textarea`` when ``max_length > 200`` or
                             ``json_schema_extra={"format": "textarea"}``)
``int`` / ``float``          ``IntText`` / ``FloatText``; bounds shown beside the input and
                             checked by pydantic on submit (never clamped silently)
``bool``                     ``Checkbox``
``Literal[...]`` / ``Enum``  ``Dropdown``
``list[X]``                  one row per item with remove buttons, an *add* button and a
                             *paste JSON* box
nested model                 a titled group of its fields
``X | None``                 the input for ``X`` and a *set* toggle (on as soon as you type)
anything else                a JSON ``Textarea``
===========================  =============================================================
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import ipywidgets as widgets
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .._text import escape_html
from ._widgets import close_tree

__all__ = ["Field", "FieldInputError", "build_fields", "error_html"]

_LONG_TEXT = 200
_CONSTRAINTS = ("gt", "ge", "lt", "le", "min_length", "max_length", "pattern")
_ERROR_STYLE = "color:#d93025;font-size:12px"
_HINT_STYLE = "color:#5f6368;font-size:12px"


class FieldInputError(ValueError):
    """A value a widget holds cannot even be handed to pydantic (JSON that does not parse)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or 'value'}: {message}")
        self.path = path
        self.message = message


def error_html(message: str) -> str:
    """An escaped one-line error, as shown under a field."""
    return f'<span class="flownb-error" style="{_ERROR_STYLE}">{escape_html(message)}</span>'


class Field(ABC):
    """One field of a form: its widgets, how to read and write its value, its errors."""

    def __init__(self, path: str, title: str, description: str | None,
                 constraints: Mapping[str, Any], default: Any,
                 error: widgets.HTML | None = None) -> None:
        self.path = path
        self.title = title
        self.description = description
        self.constraints = dict(constraints)
        self.default = default
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
        """The typed value the inputs hold now."""

    @abstractmethod
    def write(self, value: Any) -> None:
        """Show ``value`` in the inputs."""

    @abstractmethod
    def inputs(self) -> dict[str, widgets.Widget]:
        """Field path → the widget a person types into."""

    def children(self) -> list[Field]:
        return []

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
        label = widgets.HTML(value=f"<b>{escape_html(self.title)}</b>",
                             layout=widgets.Layout(width="160px", min_width="160px"))
        hint = self.hint()
        row = widgets.HBox([label, control, self.error])
        parts: list[widgets.Widget] = [row]
        if hint:
            parts.append(widgets.HTML(value=hint, layout=widgets.Layout(margin="0 0 0 164px")))
        box = widgets.VBox(parts)
        box.add_class("flownb-field")
        return box


class ScalarField(Field):
    """One input: text, number, checkbox or dropdown."""

    def __init__(self, path: str, title: str, description: str | None,
                 constraints: Mapping[str, Any], default: Any, control: widgets.Widget,
                 *, is_json: bool = False) -> None:
        super().__init__(path, title, description, constraints, default)
        self.control = control
        self.is_json = is_json
        self._box = self.labelled(control)

    @property
    def box(self) -> widgets.Widget:
        return self._box

    def read(self) -> Any:
        if self.is_json:
            return _parse_json(self.control.value, self.path)
        return self.control.value

    def write(self, value: Any) -> None:
        if isinstance(self.control, widgets.Dropdown):
            options = [v for _, v in self.control.options]
            if value in options:
                self.control.value = value
            return
        if self.is_json:
            self.control.value = "" if value is None else json.dumps(value, indent=1,
                                                                      default=str)
            return
        if isinstance(self.control, (widgets.Text, widgets.Textarea)):
            self.control.value = "" if value is None else str(value)
            return
        self.control.value = value

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
        self.toggle.value = True

    @property
    def box(self) -> widgets.Widget:
        return self._box

    def read(self) -> Any:
        return self.inner.read() if self.toggle.value else None

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
            border="none" if top else "1px solid #dadce0", padding="0" if top else "4px"))
        self._box.add_class("flownb-group")

    @property
    def box(self) -> widgets.Widget:
        return self._box

    def read(self) -> Any:
        return {key: field.read() for key, field in zip(self.keys, self.fields, strict=True)}

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
    """The widget of a list field: rows, *add*, and *paste JSON*. ``add()``/``remove(i)``
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
    """``list[X]``: one sub-field per item, ``path.0``, ``path.1`` …"""

    def __init__(self, path: str, title: str, description: str | None,
                 constraints: Mapping[str, Any], default: Any,
                 make_item: Callable[[str], Field]) -> None:
        super().__init__(path, title, description, constraints, default)
        self.make_item = make_item
        self.items: list[Field] = []
        self.rows_box = widgets.VBox([])
        add = widgets.Button(description="add", icon="plus", layout=widgets.Layout(width="80px"))
        add.add_class("flownb-add-row")
        add.on_click(lambda _b: self.add())
        self.paste = widgets.Textarea(placeholder="paste a JSON list here, then load",
                                      layout=widgets.Layout(width="320px", height="56px"))
        load = widgets.Button(description="load JSON", layout=widgets.Layout(width="96px"))
        load.on_click(lambda _b: self.load_pasted())
        self.control = ListInput(self, children=[
            self.rows_box, widgets.HBox([add, self.paste, load])])
        self.control.add_class("flownb-list")
        self._box = self.labelled(self.control)
        if isinstance(default, list):
            self.write(default)

    @property
    def box(self) -> widgets.Widget:
        return self._box

    def add(self, value: Any = PydanticUndefined) -> None:
        item = self.make_item(f"{self.path}.{len(self.items)}" if self.path
                              else str(len(self.items)))
        if value is not PydanticUndefined:
            item.write(value)
        self.items.append(item)
        self._redraw()

    def remove(self, index: int) -> None:
        values = [item.read() for item in self.items]
        del values[index]
        self.write(values)

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
        return [item.read() for item in self.items]

    def write(self, value: Any) -> None:
        if not isinstance(value, (list, tuple)):
            return
        for old in self.items:
            old.close()
        self.items = []
        for v in value:
            item = self.make_item(f"{self.path}.{len(self.items)}" if self.path
                                  else str(len(self.items)))
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


# -- building ------------------------------------------------------------------------------


def build_fields(schema: Any, *, title: str = "value") -> Field:
    """The field tree for ``schema`` (a model class or any type pydantic validates).

    A model's fields sit at the top level (paths ``"name"``, ``"tags.0"``); any other type is
    one field with the path ``""``.
    """
    if _is_model(schema):
        return _model_field(schema, "", title, None, top=True)
    return _field_for(schema, "", title, None, FieldInfo(), PydanticUndefined)


def _model_field(model: type[BaseModel], path: str, title: str, description: str | None,
                 *, top: bool = False) -> ModelField:
    fields, keys = [], []
    for name, info in model.model_fields.items():
        key = info.validation_alias if isinstance(info.validation_alias, str) else (
            info.alias or name)
        sub = f"{path}.{key}" if path else key
        fields.append(_field_for(info.annotation, sub, info.title or name, info.description,
                                 info, _default_of(info)))
        keys.append(key)
    if description is None and model.__doc__:
        description = _first_line(model.__doc__)
    return ModelField(path, title, description, fields, keys, top=top)


def _field_for(annotation: Any, path: str, title: str, description: str | None,
               info: FieldInfo, default: Any) -> Field:
    annotation, metadata = _unwrap_annotated(annotation, list(info.metadata))
    constraints = _constraints(metadata)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        rest = [a for a in args if a is not type(None)]
        if len(rest) < len(args) and len(rest) == 1:
            inner = _field_for(rest[0], path, title, description,
                               FieldInfo.from_annotation(rest[0]) if not metadata else
                               _with_metadata(metadata),
                               None if default is None else default)
            return OptionalField(inner, is_set=default not in (None, PydanticUndefined))
        return _json_field(path, title, description, constraints, default)
    if origin is typing.Literal:
        choices = list(typing.get_args(annotation))
        return _dropdown(path, title, description, default,
                         [(_short(c), c) for c in choices])
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _dropdown(path, title, description, default,
                         [(_enum_label(m), m) for m in annotation])
    if annotation is bool:
        control = widgets.Checkbox(value=bool(default) if _given(default) else False,
                                   indent=False)
        return ScalarField(path, title, description, constraints, default, control)
    if annotation in (int, float):
        kind = widgets.IntText if annotation is int else widgets.FloatText
        start = default if _given(default) and isinstance(default, (int, float)) else 0
        control = kind(value=start, layout=widgets.Layout(width="160px"))
        return ScalarField(path, title, description, constraints, default, control)
    if annotation is str or annotation in (_dt.date, _dt.datetime, _dt.time):
        return _text_field(annotation, path, title, description, info, constraints, default)
    if _is_model(annotation):
        field = _model_field(annotation, path, title, description)
        if _given(default):
            field.write(default)
        return field
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set):
        args = typing.get_args(annotation)
        item_type = args[0] if args and (origin is not tuple or
                                         (len(args) == 2 and args[1] is Ellipsis)) else Any
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return _json_field(path, title, description, constraints, default)

        def make_item(item_path: str) -> Field:
            index = item_path.rsplit(".", 1)[-1]
            return _field_for(item_type, item_path, f"#{index}", None, FieldInfo(),
                              PydanticUndefined)

        rows = list(default) if _given(default) and isinstance(default, (list, tuple, set,
                                                                         frozenset)) else []
        return ListField(path, title, description, constraints, rows, make_item)
    return _json_field(path, title, description, constraints, default)


def _text_field(annotation: Any, path: str, title: str, description: str | None,
                info: FieldInfo, constraints: Mapping[str, Any], default: Any) -> Field:
    start = "" if not _given(default) or default is None else str(
        default.isoformat() if hasattr(default, "isoformat") else default)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    long = (extra.get("format") in ("textarea", "multi-line")
            or (constraints.get("max_length") or 0) > _LONG_TEXT or "\n" in start)
    placeholder = {_dt.date: "YYYY-MM-DD", _dt.datetime: "YYYY-MM-DDTHH:MM:SS",
                   _dt.time: "HH:MM:SS"}.get(annotation, "")
    if long:
        control: widgets.Widget = widgets.Textarea(
            value=start, placeholder=placeholder, layout=widgets.Layout(width="360px",
                                                                        height="80px"))
    else:
        control = widgets.Text(value=start, placeholder=placeholder,
                               layout=widgets.Layout(width="280px"))
    return ScalarField(path, title, description, constraints, default, control)


def _dropdown(path: str, title: str, description: str | None, default: Any,
              options: list[tuple[str, Any]]) -> Field:
    values = [v for _, v in options]
    start = default if _given(default) and default in values else values[0]
    control = widgets.Dropdown(options=options, value=start,
                               layout=widgets.Layout(width="220px"))
    return ScalarField(path, title, description, {}, default, control)


def _json_field(path: str, title: str, description: str | None,
                constraints: Mapping[str, Any], default: Any) -> Field:
    start = "" if not _given(default) else json.dumps(default, indent=1, default=str)
    control = widgets.Textarea(value=start, placeholder="JSON",
                               layout=widgets.Layout(width="360px", height="64px"))
    return ScalarField(path, title, description, constraints, default, control, is_json=True)


def _parse_json(text: Any, path: str) -> Any:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FieldInputError(path, f"not valid JSON: {exc.msg} (line {exc.lineno})") \
            from None


# -- small helpers --------------------------------------------------------------------------


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _given(default: Any) -> bool:
    return default is not PydanticUndefined


def _default_of(info: FieldInfo) -> Any:
    if info.default is not PydanticUndefined:
        return info.default
    if info.default_factory is not None:
        try:
            return info.get_default(call_default_factory=True, validated_data={})
        except Exception:  # a factory that needs other fields: show no default
            return PydanticUndefined
    return PydanticUndefined


def _unwrap_annotated(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        annotation = args[0]
        for extra in args[1:]:
            metadata.extend(extra.metadata if isinstance(extra, FieldInfo) else [extra])
    return annotation, metadata


def _with_metadata(metadata: list[Any]) -> FieldInfo:
    info = FieldInfo()
    info.metadata = list(metadata)
    return info


def _constraints(metadata: list[Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for meta in metadata:
        for name in _CONSTRAINTS:
            value = getattr(meta, name, None)
            if value is not None:
                found[name] = value
    return found


def _describe_constraints(c: Mapping[str, Any]) -> str:
    parts = []
    for key, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
        if key in c:
            parts.append(f"{sign} {c[key]}")
    if "min_length" in c and "max_length" in c:
        parts.append(f"{c['min_length']}–{c['max_length']} long")
    elif "min_length" in c:
        parts.append(f"at least {c['min_length']} long")
    elif "max_length" in c:
        parts.append(f"at most {c['max_length']} long")
    if "pattern" in c:
        parts.append(f"matches {c['pattern']}")
    return ", ".join(parts)


def _enum_label(member: enum.Enum) -> str:
    return member.value if isinstance(member.value, str) else member.name


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
