"""Finding the workflow a command names: the ``flownb`` command's names for
:mod:`flownb.discovery`, where targets (``MODULE[:ATTR]``) and origins are resolved."""

from __future__ import annotations

from ..discovery import (
    Target,
    TargetError,
    import_module,
    load_origin,
    load_target,
    split_spec,
    workflows_at,
)

__all__ = ["Target", "TargetError", "import_module", "load_origin", "load_target", "split_spec",
           "workflows_at"]
