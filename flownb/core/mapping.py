"""Declarative ``.map({...})`` sources: from_step, from_init, from_context, const."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ..errors import WorkflowDefinitionError
from .schema import to_plain

__all__ = ["MapSource", "const", "from_context", "from_init", "from_step", "pluck"]


class MapSource(ABC):
    """A value source in a declarative mapping; resolved when the ``.map`` runs."""

    __slots__ = ()
    kind = ""

    @abstractmethod
    def describe(self) -> str:
        """The source as the code that made it, for graphs and errors."""


@dataclass(frozen=True, slots=True)
class StepSource(MapSource):
    step_id: str
    path: str
    kind = "step"

    def describe(self) -> str:
        return f"from_step({self.step_id!r}, {self.path!r})"


@dataclass(frozen=True, slots=True)
class InitSource(MapSource):
    path: str
    kind = "init"

    def describe(self) -> str:
        return f"from_init({self.path!r})"


@dataclass(frozen=True, slots=True)
class ContextSource(MapSource):
    key: str
    kind = "context"

    def describe(self) -> str:
        return f"from_context({self.key!r})"


@dataclass(frozen=True, slots=True)
class ConstSource(MapSource):
    value: Any
    kind = "const"

    def describe(self) -> str:
        return f"const({self.value!r})"


def from_step(step: Any, path: str = "") -> MapSource:
    """The output of an earlier step (a ``Step`` or its id), or a dotted path inside it.

    >>> from_step("format-step", "formatted")
    StepSource(step_id='format-step', path='formatted')
    """
    step_id = step if isinstance(step, str) else getattr(step, "id", None)
    if not isinstance(step_id, str):
        raise WorkflowDefinitionError(f"from_step: expected a step or a step id, got {step!r}")
    return StepSource(step_id, path)


def from_init(path: str = "") -> MapSource:
    """The workflow's input, or a dotted path inside it."""
    return InitSource(path)


def from_context(key: str) -> MapSource:
    """A value of the run's ``runtime_context`` (dotted paths reach inside it)."""
    return ContextSource(key)


def const(value: Any) -> MapSource:
    """A constant value."""
    return ConstSource(value)


def check_mapping(spec: Mapping[str, Any], where: str) -> None:
    """Every leaf of a declarative mapping must be a source (or a nested mapping of them)."""
    for key, value in spec.items():
        if isinstance(value, Mapping):
            check_mapping(value, f"{where}.{key}")
        elif not isinstance(value, MapSource):
            raise WorkflowDefinitionError(
                f"{where}: field '{key}' is {value!r}; a declarative .map takes from_step(), "
                "from_init(), from_context() or const() values (wrap literals in const())"
            )


def step_sources(spec: Mapping[str, Any]) -> list[StepSource]:
    out: list[StepSource] = []
    for value in spec.values():
        if isinstance(value, Mapping):
            out.extend(step_sources(value))
        elif isinstance(value, StepSource):
            out.append(value)
    return out


def pluck(value: Any, path: str, *, what: str) -> Any:
    """``value`` at a dotted ``path`` (attributes of models, keys of dicts, list indices)."""
    if not path:
        return to_plain(value) if isinstance(value, BaseModel) else value
    current = value
    for part in path.split("."):
        if isinstance(current, BaseModel):
            if part in type(current).model_fields:
                current = getattr(current, part)
                continue
            current = current.model_dump(by_alias=True)
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, (list, tuple)) and part.lstrip("-").isdigit():
            current = current[int(part)]
        elif hasattr(current, part) and not isinstance(current, Mapping):
            current = getattr(current, part)
        else:
            raise KeyError(f"{what}: no '{part}' in path '{path}'")
    return to_plain(current) if isinstance(current, BaseModel) else current
