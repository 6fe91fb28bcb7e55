"""The playground: every workflow of a registry runnable by a person, in JupyterLab.

``RegistryView(registry)`` shows one tab per workflow: its description, its graph, an
``InputForm`` to start a run (whose live view appears below it), and its stored runs
(filtered by status, :data:`PAGE` a page, newest first), where picking one opens its live view
(with the resume form when it waits). A run has one view: picking the run the form just
started moves its view from under the form to the list's place. ``flownb playground MODULE``
writes a notebook that shows this view and opens JupyterLab on it.

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
from ..config import resolve_store
from ..core.events import WORKFLOW_FINISH, Event
from ..core.feed import RunFeed
from ..core.fork import fork_points
from ._html import fork_label, themed_graph
from ._widgets import close_tree
from .forms import InputForm
from .view import RunView

if TYPE_CHECKING:
    from ..core.workflow import Workflow

__all__ = ["PAGE", "RegistryView", "WorkflowPanel", "playground_notebook"]

PAGE = 20  # runs listed a page
_STATUSES = ("running", "success", "failed", "suspended", "canceled")


class WorkflowPanel(widgets.VBox):  # type: ignore[misc]
    """One workflow of the playground: description, graph, input form, stored runs."""

    def __init__(self, workflow: Workflow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("flownb-workflow-panel")
        self.workflow = workflow
        self.form = InputForm(workflow, heading=False)
        # Wide enough for a whole row (status, start, duration, run id, what it waits for);
        # the selected run's full label is the list's tooltip too.
        self.runs = widgets.Select(options=[], rows=6,
                                   layout=widgets.Layout(width="100%", min_width="560px",
                                                         max_width="900px"))
        self.runs.add_class("flownb-run-list")
        self.runs.observe(lambda change: self.open_run(change["new"]), names="value")
        self.status_filter = widgets.Dropdown(
            options=[("all statuses", "")] + [(status, status) for status in _STATUSES],
            value="", layout=widgets.Layout(width="150px"))
        self.status_filter.add_class("flownb-run-filter")
        self.status_filter.observe(lambda _c: self._turn(0), names="value")
        self.page = 0
        self.newer = widgets.Button(description="newer", icon="chevron-left",
                                    layout=widgets.Layout(width="96px"))
        self.older = widgets.Button(description="older", icon="chevron-right",
                                    layout=widgets.Layout(width="96px"))
        self.newer.on_click(lambda _b: self._turn(self.page - 1))
        self.older.on_click(lambda _b: self._turn(self.page + 1))
        self.listed = widgets.HTML(value="")
        self.listed.add_class("flownb-run-count")
        refresh = widgets.Button(description="refresh", icon="refresh",
                                 layout=widgets.Layout(width="96px"))
        refresh.on_click(lambda _b: self.refresh())
        self.opened = widgets.VBox([])
        self.view: RunView | None = None
        try:
            graph_svg = workflow.to_svg()
        except RuntimeError as exc:  # no Graphviz: the rest of the panel still works
            graph_svg = f"<i>{escape_html(str(exc))}</i>"
        # The graph in the theme's colours, on no background of its own (no white card in
        # JupyterLab's dark theme), scrolled rather than squeezing the form beside it.
        graph = widgets.HTML(value=themed_graph(graph_svg), layout=widgets.Layout(
            max_width="420px", max_height="480px", overflow="auto", flex="0 1 auto",
            margin="0 12px 0 0"))
        graph.add_class("flownb-workflow-graph")
        about = f"<b>{escape_html(workflow.id)}</b>"
        if workflow.description:
            about += f"<p>{escape_html(workflow.description)}</p>"
        self.children = [
            widgets.HTML(value=about),
            widgets.HBox([graph, self.form]),
            widgets.HTML(value="<b>stored runs</b> (pick one to open it)"),
            widgets.HBox([self.status_filter, self.newer, self.older, refresh, self.listed]),
            self.runs,
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

    def _turn(self, page: int) -> None:
        self.page = max(0, page)
        self.refresh()

    def refresh(self) -> None:
        """List the workflow's stored runs again, newest first, those of the status filter
        on the current page (the selection stays); "no runs yet" when there are none."""
        runs = self.workflow.runs(status=self.status_filter.value or None)
        last = max(0, (len(runs) - 1) // PAGE)
        self.page = min(self.page, last)
        first = self.page * PAGE
        shown = runs[first:first + PAGE]
        forks = fork_points(shown, resolve_store(self.workflow.storage))
        options = [(_run_label(info, forks.get(info.run_id)), info.run_id) for info in shown]
        selected = self.runs.value
        self.runs.unobserve_all("value")
        self.runs.options = options
        self.runs.value = selected if selected in {v for _, v in options} else None
        self.runs.observe(lambda change: self.open_run(change["new"]), names="value")
        self.runs.tooltip = next((label for label, v in options if v == self.runs.value),
                                 None)
        self.runs.layout.display = "" if options else "none"
        self.newer.disabled = self.page == 0
        self.older.disabled = self.page >= last
        if not runs:
            what = f" {self.status_filter.value}" if self.status_filter.value else ""
            self.listed.value = f"<i>no{escape_html(what)} runs yet</i>"
        else:
            self.listed.value = (f"{first + 1:,}–{first + len(shown):,} of {len(runs):,}")

    def open_run(self, run_id: str | None) -> RunView | None:
        """Show the stored run ``run_id``'s live view (and resume form, when it waits)."""
        if not run_id:
            return None
        self.runs.tooltip = next((label for label, v in self.runs.options if v == run_id),
                                 None)
        if self.view is not None and _run_id(self.view) == run_id:
            return self.view  # already open
        if self.view is not None:
            self.view.close()
        started = self.form.view
        if started is not None and _run_id(started) == run_id:
            # The run the form just started: its view moves here (one view per run).
            self.form.output.children = []
            self.form.view = None
            self.view = started
        else:
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


def _run_id(view: RunView) -> str | None:
    return view.run.run_id if view.run is not None else None


def _run_label(info: Any, forked_at: str | None = None) -> str:
    started = _dt.datetime.fromtimestamp(info.created_at).strftime("%Y-%m-%d %H:%M:%S")
    seconds = info.updated_at - info.created_at
    waiting = ""
    if info.suspended:
        waiting = " · waiting for " + ", ".join(".".join(p) for p in info.suspended)
    fork = ""
    if getattr(info, "parent_run_id", None) is not None:
        fork = " · ⑂ " + fork_label(info.parent_run_id, forked_at)
    took = f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"
    return escape_controls(f"{info.status:<9} {started} · {took} · {info.run_id}"
                           f"{fork}{waiting}")


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
            "**Run the cell below** (Shift+Enter, or *Run ▸ Run All Cells*): JupyterLab runs "
            "no cell by itself. Then pick a workflow, fill its input and press **Run**; a "
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
