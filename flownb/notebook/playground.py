"""The playground: every workflow of a registry runnable by a person, in JupyterLab.

``RegistryView(registry)`` shows one tab per workflow: its description, its graph, an
``InputForm`` to start a run (whose live view appears below it), and its stored runs
(filtered by status, :data:`PAGE` a page, newest first), where picking one opens its live view
(with the resume form when it waits). A run has one view: picking the run the form just
started moves its view from under the form to the list's place. ``flownb playground MODULE``
writes a notebook that shows this view and opens JupyterLab on it.

Both are anywidget widgets drawn by ``static/playground.js`` and ``playground.css`` (after
the parts they share with the inbox, ``static/parts.js`` and ``parts.css``): the list, its
filter and pages are traits and messages; the input form and the opened run's live view are
widgets of their own, shown inside.

>>> RegistryView(Registry(workflows={"review": review}))     # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import traitlets as t

from .._text import escape_controls, escape_html
from ..config import resolve_store
from ..core.events import WORKFLOW_FINISH, Event
from ..core.feed import RunFeed
from ..core.fork import fork_points
from ._html import fork_label, themed_graph
from ._static import FlownbWidget
from ._widgets import close_tree
from .forms import InputForm
from .view import RunView

if TYPE_CHECKING:
    from ..core.workflow import Workflow

__all__ = ["PAGE", "RegistryView", "RunChoice", "WorkflowPanel", "playground_notebook"]

PAGE = 20  # runs listed a page
_STATUSES = ("running", "success", "failed", "suspended", "canceled")
_WIDGETS = widgets.widget_serialization


class RunChoice:
    """A panel's runs list seen from Python, as a select: ``options`` are the
    ``(label, run_id)`` pairs of the page shown, ``value`` the picked run id (``None``:
    none; setting it picks the run, as a click does), ``tooltip`` the picked run's label."""

    def __init__(self, panel: WorkflowPanel) -> None:
        self._panel = panel

    @property
    def options(self) -> tuple[tuple[str, str], ...]:
        return tuple((row["label"], row["run_id"]) for row in self._panel.rows)

    @property
    def value(self) -> str | None:
        return self._panel.selected or None

    @value.setter
    def value(self, run_id: str | None) -> None:
        self._panel.selected = run_id or ""

    @property
    def tooltip(self) -> str | None:
        return next((label for label, v in self.options if v == self.value), None)


class WorkflowPanel(FlownbWidget):
    """One workflow of the playground: description, graph, input form, stored runs.

    ``panel.form`` is its ``InputForm``; ``panel.runs`` the runs list (:class:`RunChoice`);
    ``panel.view`` the opened run's ``RunView``. The traits are what the page shows and
    sets: ``rows`` (the page's runs), ``selected`` (the picked run id, ``""``: none),
    ``status_filter`` (``""``: every status), ``page`` and ``pages``, ``count`` (the line
    saying which runs are listed, or that there are none), ``opened`` (the opened view).
    """

    _bundle = "playground"

    part = t.Unicode("panel").tag(sync=True)
    """Which of playground.js's two widgets this is."""
    about = t.Dict().tag(sync=True)
    """``{"id": workflow id, "description": its description}`` (the page escapes them)."""
    graph = t.Unicode("").tag(sync=True)
    """The workflow's graph: Graphviz's SVG, in the theme's colours."""
    statuses = t.List(t.Unicode(), list(_STATUSES)).tag(sync=True)
    """The statuses the filter offers."""
    status_filter = t.Unicode("").tag(sync=True)
    """List only the runs of this status (``""``: every status); set by the dropdown too."""
    rows = t.List(t.Dict()).tag(sync=True)
    """The runs of the page shown, newest first: ``{"run_id", "label", "status"}``."""
    selected = t.Unicode("").tag(sync=True)
    """The picked run (``""``: none); set by a click in the list, it opens the run."""
    page = t.Int(0).tag(sync=True)
    """The page shown (0: the newest runs)."""
    pages = t.Int(1).tag(sync=True)
    """How many pages of runs there are (at least 1)."""
    count = t.Unicode("").tag(sync=True)
    """Which runs are listed (``"1–20 of 25"``), or ``"no runs yet"``."""
    input_form = t.List(t.Instance(widgets.Widget)).tag(sync=True, **_WIDGETS)
    """The input form, shown beside the graph."""
    opened = t.List(t.Instance(widgets.Widget)).tag(sync=True, **_WIDGETS)
    """The opened run's live view (none, or one)."""

    def __init__(self, workflow: Workflow, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workflow = workflow
        self.form = InputForm(workflow, heading=False)
        self.input_form = [self.form]
        self.runs = RunChoice(self)
        self.view: RunView | None = None
        self._closed = False
        try:
            graph_svg = workflow.to_svg()
        except RuntimeError as exc:  # no Graphviz: the rest of the panel still works
            graph_svg = f"<i>{escape_html(str(exc))}</i>"
        # The graph in the theme's colours, on no background of its own (no white card in
        # JupyterLab's dark theme).
        self.graph = themed_graph(graph_svg)
        self.about = {"id": workflow.id, "description": workflow.description or ""}
        self.observe(lambda change: self.open_run(change["new"]), names="selected")
        self.observe(lambda _change: self.turn(0), names="status_filter")
        self.on_msg(self._on_message)
        # Every run of the workflow started here (or anywhere in this kernel) refreshes the
        # list when it finishes or suspends, resumes included.
        self._feeds: dict[str, RunFeed] = {}  # run id -> the feed of a run not finished yet
        self._stop_tracking = workflow.on_run(self._track)
        self.refresh()

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """The page's buttons: ``{"kind": "page", "page": n}`` and ``{"kind": "refresh"}``."""
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "page" and isinstance(content.get("page"), int):
            self.turn(content["page"])
        elif kind == "refresh":
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
            if not self._closed:
                self.refresh()

    def turn(self, page: int) -> None:
        """Show page ``page`` of the runs (0: the newest; clamped to the pages there are),
        as the newer / older buttons do."""
        self.page = max(0, page)
        self.refresh()

    def refresh(self) -> None:
        """List the workflow's stored runs again, newest first, those of the status filter
        on the current page (the selection stays); "no runs yet" when there are none."""
        runs = self.workflow.runs(status=self.status_filter or None)
        last = max(0, (len(runs) - 1) // PAGE)
        first = min(self.page, last) * PAGE
        shown = runs[first:first + PAGE]
        forks = fork_points(shown, resolve_store(self.workflow.storage))
        rows = [{"run_id": info.run_id, "label": _run_label(info, forks.get(info.run_id)),
                 "status": info.status} for info in shown]
        with self.hold_trait_notifications():
            self.page, self.pages, self.rows = min(self.page, last), last + 1, rows
            if self.selected not in {row["run_id"] for row in rows}:
                self.selected = ""  # nothing opens: the opened view stays
            if not runs:
                what = f" {self.status_filter}" if self.status_filter else ""
                self.count = f"no{what} runs yet"
            else:
                self.count = f"{first + 1:,}–{first + len(shown):,} of {len(runs):,}"

    def open_run(self, run_id: str | None) -> RunView | None:
        """Show the stored run ``run_id``'s live view (and resume form, when it waits)."""
        if not run_id:
            return None
        if self.view is not None and _run_id(self.view) == run_id:
            self.selected = run_id
            return self.view  # already open
        if self.view is not None:
            self.view.close()
        started = getattr(self.form, "view", None)
        if isinstance(started, RunView) and _run_id(started) == run_id:
            # The run the form just started: its view moves here (one view per run). A form
            # that cannot give it up keeps showing it, and nothing is shown here.
            self.view = started
            self.opened = [started] if _take_view(self.form, started) else []
        else:
            run = self.workflow.create_run(run_id=run_id)
            self._track(run)
            self.view = RunView(run)
            self.opened = [self.view]
        self.selected = run_id  # opened from Python: the list shows it picked
        return self.view

    def close(self) -> None:
        """Stop following the workflow's runs; close the panel and every widget in it."""
        self._closed = True
        self._stop_tracking()
        for feed in self._feeds.values():
            feed.close()
        self._feeds.clear()
        if self.view is not None:
            self.view.close()
        close_tree(self.form)
        self.form.close()
        close_tree(self)  # its layout
        super().close()


class RegistryView(FlownbWidget):
    """One tab per workflow of a ``Registry`` (or a mapping of names to workflows, or a
    list of workflows): ``view.panels[name]`` is each tab's ``WorkflowPanel``;
    ``view.titles`` the tabs' titles, ``view.selected_index`` the open tab's index."""

    _bundle = "playground"

    part = t.Unicode("tabs").tag(sync=True)
    """Which of playground.js's two widgets this is."""
    titles = t.List(t.Unicode()).tag(sync=True)
    """The tabs' titles (the workflows' names, shown as text)."""
    tabs = t.List(t.Instance(WorkflowPanel)).tag(sync=True, **_WIDGETS)
    """The panels, one a tab."""
    selected_index = t.Int(0).tag(sync=True)
    """The open tab; set by a click on a tab too."""

    def __init__(self, workflows: Mapping[str, Workflow] | Iterable[Workflow],
                 **kwargs: Any) -> None:
        if isinstance(workflows, Mapping):
            named = dict(workflows.items())
        else:
            named = {wf.id: wf for wf in workflows}
        if not named:
            raise ValueError("RegistryView: there are no workflows to show")
        super().__init__(**kwargs)
        self.panels = {name: WorkflowPanel(wf) for name, wf in named.items()}
        self.titles = [escape_controls(name) for name in self.panels]
        self.tabs = list(self.panels.values())

    def close(self) -> None:
        """Close every panel (each stops following its workflow's runs), then the tabs."""
        for panel in getattr(self, "panels", {}).values():  # none if __init__ refused
            panel.close()
        close_tree(self)
        super().close()


def _take_view(form: Any, view: RunView) -> bool:
    """Take ``view`` out of ``form`` (the input form that started its run) and say whether it
    could. Forms are opaque here: the view is looked for in the form's ``output`` box and in
    its synced lists of widgets, whatever the form's kind of widget."""
    taken = False
    output = getattr(form, "output", None)
    if isinstance(output, widgets.Widget) and view in (getattr(output, "children", ()) or ()):
        output.children = tuple(c for c in output.children if c is not view)
        taken = True
    if isinstance(form, widgets.Widget):
        for name in form.trait_names(sync=lambda sync: bool(sync)):
            value = getattr(form, name)
            if isinstance(value, (list, tuple)) and any(v is view for v in value):
                setattr(form, name, type(value)(v for v in value if v is not view))
                taken = True
    if taken and getattr(form, "view", None) is view:
        form.view = None
    return taken


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
