"""One Dask LocalCluster (2 worker processes) shared by the tests of a module."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def dask_client():
    """A client of a fresh ``LocalCluster(n_workers=2, processes=True)``.

    ``allowed-failures`` is 0: a task whose worker dies fails with ``KilledWorker`` at
    once, instead of being rescheduled by Dask (default: up to 3 times), so each
    worker-loss test costs one worker restart.
    """
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0")
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
