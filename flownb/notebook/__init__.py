"""flownb in Jupyter: the live run view, resume and input forms, and the ``%flow`` magics.

The widgets load on first use (``flownb.notebook.RunView`` imports ipywidgets then);
``import flownb`` loads none of this.

>>> from flownb.notebook import RunView, ResumeForm, InputForm, Inbox   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .forms import InputForm, ResumeForm
    from .inbox import Inbox
    from .view import RunView

__all__ = ["Inbox", "InputForm", "ResumeForm", "RunView", "load_ipython_extension"]

_LAZY = {"Inbox": "inbox", "InputForm": "forms", "ResumeForm": "forms", "RunView": "view"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'flownb.notebook' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext flownb.notebook`` (the same as ``%load_ext flownb``): the ``%flow``
    magics."""
    from .magics import register

    register(ipython)
