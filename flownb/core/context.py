"""``RuntimeContext``: values a caller hands to every step of a run."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

__all__ = ["RuntimeContext"]


class RuntimeContext(MutableMapping[str, Any]):
    """A mutable mapping passed to ``start``/``resume`` and injected as ``runtime_context``.

    Besides the mapping interface it has Mastra's ``get``/``set``/``has``:

    >>> ctx = RuntimeContext({"user": "ada"})
    >>> ctx.set("lang", "en"); ctx.get("lang"), ctx.has("user")
    ('en', True)
    """

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values: dict[str, Any] = dict(values or {})

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._values[key] = value

    def __delitem__(self, key: str) -> None:
        del self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def set(self, key: str, value: Any) -> None:
        self._values[key] = value

    def has(self, key: str) -> bool:
        return key in self._values

    def __repr__(self) -> str:
        return f"RuntimeContext({self._values!r})"

    @classmethod
    def of(cls, value: RuntimeContext | Mapping[str, Any] | None) -> RuntimeContext:
        if isinstance(value, RuntimeContext):
            return value
        return cls(value)
