"""``RunFeed``: how a user interface follows a run (``run.feed(...)``).

There are two public ways to observe a run, and every flownb view uses one of them:

* ``run.watch(callback)``: ``callback(event)`` for every event as it happens (a logger, a
  test, ``stream()``, a third-party integration that needs each event);
* ``run.feed(on_change, interval=0.1, keep=200)``: for something that *draws* the run. A
  run of thousands of quick steps makes thousands of events a second; redrawing per event
  would cost more than the run. The feed counts every event and keeps the last ``keep``
  (cheaply: a count and a tuple per event, no call), and calls ``on_change`` at most once
  per ``interval`` seconds while events come, and at once with the run-level events
  (``workflow-start``, ``workflow-suspended``, ``workflow-finish``), so the final state is
  drawn as soon as the run returns. When one ``on_change`` takes longer than a tenth of
  the interval, the calls space out to ten times its cost: a huge run is redrawn less
  often rather than slowed down.

Both give the same events with the same payloads, but one: ``workflow-finish`` carries the
whole ``WorkflowResult.to_dict()`` when a ``watch`` callback (or ``stream()``) listens, and
only ``{"status": …}`` when feeds alone do (a view reads the result from ``run.result``;
turning a foreach of thousands of items into JSON for nobody would cost a watched run more
than its steps).

>>> feed = run.feed(lambda event: redraw(feed))          # doctest: +SKIP
>>> feed.count, [e.type for e in feed.events(last=3)]   # doctest: +SKIP
(12, ['step-start', 'step-result', 'workflow-finish'])
>>> feed.close()                                         # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .events import STEP_START, WORKFLOW_FINISH, WORKFLOW_START, WORKFLOW_SUSPENDED, Event
from .results import StepResult

if TYPE_CHECKING:
    from .execution import Execution

__all__ = ["EventBuffer", "RunFeed"]

log = logging.getLogger("flownb")

RawEvent = tuple[str, tuple[str, ...], Any, float]
"""``(type, path, payload, timestamp)``: an event as the buffer keeps it. When feeds alone
observe a run, the engine keeps a step's ``step-start`` (not resumed) and successful
``step-result`` with the step's ``StepResult`` in place of the payload, which
``RunFeed.events`` builds when it is read: a view of an unstored run of thousands of quick
steps then pays a tuple per event, and the dicts only for the events it shows."""


def _payload(type: str, sr: StepResult) -> dict[str, Any]:
    """The payload of an event kept with its ``StepResult``, as ``emit`` would have had it:
    a step's result does not change once it succeeded (a step that runs again gets a new
    one)."""
    if type == STEP_START:
        return {"payload": sr.payload, "resumed": False}
    return {"status": sr.status, "output": sr.output, "attempts": sr.attempts}


class EventBuffer:
    """The events of one run that its feeds read: a count and the last ones as raw tuples
    (made ``Event`` objects only when read). One per run, shared by its feeds, made by the
    first feed and dropped with the last, so an unwatched run stops counting.

    Appending a tuple costs a fraction of building an ``Event`` and calling an observer,
    which is what a view attached to a run of thousands of quick steps pays per event.
    """

    __slots__ = ("count", "feeds", "recent")

    def __init__(self, keep: int) -> None:
        self.count = 0
        self.recent: deque[RawEvent] = deque(maxlen=keep)
        self.feeds: tuple[RunFeed, ...] = ()

    def keep(self, n: int) -> None:
        """Keep at least the last ``n`` events."""
        if n > (self.recent.maxlen or 0):
            self.recent = deque(self.recent, maxlen=n)

    def run_event(self, event: Event) -> None:
        """A run-level event: each feed hears it at once."""
        for feed in self.feeds:
            feed._run_event(event)


class RunFeed:
    """A bounded, coalesced feed of one run's events for a user interface.

    Made by ``run.feed(...)``; see the module documentation. ``count`` is the number of
    events since the feed was opened; ``events(last=n)`` the last ones kept (at most
    ``keep``), oldest first; ``close()`` stops it (idempotent). ``on_change(event)`` gets the
    run-level ``Event``, or ``None`` for "events came since the last call".
    """

    def __init__(self, ex: Execution, on_change: Callable[[Event | None], Any] | None, *,
                 interval: float = 0.1, keep: int = 200) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self._ex = ex
        self.on_change = on_change
        self.interval = interval
        buffer = ex.buffer
        if buffer is None:
            buffer = ex.buffer = EventBuffer(keep)
        buffer.keep(keep)
        buffer.feeds = (*buffer.feeds, self)
        ex.observers_changed()
        self._buffer: EventBuffer | None = buffer
        self._base = buffer.count
        self._seen = buffer.count  # the count at the last on_change
        self._timer: asyncio.TimerHandle | None = None
        self._cost = 0.0  # how long the last on_change took
        self._closed_count = 0
        if ex.active and ex.loop is not None:  # opened mid-run: tick from now on
            try:
                here = asyncio.get_running_loop()
            except RuntimeError:
                here = None
            if here is ex.loop:
                self._tick_later()
            else:
                ex.loop.call_soon_threadsafe(self._tick_later)

    @property
    def closed(self) -> bool:
        return self._buffer is None

    @property
    def ticking(self) -> bool:
        """Whether a coalesced ``on_change(None)`` is scheduled (the run is active)."""
        return self._timer is not None

    @property
    def count(self) -> int:
        """Events since the feed was opened."""
        buffer = self._buffer
        return self._closed_count if buffer is None else buffer.count - self._base

    def events(self, last: int | None = None) -> list[Event]:
        """The kept events (the last ``last`` of them), oldest first."""
        buffer = self._buffer
        if buffer is None:
            return []
        raw = list(buffer.recent)
        if self.count < len(raw):  # kept from before this feed was opened
            raw = raw[len(raw) - self.count:]
        if last is not None:
            raw = raw[-last:] if last > 0 else []
        ex = self._ex
        return [Event(type, ex.run_id, ex.workflow_id, path,
                      _payload(type, payload) if payload.__class__ is StepResult else payload,
                      timestamp)
                for type, path, payload, timestamp in raw]

    def close(self) -> None:
        """Stop following the run; ``count`` keeps its last value."""
        buffer = self._buffer
        if buffer is None:
            return
        self._closed_count = buffer.count - self._base
        self._buffer = None
        self._stop()
        buffer.feeds = tuple(f for f in buffer.feeds if f is not self)
        ex = self._ex
        if not buffer.feeds and ex.buffer is buffer:
            ex.buffer = None
            ex.observers_changed()

    # -- calling on_change --------------------------------------------------------------------

    def _run_event(self, event: Event) -> None:
        if event.type == WORKFLOW_START:
            self._tick_later()
        elif event.type in (WORKFLOW_FINISH, WORKFLOW_SUSPENDED):
            self._stop()
        self._call(event)

    def _call(self, event: Event | None) -> None:
        buffer = self._buffer
        if buffer is None:
            return
        self._seen = buffer.count
        if self.on_change is None:
            return
        started = time.perf_counter()
        try:
            self.on_change(event)
        except Exception:
            log.exception("flownb: a feed of run %s failed", self._ex.run_id)
        self._cost = time.perf_counter() - started

    def _tick_later(self) -> None:
        if self._timer is not None or self._buffer is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop to time on: run-level events still arrive
            return
        self._timer = loop.call_later(max(self.interval, 10 * self._cost), self._tick)

    def _tick(self) -> None:
        self._timer = None
        buffer = self._buffer
        if buffer is None:
            return
        if buffer.count != self._seen:
            self._call(None)
        if self._ex.active:
            self._tick_later()

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"every {self.interval} s"
        return f"RunFeed(run {self._ex.run_id!r}, {self.count} events, {state})"
