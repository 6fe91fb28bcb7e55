"""``DaskExecutor``: step executions on Dask distributed workers.

>>> from distributed import Client, LocalCluster            # doctest: +SKIP
>>> from flownb.executors import DaskExecutor               # doctest: +SKIP
>>> executor = DaskExecutor(Client(LocalCluster(n_workers=2)))   # doctest: +SKIP
>>> wf = create_workflow(id="docs", executor=executor)      # doctest: +SKIP

The client may be synchronous (made in a notebook cell, its event loop in a thread of
its own) or asynchronous on the run's own loop; either way the run awaits each Dask
future without blocking its event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import Callable
from typing import Any

try:
    import distributed
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "flownb.executors.DaskExecutor needs Dask distributed: pip install 'flownb[dask]'"
    ) from exc

from ..core.executor import Outcome, StepCall
from ._worker import run_call
from .base import RemoteExecutor

_dd: Any = distributed  # distributed's API is not annotated

__all__ = ["DaskExecutor"]

# Results are gathered in batches: once an eighth of the futures in flight are ready, or
# _LINGER seconds after the first one. A lone step (or a foreach with about as many items
# in flight as worker threads) is gathered at once; with many in flight, the scheduler
# still holds queued tasks for the workers while a result waits.
_BATCH_SHARE = 8
_LINGER = 0.05


class DaskExecutor(RemoteExecutor):
    """Ship each step execution to a Dask worker.

    ``DaskExecutor(client)`` uses a client you made (and leaves it open);
    ``DaskExecutor(address="tcp://host:8786")`` connects a client of its own, which
    :meth:`close` (or leaving a ``with`` block) closes. With neither, the process's
    current default client is used.

    A lost worker is Dask's business first (it reschedules the task; after
    ``distributed.scheduler.allowed-failures`` lost workers it raises ``KilledWorker``);
    any error reaching the run fails the step attempt, which the step's ``RetryConfig`` may
    retry. Cancelling the run cancels the step's Dask future.
    """

    def __init__(self, client: Any = None, *, address: str | None = None,
                 **client_options: Any) -> None:
        super().__init__()
        if client is not None and (address is not None or client_options):
            raise ValueError("DaskExecutor: pass either a client or address=, not both")
        self._owns_client = client is None and address is not None
        if client is None:
            if address is not None:
                client = _dd.Client(address, set_as_default=False, **client_options)
            else:
                try:
                    client = _dd.default_client()
                except ValueError:
                    raise ValueError(
                        "DaskExecutor: no Dask client is running; pass one "
                        "(DaskExecutor(Client(...))) or address='tcp://host:8786'") from None
        self.client: Any = client  # a distributed.Client
        self._futures: set[Any] = set()  # submitted and not answered yet
        self._background: set[asyncio.Future[Any]] = set()
        self._lock = threading.Lock()
        self._outbox: list[_Item] = []  # submitted by runs, not sent to Dask yet
        self._flush_due = False
        self._ready: list[_Item] = []  # finished, not gathered yet (client loop only)
        self._gathering = False
        self._enough_ready: asyncio.Event | None = None

    def __repr__(self) -> str:
        scheduler = getattr(self.client, "scheduler", None)
        address = getattr(scheduler, "address", None)
        return f"DaskExecutor(scheduler={address!r})"

    async def submit(self, call: StepCall, token: str, static: bytes,
                     dynamic: bytes) -> Outcome:
        loop = asyncio.get_running_loop()
        item = _Item(f"flownb-{call.step.id}-{uuid.uuid4().hex}", (token, static, dynamic),
                     call.path, loop)
        self._put(item)
        try:
            outcome: Outcome = await item.waiter
            return outcome
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                item.cancelled = True  # the run (or a timeout) cancels this step
                self._on_client(self._cancel_item, item)
                raise
            raise _cancelled_outside(call.path) from None

    # -- batching: one update-graph for the items submitted in a loop turn, one gather for
    # the results that are ready together. Per-item messages were most of Dask's cost on
    # the driver (the scheduler of a LocalCluster runs there too).

    def _put(self, item: _Item) -> None:
        """Queue ``item`` (on its run's loop); the queue goes to Dask at the end of the turn,
        so the items that the engine submits together travel as one graph."""
        with self._lock:
            self._outbox.append(item)
            if self._flush_due:
                return
            self._flush_due = True
        item.loop.call_soon(self._on_client, self._flush)

    def _on_client(self, fn: Callable[..., None], *args: Any) -> None:
        """Call ``fn(*args)`` on the client's event loop."""
        client_loop = self.client.loop.asyncio_loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if client_loop is running:
            fn(*args)
        else:
            client_loop.call_soon_threadsafe(fn, *args)

    def _flush(self) -> None:
        with self._lock:
            items = [i for i in self._outbox if not i.cancelled]
            self._outbox = []
            self._flush_due = False
        if not items:
            return
        try:
            futures = self.client.map(run_call, *zip(*(i.args for i in items), strict=True),
                                      key=[i.key for i in items], pure=False)
        except Exception as exc:
            for item in items:
                _answer(item, None, exc)
            return
        for item, future in zip(items, futures, strict=True):
            item.future = future
            self._futures.add(future)
            task = asyncio.ensure_future(self._track(item))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _track(self, item: _Item) -> None:
        """Wait for ``item``'s task to end; queue a result for the next gather, answer an
        error at once."""
        future = item.future
        await future._state.wait()  # as Dask's own wait(): no gather, no round trip
        if item.cancelled:
            self._futures.discard(future)
        elif future.status == "finished":
            self._ready.append(item)
            if len(self._ready) * _BATCH_SHARE >= len(self._futures):
                self._enough().set()
            if not self._gathering:
                self._gathering = True
                task = asyncio.ensure_future(self._gather())
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        else:
            self._futures.discard(future)
            if future.status == "error":
                state = future._state
                _answer(item, None, state.exception.with_traceback(state.traceback))
            else:
                _answer(item, None, _cancelled_outside(item.path))

    async def _gather(self) -> None:
        """Gather every ready result in one request, while some are ready."""
        try:
            while self._ready:
                enough = self._enough()
                if not enough.is_set():  # more results are due soon: take them along
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(enough.wait(), _LINGER)
                enough.clear()
                batch = [i for i in self._ready if not i.cancelled]
                self._ready = []
                if not batch:
                    continue
                try:
                    values = await self.client.gather({i.key: i.future for i in batch},
                                                      errors="skip", asynchronous=True)
                except Exception as exc:
                    for item in batch:
                        self._futures.discard(item.future)
                        _answer(item, None, exc)
                    continue
                answers: dict[asyncio.AbstractEventLoop, list[Any]] = {}
                for item in batch:
                    value = values.get(item.key)
                    if value is None:  # failed or lost since: wait for its end again
                        task = asyncio.ensure_future(self._track(item))
                        self._background.add(task)
                        task.add_done_callback(self._background.discard)
                        continue
                    self._futures.discard(item.future)
                    answers.setdefault(item.loop, []).append((item, value, None))
                for loop, done in answers.items():
                    _answer_all(loop, done)
        finally:
            self._gathering = False

    def _enough(self) -> asyncio.Event:
        """Set when enough results are ready to gather them (made on the client's loop)."""
        if self._enough_ready is None:
            self._enough_ready = asyncio.Event()
        return self._enough_ready

    def _cancel_item(self, item: _Item) -> None:
        if item.future is not None:
            self._futures.discard(item.future)
            self._cancel([item.future])

    def _cancel(self, futures: list[Any], *, wait: bool = False) -> None:
        """Cancel ``futures``; by default without waiting for the scheduler's answer."""
        client = self.client
        if client.status in ("closing", "closed"):
            return
        client_loop = client.loop.asyncio_loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None

        async def cancel() -> None:
            await client.cancel(futures, asynchronous=True, reason="flownb run canceled")

        try:
            if client_loop is running:
                task = asyncio.ensure_future(cancel())
                self._background.add(task)
                task.add_done_callback(self._background.discard)
                return
            done = asyncio.run_coroutine_threadsafe(cancel(), client_loop)
        except RuntimeError:  # the client's loop is closed: nothing is left to cancel
            return
        if wait:
            with contextlib.suppress(Exception):
                done.result(timeout=10)

    def close(self) -> None:
        """Cancel this executor's outstanding futures; close the client if it made it."""
        if self._futures:
            self._cancel(list(self._futures), wait=True)
        self._futures.clear()
        if self._owns_client:
            self.client.close()


class _Item:
    """One step execution on its way through Dask."""

    __slots__ = ("args", "cancelled", "future", "key", "loop", "path", "waiter")

    def __init__(self, key: str, args: tuple[str, bytes, bytes], path: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.key = key
        self.args = args
        self.path = path
        self.loop = loop  # the run's loop, where ``waiter`` is answered
        self.waiter: asyncio.Future[Outcome] = loop.create_future()
        self.future: Any = None  # the Dask future, once sent
        self.cancelled = False


def _cancelled_outside(path: str) -> RuntimeError:
    return RuntimeError(f"the Dask task of step '{path}' was cancelled outside the run (was "
                        "the client closed or restarted?)")


def _answer(item: _Item, value: Any, exc: BaseException | None) -> None:
    _answer_all(item.loop, [(item, value, exc)])


def _answer_all(loop: asyncio.AbstractEventLoop,
                done: list[tuple[_Item, Any, BaseException | None]]) -> None:
    """Answer the waiters of ``done`` on their run's ``loop`` (one hop for all of them)."""

    def settle() -> None:
        for item, value, exc in done:
            if item.waiter.done():
                continue
            if exc is None:
                item.waiter.set_result(value)
            else:
                item.waiter.set_exception(exc)

    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is running:
        settle()
    else:
        with contextlib.suppress(RuntimeError):  # the run's loop is closed: nobody waits
            loop.call_soon_threadsafe(settle)
