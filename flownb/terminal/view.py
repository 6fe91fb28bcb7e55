"""Following a run in the terminal (:class:`LiveView`): a ``rich.live.Live`` tree, or plain
lines off a terminal.

Both read the one event stream every observer reads (``run.watch``). The live view never
re-renders per event: events only mark it out of date, and a task on the run's event loop
redraws at most ``refresh_per_second`` times a second (so thousands of events per second
cost one tree per tick, and the tree is always built on the thread that changes the run).
Each redraw draws the run's :class:`~flownb.render.model.RunModel` (statuses, times,
foreach progress: computed there once, as for the notebook's view). A model reads every
step result, so for a run of tens of thousands of items, where one redraw takes more than
a tenth of the tick, the ticks space out to ten times its cost.

User text is shown as in :mod:`flownb.terminal.tree`: never as markup, and with its control
characters escaped, so none reaches the terminal.

A step whose output was reused from an earlier run (SPEC §3d) says so: ``↺ reused`` after
its status, on its plain line and in the tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.text import Text

from .._text import escape_controls
from ..core.description import walk
from ..core.events import (
    STEP_OUTPUT,
    STEP_RESULT,
    STEP_SUSPENDED,
    STEP_WAITING,
    WORKFLOW_START,
    Event,
)
from ..core.keys import item_part
from ..render.jsontext import LINE, json_text
from ..render.model import NodeView, Notes, RunModel, RunModeler, step_seconds
from ..render.status import graph_path
from ..render.tracebacks import user_traceback
from .tree import (
    GLYPHS,
    STYLES,
    _Walker,
    format_duration,
    json_block,
    preview,
    read_field,
)

if TYPE_CHECKING:
    from ..core.results import WorkflowResult
    from ..core.run import Run

__all__ = ["LiveView", "failed_step", "outcome", "result_outcome", "run_model",
           "run_renderable"]

_ITEM = re.compile(r"\[\d+\]$")

REUSED = "↺ reused"
"""The note of a step whose output was reused from an earlier run."""


class _ReusedWalker(_Walker):
    """The status tree of :mod:`flownb.terminal.tree`, with ``↺ reused`` after the facts of
    a reused node."""

    def facts_of(self, label: Text, shown: Any, *, container: bool = False) -> None:
        super().facts_of(label, shown, container=container)
        if isinstance(shown, NodeView) and shown.reused:
            label.append(f"  {REUSED}", style="dim cyan")


def _status_tree(description: Mapping[str, Any], model: RunModel) -> RenderableType:
    """:func:`flownb.terminal.tree.status_tree` of a run's model, reused steps marked."""
    return _ReusedWalker(model).tree(description)


# -- a finished (or stored) run's outcome -------------------------------------------------------


def failed_step(steps: Mapping[str, Any]) -> str | None:
    """The innermost failed step path (a nested workflow fails because a step inside did)."""
    failed = [p for p, r in steps.items() if _status(r) == "failed"]
    for path in failed:
        if not any(o.startswith((path + ".", path + "[")) for o in failed):
            return path
    return None


RESULT_LINES = 20
"""A long list or mapping result shows its first items, about this many lines of JSON."""


def outcome(status: str, *, result: Any = None, error: str | None = None,
            steps: Mapping[str, Any] | None = None,
            suspended: list[list[str]] | None = None,
            whole: str | None = None,
            exception: BaseException | None = None) -> RenderableType:
    """The panel(s) that end a run's view: the result as pretty JSON, the error with the step
    that failed, or each suspended step with its suspend payload.

    ``whole``: where the whole result is (``"--all shows the whole result"``). A long list
    or mapping result is then cut to its first items (:func:`cut_result`), with a line
    saying how many were left out and that; ``None`` shows it all. ``exception``: what
    failed the run, when this process ran it: the error is followed by its traceback
    from the step's own frame (``flownb.render.tracebacks``)."""
    steps = steps or {}
    if status == "success":
        more = 0
        if whole is not None:
            result, more = cut_result(result)
        panel = Panel(json_block(result),
                      title=Text(f"{GLYPHS['success']} result", style=STYLES["success"]),
                      title_align="left", border_style="green", expand=False)
        if not more:
            return panel
        return Group(panel, Text(escape_controls(f"… and {more:,} more items ({whole})"),
                                 style="dim"))
    if status == "suspended":
        panels = []
        for parts in suspended or []:
            path = ".".join(parts)
            payload = read_field(steps.get(path), "suspend_payload")
            body: RenderableType = (json_block(payload) if payload is not None
                                    else Text("(no payload)", "dim"))
            panels.append(Panel(body, title=Text(f"{GLYPHS['suspended']} suspended at step "
                                                 f"'{escape_controls(path)}'",
                                                 style=STYLES["suspended"]),
                                title_align="left", border_style="yellow", expand=False))
        return Group(*panels)
    where = failed_step(steps) if status == "failed" else None
    title = escape_controls(f"{GLYPHS.get(status, '?')} {status}"
                            + (f" at step '{where}'" if where else ""))
    # The error is a block (a message, a validation report): its lines stay lines.
    panel = Panel(Text(escape_controls(error or status, keep_newlines=True)),
                  title=Text(title, style=STYLES.get(status, "")),
                  title_align="left", border_style="red" if status == "failed" else "magenta",
                  expand=False)
    tb = user_traceback(exception) if status == "failed" else None
    if tb is None:
        return panel
    # Under the panel, lines whole (a terminal wraps a long one; a path stays one to copy).
    return Group(panel, Text(tb.rstrip("\n"), style="dim", no_wrap=True, overflow="ignore"))


def cut_result(result: Any) -> tuple[Any, int]:
    """A long list or mapping result cut to its first items: as many as show in
    :data:`RESULT_LINES` lines of JSON as ``json_block`` lays it out (one item at least);
    and how many items were left out."""
    if not isinstance(result, (list, dict)) or len(result) <= 1:
        return result, 0
    items = list(result.items()) if isinstance(result, dict) else list(result)

    def prefix(k: int) -> Any:
        return dict(items[:k]) if isinstance(result, dict) else items[:k]

    def fits(k: int) -> bool:
        return json_text(prefix(k)).count("\n") < RESULT_LINES

    # A line holds a few dozen items at most ("1, " each): more than that many lines' worth
    # cannot fit, and is not laid out to find so.
    most = min(len(items), RESULT_LINES * LINE // 3)
    if most == len(items) and fits(most):
        return result, 0
    low, high = 1, most  # the longest prefix that fits, by halving (longer never fits less)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return prefix(low), len(items) - low


def result_outcome(result: WorkflowResult, whole: str | None = None) -> RenderableType:
    """:func:`outcome` of a ``WorkflowResult``."""
    return outcome(result.status, result=result.result, error=result.error, steps=result.steps,
                   suspended=result.suspended, whole=whole, exception=result.exception)


def run_model(run: Run, *, modeler: RunModeler | None = None,
              notes: Notes | None = None) -> RunModel:
    """The :class:`~flownb.render.model.RunModel` of ``run`` as it is now, loop iterations
    included (``modeler``: one made for the run's workflow, to reuse; ``notes``: what its
    events told)."""
    if modeler is None:
        modeler = RunModeler(run.workflow.graph.description)
    return modeler.of_run(run, notes=notes)


def run_renderable(run: Run) -> RenderableType:
    """``Run.__rich__``: the status tree of the run, then its result (once it has one)."""
    tree = _status_tree(run.workflow.graph.description, run_model(run))
    if run.result is None or run.status in ("running", "pending"):
        return tree
    return Group(tree, result_outcome(run.result, whole="run.result.result holds all of it"))


# -- following a run --------------------------------------------------------------------------


class LiveView:
    """Shows a run while it executes: a live tree on a terminal, plain lines elsewhere.

    >>> async with LiveView(run, console=console):                 # doctest: +SKIP
    ...     result = await run.start(input_data={"message": "hi"})

    ``live=None`` picks the live tree when ``console`` is an interactive terminal. The plain
    mode prints one line per finished, failed or suspended step (a foreach prints its
    unfinished items and one summary line, not a line per item), per custom ``step-output``
    and per sleep, with no colour codes. Neither mode prints the result: call
    :func:`outcome` (as the CLI does) when the run returns.
    """

    def __init__(self, run: Run, *, console: Console | None = None, live: bool | None = None,
                 refresh_per_second: float = 8.0,
                 get_time: Callable[[], float] = time.time) -> None:
        if not 0 < refresh_per_second <= 10:
            raise ValueError("refresh_per_second must be in (0, 10]")
        self.run = run
        self.console = console or Console()
        self.live = (self.console.is_terminal and not self.console.is_dumb_terminal
                     if live is None else live)
        self.refresh_per_second = refresh_per_second
        self.get_time = get_time
        self.notes = Notes()  # what events say and results do not (emit payloads, sleeps)
        self.redraws = 0
        self._description = run.workflow.graph.description
        self._modeler = RunModeler(self._description, now=get_time)
        self._workflows, self._foreach = _containers(self._description)
        self._dirty = True
        self._redraw_cost = 0.0  # seconds the last redraw took
        self._unsubscribe: Callable[[], None] | None = None
        self._live: Live | None = None
        self._ticker: asyncio.Task[None] | None = None

    @property
    def outputs(self) -> dict[str, Any]:
        """Graph node → the latest payload it sent with ``emit``."""
        return self.notes.emitted

    @property
    def waiting(self) -> dict[str, str]:
        """Sleep node → what it waits for."""
        return self.notes.waiting

    def model(self) -> RunModel:
        """The run's :class:`~flownb.render.model.RunModel` now: what the tree draws."""
        return run_model(self.run, modeler=self._modeler, notes=self.notes)

    def renderable(self) -> RenderableType:
        """The tree as it is now."""
        return _status_tree(self._description, self.model())

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> LiveView:
        self._unsubscribe = self.run.watch(self._on_event)
        if self.live:
            self._live = Live(console=self.console, auto_refresh=False, transient=True,
                              refresh_per_second=self.refresh_per_second)
            self._live.start()
            self._redraw()
            self._ticker = asyncio.get_running_loop().create_task(self._tick())
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._live is not None:
            self._live.stop()  # transient: the live region goes, the whole tree is printed
            self._live = None
            if exc_type is None:  # nothing ran when start/resume rejected their input
                self.console.print(self.renderable())

    async def _tick(self) -> None:
        while True:
            # A tree of a huge run (it walks every result) is redrawn less often, so that
            # redrawing takes at most a tenth of the time.
            await asyncio.sleep(max(1 / self.refresh_per_second, 10 * self._redraw_cost))
            # Running steps show their elapsed time, so a running run redraws every tick.
            if self._dirty or self.run.status == "running":
                self._redraw()

    def _redraw(self) -> None:
        if self._live is not None:
            started = time.perf_counter()
            self._dirty = False
            self.redraws += 1
            self._live.update(self.renderable(), refresh=True)
            self._redraw_cost = time.perf_counter() - started

    # -- events ------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        self._dirty = True
        self.notes.see(event)
        if not self.live:
            line = self._plain_line(event)
            if line is not None:
                self.console.print(line, soft_wrap=True, highlight=False)

    def _items_line(self, path: str, status: str, total: int) -> str:
        """``300 items``; for a foreach that did not succeed, what became of them:
        ``300 items: 84 success, 1 failed, 215 not run`` (item ``i`` of the foreach at
        ``path`` is the result at ``item_part(path, i)``)."""
        if status == "success":
            return f"{total:,} items"
        steps = self.run.steps
        counts = Counter(read_field(steps.get(item_part(path, i)), "status") or "not run"
                         for i in range(total))
        counts["not run"] = counts.pop("not run", 0)  # last, and only when some did not
        return f"{total:,} items: " + ", ".join(f"{n:,} {s}" for s, n in counts.items() if n)

    def _plain_line(self, event: Event) -> Text | None:
        path = event.step_path
        is_item = _ITEM.search(path) is not None
        node = graph_path(path)
        container = node in self._workflows or (node in self._foreach and not is_item)
        if event.type == WORKFLOW_START:
            verb = "resumed" if event.payload.get("resumed") else "started"
            return Text(escape_controls(f"run {event.run_id} of workflow '{event.workflow_id}' "
                                        f"{verb}"))
        if event.type == STEP_RESULT:
            status = str(event.payload.get("status"))
            if status == "success" and is_item:
                return None  # the foreach's own line counts them
            text = Text(escape_controls(f"{GLYPHS.get(status, '?')} {path}  {status}"))
            result = self.run.steps.get(path)
            seconds = None if result is None else step_seconds(result, event.timestamp)[0]
            if seconds is not None:
                text.append(f"  {format_duration(seconds)}")
            if event.payload.get("cached"):
                text.append(f"  {REUSED}")
            payload = read_field(result, "payload")
            if node in self._foreach and not is_item and isinstance(payload, list):
                text.append(f"  {self._items_line(path, status, len(payload))}")
            error = event.payload.get("error")
            if error and not container:  # last on its line, so its own lines may follow
                text.append(f"  {escape_controls(str(error), keep_newlines=True)}")
            return text
        if event.type == STEP_SUSPENDED:
            if container:
                return None  # the step inside that suspended has its own line
            payload = event.payload.get("suspend_payload")
            text = Text(f"{GLYPHS['suspended']} {escape_controls(path)}  suspended")
            if payload is not None:
                text.append(f"  {preview(payload, 200)}")
            return text
        if event.type == STEP_OUTPUT:
            return Text(f"» {escape_controls(path)}  {preview(event.payload, 200)}")
        if event.type == STEP_WAITING:
            return Text(escape_controls(f"… {path}  {self.waiting.get(node, 'waiting')}"))
        return None


def _containers(description: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """(graph paths of nested workflows, those of foreach steps): steps whose events repeat
    what the steps (or items) inside them report."""
    nodes = list(walk(description))
    return ({n.path for n in nodes if n.kind == "workflow"},
            {n.path for n in nodes if n.holder == "foreach"})


def _status(result: Any) -> str | None:
    value = read_field(result, "status")
    return None if value is None else str(value)

