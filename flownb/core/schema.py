"""Schemas: validation at step boundaries, JSON conversion, and structural compatibility.

A schema is any type pydantic can validate. ``TypeAdapter``s are built once per type and
cached; a ``BaseModel`` schema takes a faster path through its own validator.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, to_jsonable_python

__all__ = [
    "Schema",
    "check_compatible",
    "json_shape",
    "schema_name",
    "to_jsonable",
    "validate",
]

Schema = Any


@functools.lru_cache(maxsize=2048)
def _cached_adapter(schema: Schema) -> TypeAdapter[Any]:
    return TypeAdapter(schema)


def adapter(schema: Schema) -> TypeAdapter[Any]:
    try:
        return _cached_adapter(schema)
    except TypeError:  # unhashable schema (e.g. Annotated with a dict): build each time
        return TypeAdapter(schema)


def validate(schema: Schema, value: Any) -> Any:
    """Validate ``value`` into ``schema``; raises ``pydantic.ValidationError``.

    A value that already is of the schema's very type passes untouched. Values produced
    by other schemas (another model with the same fields, dicts of such models) are
    retried as plain data, so structurally compatible schemas hand over cleanly.
    """
    if schema is Any or type(value) is schema:
        return value
    check = _validator(schema)
    try:
        return check(value)
    except ValidationError:
        if isinstance(value, BaseModel) or _holds_models(value):
            return check(to_plain(value))
        raise


_VALIDATORS: dict[Any, Callable[[Any], Any]] = {}


def _validator(schema: Schema) -> Callable[[Any], Any]:
    """The pydantic-core ``validate_python`` of ``schema``: called directly, it skips
    ``TypeAdapter``'s per-call Python overhead (the hot path of every step boundary)."""
    try:
        return _VALIDATORS[schema]
    except KeyError:
        check = _VALIDATORS[schema] = adapter(schema).validator.validate_python
        return check
    except TypeError:  # unhashable schema
        return adapter(schema).validator.validate_python


def _holds_models(value: Any) -> bool:
    if isinstance(value, dict):
        return any(isinstance(v, (BaseModel, dict, list)) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, (BaseModel, dict, list)) for v in value)
    return False


def to_plain(value: Any) -> Any:
    """Python data with every model dumped to a dict (by alias), containers kept."""
    return adapter(Any).dump_python(value, by_alias=True)


def to_jsonable(value: Any) -> Any:
    """JSON-safe data (dicts, lists, str, numbers, bools, None) for events and ``to_dict()``.

    Never raises: what is not JSON (an arbitrary object, bytes that are not UTF-8, nesting
    too deep) is shown as a short placeholder such as ``"<Client>"``. What a run *stores*
    goes through ``codec.to_stored`` instead, which refuses such values.
    """
    if value is None or isinstance(value, (str, int, float, bool)) or (
            not value and isinstance(value, (dict, list))):
        return value
    try:
        return adapter(Any).dump_python(value, mode="json", by_alias=True)
    except (PydanticSerializationError, ValueError, TypeError, RecursionError):
        return _lenient(value, 0)


def _lenient(value: Any, depth: int) -> Any:
    if value is None or type(value) in (str, int, bool, float):
        return value
    if depth > 100:
        return "<nested too deeply>"
    if isinstance(value, dict):
        return {str(k): _lenient(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_lenient(v, depth + 1) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    try:
        return to_jsonable_python(value)
    except Exception:
        return f"<{type(value).__name__}>"


def schema_name(schema: Schema) -> str:
    """A schema as people read it, with bare class names at every depth: ``Word``,
    ``list[Word]``, ``dict[str, Any]``, ``Word | None`` (never ``list[mymodule.Word]``)."""
    if schema is Any:
        return "Any"
    if schema is None or schema is type(None):
        return "None"
    if schema is Ellipsis:
        return "..."
    origin: Any = get_origin(schema)
    args = get_args(schema)
    if origin is Annotated:
        return schema_name(args[0])
    if origin in (Union, types.UnionType):
        return " | ".join(schema_name(arg) for arg in args)
    if origin is Literal:
        return f"Literal[{', '.join(repr(arg) for arg in args)}]"
    base = getattr(origin, "__name__", None)
    if isinstance(base, str) and args:
        return f"{base}[{', '.join(schema_name(arg) for arg in args)}]"
    name = getattr(schema, "__name__", None)
    if isinstance(name, str) and not getattr(schema, "__args__", None):
        return name
    return repr(schema).replace("typing.", "")


# ---------------------------------------------------------------------------------------
# Structural compatibility on JSON shapes
# ---------------------------------------------------------------------------------------

_MAX_DEPTH = 12


@functools.lru_cache(maxsize=1024)
def _shape_cached(schema: Schema, mode: str) -> dict[str, Any]:
    raw = adapter(schema).json_schema(mode=mode)  # type: ignore[arg-type]
    shape: dict[str, Any] = _inline(raw, raw.get("$defs", {}), 0)
    return shape


def json_shape(schema: Schema, mode: str = "validation") -> dict[str, Any]:
    """The schema's JSON Schema with every ``$ref`` inlined (recursion cut to "anything")."""
    if schema is Any:
        return {}
    try:
        return _shape_cached(schema, mode)
    except TypeError:
        raw = adapter(schema).json_schema(mode=mode)  # type: ignore[arg-type]
        shape: dict[str, Any] = _inline(raw, raw.get("$defs", {}), 0)
        return shape
    except Exception:  # a schema pydantic cannot describe: treat as "anything"
        return {}


def _inline(node: Any, defs: dict[str, Any], depth: int) -> Any:
    if isinstance(node, list):
        return [_inline(n, defs, depth) for n in node]
    if not isinstance(node, dict):
        return node
    if depth > _MAX_DEPTH:
        return {}
    if "$ref" in node:
        target = defs.get(node["$ref"].rsplit("/", 1)[-1], {})
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _inline(merged, defs, depth + 1)
    return {k: _inline(v, defs, depth) for k, v in node.items() if k != "$defs"}


def _alternatives(shape: dict[str, Any]) -> list[dict[str, Any]] | None:
    for key in ("anyOf", "oneOf"):
        if key in shape:
            return list(shape[key])
    return None


def _types(shape: dict[str, Any]) -> set[str] | None:
    t = shape.get("type")
    if t is None:
        if "enum" in shape:
            return {_json_type(v) for v in shape["enum"]}
        if "const" in shape:
            return {_json_type(shape["const"])}
        return None
    return set(t) if isinstance(t, list) else {t}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _describe(shape: dict[str, Any]) -> str:
    types = _types(shape)
    if types is None:
        alts = _alternatives(shape)
        if alts:
            return " or ".join(_describe(a) for a in alts)
        return "anything"
    return "/".join(sorted(types))


def check_compatible(out: dict[str, Any], into: dict[str, Any], where: str = "") -> list[str]:
    """Problems found when data of JSON shape ``out`` flows into JSON shape ``into``.

    Each problem names the field (``where``) and what is missing or of another type. Shapes
    we cannot judge (anything, unions we cannot resolve) count as compatible: the run-time
    validation at every boundary is the final word.
    """
    if not out or not into:
        return []
    in_alts = _alternatives(into)
    if in_alts is not None:
        if any(not check_compatible(out, alt, where) for alt in in_alts):
            return []
        return [f"{_field(where)}: expected {_describe(into)}, got {_describe(out)}"]
    out_alts = _alternatives(out)
    if out_alts is not None:
        problems: list[str] = []
        for alt in out_alts:
            if alt.get("type") == "null":
                continue  # an optional output; judged at run time
            problems.extend(check_compatible(alt, into, where))
        return problems

    out_t, in_t = _types(out), _types(into)
    if out_t is None or in_t is None:
        return []
    if not out_t & in_t and not ("integer" in out_t and "number" in in_t):
        return [f"{_field(where)}: expected {_describe(into)}, got {_describe(out)}"]
    if "object" in in_t and "object" in out_t:
        return _check_object(out, into, where)
    if "array" in in_t and "array" in out_t:
        return check_compatible(out.get("items", {}), into.get("items", {}), f"{where}[]")
    return []


def _check_object(out: dict[str, Any], into: dict[str, Any], where: str) -> list[str]:
    in_props: dict[str, Any] = into.get("properties", {})
    out_props: dict[str, Any] | None = out.get("properties")
    if out_props is None:
        extra = out.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return [
                p
                for name, sub in in_props.items()
                for p in check_compatible(extra, sub, _join(where, name))
            ]
        return []  # a free-form object: cannot judge
    required_out = set(out.get("required", ()))
    problems: list[str] = []
    for name in into.get("required", ()):
        if name not in out_props:
            problems.append(f"missing field '{_join(where, name)}'")
        elif name not in required_out:
            problems.append(f"field '{_join(where, name)}' is required but may be missing")
    for name, sub in in_props.items():
        if name in out_props:
            problems.extend(check_compatible(out_props[name], sub, _join(where, name)))
    return problems


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _field(where: str) -> str:
    return f"field '{where}'" if where else "value"


def object_shape(properties: dict[str, dict[str, Any]], *, required: bool) -> dict[str, Any]:
    """The JSON shape of a keyed dict of outputs (``.parallel`` / ``.branch``)."""
    shape: dict[str, Any] = {"type": "object", "properties": dict(properties)}
    if required:
        shape["required"] = list(properties)
    return shape


def array_shape(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}
