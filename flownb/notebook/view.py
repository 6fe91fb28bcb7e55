"""``RunView``: a run's live view — an anywidget widget drawing the step graph by status, the
step table with progress and times, an inspector, a timeline, the event log, the result, and
a resume form for each suspended step.

The browser side is one ES module and one stylesheet shipped in the package
(``flownb/notebook/static/live.js`` and ``live.css``; no build step, no CDN). The kernel
lays the graph out once with Graphviz and sends that SVG once (the ``graph`` trait); every
update after that is the ``state`` trait (:func:`flownb.notebook.live.model_state`): node
statuses, times and foreach progress, bounded in size however many items or events the run
has. The browser restyles the nodes by class and counts running times up by itself.

Updates follow the run's feed (``run.feed``): at most ``1 / interval`` a second while events
come (latest state wins) and one the moment the run returns.

A stored run that is running or suspended in *another* process (``RunView(run_id)``) is
followed from the store instead (SPEC §4c): a task on the kernel's event loop checks the
run's stored version at most 4 times a second (``Store.version_of``, one indexed read;
a store that pushes changes wakes it instead, ``Store.on_change``) and reloads the run only
when it moved. The view updates, offers the resume form when the run suspends, and stops
checking once the run has finished or the view is closed.

>>> run = wf.create_run()                               # doctest: +SKIP
>>> view = RunView(run); display(view)                  # doctest: +SKIP
>>> await run.start(input_data={"message": "hi"})       # doctest: +SKIP
>>> view.step_status                                    # doctest: +SKIP
{'upper': 'success', ...}
>>> view.select("upper"); view.inspector["output"]      # doctest: +SKIP
{'message': 'HI'}
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import traitlets as t

from .._text import escape_html
from ..core import clock
from ..core.events import WORKFLOW_FINISH, WORKFLOW_START, Event
from ..core.feed import RunFeed
from ..render.model import RunModel, RunModeler
from ..storage.base import POLL_INTERVAL, watch_versions
from . import _html, live
from ._static import FlownbWidget
from ._tasks import spawn
from ._widgets import close_tree
from .forms import EditInputForm, ForkForm, ResumeForm

if TYPE_CHECKING:
    from ..core.run import Run
    from ..storage.base import Store

__all__ = ["RunView"]

# The view of each displayed run, by the run's id(): weakly, so a view closed and dropped
# goes, and its run with it. (Keyed by the run weakly, the view would keep its own key alive:
# every run ever displayed would stay for the kernel's life.) The id cannot name another
# object while the entry lives: the entry lives as long as its view, which holds the run.
_VIEWS: weakref.WeakValueDictionary[int, RunView] = weakref.WeakValueDictionary()


log = logging.getLogger("flownb")

# The stored statuses of a run that may still change: a view of a stored run in one of them
# follows it from the store.
_UNDECIDED = ("running", "suspended")

# The statuses of a run that is over: its view offers Re-run.
_DECIDED = ("success", "failed", "canceled")

# The statuses of a step that ran and can be forked from (SPEC §3d); a breakpoint's pause is
# suspended too, but its step never ran.
_FORKABLE = ("success", "failed", "suspended", "canceled")

_UNKNOWN = object()  # a run's input not seen (yet)


@dataclass(frozen=True, slots=True)
class HTMLText:
    """A piece of the view as HTML text (``.value``), as ipywidgets' ``HTML`` has it."""

    value: str


class RunView(FlownbWidget):
    """The live view of a run (an anywidget widget).

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
    ``view.select(path)`` opens the inspector on a step or item, as a click does, and
    ``view.inspector`` is what it shows (SPEC §6b's keys).

    ``direction`` lays the graph out top to bottom (``"TB"``, the default) or left to right
    (``"LR"``, for long chains); setting ``view.direction`` (or the ↔/↕ button beside Fit)
    lays it out again the other way.

    While the run is active the view checks every ``interval`` seconds (default 0.12)
    whether events came, and sends one update if so: at most about 8 a second, under 10
    with the final one, which goes out the moment the run finishes or suspends. When one
    update takes longer than a tenth of ``interval`` (a foreach of very many items), the
    checks space out to ten times that. Step events are not handed to the view one by one:
    the run counts them and keeps the last ``max_events`` (the events tab shows the last
    of them).

    Exploring (SPEC §3d): ``view.fork_form(path)`` is the inspector's Fork from here (a
    form pre-filled with the step's recorded input; submitted, it forks and runs the fork,
    whose own view shows below it; this view keeps the original). A run paused at a
    breakpoint shows Continue (``await view.continue_step(path)``) and Edit input
    (``view.edit_input_form(path)``) instead of a resume form; ``view.breakpoints`` lists
    the steps paused before. ``view.changes`` is ``run.changes()`` of a stored run (SPEC
    §4b), shown as a notice under the header.

    A stored run that is running or suspended (``RunView(run_id)``, not executing in this
    process) is followed from its store while it may still change: ``view.following`` says
    whether it is, ``poll_interval`` (default 0.25 s) is the time between two checks of its
    stored version, ``view.refresh()`` checks once now (where no event loop runs).
    """

    _bundle = "live"

    graph = t.Dict().tag(sync=True)
    """``{"svg": laid-out SVG, "ids": node path → its group's id}``: sent once."""
    state = t.Dict().tag(sync=True)
    """The bounded view model (:func:`flownb.notebook.live.model_state`), each update."""
    selected = t.Unicode("").tag(sync=True)
    """The step or item path the inspector shows (``""``: none); set by a click too."""
    inspected = t.Dict().tag(sync=True)
    """What the browser shows of ``inspector`` (folded, items paged)."""
    item_status = t.Unicode("").tag(sync=True)
    """The inspector's item filter (``""``: every status)."""
    item_offset = t.Int(0).tag(sync=True)
    """The first item of the inspector's item page."""
    expanded = t.List(t.Unicode()).tag(sync=True)
    """Folded values the person asked to see more of (``"result"``, ``"output"``, …)."""
    direction = t.Unicode("TB").tag(sync=True)
    """How the graph is laid out: ``"TB"`` (top to bottom) or ``"LR"`` (left to right)."""
    tab = t.Unicode("steps").tag(sync=True)
    """The open tab: ``steps``, ``timeline`` or ``events``."""
    timeline = t.Dict().tag(sync=True)
    """Gantt bars (:func:`flownb.notebook.live.timeline`) while the timeline tab is open."""
    forms = t.List(t.Instance(widgets.Widget)).tag(sync=True, **widgets.widget_serialization)
    """The forms: the resume forms answered in this view (each shows its answer), then one
    per step waiting now; the edit-input forms of breakpoints; the fork forms."""

    def __init__(self, source: Any, *, workflow: Any = None, interval: float = 0.12,
                 max_events: int = 200, poll_interval: float = POLL_INTERVAL,
                 direction: str = "TB", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run: Run | None = None
        self.snapshot: Any = None  # a stored run shown without its workflow
        self.origin_error: str | None = None  # why the stored run's origin did not load
        self.interval = interval
        self.max_events = max_events
        self._feed: RunFeed | None = None  # the followed run's events
        self._earlier_events = 0  # events of runs followed before this one
        self._updates = 0
        self._started: float | None = None
        self._forms: dict[str, ResumeForm] = {}  # the waiting steps' forms
        self._answered: list[ResumeForm] = []  # forms of steps that waited: their answers
        self._edits: dict[str, EditInputForm] = {}  # a breakpoint's edit-input form, by step
        self._edited: list[EditInputForm] = []  # ... those submitted: their cards
        self._forks: list[ForkForm] = []  # Fork from here: open forms and forks' cards
        self.changes: list[dict[str, str]] = []  # what changed since the run was stored
        self._stop_following: Callable[[], None] | None = None
        self._closed = False
        self._input: Any = _UNKNOWN  # the shown run's input, for Re-run
        # A stored run followed from its store: (store, run id, version seen), the status
        # its reattached run had when loaded, and the task checking it.
        self._stored: tuple[Store, str, int | None] | None = None
        self._loaded_status: str | None = None
        self._poll_interval = poll_interval
        self._poller: asyncio.Task[None] | None = None
        # Where this view was displayed (IPython display handles, each with the cell it was
        # displayed in), whether a front end drew it, and the static HTML those displays
        # hold (``_show_final``).
        self._displays: list[tuple[Any, int]] = []
        self._rendered = False
        self._static_shown: str | None = None
        self.direction = direction  # checked by _check_direction (close() works if it fails)
        self._resolve(source, workflow)
        self._base_svg, layout_error = self._layout()
        self._statuses: dict[str, str] = {}
        self.graph = {"svg": self._base_svg, "ids": live.svg_ids(self.description),
                      "error": layout_error}
        self.model: RunModel  # what the last update drew (set by _flush)
        self.observe(self._on_browser, names=["selected", "item_status", "item_offset",
                                              "expanded", "tab"])
        self.observe(self._relayout, names=["direction"])
        self.on_msg(self._on_message)
        if self.run is not None:
            self._watch(self.run)
            self.changes = _changes_of(self.run)
        self._flush()
        self._start_following()

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
                from ..config import resolve_store

                store = resolve_store(workflow.storage)
                # Read before the run is loaded: a version seen that is older than the one
                # loaded costs one reload, never a missed change.
                version = store.version_of(source) if store is not None else None
                self.run = workflow.create_run(run_id=source)
                if store is not None:
                    self._stored = (store, source, version)
                    self._loaded_status = self.run.status
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
        assert store is not None
        self._stored = (store, run_id, snap.version)
        origin = snap.meta.get("origin")
        if origin:
            self.run, self.origin_error = _import_workflow(origin, snap, store)
            if self.run is not None:
                self._loaded_status = self.run.status
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
        if self.run is None or self.run.run_id != run.run_id:
            self.changes = []  # a new run of the current definition: nothing changed
        self.run = run
        self._started = None
        self._input = _UNKNOWN
        self._watch(run)
        self._flush()

    def _watch(self, run: Run) -> None:
        self._feed = run.feed(self._on_feed, interval=self.interval, keep=self.max_events)

    # -- following a run that runs elsewhere ------------------------------------------------

    @property
    def following(self) -> bool:
        """Whether the view follows a stored run from its store now (SPEC §4c)."""
        return self._poller is not None and not self._poller.done()

    def _start_following(self) -> None:
        if self._stored is None or self.status not in _UNDECIDED:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a script): view.refresh() checks by hand
            return
        store, run_id, version = self._stored
        self._poller = loop.create_task(_follow_store(
            weakref.ref(self), store, run_id, version, self._poll_interval))

    def refresh(self) -> bool:
        """Check the followed stored run once now and show it as it is if it changed;
        returns whether it did. (A view follows by itself where an event loop runs.)"""
        if self._stored is None or self._closed:
            return False
        store, run_id, version = self._stored
        now = store.version_of(run_id)
        if now == version:
            return False
        self._moved(now)
        return True

    def _moved(self, version: int | None) -> bool:
        """The followed run's stored version is now ``version`` (``None``: it was
        deleted): show it as stored. Returns whether to keep following it."""
        assert self._stored is not None
        store, run_id, _ = self._stored
        self._stored = (store, run_id, version)
        if version is None or self._closed:
            return False
        run = self.run
        if run is None:  # read-only: the stored state
            snap = store.load(run_id)
            if snap is None:
                return False
            from ..core.results import StepResult

            self.snapshot = snap
            self._stored_steps = {p: StepResult.from_dict(d) for p, d in snap.steps.items()}
            self._flush()
            return snap.status in _UNDECIDED
        if run.status != self._loaded_status:
            # Changed here since it was loaded: a form of this view resumed it, and its own
            # events show it (the versions that moved are its writes).
            return run.status in _UNDECIDED
        fresh = run.workflow.create_run(run_id=run_id)
        self._loaded_status = fresh.status
        # The forms of steps that waited: answered here, they stay as cards; the others
        # were answered elsewhere (the run moved on without them) and go.
        for form in self._forms.values():
            if form.result is not None:
                self._answered.append(form)
            else:
                close_tree(form)
                form.close()
        self._forms = {}
        self._drop_edits(keep=())
        self._set_forms()
        self._follow(fresh)
        return fresh.status in _UNDECIDED

    # -- reading --------------------------------------------------------------------------

    @property
    def steps(self) -> dict[str, Any]:
        """Step path → ``StepResult`` of the run shown."""
        if self.run is not None:
            return self.run.steps
        return self._stored_steps

    @property
    def status(self) -> str:
        """The run's status."""
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

    @property
    def svg(self) -> str:
        """The SVG shown now: the graph laid out once, its nodes' classes by status."""
        if not self._base_svg:
            return ""
        from ..render.svg import svg_with_statuses

        return svg_with_statuses(self._base_svg, self._statuses)

    def current_model(self, *, events: bool = False) -> RunModel:
        """The :class:`~flownb.render.model.RunModel` of the run as it is now (with its
        recent events when ``events``)."""
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

    @property
    def header(self) -> HTMLText:
        """The header as HTML text: workflow, run id, status, time, and a notice when only
        the stored state can be shown."""
        model = self.model
        read_only = "" if self.run is not None else \
            ' <span class="flownb-muted">(stored state; pass workflow= to resume)</span>'
        if self.run is None and self.origin_error:
            read_only += f'<div class="flownb-muted">{escape_html("⚠ " + self.origin_error)}' \
                         "</div>"
        return HTMLText(f"{_html.run_title(model.workflow_id, model.run_id)} "
                        f"{_html.badge(model.status)}"
                        f"{_html.elapsed(model.seconds, model.running)}{read_only}"
                        f"{_html.changes_notice(self.changes)}")

    def static_html(self) -> str:
        """The view as it is now as plain HTML (no script), which a saved notebook keeps
        beside the widget for readers where widgets are not drawn (a notebook on GitHub):
        a run that ended shows its graph coloured by status, its steps and its outcome;
        one not started or still running, its graph and a line saying what the live view
        is (what it showed at that moment would be out of date by the time anyone reads
        it)."""
        model = self.model
        graph = _html.themed_graph(self.svg) if self.svg else ""
        if model.status in ("pending", "running"):
            return (f'<div class="flownb-static" style="text-align:left">'
                    f"{_html.run_title(model.workflow_id, model.run_id)}"
                    f'<div style="color:var(--jp-ui-font-color2,#5f6368);font-size:12px">'
                    "flownb's live view of this run: in Jupyter, it shows each step's "
                    f'status as the run goes</div><div style="display:flex">{graph}</div></div>')
        has_result, result = self._result()
        outcome = _html.result_block(model.status, result if has_result else None,
                                     model.error, [s.path.split(".") for s in model.suspended])
        return (f'<div class="flownb-static" style="text-align:left">{self.header.value}'
                f"{_html.beside(graph, _html.step_table(model.rows) + outcome)}</div>")

    def _ipython_display_(self) -> None:
        """Display the view with a display id, kept so that its saved HTML can show the
        run's end (``_show_final``)."""
        from IPython import get_ipython
        from IPython.display import display

        if self._closed:
            return
        data, metadata = self._repr_mimebundle_()
        show: Callable[..., Any] = display  # IPython's display carries no annotations
        handle = show(data, metadata=metadata, raw=True, display_id=True)
        shell = get_ipython()
        if handle is not None and shell is not None:
            self._displays.append((handle, shell.execution_count))

    def _show_final(self, model: RunModel) -> None:
        """Once the run has ended, replace its displays from earlier cells with the view
        as it is now (the widget and the HTML of its end), if no front end drew the view: a
        notebook run by nbclient or papermill then saves the run's end for readers
        without widgets. A display a front end drew is left alone (replacing it would draw
        the view again), and so is one in the cell still running (the front end's word that
        it drew the view arrives only after that cell)."""
        if (self._rendered or self._closed or not self._displays
                or model.status in ("pending", "running")):
            return
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None:
            return
        data, metadata = self._repr_mimebundle_()
        if data.get("text/html") == self._static_shown:
            return
        self._static_shown = data.get("text/html")
        for handle, cell in self._displays:
            if cell < shell.execution_count:
                handle.update(data, metadata=metadata, raw=True)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
        data["text/plain"] = repr(self)
        data["text/html"] = self.static_html()  # where the widget is not drawn
        return data, meta

    def __repr__(self) -> str:
        model = getattr(self, "model", None)
        if model is None:
            return f"<{type(self).__name__} (not set up)>"
        return (f"RunView(workflow={model.workflow_id!r}, run={model.run_id!r}, "
                f"status={model.status!r})")

    # -- the inspector ----------------------------------------------------------------------

    def select(self, path: str | None) -> dict[str, Any] | None:
        """Open the inspector on step or item ``path`` (``None`` closes it), as clicking
        its node or row does; returns :attr:`inspector`."""
        self.item_offset = 0
        self.item_status = ""
        self.selected = path or ""
        return self.inspector

    @property
    def inspector(self) -> dict[str, Any] | None:
        """What the inspector shows of the selected step, whole (``None`` when none is
        selected): a dict with the keys ``path``, ``status``, ``input``, ``output``,
        ``error``, ``traceback``, ``attempts``, ``started_at``, ``ended_at``,
        ``suspend_payload``, ``resume_data``, ``resumed_at``, ``cached_from`` and ``items``
        (a foreach's items, ``{"index", "path", "status"}``); ``None`` where one does not
        apply."""
        path = self.selected
        if not path:
            return None
        statuses = self._statuses or self.model.statuses
        node = self.model.nodes.get(path)
        result = self.run.result if self.run is not None else None
        return live.inspect_step(
            path, status=statuses.get(path), steps=self.steps,
            is_foreach=node is not None and node.progress is not None,
            exception=result.exception if result is not None else None,
            run_error=result.error if result is not None else None)

    def _inspected(self) -> dict[str, Any]:
        info = self.inspector
        if info is None:
            return {}
        shown = live.bounded_inspector(info, expanded=self.expanded,
                                       item_status=self.item_status,
                                       item_offset=self.item_offset)
        shown["can_fork"] = self.can_fork(info["path"])
        return shown

    # -- fork from here (SPEC §3d) ----------------------------------------------------------

    def can_fork(self, path: str) -> bool:
        """Whether the inspector offers Fork from here for step or item ``path``: the view
        has the run's workflow, the run is not running, and the step ran (it succeeded,
        failed, suspended itself or was canceled; not a step still pending, running,
        skipped, paused at its breakpoint, or a foreach as a whole: fork one of its items).
        """
        from ..core.breakpoints import is_breakpoint_pause
        from ..core.keys import strip_items

        run = self.run
        if run is None or run.status in ("pending", "running"):
            return False
        result = run.steps.get(path)
        if result is None or result.status not in _FORKABLE or result.started_at is None:
            return False
        if is_breakpoint_pause(result):
            return False
        node = self.model.nodes.get(path)
        if node is not None and node.progress is not None:
            return False  # a foreach: its items are forked one by one
        return strip_items(path) in run.workflow.steps

    def fork_form(self, path: str) -> ForkForm:
        """Fork from here: open (or return the open) form for the input of step ``path``,
        pre-filled with the input it recorded; shown with the view's forms. ``await
        form.submit()`` forks the run at ``path`` with the values and runs the fork, whose
        own live view shows below the form (this view keeps showing this run). Raises
        ``ValueError`` when the step cannot be forked from (:meth:`can_fork`)."""
        if not self.can_fork(path):
            raise ValueError(f"cannot fork from '{path}': only a step of this run that ran "
                             "(not a running, pending, skipped or paused one) can be forked")
        assert self.run is not None
        for form in self._forks:
            if form.step_path == path and form.run is self.run and not form.submitted \
                    and not form.closed:
                return form
        form = ForkForm(self.run, path)
        form.on_dismiss = self._form_dismissed
        self._forks.append(form)
        self._set_forms()
        return form

    @property
    def fork_forms(self) -> list[ForkForm]:
        """The fork forms shown (open ones and the cards of forks made here)."""
        return list(self._forks)

    def _form_dismissed(self, form: Any) -> None:
        if form in self._forks:
            self._forks.remove(form)
        for path, edit in list(self._edits.items()):
            if edit is form:
                del self._edits[path]
        self._set_forms()

    # -- breakpoints (SPEC §3d) ---------------------------------------------------------------

    @property
    def breakpoints(self) -> list[str]:
        """The paths of the steps the run is paused before at a breakpoint now."""
        from ..core.breakpoints import is_breakpoint_pause

        run = self.run
        if run is None or run.status != "suspended":
            return []
        paths = [".".join(p) for p in run.suspended]
        return [p for p in paths if is_breakpoint_pause(run.steps.get(p))]

    def _paused(self, path: str | None) -> str:
        paused = self.breakpoints
        if path is None:
            if len(paused) != 1:
                raise ValueError("name the step to continue: the run is paused before "
                                 + (", ".join(repr(p) for p in paused) or "no step"))
            return paused[0]
        if path not in paused:
            raise ValueError(f"the run is not paused at a breakpoint before '{path}' (paused "
                             f"before: {', '.join(repr(p) for p in paused) or 'none'})")
        return path

    async def continue_step(self, path: str | None = None) -> Any:
        """Continue the run paused before step ``path`` (the Continue button; ``None``:
        the one step paused) with its input as it is; returns the ``WorkflowResult`` (with
        ``"*"``, paused before the next step)."""
        step = self._paused(path)
        assert self.run is not None
        return await self.run.resume(step=step)

    def edit_input_form(self, path: str | None = None) -> EditInputForm:
        """The Edit input form of the step ``path`` the run is paused before (opened on
        first use, shown with the view's forms), pre-filled with the input it is about to
        get: ``await form.submit()`` continues the run with the values."""
        step = self._paused(path)
        assert self.run is not None
        form = self._edits.get(step)
        if form is None or form.closed or form.run is not self.run:
            form = EditInputForm(self.run, step)
            form.on_dismiss = self._form_dismissed
            self._edits[step] = form
            self._set_forms()
        return form

    # -- events -----------------------------------------------------------------------------

    def _on_feed(self, event: Event | None) -> None:
        """The run's feed: events came (``None``), or a run-level event."""
        if event is not None and event.type == WORKFLOW_START:
            if self._started is None:
                self._started = event.timestamp
            if isinstance(event.payload, dict) and "input" in event.payload:
                self._input = event.payload["input"]
        if event is None or event.type == WORKFLOW_FINISH:
            self._flush()  # the final state shows as soon as the run returns

    def _on_browser(self, change: dict[str, Any]) -> None:
        """The person clicked, filtered, paged, unfolded or switched tabs."""
        if change["name"] == "tab":
            self._flush()  # the events or the timeline it shows
            return
        with self.hold_sync():
            if change["name"] == "expanded" and "result" in self.expanded:
                self._send_model(self.model)
            self.inspected = self._inspected()

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        kind = content.get("kind") if isinstance(content, dict) else None
        path = content.get("path") if isinstance(content, dict) else None
        if kind == "rendered":
            self._rendered = True
        elif kind == "cancel":
            self.cancel()
        elif kind == "rerun":
            self.rerun()
        elif kind in ("fork", "continue", "edit_input") and isinstance(path, str):
            try:
                if kind == "fork":
                    self.fork_form(path)
                elif kind == "edit_input":
                    self.edit_input_form(path)
                else:
                    spawn(self.continue_step(path))
            except ValueError:  # a click on a control the run has moved past
                self._flush()

    def cancel(self) -> None:
        """Cancel the run shown (the Cancel button)."""
        run = self.run
        if run is not None and run.status == "running":
            spawn(run.cancel())

    @property
    def can_rerun(self) -> bool:
        """Whether Re-run is offered: the view has the run's workflow (not a read-only
        stored run), the run is over (succeeded, failed or was canceled) and its input is
        known (seen when it started here, or stored)."""
        run = self.run
        return (run is not None and run.status in _DECIDED
                and self._input_of(run) is not _UNKNOWN)

    def _input_of(self, run: Run) -> Any:
        """The input ``run`` started with: seen in its start event, else its stored one."""
        if self._input is _UNKNOWN and run.store is not None:
            snap = run.store.load(run.run_id)
            if snap is not None:
                self._input = snap.input
        return self._input

    def rerun(self) -> Run | None:
        """Start a new run of the same workflow with the same input (the Re-run button) and
        follow it here; returns the new run (it runs in the background where an event loop
        runs, else to its end), or ``None`` when Re-run is not offered (:attr:`can_rerun`).

        The run shown before stays as it is, in its store; this view shows the new one."""
        run = self.run
        if run is None or not self.can_rerun:
            return None
        input_data = self._input_of(run)
        fresh = run.workflow.create_run()  # a view of the workflow follows it by itself
        if self.run is not fresh:
            self._follow(fresh)
        # The new run is this process's own: its events, not the store, show it now.
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        self._stored = None
        for form in [*self._answered, *self._forms.values()]:  # the old run's answers
            close_tree(form)
            form.close()
        self._forms, self._answered = {}, []
        self._drop_edits(keep=())
        self._edited = []
        self._set_forms()
        self._input = input_data
        spawn(fresh.start(input_data))
        return fresh

    def _flush(self) -> None:
        """Send the run's model now (one front-end message)."""
        self._updates += 1
        self.model = model = self.current_model(events=self.tab == "events")
        self._statuses = model.statuses
        with self.hold_sync():
            self._send_model(model)
            if self.selected:
                self.inspected = self._inspected()
            self._send_timeline(model)
            self._sync_forms(model)
        self._show_final(model)

    def _send_model(self, model: RunModel) -> None:
        has_result, result = self._result()
        notice = None
        if self.run is None:
            notice = "stored state; pass workflow= to resume"
            if self.origin_error:
                notice = f"⚠ {self.origin_error}"
        self.state = live.model_state(
            model, now=clock.now(), result=result, has_result=has_result,
            expanded=self.expanded, read_only=self.run is None, notice=notice,
            events=self.tab == "events", seq=self._updates, can_rerun=self.can_rerun,
            breakpoints=self.breakpoints, changes=self.changes)

    def _send_timeline(self, model: RunModel) -> None:
        if self.tab == "timeline":
            self.timeline = live.timeline(model, self.steps)

    def _result(self) -> tuple[bool, Any]:
        """(whether the run has an output to show, that output)."""
        if self.run is not None:
            result = self.run.result
            if result is None or self.status != "success":
                return False, None
            return True, result.result
        if self.status != "success":
            return False, None
        return True, self.snapshot.meta.get("result")

    @t.validate("direction")
    def _check_direction(self, proposal: Any) -> str:
        from ..render.dot import check_direction

        return check_direction(proposal["value"])  # ValueError naming TB and LR

    def _relayout(self, _change: Any = None) -> None:
        """Lay the graph out again (another direction); statuses restyle it as before."""
        self._base_svg, layout_error = self._layout()
        self.graph = {"svg": self._base_svg, "ids": live.svg_ids(self.description),
                      "error": layout_error}

    def _layout(self) -> tuple[str, str | None]:
        from ..render.svg import workflow_svg

        try:
            return workflow_svg(self.description, direction=self.direction), None
        except RuntimeError as exc:  # no Graphviz: the rest of the view still works
            return "", str(exc)

    def _sync_forms(self, model: RunModel) -> None:
        """One resume form per suspended step while the run waits; none otherwise. A step
        paused at its breakpoint gets Continue and Edit input instead (its edit form goes
        once the run moved past it, unless it was submitted: then it shows its card)."""
        run = self.run
        if run is None:
            return
        paused = set(self.breakpoints)
        if any(path not in paused for path in self._edits):
            self._drop_edits(keep=paused)
            self._set_forms()
        waiting = [s.path for s in model.suspended if s.path not in paused]
        if list(self._forms) == waiting:
            return
        forms = {}
        for path in waiting:
            form = self._forms.get(path)
            if form is None or form.result is not None:
                form = ResumeForm(run, step=path)
            forms[path] = form
        # A form whose step no longer waits stays: answered here, it shows its answer (its
        # submit may still be finishing when the run's last update comes).
        self._answered.extend(f for f in self._forms.values() if f not in forms.values())
        self._forms = forms
        self._set_forms()

    def _drop_edits(self, keep: Any) -> None:
        """Let go of the edit-input forms of steps not in ``keep``: a submitted one stays
        as its card, the others close."""
        for path, form in list(self._edits.items()):
            if path in keep:
                continue
            del self._edits[path]
            if form.submitted or form.submitting:  # its card, or soon
                self._edited.append(form)
            else:
                close_tree(form)
                form.close()

    def _set_forms(self) -> None:
        self.forms = [*self._answered, *self._forms.values(), *self._edited,
                      *self._edits.values(), *(f for f in self._forks if not f.closed)]

    @property
    def resume_forms(self) -> dict[str, ResumeForm]:
        """Step path → the resume form shown for it (empty unless the run is suspended)."""
        return dict(self._forms)

    def close(self) -> None:
        """Stop watching the run and close the view and its forms."""
        self._closed = True
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        if self._feed is not None:
            self._feed.close()
        if self._stop_following is not None:
            self._stop_following()
            self._stop_following = None
        for form in [*self._answered, *self._forms.values(), *self._edited,
                     *self._edits.values(), *self._forks]:
            close_tree(form)
            form.close()
        self._forms, self._answered, self._edits, self._edited = {}, [], {}, []
        self._forks = []
        close_tree(self)
        super().close()


def _changes_of(run: Run) -> list[dict[str, str]]:
    """``run.changes()`` of a run that is stored and not running here (SPEC §4b), else
    ``[]``; a fault while comparing is logged, never a failed view."""
    if run.status in ("pending", "running"):
        return []
    try:
        return list(run.changes())
    except Exception:
        log.exception("flownb: could not compare run %r with its workflow", run.run_id)
        return []


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


async def _follow_store(ref: weakref.ref[RunView], store: Store, run_id: str,
                        version: int | None, interval: float) -> None:
    """Follow a stored run for the view ``ref`` names, until the run is decided, the view is
    closed or dropped (the task holds it weakly between checks: an open view is kept by
    ipywidgets anyway, a dropped one goes)."""
    try:
        async for moved in watch_versions(store, run_id, version, interval=interval):
            view = ref()
            if view is None:
                return
            try:
                keep = view._moved(moved)
            except Exception:  # a store fault: say so, and try again at the next check
                log.exception("flownb: could not reload run %r to show it", run_id)
                keep = True
            if not keep:
                return
            del view
    except Exception:
        log.exception("flownb: stopped following run %r", run_id)
