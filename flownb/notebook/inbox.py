"""``Inbox``: every suspended run of a store, waiting for a person (SPEC §4c).

One row per suspended run, newest first: its workflow, run id, the step that waits, since
when, and a preview of what the step asked (its suspend payload). A dropdown (or
``inbox.workflow_filter = "id"``) narrows it to one workflow; picking a run (or
``inbox.open(run_id)``) opens its live view below the list, with the resume form, and
returns that form: answer it and the view shows the run go on, and the list drops it. The
run's workflow is one of ``workflows`` (given by id), else the one its recorded origin names
(``flownb run`` records one), as ``RunView(run_id)`` finds it.

An anywidget widget drawn by ``static/inbox.js`` and ``inbox.css``, after the parts it
shares with the playground (``static/parts.js``, ``parts.css``): the list, the filter and the
pick are traits and messages, the opened run's live view a widget of its own shown inside.
Its colours come from JupyterLab's ``--jp-*`` variables (light and dark themes); every string
from a run is shown as text (the page sets ``textContent``; :meth:`Inbox.html` escapes it).

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
import traitlets as t

from .._text import escape_html
from ..core.results import RunInfo
from ..errors import FlownbError, RunNotFoundError
from ..render.model import preview
from . import _html
from ._static import FlownbWidget
from ._widgets import close_tree

if TYPE_CHECKING:
    from ..core.workflow import Workflow
    from ..storage.base import Store
    from .forms import ResumeForm
    from .view import RunView

__all__ = ["Inbox"]

PREVIEW = 80
"""Characters of a suspend payload an inbox row shows."""

HEADER = ("workflow", "run id", "waiting at", "since", "asks")
"""The list's columns."""

# Colours of html() from JupyterLab's theme variables (light and dark alike).
_MUTED = "color:var(--jp-ui-font-color1,#424242)"
_TABLE = ("border-collapse:collapse;font-size:12px;font-family:var(--jp-ui-font-family,"
          "sans-serif);color:var(--jp-ui-font-color0,#212121)")
_HEAD = ("padding:3px 8px;text-align:left;font-weight:600;white-space:nowrap;"
         "background:var(--jp-layout-color2,#eeeeee);"
         "border-bottom:1px solid var(--jp-border-color1,#bdbdbd)")
_CELL = ("padding:3px 8px;text-align:left;vertical-align:top;"
         "border-bottom:1px solid var(--jp-border-color2,#e0e0e0)")
_CODE = ("font-family:var(--jp-code-font-family,monospace);"
         "color:var(--jp-content-font-color1,#212121);background:none")


class Inbox(FlownbWidget):
    """The suspended runs of ``store`` (default: the default store), newest first.

    ``workflows`` (workflows, a mapping of them, or a ``Registry``) open the runs whose
    origin cannot be imported. ``inbox.entries`` is the list of ``RunInfo`` shown;
    ``inbox.workflow_filter`` (``None``: all; the page's dropdown sets it too) narrows it to
    one workflow id; ``inbox.open(run_id)`` opens that run's view and returns its resume
    form, as picking the run in the page does (``inbox.selected = run_id``; a run that cannot
    be opened from there says why in ``inbox.message``); ``inbox.refresh()`` reads the store
    again (the page's refresh button too); ``inbox.payloads`` maps each run id shown to its
    waiting step's suspend payload; ``inbox.view`` is the opened ``RunView``.
    """

    _bundle = "inbox"

    rows = t.List(t.Dict()).tag(sync=True)
    """What the list shows of each entry: ``{"run_id", "workflow_id", "waiting", "since",
    "asks"}``, newest first (the page shows them as text)."""
    workflows_known = t.List(t.Unicode()).tag(sync=True)
    """The workflow ids the filter offers."""
    workflow_filter = t.Unicode(None, allow_none=True).tag(sync=True)
    """The workflow id the list is narrowed to; ``None`` (or ``""``) lists them all."""
    selected = t.Unicode("").tag(sync=True)
    """The opened run's id (``""``: none); set by a pick in the page, it opens the run."""
    message = t.Unicode("").tag(sync=True)
    """Why the run picked in the page could not be opened (``""``: it could)."""
    opened = t.List(t.Instance(widgets.Widget)).tag(sync=True, **widgets.widget_serialization)
    """The opened run's live view (none, or one), with its resume form."""

    def __init__(self, store: Store | None = None, workflows: Any = None,
                 **kwargs: Any) -> None:
        from ..config import resolve_store

        resolved = resolve_store(store)
        if resolved is None:
            raise FlownbError("Inbox: there is no store to read (storage=False); pass "
                              "store= or set FLOWNB_STORAGE")
        super().__init__(**kwargs)
        self.store: Store = resolved
        self.workflows: dict[str, Workflow] = _by_id(workflows)
        self.view: RunView | None = None
        self._all: list[RunInfo] = []
        self.payloads: dict[str, Any] = {}
        self.observe(lambda _change: self._draw(), names="workflow_filter")
        self.observe(self._on_selected, names="selected")
        self.on_msg(self._on_message)
        self.refresh()

    # -- what it lists ------------------------------------------------------------------------

    @property
    def entries(self) -> list[RunInfo]:
        """The suspended runs shown (``RunInfo``), newest first, filtered."""
        wanted = self.workflow_filter
        return [e for e in self._all if wanted is None or e.workflow_id == wanted]

    @t.validate("workflow_filter")
    def _one_or_all(self, proposal: Any) -> str | None:
        return proposal["value"] or None  # "" (the dropdown's "all workflows") is None

    def refresh(self) -> None:
        """Read the store's suspended runs again."""
        self._all = self.store.list_runs(status="suspended")
        self.payloads = {}
        for info in self._all:
            snap = self.store.load(info.run_id)
            step = ".".join(info.suspended[0]) if info.suspended else None
            record = snap.steps.get(step, {}) if snap is not None and step else {}
            self.payloads[info.run_id] = record.get("suspend_payload")
        self._draw()

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """The page's refresh button: ``{"kind": "refresh"}``."""
        if isinstance(content, dict) and content.get("kind") == "refresh":
            self.refresh()

    def _draw(self) -> None:
        wanted = self.workflow_filter
        self.workflows_known = sorted({e.workflow_id for e in self._all} | set(self.workflows)
                                      | ({wanted} if wanted else set()))
        self.rows = [{"run_id": e.run_id, "workflow_id": e.workflow_id,
                      "waiting": _waiting(e), "since": _html._time(e.updated_at),
                      "asks": _preview(self.payloads.get(e.run_id))} for e in self.entries]

    def html(self) -> str:
        """The list as HTML: a table of the entries, or a line saying there are none."""
        entries = self.entries
        if not entries:
            return (f'<i class="flownb-inbox-empty" style="{_MUTED}">'
                    f"{escape_html(self.empty_text())}</i>")
        rows = [[escape_html(e.workflow_id), _code(e.run_id), escape_html(_waiting(e)),
                 escape_html(_html._time(e.updated_at)),
                 _code(_preview(self.payloads.get(e.run_id)))]
                for e in entries]
        return _entries_table(list(HEADER), rows)

    def empty_text(self) -> str:
        """What the list says when it is empty."""
        wanted = self.workflow_filter
        return "no suspended runs" + (f" of workflow '{wanted}'" if wanted else "")

    # -- answering ------------------------------------------------------------------------

    def _on_selected(self, change: dict[str, Any]) -> None:
        """A run picked in the page: open it, or say why it cannot be opened."""
        run_id = change["new"]
        if not run_id or (self.view is not None and self.view.run is not None
                          and self.view.run.run_id == run_id):
            return
        try:
            self.open(run_id)
        except FlownbError as exc:
            self.message = exc.message
            self.selected = ""

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
        self.view = view = RunView(run)
        view.observe(self._on_opened_state, names="state")
        self.opened = [view]
        self.message = ""
        self.selected = run_id  # opened from Python: the page shows it picked
        forms = view.resume_forms
        return forms[_waiting(info)] if _waiting(info) in forms else next(iter(forms.values()))

    def _on_opened_state(self, change: dict[str, Any]) -> None:
        """The opened run moved on (answered here): list what still waits."""
        state = change["new"] or {}
        if state.get("status") != "suspended" and any(
                e.run_id == state.get("run_id") for e in self._all):
            self.refresh()

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


def _entries_table(header: list[str], rows: list[list[str]]) -> str:
    """The inbox's table (cells already escaped HTML), coloured by the theme."""
    head = "".join(f'<th style="{_HEAD}">{escape_html(h)}</th>' for h in header)
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{cell}</td>' for cell in row)
                   + "</tr>" for row in rows)
    return (f'<table class="flownb-inbox-entries" style="{_TABLE}"><thead><tr>{head}</tr>'
            f"</thead><tbody>{body}</tbody></table>")


def _code(text: str) -> str:
    return f'<code style="{_CODE}">{escape_html(text)}</code>'


def _waiting(info: RunInfo) -> str:
    return ".".join(info.suspended[0]) if info.suspended else ""


def _preview(payload: Any) -> str:
    return "" if payload is None else preview(payload, PREVIEW)


def _label(info: RunInfo) -> str:
    return f"{info.run_id} · {info.workflow_id} · waiting at {_waiting(info)}"
