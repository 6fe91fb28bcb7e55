"""``Registry``: named workflows sharing a store and a logger (Mastra's ``new Mastra({...})``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core.workflow import Workflow
    from .storage.base import Store

__all__ = ["Registry"]


class Registry(Mapping[str, "Workflow"]):
    """Workflows by name, with the storage and logger they share.

    >>> registry = Registry(workflows={"testWorkflow": test_workflow},   # doctest: +SKIP
    ...                     storage=SQLiteStore("flownb.db"), logger="info")
    >>> run = registry.get_workflow("testWorkflow").create_run()         # doctest: +SKIP

    A workflow that did not set its own ``storage``/``logger`` gets the registry's. The
    logger records run and step transitions at info level and failures at error level.
    """

    def __init__(
        self,
        workflows: Mapping[str, Workflow] | None = None,
        *,
        storage: Store | bool | None = None,
        logger: logging.Logger | str | None = None,
    ) -> None:
        self.storage = storage
        self.logger = _logger(logger)
        self.workflows: dict[str, Workflow] = {}
        for name, wf in (workflows or {}).items():
            self.add(name, wf)

    def add(self, name: str, workflow: Workflow) -> Workflow:
        """Register ``workflow`` under ``name`` (handing it the shared storage and logger)."""
        from .core.workflow import Workflow

        if not isinstance(workflow, Workflow):
            raise TypeError(f"Registry: '{name}' must be a Workflow, got "
                            f"{type(workflow).__name__}")
        if workflow.storage is None and self.storage is not None:
            workflow.storage = self.storage
        if workflow.logger is None and self.logger is not None:
            workflow.logger = self.logger
        self.workflows[name] = workflow
        return workflow

    def get_workflow(self, name: str) -> Workflow:
        """The workflow registered as ``name``; ``KeyError`` lists the known names."""
        try:
            return self.workflows[name]
        except KeyError:
            known = ", ".join(repr(n) for n in self.workflows) or "none"
            raise KeyError(f"no workflow named {name!r} in this registry (known: {known})") \
                from None

    def __getitem__(self, name: str) -> Workflow:
        return self.get_workflow(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.workflows)

    def __len__(self) -> int:
        return len(self.workflows)

    def __repr__(self) -> str:
        return f"Registry({list(self.workflows)!r})"


def _logger(logger: logging.Logger | str | None) -> logging.Logger | None:
    if logger is None or isinstance(logger, logging.Logger):
        return logger
    level = logging.getLevelName(str(logger).upper())
    if not isinstance(level, int):
        raise ValueError(f"Registry: unknown log level {logger!r}")
    out = logging.getLogger("flownb")
    out.setLevel(level)
    return out
