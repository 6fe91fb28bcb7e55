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
import uuid
from collections.abc import Awaitable, Callable
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
        self._futures: set[Any] = set()
        self._background: set[asyncio.Future[Any]] = set()

    def __repr__(self) -> str:
        scheduler = getattr(self.client, "scheduler", None)
        address = getattr(scheduler, "address", None)
        return f"DaskExecutor(scheduler={address!r})"

    async def submit(self, call: StepCall, token: str, static: bytes,
                     dynamic: bytes) -> Outcome:
        client: Any = self.client
        key = f"flownb-{call.step.id}-{uuid.uuid4().hex}"
        future = client.submit(run_call, token, static, dynamic, key=key, pure=False)
        self._futures.add(future)
        try:
            outcome: Outcome = await self._on_client_loop(
                lambda: client.gather(future, asynchronous=True))
            return outcome
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                self._cancel([future])  # the run (or a timeout) cancels this step
                raise
            raise RuntimeError(
                f"the Dask task of step '{call.path}' was cancelled outside the run (was "
                "the client closed or restarted?)") from None
        finally:
            self._futures.discard(future)

    async def _on_client_loop(self, make: Callable[[], Awaitable[Any]]) -> Any:
        """Await a client coroutine on the client's own event loop."""
        client_loop = self.client.loop.asyncio_loop
        if client_loop is asyncio.get_running_loop():
            return await make()

        async def on_client() -> Any:
            return await make()

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(on_client(),
                                                                          client_loop))

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
