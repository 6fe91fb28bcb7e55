"""``Inbox``: every suspended run of a store, waiting for a person (SPEC §4c).

One row per suspended run, newest first: its workflow, run id, the step that waits, since
when, and a preview of what the step asked (its suspend payload). A dropdown (or
``inbox.workflow_filter = "id"``) narrows it to one workflow; picking a run (or
``inbox.open(run_id)``) opens its live view below the list, with the resume form, and
returns that form: answer it and the view shows the run go on. The run's workflow is one of
``workflows`` (given by id), else the one its recorded origin names (``flownb run`` records
one), as ``RunView(run_id)`` finds it.

Built from the notebook's parts (ipywidgets, the run table's look, the status badges); every
string from a run is escaped.

>>> inbox = Inbox(workflows=[review, triage]); inbox           # doctest: +SKIP
>>> [e.run_id for e in inbox.entries]                          # doctest: +SKIP
['run-2', 'run-1']
>>> form = inbox.open("run-1"); form.fields["approved"].value = True  # doctest: +SKIP
>>> await form.submit()                                        # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._text import escape_html
from ..core.results import RunInfo
from ..errors import FlownbError, RunNotFoundError
from ..render.model import preview
from . import _html
from ._widgets import close_tree

if TYPE_CHECKING:
    from ..core.workflow import Workflow
    from ..storage.base import Store
    from .forms import ResumeForm
    from .view import RunView

__all__ = ["Inbox"]

PREVIEW = 80
"""Characters of a suspend payload an inbox row shows."""


class Inbox(widgets.VBox):  # type: ignore[misc]
    """The suspended runs of ``store`` (default: the default store), newest first.

    ``workflows`` (workflows, a mapping of them, or a ``Registry``) open the runs whose
    origin cannot be imported. ``inbox.entries`` is the list of ``RunInfo`` shown;
    ``inbox.workflow_filter`` (``None``: all) narrows it to one workflow id;
    ``inbox.open(run_id)`` opens that run's view and returns its resume form;
    ``inbox.refresh()`` reads the store again; ``inbox.payloads`` maps each run id shown to
    its waiting step's suspend payload.
    """

    def __init__(self, store: Store | None = None, workflows: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from ..config import resolve_store

        self.add_class("flownb-inbox")
        resolved = resolve_store(store)
        if resolved is None:
            raise FlownbError("Inbox: there is no store to read (storage=False); pass "
                              "store= or set FLOWNB_STORAGE")
        self.store: Store = resolved
        self.workflows: dict[str, Workflow] = _by_id(workflows)
        self.view: RunView | None = None
        self._all: list[RunInfo] = []
        self.payloads: dict[str, Any] = {}
        self._filter: str | None = None
        self._filter_box = widgets.Dropdown(options=[("all workflows", "")], value="",
                                            description="workflow",
                                            layout=widgets.Layout(width="320px"))
        self._filter_box.observe(self._on_filter, names="value")
        refresh = widgets.Button(description="refresh", icon="refresh",
                                 layout=widgets.Layout(width="96px"))
        refresh.on_click(lambda _b: self.refresh())
        self._picker = widgets.Select(options=[], rows=6, layout=widgets.Layout(width="560px"))
        self._picker.add_class("flownb-inbox-list")
        self._table = widgets.HTML()
        self._table.add_class("flownb-inbox-table")
        self.opened = widgets.VBox([])
        self.children = [
            widgets.HBox([widgets.HTML("<b>inbox</b>: runs waiting for a person"),
                          self._filter_box, refresh]),
            self._table,
            widgets.HTML('<span class="flownb-muted">pick one to answer it</span>'),
            self._picker,
            self.opened,
        ]
        self.refresh()

    # -- what it lists ------------------------------------------------------------------------

    @property
    def entries(self) -> list[RunInfo]:
        """The suspended runs shown (``RunInfo``), newest first, filtered."""
        wanted = self._filter
        return [e for e in self._all if wanted is None or e.workflow_id == wanted]

    @property
    def workflow_filter(self) -> str | None:
        """The workflow id the list is narrowed to; ``None`` (or ``""``) lists them all."""
        return self._filter

    @workflow_filter.setter
    def workflow_filter(self, workflow_id: str | None) -> None:
        self._filter = workflow_id or None
        self._sync_filter_box()
        self._draw()

    def refresh(self) -> None:
        """Read the store's suspended runs again."""
        self._all = self.store.list_runs(status="suspended")
        self.payloads = {}
        for info in self._all:
            snap = self.store.load(info.run_id)
            step = ".".join(info.suspended[0]) if info.suspended else None
            record = snap.steps.get(step, {}) if snap is not None and step else {}
            self.payloads[info.run_id] = record.get("suspend_payload")
        self._sync_filter_box()
        self._draw()

    def _sync_filter_box(self) -> None:
        ids = sorted({e.workflow_id for e in self._all} | set(self.workflows)
                     | ({self._filter} if self._filter else set()))
        box = self._filter_box
        box.unobserve(self._on_filter, names="value")
        box.options = [("all workflows", ""), *((i, i) for i in ids)]
        box.value = self._filter or ""
        box.observe(self._on_filter, names="value")

    def _on_filter(self, change: dict[str, Any]) -> None:
        self.workflow_filter = change["new"] or None

    def _draw(self) -> None:
        entries = self.entries
        picker = self._picker
        picker.unobserve_all("value")
        picker.options = [(_label(e), e.run_id) for e in entries]
        picker.value = None
        picker.observe(lambda change: self.open(change["new"]) if change["new"] else None,
                       names="value")
        self._table.value = self.html()

    def html(self) -> str:
        """The list as HTML: a table of the entries, or a line saying there are none."""
        entries = self.entries
        if not entries:
            what = (f" of workflow '{self._filter}'" if self._filter else "")
            return f'<i class="flownb-inbox-empty">no suspended runs{escape_html(what)}</i>'
        rows = [[escape_html(e.workflow_id), f"<code>{escape_html(e.run_id)}</code>",
                 escape_html(_waiting(e)), escape_html(_html._time(e.updated_at)),
                 f"<code>{escape_html(_preview(self.payloads.get(e.run_id)))}</code>"]
                for e in entries]
        return _html._table(["workflow", "run id", "waiting at", "since", "asks"], rows,
                            "flownb-inbox-entries")

    # -- answering ------------------------------------------------------------------------

    def open(self, run_id: str | None = None) -> ResumeForm | None:
        """Open the suspended run ``run_id`` below the list (its live view, with the resume
        form) and return its resume form (of its first waiting step).

        (Without ``run_id``, ipywidgets' own ``Widget.open``: it opens the widget's comm.)
        """
        from .view import RunView

        if run_id is None:
            super().open()
            return None
        info = next((e for e in self._all if e.run_id == run_id), None)
        if info is None:
            raise RunNotFoundError(f"no suspended run '{run_id}' in the inbox (refresh() "
                                   "reads the store again)", run_id=run_id)
        wf = self._workflow(info)
        run = wf.create_run(run_id=run_id)
        if run.status != "suspended":
            self.refresh()
            raise RunNotFoundError(f"run '{run_id}' of workflow '{wf.id}' is {run.status} "
                                   "now, not waiting", workflow_id=wf.id, run_id=run_id)
        if self.view is not None:
            self.view.close()
        self.view = RunView(run)
        self.opened.children = [self.view]
        forms = self.view.resume_forms
        return forms[_waiting(info)] if _waiting(info) in forms else next(iter(forms.values()))

    def _workflow(self, info: RunInfo) -> Workflow:
        from ..config import resolve_store
        from ..discovery import TargetError, load_origin

        wf = self.workflows.get(info.workflow_id)
        if wf is None:
            snap = self.store.load(info.run_id)
            origin = snap.meta.get("origin") if snap is not None else None
            if not origin:
                raise FlownbError(
                    f"cannot open run '{info.run_id}': its workflow '{info.workflow_id}' is "
                    "not among the inbox's workflows= and the run recorded no origin",
                    workflow_id=info.workflow_id, run_id=info.run_id)
            try:
                wf = load_origin(origin, info.workflow_id)
            except TargetError as exc:
                raise FlownbError(f"cannot open run '{info.run_id}': {exc.message}; pass its "
                                  "workflow in workflows=", workflow_id=info.workflow_id,
                                  run_id=info.run_id) from None
        own = resolve_store(wf.storage)
        if own is not self.store and (own is None or own.load(info.run_id) is None):
            raise FlownbError(f"cannot open run '{info.run_id}': workflow '{wf.id}' keeps its "
                              "runs in another store than the inbox's",
                              workflow_id=wf.id, run_id=info.run_id)
        return wf

    def close(self) -> None:
        """Close the inbox, the opened view and every widget in it."""
        view = getattr(self, "view", None)
        if view is not None:
            view.close()
            self.view = None
        close_tree(self)
        super().close()


def _by_id(workflows: Any) -> dict[str, Workflow]:
    """``workflows`` (one, an iterable, a mapping or a ``Registry``) by workflow id."""
    from ..core.workflow import Workflow

    if workflows is None:
        return {}
    if isinstance(workflows, Workflow):
        workflows = [workflows]
    elif isinstance(workflows, Mapping):
        workflows = list(workflows.values())
    if not isinstance(workflows, Iterable):
        raise TypeError(f"Inbox: workflows= takes workflows, a mapping of them or a "
                        f"Registry, not {type(workflows).__name__}")
    found: dict[str, Workflow] = {}
    for wf in workflows:
        if not isinstance(wf, Workflow):
            raise TypeError(f"Inbox: workflows= holds {type(wf).__name__}, not a Workflow")
        found[wf.id] = wf
    return found


def _waiting(info: RunInfo) -> str:
    return ".".join(info.suspended[0]) if info.suspended else ""


def _preview(payload: Any) -> str:
    return "" if payload is None else preview(payload, PREVIEW)


def _label(info: RunInfo) -> str:
    return f"{info.run_id} · {info.workflow_id} · waiting at {_waiting(info)}"
