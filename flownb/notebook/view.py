"""``RunView``: a run's live view — the step graph coloured by status, a step table, the
event log, the result, and a resume form for each suspended step.

Every update draws one :class:`~flownb.render.model.RunModel` (``view.model``): statuses,
times, foreach progress, table rows, recent events and suspended steps are computed there,
once, as for the terminal's view; this module only turns it into HTML. The graph is laid out
once; status changes only restyle node classes (:func:`flownb.render.svg_with_statuses`).
The run's feed (``run.feed``) calls for at most ``1 / interval`` updates per second while
events come (latest state wins) and one the moment the run returns, so thousands of events
per second never flood the browser.

>>> run = wf.create_run()                               # doctest: +SKIP
>>> view = RunView(run); display(view)                  # doctest: +SKIP
>>> await run.start(input_data={"message": "hi"})       # doctest: +SKIP
>>> view.step_status                                    # doctest: +SKIP
{'upper': 'success', ...}
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._text import escape_html
from ..core.events import WORKFLOW_FINISH, WORKFLOW_START, Event
from ..core.feed import RunFeed
from ..render.model import RunModel, RunModeler
from . import _html
from ._widgets import close_tree
from .forms import ResumeForm

if TYPE_CHECKING:
    from ..core.run import Run

__all__ = ["RunView"]

# The view of each displayed run, by the run's id(): weakly, so a view closed and dropped
# goes, and its run with it. (Keyed by the run weakly, the view would keep its own key alive:
# every run ever displayed would stay for the kernel's life.) The id cannot name another
# object while the entry lives: the entry lives as long as its view, which holds the run.
_VIEWS: weakref.WeakValueDictionary[int, RunView] = weakref.WeakValueDictionary()


class RunView(widgets.VBox):  # type: ignore[misc]
    """The live view of a run (an ipywidgets widget).

    ``source`` is a ``Run``; a ``Workflow`` (the view shows a new run, ``view.run``, then
    follows each run the workflow creates, so ``wf.invoke(...)`` in a later cell shows
    here); or a stored run's id (pass ``workflow=`` to be able to resume it; without it
    the view loads the workflow from the origin the run recorded, else shows the stored
    state read-only, with a notice naming the origin and why it could not be loaded, also in
    ``view.origin_error``).

    ``view.step_status`` maps each step path (``"a"``, ``"outer.inner"``, ``"item[3]"``) to
    the status it shows; ``view.svg`` is the SVG shown now; ``view.model`` the
    :class:`~flownb.render.model.RunModel` drawn last (``view.current_model()`` makes one
    of the run as it is now); ``view.stats`` counts events seen and front-end updates sent.

    While the run is active the view checks every ``interval`` seconds (default 0.12)
    whether events came, and sends one update if so: at most about 8 a second, under 10
    with the final one, which goes out the moment the run finishes or suspends. When one
    update takes longer than a tenth of ``interval`` (a foreach of very many items), the
    checks space out to ten times that, so updating never takes more than a tenth of the
    kernel's time. Step
    events are not handed to the view one by one: the run counts them and keeps the last
    ``max_events`` (shown in the folded event log), so watching a run of thousands of
    quick steps costs it little (see docs/benchmarks.md).
    """

    def __init__(self, source: Any, *, workflow: Any = None, interval: float = 0.12,
                 max_events: int = 200, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_class("flownb-run-view")
        self.run: Run | None = None
        self.snapshot: Any = None  # a stored run shown without its workflow
        self.origin_error: str | None = None  # why the stored run's origin did not load
        self.interval = interval
        self.max_events = max_events
        self._feed: RunFeed | None = None  # the followed run's events
        self._earlier_events = 0  # events of runs followed before this one
        self._drawn = -1  # the feed's count at the last update
        self._updates = 0
        self._started: float | None = None
        self._forms: dict[str, ResumeForm] = {}
        self._stop_following: Callable[[], None] | None = None
        self._closed = False
        self._resolve(source, workflow)
        self.header = widgets.HTML()
        self.graph = widgets.HTML(layout=widgets.Layout(overflow="auto", max_height="640px",
                                                        min_width="160px"))
        self.graph.add_class("flownb-graph")
        self.table = widgets.HTML(layout=widgets.Layout(overflow="auto"))
        self.forms = widgets.VBox([])
        self.result_html = widgets.HTML()
        self.events_html = widgets.HTML(layout=widgets.Layout(overflow="auto",
                                                              max_height="320px"))
        self.details = details = widgets.Accordion(children=[self.events_html])
        details.set_title(0, "events")
        # The log is drawn only while it is open: a closed one costs nothing per update.
        details.observe(lambda _change: self._draw_log(), names="selected_index")
        self.children = [self.header,
                         widgets.HBox([self.graph, widgets.VBox([self.table, self.result_html])]),
                         self.forms, details]
        self._base_svg = self._layout()
        self.svg = self._base_svg
        self._last_statuses: dict[str, str] | None = None
        self.model: RunModel  # what the last update drew (set by _flush)
        if self.run is not None:
            self._watch(self.run)
        self._flush()

    # -- sources ----------------------------------------------------------------------------

    @classmethod
    def of(cls, run: Run) -> RunView:
        """The one view of ``run`` (created on first use, and again once it was closed),
        so displaying a run twice shows the same live view rather than subscribing twice.

        Nothing here keeps the run: a view lives while it is open (ipywidgets keeps every
        open widget) or referenced; closed and dropped, the view and its run both go."""
        view = _VIEWS.get(id(run))
        if view is None or view.run is not run or view.closed:
            view = _VIEWS[id(run)] = cls(run)
        return view

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (the view follows nothing any more)."""
        return self._closed

    def _resolve(self, source: Any, workflow: Any) -> None:
        from ..core.run import Run
        from ..core.workflow import Workflow

        if isinstance(source, Run):
            self.run = source
        elif isinstance(source, Workflow):
            self.run = source.create_run()
            self._stop_following = source.on_run(self._follow)
        elif isinstance(source, str):
            if workflow is not None:
                self.run = workflow.create_run(run_id=source)
                if self.run.status == "pending":  # nothing stored: create_run made a new run
                    from ..errors import RunNotFoundError

                    raise RunNotFoundError(
                        f"no stored run '{source}' of workflow '{workflow.id}'",
                        workflow_id=workflow.id, run_id=source)
            else:
                self._load_stored(source)
        else:
            raise TypeError(f"RunView shows a Run, a Workflow or a stored run id, not "
                            f"{type(source).__name__}")
        if self.run is not None:
            self.description = self.run.workflow.graph.description
        self._modeler = RunModeler(self.description)

    def _load_stored(self, run_id: str) -> None:
        from ..config import resolve_store
        from ..errors import RunNotFoundError

        store = resolve_store(None)
        snap = store.load(run_id) if store is not None else None
        if snap is None:
            raise RunNotFoundError(f"no stored run '{run_id}' in the default store; pass "
                                   "workflow= if its workflow keeps runs elsewhere",
                                   run_id=run_id)
        origin = snap.meta.get("origin")
        if origin:
            self.run, self.origin_error = _import_workflow(origin, snap, store)
            if self.run is not None:
                return
        from ..core.results import StepResult

        self.snapshot = snap
        self.description = snap.graph
        self._stored_steps = {p: StepResult.from_dict(d) for p, d in snap.steps.items()}

    def _follow(self, run: Run) -> None:
        """Show ``run`` from now on: a view of a workflow follows its newest run."""
        if self._feed is not None:
            self._feed.close()
        self._earlier_events = self.stats["events"]
        self.run = run
        self._started = None
        self._watch(run)
        self._flush()

    def _watch(self, run: Run) -> None:
        self._feed = run.feed(self._on_feed, interval=self.interval, keep=self.max_events)

    # -- reading --------------------------------------------------------------------------

    @property
    def steps(self) -> dict[str, Any]:
        if self.run is not None:
            return self.run.steps
        return self._stored_steps

    @property
    def status(self) -> str:
        if self.run is not None:
            return self.run.status
        return str(self.snapshot.status)

    @property
    def step_status(self) -> dict[str, str]:
        """Step path → the status shown for the run as it is now: every node of the graph
        (``pending`` until it starts, ``skipped`` once the run went past it) and every
        foreach item."""
        shown = self.current_model().statuses
        for path, result in self.steps.items():
            shown.setdefault(path, result.status)
        return shown

    def current_model(self, *, events: bool = False) -> RunModel:
        """The :class:`~flownb.render.model.RunModel` of the run as it is now (with its
        recent events when ``events``; the folded log needs none)."""
        run = self.run
        if run is None:
            return self._modeler.of_snapshot(self.snapshot)
        feed = self._feed
        return self._modeler.of_run(
            run, events=feed.events(last=self.max_events) if events and feed else (),
            events_total=self.stats["events"], started=self._started)

    @property
    def stats(self) -> dict[str, int]:
        """``{"events": seen, "updates": front-end updates sent}``."""
        feed = self._feed
        seen = feed.count if feed is not None else 0
        return {"events": self._earlier_events + seen, "updates": self._updates}

    # -- events -----------------------------------------------------------------------------

    def _on_feed(self, event: Event | None) -> None:
        """The run's feed: events came (``None``), or a run-level event."""
        if event is not None and event.type == WORKFLOW_START and self._started is None:
            self._started = event.timestamp
        if event is None or event.type == WORKFLOW_FINISH:
            self._flush()  # the final state shows as soon as the run returns

    def _flush(self) -> None:
        """Draw the run's model now (one front-end update)."""
        self._drawn = self._feed.count if self._feed is not None else -1
        self._updates += 1
        log_open = self.details.selected_index is not None
        self.model = model = self.current_model(events=log_open)
        statuses = model.statuses
        if statuses != self._last_statuses and self._base_svg:
            from ..render.svg import svg_with_statuses

            self.svg = svg_with_statuses(self._base_svg, statuses)
            self.graph.value = self.svg
        self._last_statuses = statuses
        self.header.value = self._header_html(model)
        self.table.value = _html.step_table(model.rows)
        if log_open:
            self.events_html.value = _html.event_log(model.events, model.events_total)
        self.result_html.value = self._result_html()
        self._sync_forms(model)

    def _draw_log(self) -> None:
        if self.details.selected_index is None:
            return
        model = self.current_model(events=True)
        self.events_html.value = _html.event_log(model.events, model.events_total)

    # -- parts ------------------------------------------------------------------------------

    def _layout(self) -> str:
        from ..render.svg import workflow_svg

        try:
            return workflow_svg(self.description)
        except RuntimeError as exc:  # no Graphviz: the rest of the view still works
            self.graph.value = _html_note(str(exc))
            return ""

    def _header_html(self, model: RunModel) -> str:
        read_only = "" if self.run is not None else \
            ' <span style="color:#5f6368">(stored state; pass workflow= to resume)</span>'
        if self.run is None and self.origin_error:
            read_only += _html_note(f"⚠ {self.origin_error}")
        return (f"<b>{escape_html(model.workflow_id)}</b> · run <code>"
                f"{escape_html(model.run_id)}</code> {_html.badge(model.status)}"
                f"{_html.elapsed(model.seconds, model.running)}{read_only}")

    def _result_html(self) -> str:
        if self.run is not None:
            result = self.run.result
            if result is None or self.status == "running":
                return ""
            return _html.result_block(result.status, result.result, result.error,
                                      result.suspended)
        meta = self.snapshot.meta
        suspended = meta.get("suspended_paths") or []
        return _html.result_block(self.status, meta.get("result"), meta.get("error"), suspended)

    def _sync_forms(self, model: RunModel) -> None:
        """One resume form per suspended step while the run waits; none otherwise."""
        run = self.run
        if run is None:
            return
        waiting = [s.path for s in model.suspended]
        if list(self._forms) == waiting:
            return
        forms = {}
        for path in waiting:
            form = self._forms.get(path)
            if form is None or form.result is not None:
                form = ResumeForm(run, step=path)
            forms[path] = form
        for form in self._forms.values():
            if form not in forms.values():
                form.close()  # answered, or its step no longer waits
        self._forms = forms
        self.forms.children = list(forms.values())

    @property
    def resume_forms(self) -> dict[str, ResumeForm]:
        """Step path → the resume form shown for it (empty unless the run is suspended)."""
        return dict(self._forms)

    def close(self) -> None:
        """Stop watching the run and close the widgets."""
        self._closed = True
        if self._feed is not None:
            self._feed.close()
        if self._stop_following is not None:
            self._stop_following()
            self._stop_following = None
        close_tree(self)
        super().close()


def _html_note(text: str) -> str:
    return f'<div style="color:#5f6368;font-size:12px">{escape_html(text)}</div>'


def _import_workflow(origin: str, snap: Any, store: Any) -> tuple[Run | None, str | None]:
    """The stored run ``snap`` reattached to the workflow its ``origin`` names, or ``None``
    and why not (one line naming the origin)."""
    from ..config import resolve_store
    from ..discovery import TargetError, load_origin

    try:
        wf = load_origin(origin, snap.workflow_id)
    except TargetError as exc:
        return None, exc.message
    own = resolve_store(wf.storage)
    if own is not store and (own is None or own.load(snap.run_id) is None):
        return None, (f"workflow '{wf.id}' loaded from '{origin}' keeps its runs in another "
                      "store")
    return wf.create_run(run_id=snap.run_id), None
