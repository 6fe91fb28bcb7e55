"""How a ``Run`` displays itself: the live view inside a Jupyter kernel, SVG elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.run import Run

__all__ = ["display_run", "in_kernel", "run_mimebundle", "run_svg"]


def in_kernel() -> bool:
    """Whether code runs in a Jupyter kernel, where widgets have a front end."""
    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def run_svg(run: Run) -> str:
    """The run's step graph, each node coloured by the status it has now."""
    from ..render.model import RunModeler
    from ..render.svg import workflow_svg

    description = run.workflow.graph.description
    return workflow_svg(description, RunModeler(description).of_run(run).statuses)


def run_mimebundle(run: Run, include: Any = None, exclude: Any = None) -> dict[str, Any]:
    """``Run._repr_mimebundle_``."""
    if in_kernel():
        from .view import RunView

        bundle = RunView.of(run)._repr_mimebundle_(include=include, exclude=exclude)
        # anywidget answers (data, metadata); a run's display needs the data only.
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        return dict(data or {})
    return {"image/svg+xml": run_svg(run), "text/plain": repr(run)}


def display_run(run: Run) -> None:
    """``Run._ipython_display_``: the run's one live view in a Jupyter kernel (displayed
    with a display id, see ``RunView._ipython_display_``), its mimebundle elsewhere."""
    if in_kernel():
        from .view import RunView

        RunView.of(run)._ipython_display_()
        return
    from IPython.display import display

    show: Callable[..., Any] = display  # IPython's display carries no annotations
    show(run_mimebundle(run), raw=True)
