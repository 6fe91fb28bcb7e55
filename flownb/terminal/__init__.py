"""The terminal layer: a ``rich`` live view of runs and the ``flownb`` command line.

``Run`` objects display themselves with ``rich`` (``console.print(run)``: the step tree with
statuses, then the result). :class:`LiveView` follows a run live; :func:`status_tree` and
:func:`outline_tree` draw a workflow's graph description; :func:`main` is the ``flownb``
command. Importing ``flownb`` does not import this package (nor ``rich``).

``RunView`` is the old name of :class:`LiveView` (deprecated: it read like the notebook's
``flownb.notebook.RunView``, a different class); it still works and warns.

>>> from rich.console import Console                              # doctest: +SKIP
>>> Console().print(wf.create_run())                              # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from typing import Any

from .tree import RunFacts, outline_tree, status_tree
from .view import LiveView, outcome, run_renderable

__all__ = ["LiveView", "RunFacts", "main", "outcome", "outline_tree", "run_renderable",
           "status_tree"]


def __getattr__(name: str) -> Any:
    if name == "RunView":
        warnings.warn("flownb.terminal.RunView is now flownb.terminal.LiveView (RunView is "
                      "the notebook's widget, flownb.notebook.RunView)", DeprecationWarning,
                      stacklevel=2)
        return LiveView
    raise AttributeError(f"module 'flownb.terminal' has no attribute {name!r}")


def main(argv: list[str] | None = None) -> int:
    """The ``flownb`` command (see ``flownb --help``); returns the exit status."""
    from .cli import main as cli_main

    return cli_main(argv)
