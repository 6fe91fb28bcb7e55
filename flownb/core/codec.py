"""What is stored must replay: values to stored JSON data and back.

A run stores step outputs, suspend payloads, resume data, its input and its state as JSON
data, and a resumed, restarted or forked run validates them back into their schemas. That
is only safe when what is stored is what validation reads, so ``to_stored`` writes a value
*for validation*, not for display:

* **Plain values and models** go through pydantic-core's own serializer (fast, in Rust),
  in JSON mode: datetimes, enums, decimals, UUIDs become the strings pydantic reads back.
* **Models whose serialization does not read back** — a ``Field(exclude=True)``, a
  ``field_serializer``/``model_serializer``, a computed field (which ``extra="forbid"``
  rejects), a serialization alias other than the validation alias — are written field by
  field from their attributes, under the names validation expects, so nothing is lost.
* **Non-finite floats** stay floats in the data; the stores write them as the JSON strings
  ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (``storage.base.dumps_json``), which a ``float``
  field reads back. Under an ``Any`` schema they come back as those strings.

``from_stored`` validates stored data in lax mode (``strict=False``), so strict models read
back the JSON forms of their datetimes, enums and decimals.

A value that cannot be stored (an arbitrary object, non-UTF-8 bytes, nesting deeper than
the encoder allows) raises ``Unstorable``, which the engine turns into the failure of the
step that produced it.
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter
from pydantic_core import PydanticSerializationError

from .schema import adapter

__all__ = ["DEEP", "Unstorable", "from_stored", "to_stored"]

_SCALARS = frozenset({str, int, bool, float})
_FUNCTION_SERIALIZERS = frozenset({"function-plain", "function-wrap"})


class Unstorable(Exception):
    """A value cannot be stored as JSON. ``reason`` says why (``"holds a value of type
    Client, which is not JSON data"``), ``path`` where inside the value (``"cargo[2]"``,
    ``""`` for the value itself), ``field`` which part of a step's record."""

    def __init__(self, reason: str, *, path: str = "", field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path
        self.field = field  # "output", "suspend_payload", ... (set by the persister)

    def describe(self) -> str:
        """``"field 'cargo' holds …"``, or ``"it holds …"`` for the value itself."""
        subject = f"field '{self.path}'" if self.path else "it"
        return f"{subject} {self.reason}"


DEEP = "is nested too deeply to store (JSON allows about 250 levels here)"


@functools.cache
def _dump() -> Any:
    # NaN and the infinities as the strings JSON can hold, where no model decides otherwise.
    anything = TypeAdapter(Any, config=ConfigDict(ser_json_inf_nan="strings"))
    return anything.serializer.to_python


def to_stored(value: Any) -> Any:
    """JSON data that validates back into the value's schema; raises ``Unstorable``."""
    kind = type(value)
    if value is None or kind in _SCALARS:
        return value
    try:
        return _encode(value)
    except RecursionError:
        raise Unstorable(DEEP, path=_locate(value, "", 1)) from None
    except (PydanticSerializationError, UnicodeError, ValueError, TypeError) as exc:
        reason = _reason(exc)
        # Too deep: name the top-level part only (its path would be as deep as it is).
        raise Unstorable(reason, path=_locate(value, "", 1 if reason == DEEP else 32)) \
            from None


def _encode(value: Any) -> Any:
    if not _reads_back(value):
        value = _by_fields(value)
    # Wrapped two levels deep: the stores nest a value at most two levels inside a
    # record, so anything that passes here also passes their encoder's depth limit.
    return _dump()([[value]], mode="json", by_alias=True, round_trip=True)[0][0]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeError):
        return "holds bytes that are not UTF-8 text"
    text = str(exc)
    if "depth" in text or "recursion" in text.lower():
        return DEEP
    if "Unable to serialize unknown type" in text:
        kind = text.split("type:", 1)[-1].strip()
        if kind.startswith("<class '") and kind.endswith("'>"):
            kind = kind[len("<class '"):-2]
        return f"holds a value of type {kind}, which is not JSON data"
    return "is not JSON data: " + (text.splitlines()[0] if text else type(exc).__name__)


def _locate(value: Any, path: str, levels: int) -> str:
    """The path of the first part of ``value`` that cannot be stored (``""``: itself),
    looking at most ``levels`` levels down."""
    if levels <= 0:
        return path
    for name, child in _parts(value):
        if child is None or type(child) in _SCALARS:
            continue
        try:
            _encode(child)
        except (PydanticSerializationError, UnicodeError, ValueError, TypeError,
                RecursionError):
            return _locate(child, _join(path, name), levels - 1)
    return path


def _join(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else str(name)


def _parts(value: Any) -> list[tuple[str | int, Any]]:
    if isinstance(value, BaseModel):
        parts: list[tuple[str | int, Any]] = [(n, getattr(value, n))
                                              for n in type(value).model_fields]
        return parts + list((value.__pydantic_extra__ or {}).items())
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return list(enumerate(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
    return []


def from_stored(schema: Any, data: Any) -> Any:
    """Validate stored JSON data back into ``schema`` (lax: JSON forms are accepted)."""
    if schema is Any:
        return data
    return _lax(schema)(data)


def _lax(schema: Any) -> Any:
    try:
        return _lax_cached(schema)
    except TypeError:  # an unhashable schema
        return functools.partial(adapter(schema).validator.validate_python, strict=False)


@functools.lru_cache(maxsize=2048)
def _lax_cached(schema: Any) -> Any:
    return functools.partial(adapter(schema).validator.validate_python, strict=False)


# -- values whose serialization would not read back ------------------------------------------


def _reads_back(value: Any) -> bool:
    """Does pydantic's own JSON-mode dump of ``value`` validate back into its type?"""
    kind = type(value)
    if value is None or kind in _SCALARS:
        return True
    if isinstance(value, BaseModel):
        return _model_reads_back(kind)
    if kind is list or kind is tuple:
        return all(_reads_back(item) for item in value)
    if kind is dict:
        return all(_reads_back(item) for item in value.values())
    if dataclasses.is_dataclass(value):
        return _model_reads_back(kind)
    if isinstance(value, (set, frozenset)):
        return all(_reads_back(item) for item in value)
    return True


_MODELS: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()


def _model_reads_back(cls: type) -> bool:
    try:
        return _MODELS[cls]
    except KeyError:
        verdict = _MODELS[cls] = _model_schema_reads_back(cls)
        return verdict


def _model_schema_reads_back(cls: type) -> bool:
    schema = getattr(cls, "__pydantic_core_schema__", None)
    if schema is None or not isinstance(schema, dict):
        return False  # a plain dataclass: written field by field
    config = getattr(cls, "model_config", None) or {}
    if "ser_json_bytes" in config or "ser_json_timedelta" in config:
        return False
    return _schema_reads_back(schema, set())


def _schema_reads_back(node: Any, seen: set[int]) -> bool:
    if isinstance(node, list):
        return all(_schema_reads_back(n, seen) for n in node)
    if not isinstance(node, dict) or id(node) in seen:
        return True
    seen.add(id(node))
    serialization = node.get("serialization")
    if isinstance(serialization, dict) and serialization.get("type") in _FUNCTION_SERIALIZERS:
        return False
    if node.get("serialization_exclude") or node.get("computed_fields"):
        return False
    if node.get("type") == "any":  # its floats' NaN would be dumped as null
        return False
    alias = node.get("serialization_alias")
    if alias is not None and alias != node.get("validation_alias"):
        return False
    return all(_schema_reads_back(v, seen) for k, v in node.items()
               if k not in ("cls", "metadata", "ref", "config"))


def _by_fields(value: Any) -> Any:
    """``value`` as plain data built from attributes, under the names validation reads."""
    kind = type(value)
    if value is None or kind in _SCALARS:
        return value
    if isinstance(value, BaseModel):
        if _model_reads_back(kind):
            return value
        out = {_input_name(kind, name, field): _by_fields(getattr(value, name))
               for name, field in kind.model_fields.items()}
        extra = value.__pydantic_extra__
        if extra:
            out.update({k: _by_fields(v) for k, v in extra.items()})
        return out
    if isinstance(value, dict):
        return {k: _by_fields(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_by_fields(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if _model_reads_back(kind):
            return value
        return {f.name: _by_fields(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _input_name(cls: Any, name: str, field: Any) -> str:
    config = cls.model_config
    if config.get("validate_by_name") or config.get("populate_by_name"):
        return name
    if config.get("validate_by_alias") is False:
        return name
    alias = field.validation_alias
    if isinstance(alias, str):
        return alias
    if field.alias:
        return str(field.alias)
    choices = getattr(alias, "choices", None)
    if choices and isinstance(choices[0], str):
        return choices[0]
    return name
