"""Asking for resume data on a terminal, one field of the resume schema at a time.

The fields come from pydantic's own description of the model (``model_fields``: annotation,
constraints, default, description, alias); each answer is validated on its own as it is
typed (re-asked until it fits), then the whole model is validated and any field it rejects
is asked again. A ``Literal``/``Enum`` field offers its choices, a ``bool`` asks y/n, a
nested model asks its own fields under a dotted name, a list of text-typed items (``list[str]``,
``set[int]``, …) is typed comma-separated or as JSON, and dicts and anything else structured
are typed as JSON. A field's bounds (``ge``, ``max_length``, ``pattern``, …) are shown beside
its type, before its description.

What a prompt shows from the schema (names, descriptions, defaults, choices) and the
validation messages are ``Text`` with control characters escaped; a choice with such a
character is typed as it is shown.
"""

from __future__ import annotations

import collections.abc
import datetime as dt
import decimal
import enum
import types
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Annotated, Any, Literal, TextIO, Union, cast, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from rich.console import Console
from rich.prompt import Confirm, Prompt
from rich.text import Text

from .._text import escape_controls
from ..core.schema import schema_name

__all__ = ["PromptField", "ask_resume_data", "choose", "prompt_fields"]

# Types typed as plain text and parsed by pydantic (``validate_strings``).
_TEXT_TYPES: tuple[type, ...] = (str, int, float, decimal.Decimal, dt.date, dt.datetime,
                                 dt.time, dt.timedelta, uuid.UUID, PurePath)
# Collections whose text-typed items may be typed comma-separated (``news, tech``).
_LIST_TYPES: tuple[Any, ...] = (list, set, frozenset, collections.abc.Sequence,
                                collections.abc.Set, collections.abc.MutableSequence)
_LIST_HINT = "comma-separated or JSON"


class _Default(str):
    """The default shown in a prompt; returned by rich, unchanged, for an empty answer."""


@dataclass
class PromptField:
    """One question: a (possibly dotted) field path and how to ask and check it."""

    path: str
    keys: tuple[str, ...]  # where the answer goes in the assembled data
    annotation: Any  # what one answer is validated against (constraints included)
    kind: str  # "bool" | "choice" | "text" | "list" | "json"
    type_name: str
    required: bool = True
    default: Any = None
    description: str | None = None
    choices: list[tuple[str, Any]] = field(default_factory=list)
    nullable: bool = False
    bounds: str = ""  # the field's constraints, as shown: "≥ 1, ≤ 5"

    def adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.annotation)


_USE_DEFAULT = object()


def prompt_fields(schema: Any) -> list[PromptField]:
    """The questions for ``schema``: one per field of a model (nested models flattened
    under dotted paths), or one for a schema that is not a model."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return _model_fields(schema, (), "")
    kind, inner, nullable, choices = _classify(schema)
    if kind == "model":
        kind = "json"
    return [PromptField(path="value", keys=(), annotation=schema, kind=kind,
                        type_name=_type_name(inner, kind, choices), nullable=nullable,
                        choices=choices, bounds=_bounds(_annotated_metadata(schema), inner))]


def _model_fields(model: type[BaseModel], keys: tuple[str, ...], prefix: str
                  ) -> list[PromptField]:
    out: list[PromptField] = []
    for name, info in model.model_fields.items():
        key = info.validation_alias if isinstance(info.validation_alias, str) \
            else info.alias or name
        path = f"{prefix}{key}"
        kind, inner, nullable, choices = _classify(info.annotation)
        if kind == "model":
            out.extend(_model_fields(inner, (*keys, key), path + "."))
            continue
        annotation = (Annotated[(info.annotation, *info.metadata)] if info.metadata
                      else info.annotation)
        required = info.is_required()
        out.append(PromptField(
            path=path, keys=(*keys, key), annotation=annotation, kind=kind,
            type_name=_type_name(inner, kind, choices), required=required,
            default=None if required else info.get_default(call_default_factory=True),
            description=info.description, choices=choices, nullable=nullable,
            bounds=_bounds([*_annotated_metadata(info.annotation), *info.metadata], inner)))
    return out


def _classify(annotation: Any) -> tuple[str, Any, bool, list[tuple[str, Any]]]:
    """(kind, the annotation without ``None``/``Annotated``, nullable, choices)."""
    nullable = False
    ann = annotation
    if get_origin(ann) is Annotated:
        ann = get_args(ann)[0]
    if get_origin(ann) in (Union, types.UnionType):
        args = get_args(ann)
        rest = [a for a in args if a is not type(None)]
        nullable = len(rest) < len(args)
        if len(rest) != 1:
            return "json", ann, nullable, []
        ann = rest[0]
        if get_origin(ann) is Annotated:
            ann = get_args(ann)[0]
    if get_origin(ann) is Literal:
        return "choice", ann, nullable, [(_shown(v), v) for v in get_args(ann)]
    if isinstance(ann, type) and issubclass(ann, enum.Enum):
        return "choice", ann, nullable, [(_shown(m.value), m) for m in ann]
    if ann is bool and not nullable:
        return "bool", ann, nullable, []
    if isinstance(ann, type) and issubclass(ann, BaseModel) and not nullable:
        return "model", ann, nullable, []
    if isinstance(ann, type) and issubclass(ann, _TEXT_TYPES) and ann is not bool:
        return "text", ann, nullable, []
    if _is_text_list(ann):
        return "list", ann, nullable, []
    return "json", ann, nullable, []


def _is_text_list(ann: Any) -> bool:
    """A list (set, sequence, ``tuple[X, ...]``) of text-typed or choice items."""
    args = get_args(ann)
    if get_origin(ann) is tuple:
        if len(args) != 2 or args[1] is not Ellipsis:
            return False
    elif get_origin(ann) not in _LIST_TYPES or len(args) != 1:
        return False
    kind, _, nullable, _ = _classify(args[0])
    return kind in ("text", "choice") and not nullable


def _shown(value: Any) -> str:
    """A choice as shown, and as typed to pick it."""
    return escape_controls(value if isinstance(value, str) else str(value))


def _type_name(ann: Any, kind: str, choices: list[tuple[str, Any]]) -> str:
    if kind == "choice":
        return ann.__name__ if isinstance(ann, type) else "choice"
    name = schema_name(ann)  # bare class names, as `flownb show` prints them
    if kind == "list":
        return f"{name}, {_LIST_HINT}"
    return f"{name}, as JSON" if kind == "json" else name


def _annotated_metadata(annotation: Any) -> list[Any]:
    """The metadata of ``Annotated[...]`` around ``annotation`` or its one non-None arm."""
    found: list[Any] = []
    ann = annotation
    if get_origin(ann) in (Union, types.UnionType):
        rest = [a for a in get_args(ann) if a is not type(None)]
        ann = rest[0] if len(rest) == 1 else None
    while get_origin(ann) is Annotated:
        args = get_args(ann)
        for extra in args[1:]:
            found.extend(getattr(extra, "metadata", None) or [extra])
        ann = args[0]
    return found


def _bounds(metadata: Iterable[Any], ann: Any) -> str:
    """Constraints as shown beside the type: ``≥ 1, ≤ 5``, ``2–40 characters``, …"""
    found: dict[str, Any] = {}
    for meta in metadata:
        for name in ("gt", "ge", "lt", "le", "multiple_of", "min_length", "max_length",
                     "pattern"):
            value = getattr(meta, name, None)
            if value is not None:
                found.setdefault(name, value)
    parts = [f"{sign} {found[key]}" for key, sign in
             (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")) if key in found]
    if "multiple_of" in found:
        parts.append(f"a multiple of {found['multiple_of']}")
    unit = "characters" if isinstance(ann, type) and issubclass(ann, str) else "items"
    low, high = found.get("min_length"), found.get("max_length")
    if low is not None and high is not None:
        parts.append(f"{low}–{high} {unit}")
    elif low is not None:
        parts.append(f"at least {low} {unit[:-1] if low == 1 else unit}")
    elif high is not None:
        parts.append(f"at most {high} {unit[:-1] if high == 1 else unit}")
    if "pattern" in found:
        parts.append(f"matching {found['pattern']}")
    return ", ".join(parts)


# -- asking ---------------------------------------------------------------------------------------


def ask_resume_data(schema: Any, console: Console, *, stream: TextIO | None = None) -> Any:
    """Ask for every field of ``schema`` and return data that validates against it.

    ``stream`` reads the answers from a file instead of the terminal (for tests).
    """
    if stream is not None:
        stream = cast(TextIO, _Lines(stream))
    fields = prompt_fields(schema)
    answers: dict[str, Any] = {}
    for f in fields:
        answers[f.path] = _ask(f, console, stream)
    adapter: TypeAdapter[Any] = TypeAdapter(schema)
    while True:
        data = _assemble(fields, answers)
        try:
            adapter.validate_python(data)
        except ValidationError as exc:
            again = _fields_to_ask_again(fields, exc, console)
            for f in again:
                answers[f.path] = _ask(f, console, stream)
            continue
        return data


class _Lines:
    """Answers read from a file, one a line, ``EOFError`` at its end: what ``input()`` does
    on a terminal (rich's own ``stream=`` keeps the newline and never ends)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def readline(self) -> str:
        line = self.stream.readline()
        if not line:
            raise EOFError("no more answers")
        return line.rstrip("\r\n")


def _assemble(fields: Sequence[PromptField], answers: dict[str, Any]) -> Any:
    if len(fields) == 1 and not fields[0].keys:
        value = answers[fields[0].path]
        return None if value is _USE_DEFAULT else value
    data: dict[str, Any] = {}
    for f in fields:
        value = answers[f.path]
        if value is _USE_DEFAULT:
            continue  # pydantic applies the default
        target = data
        for key in f.keys[:-1]:
            target = target.setdefault(key, {})
        target[f.keys[-1]] = value
    return data


def _fields_to_ask_again(fields: Sequence[PromptField], exc: ValidationError,
                         console: Console) -> list[PromptField]:
    again: list[PromptField] = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ()))
        _say_invalid(console, loc or "(all fields)", err.get("msg", "invalid"))
        matched = [f for f in fields if loc == f.path or loc.startswith(f.path + ".")
                   or (not f.keys and not loc)]
        for f in matched or fields:
            if f not in again:
                again.append(f)
    return again


def _ask(f: PromptField, console: Console, stream: TextIO | None) -> Any:
    """One field, re-asked until its answer validates on its own."""
    shown_type = f.type_name + (f", {f.bounds}" if f.bounds else "")
    prompt = Text.assemble((escape_controls(f.path), "bold"),
                           (f" ({escape_controls(shown_type)})", "dim"))
    if f.description:
        prompt.append(f" {escape_controls(f.description)}", style="italic")
    default: Any = ...
    if not f.required:
        default = f.default if f.kind == "bool" else _Default(_default_text(f))
    elif f.nullable:
        prompt.append(" (empty for none)", style="dim")
    adapter = f.adapter()
    while True:
        if f.kind == "bool":
            return Confirm.ask(prompt, console=console, default=default, stream=stream)
        if f.kind == "choice":
            shown = [s for s, _ in f.choices]
            answer = Prompt.ask(prompt, console=console, choices=shown, default=default,
                                stream=stream)
            if isinstance(answer, _Default):
                return _USE_DEFAULT
            return dict(f.choices)[answer]
        answer = Prompt.ask(prompt, console=console, default=default, stream=stream)
        if isinstance(answer, _Default):
            return _USE_DEFAULT
        if answer == "" and f.nullable:
            return None
        where = f.path
        try:
            if f.kind == "json" or (f.kind == "list" and answer.lstrip().startswith("[")):
                return adapter.validate_json(answer)
            if f.kind == "list":
                return _validate_items(f, adapter, answer)
            return adapter.validate_strings(answer)
        except _ItemError as exc:
            where, error = f"{f.path}.{exc.index}", exc.error
        except ValidationError as exc:
            error = exc
        err = error.errors(include_url=False)[0]
        inner = ".".join(str(p) for p in err.get("loc", ()))
        _say_invalid(console, where + (f".{inner}" if inner else ""), err.get("msg", "invalid"))


class _ItemError(Exception):
    """Item ``index`` of a comma-separated answer did not validate."""

    def __init__(self, index: int, error: ValidationError) -> None:
        super().__init__(index, error)
        self.index, self.error = index, error


def _validate_items(f: PromptField, adapter: TypeAdapter[Any], answer: str) -> Any:
    """``news, tech`` → ``["news", "tech"]``, each item parsed from text as a text field is
    (``1, 2`` for ``list[int]``); an empty answer is an empty collection."""
    item = TypeAdapter(get_args(_bare(f.annotation))[0])
    texts = [text.strip() for text in answer.split(",")] if answer.strip() else []
    values = []
    for index, text in enumerate(texts):
        try:
            values.append(item.validate_strings(text))
        except ValidationError as exc:
            raise _ItemError(index, exc) from None
    return adapter.validate_python(values)  # the collection's own bounds and type


def _bare(annotation: Any) -> Any:
    """``annotation`` without ``Annotated`` and ``| None``."""
    ann = annotation
    while True:
        if get_origin(ann) is Annotated:
            ann = get_args(ann)[0]
        elif get_origin(ann) in (Union, types.UnionType):
            rest = [a for a in get_args(ann) if a is not type(None)]
            if len(rest) != 1:
                return ann
            ann = rest[0]
        else:
            return ann


def _default_text(f: PromptField) -> str:
    return escape_controls(_default_value_text(f))


def _default_value_text(f: PromptField) -> str:
    value = f.default
    if value is None:
        return "none"
    if isinstance(value, enum.Enum):
        value = value.value
    if f.kind == "choice" or isinstance(value, str):
        return str(value)
    try:
        return TypeAdapter(Any).dump_json(value).decode()
    except Exception:
        return repr(value)


def _say_invalid(console: Console, path: str, message: str) -> None:
    console.print(Text.assemble(("  ✗ ", "bold red"), (escape_controls(path), "bold"),
                                f": {escape_controls(str(message))}"),
                  highlight=False)


def choose(console: Console, question: str, options: Sequence[str], *,
           stream: TextIO | None = None) -> str:
    """Ask the user to pick one of ``options`` (typed as shown: control characters
    escaped)."""
    lines = cast(TextIO, _Lines(stream)) if stream is not None else None
    shown = {escape_controls(o): o for o in options}
    answer = Prompt.ask(Text(escape_controls(question)), console=console, choices=list(shown),
                        stream=lines)
    return shown[str(answer)]
