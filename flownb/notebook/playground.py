"""The playground: every workflow of a registry runnable by a person, in JupyterLab.

``RegistryView(registry)`` shows one tab per workflow: its description, its graph, an
``InputForm`` to start a run (whose live view appears below it), and its stored runs, where
picking one opens its live view (with the resume form when it waits). ``flownb playground
MODULE`` writes a notebook that shows this view and opens JupyterLab on it.

>>> RegistryView(Registry(workflows={"review": review}))     # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._text import escape_controls, escape_html
from ..core.events import WORKFLOW_FINISH, Event
from ..core.feed import RunFeed
from ._widgets import close_tree
from .forms import InputForm
from .view import RunView

if TYPE_CHECKING:
    from ..core.workflow import Workflow

__all__ = ["RegistryView", "WorkflowPanel", "playground_notebook"]


class WorkflowPanel(widgets.VBox):  # type: ignore[misc]
    """One workflow of the playground: description, graph, input form, stored runs."""

    def __init__(self, workflow: Workflow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("flownb-workflow-panel")
        self.workflow = workflow
        self.form = InputForm(workflow, heading=False)
        self.runs = widgets.Select(options=[], rows=6, layout=widgets.Layout(width="560px"))
        self.runs.add_class("flownb-run-list")
        self.runs.observe(lambda change: self.open_run(change["new"]), names="value")
        refresh = widgets.Button(description="refresh", icon="refresh",
                                 layout=widgets.Layout(width="96px"))
        refresh.on_click(lambda _b: self.refresh())
        self.opened = widgets.VBox([])
        self.view: RunView | None = None
        try:
            graph_svg = workflow.to_svg()
        except RuntimeError as exc:  # no Graphviz: the rest of the panel still works
            graph_svg = f"<i>{escape_html(str(exc))}</i>"
        about = f"<b>{escape_html(workflow.id)}</b>"
        if workflow.description:
            about += f"<p>{escape_html(workflow.description)}</p>"
        self.children = [
            widgets.HTML(value=about),
            widgets.HBox([widgets.HTML(value=graph_svg), self.form]),
            widgets.HTML(value="<b>stored runs</b> (pick one to open it)"),
            widgets.HBox([self.runs, refresh]),
            self.opened,
        ]
        # Every run of the workflow started here (or anywhere in this kernel) refreshes the
        # list when it finishes or suspends, resumes included.
        self._feeds: dict[str, RunFeed] = {}  # run id -> the feed of a run not finished yet
        self._stop_tracking = workflow.on_run(self._track)
        self.refresh()

    def _track(self, run: Any) -> None:
        earlier = self._feeds.pop(run.run_id, None)
        if earlier is not None:
            earlier.close()
        # Only the run-level events matter here (a finished run refreshes the list).
        self._feeds[run.run_id] = run.feed(self._run_event, interval=1.0, keep=1)

    def _run_event(self, event: Event | None) -> None:
        if event is not None and event.type == WORKFLOW_FINISH:
            # A suspended run will go on (resumed here or from its form): keep following it.
            if event.payload.get("status") != "suspended":
                feed = self._feeds.pop(event.run_id, None)
                if feed is not None:
                    feed.close()
            self.refresh()

    def refresh(self) -> None:
        """List the workflow's stored runs again, newest first (the selection stays)."""
        options = [(_run_label(info), info.run_id) for info in self.workflow.runs()]
        selected = self.runs.value
        self.runs.unobserve_all("value")
        self.runs.options = options
        self.runs.value = selected if selected in {v for _, v in options} else None
        self.runs.observe(lambda change: self.open_run(change["new"]), names="value")

    def open_run(self, run_id: str | None) -> RunView | None:
        """Show the stored run ``run_id``'s live view (and resume form, when it waits)."""
        if not run_id:
            return None
        if self.view is not None:
            self.view.close()
        run = self.workflow.create_run(run_id=run_id)
        self._track(run)
        self.view = RunView(run)
        self.opened.children = [self.view]
        return self.view

    def close(self) -> None:
        """Stop following the workflow's runs; close the panel and every widget in it."""
        self._stop_tracking()
        for feed in self._feeds.values():
            feed.close()
        self._feeds.clear()
        close_tree(self)  # the opened run's view and the input form included
        super().close()


class RegistryView(widgets.Tab):  # type: ignore[misc]
    """One tab per workflow of a ``Registry`` (or a mapping of names to workflows, or a
    list of workflows): ``view.panels[name]`` is each tab's ``WorkflowPanel``."""

    def __init__(self, workflows: Mapping[str, Workflow] | Iterable[Workflow],
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("flownb-registry-view")
        if isinstance(workflows, Mapping):
            named = dict(workflows.items())
        else:
            named = {wf.id: wf for wf in workflows}
        if not named:
            raise ValueError("RegistryView: there are no workflows to show")
        self.panels = {name: WorkflowPanel(wf) for name, wf in named.items()}
        self.children = list(self.panels.values())
        for i, name in enumerate(self.panels):
            self.set_title(i, escape_controls(name))  # tab titles are text, not HTML

    def close(self) -> None:
        """Close every panel (each stops following its workflow's runs), then the tabs."""
        close_tree(self)
        super().close()


def _run_label(info: Any) -> str:
    started = _dt.datetime.fromtimestamp(info.created_at).strftime("%Y-%m-%d %H:%M:%S")
    seconds = info.updated_at - info.created_at
    waiting = ""
    if info.suspended:
        waiting = " · waiting for " + ", ".join(".".join(p) for p in info.suspended)
    return escape_controls(f"{info.status:<9} {started} · {seconds:.2f} s · {info.run_id}"
                           f"{waiting}")


def playground_notebook(target: str | Path, module: str, attr: str | None = None, *,
                        root: str | Path | None = None) -> Path:
    """Write a notebook that imports ``module`` and shows its playground; return its path.

    ``module`` is a dotted module or a ``.py`` file (as the ``flownb`` command reads it),
    ``attr`` a ``Registry`` or a workflow in it (without it: every workflow and registry the
    module defines). The notebook works in ``root`` (default: the current directory), so
    the module imports and the default store resolves as they do in the terminal.
    """
    where = json.dumps(str(Path(root or Path.cwd()).resolve()))
    pick = json.dumps(attr) if attr else "None"
    source = (
        "import os\n"
        f"os.chdir({where})  # where `flownb playground` ran: same imports, same store\n"
        "from flownb.discovery import import_module, workflows_in\n"
        "from flownb.notebook.playground import RegistryView\n"
        f"module, _ = import_module({json.dumps(module)})\n"
        f"RegistryView(workflows_in(vars(module), {pick}, module={json.dumps(module)}))"
    )
    title = f"{module}:{attr}" if attr else module
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": [
            f"# flownb playground: `{title}`\n",
            "\n",
            "Run the cell below. Pick a workflow, fill its input and press **Run**; a "
            "suspended step shows a form to answer. Each workflow lists its stored runs: pick "
            "one to open it.",
        ]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": source.splitlines(keepends=True)},
    ]
    notebook = {"cells": cells, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1) + "\n", encoding="utf-8")
    return path
