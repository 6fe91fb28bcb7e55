"""Form fields generated from a pydantic schema: one implementation for resume and input forms.

:func:`build_fields` reads what pydantic already knows about a schema (a model's
``model_fields``: annotations, defaults, titles, descriptions, constraints) and returns a tree
of :class:`Field` objects (defined in :mod:`flownb.notebook._inputs`): plain Python, which a
form (one anywidget widget, :mod:`flownb.notebook.forms`) sends to the browser as JSON.
Paths are pydantic's error locations joined with dots (``"reviewer.name"``, ``"tags.1"``),
so validation errors land next to the input that caused them.

===========================  =============================================================
annotation                   input (its ``kind``)
===========================  =============================================================
``str``                      ``text`` (``textarea`` when ``max_length > 200`` or
                             ``json_schema_extra={"format": "textarea"}``)
``int`` / ``float``          ``number``: a text box holding a number or nothing; bounds
                             shown beside it and checked by pydantic on submit (never
                             clamped silently)
``bool``                     ``checkbox`` with a default; ``yesno`` (*yes* / *no* buttons,
                             neither pressed) when required
``Literal[...]`` / ``Enum``  ``dropdown`` (nothing chosen when required)
``date`` / ``datetime``      ``date``: text with the ISO format as placeholder
``list[X]``                  ``list``: one row per item with remove buttons, an *add item*
                             button and a *load JSON* box
nested model                 ``group``: a titled group of its fields
``X | None``                 ``optional``: the input for ``X`` and a *set* toggle (on as
                             soon as you type)
anything else                ``json``: a JSON text area
===========================  =============================================================

Nothing is invented: a required field starts empty (``None``, or ``""`` in a text box) and
is marked with ``*``; a field with a default shows it, unless the default breaks the field's
own constraints (``Field(0, ge=1)``), which makes the field required. An empty field is
left out of :meth:`Field.read` (``EMPTY``), so pydantic applies the default or reports
"Field required"; :meth:`Field.missing` lists the empty fields that must be filled.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ._inputs import (
    ADD_LABEL,
    EMPTY,
    LOAD_LABEL,
    REQUIRED_MARK,
    SCALAR_KINDS,
    Field,
    FieldInputError,
    ListField,
    ModelField,
    OptionalField,
    ScalarField,
    _short,
    error_html,
)

__all__ = ["ADD_LABEL", "EMPTY", "LOAD_LABEL", "REQUIRED_MARK", "SCALAR_KINDS", "Field",
           "FieldInputError", "ListField", "ModelField", "OptionalField", "ScalarField",
           "build_fields", "error_html"]

_LONG_TEXT = 200
_CONSTRAINTS = ("gt", "ge", "lt", "le", "multiple_of", "min_length", "max_length", "pattern")


# -- building ------------------------------------------------------------------------------


def build_fields(schema: Any, *, title: str = "value") -> Field:
    """The field tree for ``schema`` (a model class or any type pydantic validates).

    A model's fields sit at the top level (paths ``"name"``, ``"tags.0"``); any other type is
    one required field with the path ``""``.
    """
    if _is_model(schema):
        return _model_field(schema, "", title, None, top=True)
    return _field_for(schema, "", title, None, FieldInfo(), PydanticUndefined, required=True)


def _model_field(model: type[BaseModel], path: str, title: str, description: str | None,
                 *, top: bool = False) -> ModelField:
    fields, keys = [], []
    for name, info in model.model_fields.items():
        key = info.validation_alias if isinstance(info.validation_alias, str) else (
            info.alias or name)
        sub = f"{path}.{key}" if path else key
        fields.append(_field_for(info.annotation, sub, info.title or name, info.description,
                                 info, _default_of(info), required=info.is_required()))
        keys.append(key)
    if description is None and model.__doc__:
        description = _first_line(model.__doc__)
    return ModelField(path, title, description, fields, keys, top=top)


def _field_for(annotation: Any, path: str, title: str, description: str | None,
               info: FieldInfo, default: Any, *, required: bool,
               marked: bool | None = None) -> Field:
    annotation, metadata = _unwrap_annotated(annotation, list(info.metadata))
    constraints = _constraints(metadata)
    if _given(default) and default is not None and constraints \
            and not _accepts(annotation, metadata, default):
        # Field(0, ge=1): showing 0 would offer a value the field refuses; ask instead.
        default, required = PydanticUndefined, True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        rest = [a for a in args if a is not type(None)]
        if len(rest) < len(args) and len(rest) == 1:
            inner = _field_for(rest[0], path, title, description,
                               FieldInfo.from_annotation(rest[0]) if not metadata else
                               _with_metadata(metadata),
                               None if default is None else default, required=False)
            return OptionalField(inner, is_set=default not in (None, PydanticUndefined))
        return _json_field(path, title, description, constraints, default, required, marked)
    if origin is typing.Literal:
        return _choice(path, title, description, default, required, marked,
                       [(_short(c), c) for c in typing.get_args(annotation)])
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _choice(path, title, description, default, required, marked,
                       [(_enum_label(m), m) for m in annotation])
    if annotation is bool:
        if _given(default):
            return ScalarField(path, title, description, constraints, default,
                               kind="checkbox", start=bool(default))
        return _choice(path, title, description, default, True, marked,
                       [("yes", True), ("no", False)], buttons=True)
    if annotation in (int, float):
        start = default if _given(default) and isinstance(default, (int, float)) else None
        return ScalarField(path, title, description, constraints, default, kind="number",
                           start=start, number_type=annotation, required=required,
                           marked=marked)
    if annotation is str or annotation in (_dt.date, _dt.datetime, _dt.time):
        return _text_field(annotation, path, title, description, info, constraints, default,
                           required, marked)
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
            return _json_field(path, title, description, constraints, default, required,
                               marked)

        def make_item(item_path: str) -> Field:
            index = item_path.rsplit(".", 1)[-1]
            return _field_for(item_type, item_path, f"#{index}", None, FieldInfo(),
                              PydanticUndefined, required=True, marked=False)

        rows = list(default) if _given(default) and isinstance(default, (list, tuple, set,
                                                                         frozenset)) else []
        return ListField(path, title, description, constraints, rows, make_item)
    return _json_field(path, title, description, constraints, default, required, marked)


def _text_field(annotation: Any, path: str, title: str, description: str | None,
                info: FieldInfo, constraints: Mapping[str, Any], default: Any,
                required: bool, marked: bool | None) -> Field:
    start = "" if not _given(default) or default is None else str(
        default.isoformat() if hasattr(default, "isoformat") else default)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    long = (extra.get("format") in ("textarea", "multi-line")
            or (constraints.get("max_length") or 0) > _LONG_TEXT or "\n" in start)
    placeholder = {_dt.date: "YYYY-MM-DD", _dt.datetime: "YYYY-MM-DDTHH:MM:SS",
                   _dt.time: "HH:MM:SS"}.get(annotation, "")
    kind = "date" if annotation is not str else "textarea" if long else "text"
    return ScalarField(path, title, description, constraints, default, kind=kind, start=start,
                       placeholder=placeholder, required=required, marked=marked)


def _choice(path: str, title: str, description: str | None, default: Any, required: bool,
            marked: bool | None, options: list[tuple[str, Any]], *,
            buttons: bool = False) -> Field:
    """A dropdown (or yes/no buttons) showing the default, or nothing chosen."""
    values = [v for _, v in options]
    start = default if _given(default) and default in values else None
    return ScalarField(path, title, description, {}, default,
                       kind="yesno" if buttons else "dropdown", start=start, options=options,
                       required=required, marked=marked)


def _json_field(path: str, title: str, description: str | None,
                constraints: Mapping[str, Any], default: Any, required: bool,
                marked: bool | None) -> Field:
    start = "" if not _given(default) else json.dumps(default, indent=1, default=str)
    return ScalarField(path, title, description, constraints, default, kind="json",
                       start=start, placeholder="JSON", required=required, marked=marked)


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


def _accepts(annotation: Any, metadata: list[Any], value: Any) -> bool:
    """Whether ``value`` passes the field's own type and constraints (pydantic does not check
    defaults unless asked, so ``Field(0, ge=1)`` is allowed to exist)."""
    try:
        adapter: TypeAdapter[Any] = TypeAdapter(
            typing.Annotated[(annotation, *metadata)] if metadata else annotation)
    except Exception:  # a type pydantic cannot check alone: trust the default
        return True
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


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


def _enum_label(member: enum.Enum) -> str:
    return member.value if isinstance(member.value, str) else member.name


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
