"""The store hook of watchers (SPEC §4c): ``Store.version_of`` (one cheap read) and
``Store.on_change`` (push, where a store can), and ``watch_versions`` built on them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_store_contract import make_store, snapshot

from flownb.storage import MemoryStore, SQLiteStore
from flownb.storage.base import Store, watch_versions


class _LoadingStore(MemoryStore):
    """A store that keeps the base class's ``version_of`` (it loads the run)."""

    version_of = Store.version_of


@pytest.fixture(params=["memory", "sqlite", "postgres", "default"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = _LoadingStore() if request.param == "default" else make_store(request.param, request,
                                                                       tmp_path)
    yield s
    s.close()


def _touch(store: Store, run_id: str, version: int) -> int:
    return store.update(run_id, expected_version=version, status=None, updated_at=2.0,
                        meta=None, steps={"a": {"status": "running"}})


def test_version_of_follows_every_change(store: Store) -> None:
    assert store.version_of("r1") is None
    store.insert(snapshot("r1"))
    assert store.version_of("r1") == 1
    assert _touch(store, "r1", 1) == 2
    assert store.version_of("r1") == 2
    store.delete("r1")
    assert store.version_of("r1") is None


async def test_watch_versions_yields_each_move_then_none_when_gone(store: Store) -> None:
    store.insert(snapshot("r1"))
    seen: list[int | None] = []

    async def watch() -> None:
        async for version in watch_versions(store, "r1", 1, interval=0.01):
            seen.append(version)
            if version == 2:
                _touch(store, "r1", 2)
            elif version == 3:
                store.delete("r1")

    _touch(store, "r1", 1)
    await asyncio.wait_for(watch(), 10)
    assert seen == [2, 3, None]


def test_sqlite_version_of_is_one_read_of_the_header(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "runs.db")
    store.insert(snapshot("r1"))
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    assert store.version_of("r1") == 1
    store._conn.set_trace_callback(None)
    assert [" ".join(s.split()) for s in statements] == [
        "SELECT version FROM runs WHERE run_id = 'r1'"]
    plan = store._conn.execute("EXPLAIN QUERY PLAN SELECT version FROM runs WHERE run_id = ?",
                               ("r1",)).fetchall()
    assert "USING INDEX" in plan[0][-1]  # the primary key's index, not a scan
    store.close()


class _PushingStore(MemoryStore):
    """A store that pushes changes, as PostgreSQL's LISTEN/NOTIFY would: ``update`` wakes
    every subscriber from another thread."""

    def __init__(self) -> None:
        super().__init__()
        self.subscribers: list[Callable[[], None]] = []

    def on_change(self, run_id: str, wake: Callable[[], None]) -> Callable[[], None]:
        self.subscribers.append(wake)
        return lambda: self.subscribers.remove(wake)

    def update(self, run_id: str, **kwargs):  # type: ignore[no-untyped-def, override]
        version = super().update(run_id, **kwargs)
        import threading

        for wake in list(self.subscribers):
            threading.Thread(target=wake).start()
        return version


async def test_a_store_that_pushes_wakes_the_watcher_at_once() -> None:
    store = _PushingStore()
    store.insert(snapshot("r1"))
    checks = 0
    version_of = store.version_of

    def counted(run_id: str) -> int | None:
        nonlocal checks
        checks += 1
        return version_of(run_id)

    store.version_of = counted  # type: ignore[method-assign]

    async def first_move() -> int | None:
        async for version in watch_versions(store, "r1", 1, interval=0.01):
            return version
        return None

    task = asyncio.create_task(first_move())
    await asyncio.sleep(0.1)  # pushed to, it does not poll every 0.01 s
    assert checks == 0 and len(store.subscribers) == 1
    _touch(store, "r1", 1)
    assert await asyncio.wait_for(task, 2) == 2  # long before the 5 s safety poll
    assert checks == 1 and store.subscribers == []  # the subscription ended with it
