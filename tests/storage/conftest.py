"""The storage tests' PostgreSQL: one throwaway server for the session (tests/postgres_server).

``postgres_server`` starts it on first use and stops and removes it at the end of the
session. Without Debian's PostgreSQL binaries the tests that use it are skipped, with the
reason; under ``CI=true`` they fail instead (``make test`` installs the package).
``postgres_db`` is a fresh, empty database of that server per test (its conninfo).
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
from collections.abc import Iterator

import pytest
from postgres_server import PostgresServer, unavailable  # tests/ (tests/conftest.py's dir)

_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of this session (skips, or fails under CI=true, without one)."""
    reason = unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests cannot run under CI=true: {reason}", pytrace=False)
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    server = PostgresServer.create()
    # A SIGTERM (a CI timeout, `kill`) would end pytest without its teardown and leave the
    # server running: turn it into an interrupt, which pytest tears down after.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield server
    finally:
        server.destroy()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}: stopping the test PostgreSQL server")


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> str:
    """The conninfo of a new, empty database on the session's server."""
    if not postgres_server.running():  # a test that stopped it failed before restarting
        postgres_server.start()
    return postgres_server.create_database(f"t{os.getpid()}_{next(_databases)}")
