"""``flownb watch RUN_ID``: follow a run that executes elsewhere (another process, another
machine) from its store, with the live tree of ``flownb run`` (SPEC §4c, §7).

The run's stored version is checked at most 4 times a second (``Store.version_of``, one
indexed read; a store that pushes changes wakes the watcher instead, ``Store.on_change``)
and the run is loaded again only when the version moved. Each redraw draws the stored
run's :class:`~flownb.render.model.RunModel` with :func:`~flownb.terminal.tree.status_tree`,
as the live view of a run in this process does. Off a terminal, one line per step whose
status changed. Watching never writes to the store: stopping it leaves the run alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text

from .._text import escape_controls
from ..render.model import RunModel, RunModeler
from ..storage.base import POLL_INTERVAL, watch_versions
from .tree import GLYPHS, status_tree

if TYPE_CHECKING:
    from ..storage.base import Snapshot, Store

__all__ = ["StoredRunWatch"]

_UNDECIDED = ("running",)  # a watch ends when the run suspends, as `flownb run` does


class StoredRunWatch:
    """Follows the stored run ``snap`` (as loaded from ``store``) until it is no longer
    running; ``await watch.follow()`` returns its last snapshot, ``None`` if it was
    deleted meanwhile.

    ``live=None`` picks the live tree when ``console`` is an interactive terminal; the
    plain mode prints a line per step whose status changed.
    """

    def __init__(self, store: Store, snap: Snapshot, *, console: Console | None = None,
                 live: bool | None = None, interval: float = POLL_INTERVAL,
                 get_time: Callable[[], float] = time.time) -> None:
        self.store = store
        self.snap = snap
        self.console = console or Console()
        self.live = (self.console.is_terminal and not self.console.is_dumb_terminal
                     if live is None else live)
        self.interval = interval
        self.get_time = get_time
        self.reloads = 0
        self._modeler = RunModeler(snap.graph, now=get_time)
        self._shown: dict[str, str] = {}

    def model(self) -> RunModel:
        """The stored run's model as last loaded (running steps timed by ``get_time``)."""
        return self._modeler.of_snapshot(self.snap, now=self.get_time())

    def renderable(self) -> RenderableType:
        return status_tree(self.snap.graph, self.model())

    async def follow(self) -> Snapshot | None:
        live: Live | None = None
        ticker: asyncio.Task[None] | None = None
        if self.live:
            live = Live(console=self.console, auto_refresh=False, transient=True)
            live.start()
            live.update(self.renderable(), refresh=True)
            ticker = asyncio.get_running_loop().create_task(self._tick(live))
        else:
            s = self.snap
            self.console.print(Text(escape_controls(
                f"watching run {s.run_id} of workflow '{s.workflow_id}' ({s.status})")),
                soft_wrap=True, highlight=False)
            self._lines()
        try:
            if self.snap.status in _UNDECIDED:
                async for version in watch_versions(self.store, self.snap.run_id,
                                                    self.snap.version,
                                                    interval=self.interval):
                    snap = None if version is None else self.store.load(self.snap.run_id)
                    if snap is None:
                        return None
                    self.snap = snap
                    self.reloads += 1
                    if live is not None:
                        live.update(self.renderable(), refresh=True)
                    else:
                        self._lines()
                    if snap.status not in _UNDECIDED:
                        break
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
            if live is not None:
                live.stop()  # transient: the live region goes, the whole tree is printed
                self.console.print(self.renderable())
        return self.snap

    async def _tick(self, live: Live) -> None:
        """Running steps show their elapsed time: redraw once a second meanwhile."""
        while True:
            await asyncio.sleep(1.0)
            live.update(self.renderable(), refresh=True)

    def _lines(self) -> None:
        """The plain mode: one line per node whose status changed since the last one."""
        for path, status in self.model().statuses.items():
            if self._shown.get(path, "pending") != status:
                self.console.print(Text(escape_controls(
                    f"{GLYPHS.get(status, '?')} {path}  {status}")), soft_wrap=True,
                    highlight=False)
            self._shown[path] = status
