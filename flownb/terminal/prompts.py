"""Asking for resume data on a terminal, one field of the resume schema at a time.

The fields come from pydantic's own description of the model (``model_fields``: annotation,
constraints, default, description, alias); each answer is validated on its own as it is
typed (re-asked until it fits), then the whole model is validated and any field it rejects
is asked again. A ``Literal``/``Enum`` field offers its choices, a ``bool`` asks y/n, a
nested model asks its own fields under a dotted name, and lists, dicts and anything else
structured are typed as JSON.

What a prompt shows from the schema (names, descriptions, defaults, choices) and the
validation messages are ``Text`` with control characters escaped; a choice with such a
character is typed as it is shown.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import types
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Annotated, Any, Literal, TextIO, Union, cast, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from rich.console import Console
from rich.prompt import Confirm, Prompt
from rich.text import Text

from .._text import escape_controls

__all__ = ["PromptField", "ask_resume_data", "choose", "prompt_fields"]

# Types typed as plain text and parsed by pydantic (``validate_strings``).
_TEXT_TYPES: tuple[type, ...] = (str, int, float, decimal.Decimal, dt.date, dt.datetime,
                                 dt.time, dt.timedelta, uuid.UUID, PurePath)


class _Default(str):
    """The default shown in a prompt; returned by rich, unchanged, for an empty answer."""


@dataclass
class PromptField:
    """One question: a (possibly dotted) field path and how to ask and check it."""

    path: str
    keys: tuple[str, ...]  # where the answer goes in the assembled data
    annotation: Any  # what one answer is validated against (constraints included)
    kind: str  # "bool" | "choice" | "text" | "json"
    type_name: str
    required: bool = True
    default: Any = None
    description: str | None = None
    choices: list[tuple[str, Any]] = field(default_factory=list)
    nullable: bool = False

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
                        choices=choices)]


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
            description=info.description, choices=choices, nullable=nullable))
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
    return "json", ann, nullable, []


def _shown(value: Any) -> str:
    """A choice as shown, and as typed to pick it."""
    return escape_controls(value if isinstance(value, str) else str(value))


def _type_name(ann: Any, kind: str, choices: list[tuple[str, Any]]) -> str:
    if kind == "choice":
        return ann.__name__ if isinstance(ann, type) else "choice"
    name = ann.__name__ if isinstance(ann, type) and not get_args(ann) else \
        repr(ann).replace("typing.", "")
    return f"{name}, as JSON" if kind == "json" else name


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
    prompt = Text.assemble((escape_controls(f.path), "bold"),
                           (f" ({escape_controls(f.type_name)})", "dim"))
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
        try:
            if f.kind == "json":
                return adapter.validate_json(answer)
            return adapter.validate_strings(answer)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            inner = ".".join(str(p) for p in err.get("loc", ()))
            _say_invalid(console, f.path + (f".{inner}" if inner else ""),
                         err.get("msg", "invalid"))


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
