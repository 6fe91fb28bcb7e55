"""The terminal layer: a ``rich`` live view of runs and the ``flownb`` command line.

``Run`` objects display themselves with ``rich`` (``console.print(run)``: the step tree with
statuses, then the result). :class:`RunView` follows a run live; :func:`status_tree` and
:func:`outline_tree` draw a workflow's graph description; :func:`main` is the ``flownb``
command. Importing ``flownb`` does not import this package (nor ``rich``).

>>> from rich.console import Console                              # doctest: +SKIP
>>> Console().print(wf.create_run())                              # doctest: +SKIP
"""

from __future__ import annotations

from .tree import RunFacts, outline_tree, status_tree
from .view import RunView, outcome, run_renderable

__all__ = ["RunFacts", "RunView", "main", "outcome", "outline_tree", "run_renderable",
           "status_tree"]


def main(argv: list[str] | None = None) -> int:
    """The ``flownb`` command (see ``flownb --help``); returns the exit status."""
    from .cli import main as cli_main

    return cli_main(argv)
