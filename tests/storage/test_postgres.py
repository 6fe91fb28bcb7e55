"""What ``PostgresStore`` promises beyond the store contract, on a real server (SPEC §4c).

Exactly-once resume between processes (2 and 10 racing for one suspended run); the server
stopped with ``pg_ctl stop -m immediate`` in the middle of a run (``StorageError``, nothing
lost, ``restart()`` finishes once it is back, no completed step runs twice); a database of
a newer flownb refused; a server that is not there; the password never shown; watchers
woken by LISTEN/NOTIFY (a write by another process, unsubscribing, closing, a server
restart); and that
``FLOWNB_STORAGE=postgresql://…`` selects the store while ``import flownb.storage`` loads no
psycopg.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from postgres_server import PASSWORD, PASSWORD_USER, PostgresServer, unavailable
from pydantic import BaseModel

from flownb import config, create_step, create_workflow
from flownb.errors import StorageError
from flownb.storage import Snapshot
from flownb.storage.base import POLL_INTERVAL, watch_versions
from flownb.storage.postgres import STORAGE_SCHEMA_VERSION, PostgresStore

REPO = Path(__file__).resolve().parents[2]


def snapshot(run_id: str = "r1") -> Snapshot:
    return Snapshot(run_id=run_id, workflow_id="wf", status="running", version=1,
                    created_at=1.0, updated_at=1.0, input={"x": 1}, graph={})


@pytest.fixture
def pg(postgres_db: str) -> Iterator[PostgresStore]:
    store = PostgresStore(postgres_db)
    yield store
    store.close()


# -- exactly-once between processes ------------------------------------------------------------

MODULE = textwrap.dedent('''
    import os, sys, time
    from pathlib import Path
    from pydantic import BaseModel
    import flownb
    from flownb import ConcurrentRunError, create_step, create_workflow

    HERE = Path(os.environ["WORKDIR"])  # the store: FLOWNB_STORAGE=postgresql://...

    class Doc(BaseModel):
        text: str

    class Review(BaseModel):
        who: str

    def log(name):
        with open(HERE / "calls.log", "a") as fh:
            fh.write(name + "\\n")

    def first(input_data: Doc):
        log("first")
        return {"text": input_data.text + "+1"}

    def review(input_data: Doc, resume_data: Review | None, suspend):
        if resume_data is None:
            log("review")
            return suspend({"ask": "who?"})
        log("review-resumed-" + resume_data.who)
        return {"text": input_data.text + "+" + resume_data.who}

    def last(input_data: Doc):
        log("last")
        return {"text": input_data.text + "+end"}

    step = lambda id, fn, **kw: create_step(id=id, input_schema=Doc, output_schema=Doc,
                                            execute=fn, **kw)
    wf = (create_workflow(id="pg-durable", input_schema=Doc, output_schema=Doc)
          .then(step("first", first))
          .then(step("review", review, resume_schema=Review))
          .then(step("last", last))
          .commit())

    if __name__ == "__main__":
        if sys.argv[1] == "start":
            run = wf.create_run()
            result = flownb.run_sync(run.start({"text": "doc"}))
            store = flownb.config.resolve_store(None)
            print(run.run_id, result.status, type(store).__name__, flush=True)
        else:  # resume RUN_ID NAME: load, say ready, wait for "go" on stdin, then resume
            run = wf.create_run(run_id=sys.argv[2])
            print("ready", flush=True)
            sys.stdin.readline()
            try:
                res = flownb.run_sync(run.resume({"who": sys.argv[3]}))
                print("won", res.status, res.result.text, flush=True)
            except ConcurrentRunError as exc:
                print("lost", exc.run_id, flush=True)
''')


@pytest.fixture
def workdir(tmp_path: Path, postgres_db: str) -> tuple[Path, dict[str, str]]:
    (tmp_path / "pgmod.py").write_text(MODULE)
    env = {**os.environ, "WORKDIR": str(tmp_path), "FLOWNB_STORAGE": postgres_db,
           "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)])}
    return tmp_path, env


@pytest.mark.parametrize("racers", [2, 10])
def test_processes_resuming_one_run_exactly_one_wins(workdir: tuple[Path, dict[str, str]],
                                                     postgres_db: str, racers: int) -> None:
    path, env = workdir
    done = subprocess.run([sys.executable, str(path / "pgmod.py"), "start"], cwd=path,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    run_id, status, store_type = done.stdout.split()
    assert (status, store_type) == ("suspended", "PostgresStore")  # chosen by FLOWNB_STORAGE
    procs = [subprocess.Popen([sys.executable, str(path / "pgmod.py"), "resume", run_id,
                               f"p{i}"], cwd=path, env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(racers)]
    try:
        # Every racer has loaded the suspended run (version n) before any may claim it.
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline().strip()
            assert line == "ready", (line, p.stderr.read() if p.stderr else "")
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    verdicts = [out.split()[0] for out, _ in outputs if out]
    assert sorted(verdicts) == ["lost"] * (racers - 1) + ["won"], outputs
    winner = next(out.split() for out, _ in outputs if out.startswith("won"))
    assert winner[1] == "success"
    calls = (path / "calls.log").read_text().split()
    assert calls.count("first") == 1 and calls.count("review") == 1
    assert [c for c in calls if c.startswith("review-resumed")] == [
        "review-resumed-" + winner[2].split("+")[2]]
    assert calls.count("last") == 1
    store = PostgresStore(postgres_db)
    try:
        stored = store.load(run_id)
        assert stored is not None and stored.status == "success"
        assert list(stored.steps) == ["first", "review", "last"]
    finally:
        store.close()


# -- the server stopped mid-run ----------------------------------------------------------------


class Num(BaseModel):
    n: int


@pytest.fixture
def own_server(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    """A server of this test's own, to stop and start (the session's one stays up)."""
    server = PostgresServer.create()
    try:
        yield server
    finally:
        server.destroy()


async def test_server_stopped_mid_run_then_restart_finishes_it(
        own_server: PostgresServer) -> None:
    store = PostgresStore(own_server.conninfo, timeout=2.0)
    executed: list[str] = []
    stop_at = 3

    def make(i: int) -> Any:
        def inc(input_data: Num) -> dict[str, int]:
            executed.append(f"s{i}")
            if i == stop_at and not (own_server.root / "stopped").exists():
                (own_server.root / "stopped").write_text("")
                own_server.stop("immediate")  # as if the server crashed, mid-step
            return {"n": input_data.n + 1}

        return create_step(id=f"s{i}", input_schema=Num, output_schema=Num, execute=inc)

    wf = create_workflow(id="pg-crash", input_schema=Num, output_schema=Num, storage=store)
    for i in range(6):
        wf = wf.then(make(i))
    wf = wf.commit()
    run = wf.create_run()
    try:
        with pytest.raises(StorageError) as caught:
            await run.start({"n": 0})
        err = caught.value
        assert err.run_id == run.run_id and err.store == store.description
        assert "the server is down or the connection to it was lost" in str(err)
        assert "run.restart() continues a run" in str(err)
        assert executed == ["s0", "s1", "s2", "s3"]  # nothing ran after the fault

        own_server.start()
        stored = store.load(run.run_id)
        assert stored is not None and stored.status == "running"
        done = [key for key, rec in stored.steps.items() if rec["status"] == "success"]
        assert done == ["s0", "s1", "s2"]  # everything finished before the fault is there

        executed.clear()
        result = await wf.create_run(run_id=run.run_id).restart()
        assert result.status == "success" and result.result.n == 6
        assert executed == ["s3", "s4", "s5"]  # no completed step ran twice
        final = store.load(run.run_id)
        assert final is not None and final.status == "success"
        assert list(final.steps) == [f"s{i}" for i in range(6)]
    finally:
        store.close()


def test_a_server_that_is_not_there_is_a_storage_error(own_server: PostgresServer) -> None:
    own_server.stop("fast")
    store = PostgresStore(own_server.conninfo, timeout=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(StorageError) as caught:
            store.list_runs()
        assert time.monotonic() - started < 15
        err = caught.value
        assert (err.store, err.operation) == (
            f"PostgreSQL database 'postgresql://postgres@127.0.0.1:{own_server.port}"
            "/postgres'", "opening")
        assert "the server is down" in str(err) and "Connection refused" in str(err)
        own_server.start()  # the store works once the server is back
        store.insert(snapshot())
        assert [info.run_id for info in store.list_runs()] == ["r1"]
    finally:
        store.close()


# -- versions --------------------------------------------------------------------------------


def test_tables_are_made_once_and_a_newer_database_is_refused(
        pg: PostgresStore, postgres_db: str, postgres_server: PostgresServer) -> None:
    pg.insert(snapshot())
    dbname = postgres_db.rsplit("/", 1)[1]
    assert postgres_server.psql("SELECT version FROM flownb_schema", dbname) == (
        f"{STORAGE_SCHEMA_VERSION}\n")
    again = PostgresStore(postgres_db)  # finds the tables: creates nothing, reads the run
    try:
        assert again.load("r1") == snapshot()
    finally:
        again.close()
    postgres_server.psql("UPDATE flownb_schema SET version = 99", dbname)
    newer = PostgresStore(postgres_db)
    try:
        with pytest.raises(StorageError) as caught:
            newer.load("r1")
        assert caught.value.operation == "opening"
        assert (f"storage schema version 99, but this flownb only knows version "
                f"{STORAGE_SCHEMA_VERSION}") in str(caught.value)
        assert "written by a newer flownb: upgrade flownb" in str(caught.value)
    finally:
        newer.close()


def test_tables_are_created_once_by_many_stores_at_once(postgres_db: str) -> None:
    import threading

    stores = [PostgresStore(postgres_db) for _ in range(6)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(stores))

    def first_use(store: PostgresStore, i: int) -> None:
        barrier.wait(timeout=30)
        try:
            store.insert(snapshot(f"r{i}"))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(s, i)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert errors == []
        assert sorted(info.run_id for info in stores[0].list_runs()) == [
            f"r{i}" for i in range(6)]
    finally:
        for s in stores:
            s.close()


def test_a_user_with_the_grants_of_docs_team_md_can_do_everything(
        pg: PostgresStore, postgres_db: str, postgres_server: PostgresServer) -> None:
    pg.insert(snapshot("by-owner"))  # the owner's first use made the tables
    dbname = postgres_db.rsplit("/", 1)[1]
    user = f"user_{dbname}"
    postgres_server.psql(f"CREATE ROLE {user} LOGIN")
    postgres_server.psql(
        f"GRANT USAGE ON SCHEMA public TO {user}; "
        f"GRANT SELECT ON flownb_schema TO {user}; "
        "GRANT SELECT, INSERT, UPDATE, DELETE ON flownb_runs, flownb_run_bodies, "
        f"flownb_run_meta, flownb_run_records, flownb_cache, flownb_values TO {user}",
        dbname)
    store = PostgresStore(postgres_db.replace("postgres@", f"{user}@"))
    try:
        # Large values too: stored once, in flownb_values, and let go of by delete.
        store.insert(Snapshot(run_id="by-user", workflow_id="wf", status="running",
                              version=1, created_at=1.0, updated_at=1.0,
                              input={"big": "x" * 3000}, graph={}))
        assert store.update("by-owner", expected_version=1, status="success",
                            updated_at=2.0, meta={}, steps={"a": {"n": 1, "big": "y" * 3000}}
                            ) == 2
        assert store.version_of("by-owner") == 2 and store.version_of("nope") is None
        assert [i.run_id for i in store.list_runs()] == ["by-user", "by-owner"]
        assert store.delete("by-user") and store.load("by-owner") is not None
        assert postgres_server.psql("SELECT count(*) FROM flownb_values", dbname) == "1\n"
    finally:
        store.close()
    postgres_server.psql(f"REVOKE DELETE ON flownb_runs FROM {user}", dbname)
    store = PostgresStore(postgres_db.replace("postgres@", f"{user}@"))
    try:
        with pytest.raises(StorageError) as caught:
            store.delete("by-owner")
        assert "permission denied" in str(caught.value) and "docs/team.md" in str(caught.value)
    finally:
        store.close()


# -- the password ----------------------------------------------------------------------------


def test_the_password_never_shows(postgres_server: PostgresServer,
                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    good = postgres_server.conninfo_for(PASSWORD_USER, PASSWORD)
    bad = postgres_server.conninfo_for(PASSWORD_USER, PASSWORD + "-wrong")
    shown = f"postgresql://{PASSWORD_USER}@127.0.0.1:{postgres_server.port}/postgres"
    keyvalue = (f"host=127.0.0.1 port={postgres_server.port} user={PASSWORD_USER} "
                f"password={PASSWORD} dbname=postgres")
    texts: list[str] = []
    for conninfo in (good, keyvalue):
        store = PostgresStore(conninfo)
        try:
            assert repr(store) == f"PostgresStore({shown!r})"
            assert store.description == f"PostgreSQL database {shown!r}"
            store.list_runs()  # the password works
        finally:
            store.close()
    store = PostgresStore(bad, timeout=1.0)
    try:
        with pytest.raises(StorageError) as caught:
            store.insert(snapshot())
        err = caught.value
        assert "the server refused the login" in str(err)
        assert "password authentication failed" in str(err)
        texts += [str(err), repr(err), err.store, err.operation, repr(store),
                  str(err.__cause__), repr(err.__cause__)]
    finally:
        store.close()
    with pytest.raises(StorageError) as unreadable:
        PostgresStore(f"host=127.0.0.1 password={PASSWORD} 'unterminated")
    texts += [str(unreadable.value), repr(unreadable.value)]
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert PASSWORD not in text, text


# -- the kept connection -------------------------------------------------------------------------


def test_the_kept_connection_serves_one_thread_and_a_lost_one_is_replaced(
        pg: PostgresStore, postgres_server: PostgresServer) -> None:
    pg.insert(snapshot("r1"))
    pids = {pg._run("", "SELECT pg_backend_pid()", ())[0][0] for _ in range(5)}
    assert len(pids) == 1  # one thread, one connection: the kept one, not the pool's next
    versions = [1]
    errors: list[BaseException] = []

    def write(run_id: str) -> None:
        try:
            pg.insert(snapshot(run_id))
            for v in range(1, 21):
                pg.update(run_id, expected_version=v, status=None, updated_at=2.0, meta=None,
                          steps={f"s{v}": {"status": "success"}})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []  # threads that find it taken use the pool
    assert [pg.version_of(f"t{i}") for i in range(4)] == [21] * 4
    postgres_server.psql(f"SELECT pg_terminate_backend({pids.pop()})")
    with pytest.raises(StorageError, match="connection to it was lost"):
        pg.update("r1", expected_version=1, status=None, updated_at=2.0, meta=None)
    versions.append(pg.update("r1", expected_version=1, status=None, updated_at=2.0,
                              meta=None))  # a fresh connection, the same guarantees
    assert versions == [1, 2]


# -- watchers woken by LISTEN/NOTIFY ------------------------------------------------------------

LISTEN_THREAD = "flownb-postgres-listen"


def _listen_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == LISTEN_THREAD]


def _gone(deadline: float = 5.0) -> bool:
    """The listening thread ended (within ``deadline`` s; stopping wakes it at once)."""
    end = time.monotonic() + deadline
    while _listen_threads() and time.monotonic() < end:
        time.sleep(0.02)
    return not _listen_threads()


class Wakes:
    """A ``wake`` callable counting its calls, to wait for the next one."""

    def __init__(self) -> None:
        self.calls = 0
        self.cond = threading.Condition()

    def __call__(self) -> None:
        with self.cond:
            self.calls += 1
            self.cond.notify_all()

    def wait_for(self, calls: int, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: self.calls >= calls, timeout)


WRITER = textwrap.dedent('''
    import sys, time
    from flownb.storage.postgres import PostgresStore
    store = PostgresStore(sys.argv[1])
    store.update(sys.argv[2], expected_version=1, status=None, updated_at=2.0, meta=None,
                 steps={"a": {"status": "running"}})
    print(time.time(), flush=True)  # committed (and notified) before update returns
    store.close()
''')


async def test_a_write_by_another_process_wakes_the_watcher_at_once(pg: PostgresStore,
                                                                    postgres_db: str) -> None:
    pg.insert(snapshot("r1"))
    checks = 0
    version_of = pg.version_of

    def counted(run_id: str) -> int | None:
        nonlocal checks
        checks += 1
        return version_of(run_id)

    pg.version_of = counted  # type: ignore[method-assign]

    async def first_move() -> tuple[int | None, float]:
        async for version in watch_versions(pg, "r1", 1):
            return version, time.time()
        raise AssertionError("the watch ended")

    task = asyncio.create_task(first_move())
    await asyncio.sleep(0.5)
    assert len(_listen_threads()) == 1
    assert checks <= 1  # the one check when it starts listening; no polling 4 times a second
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, postgres_db, "r1", stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    out, _ = await writer.communicate()
    assert writer.returncode == 0
    version, woken_at = await asyncio.wait_for(task, 5)  # the safety poll is 5 s away
    assert version == 2
    assert woken_at - float(out) < POLL_INTERVAL  # pushed: sooner than even a 4/s poll
    assert _gone()  # the watch ended, its subscription too: the thread stops


def test_another_store_wakes_the_subscribers_of_that_run_until_unsubscribed(
        pg: PostgresStore, postgres_db: str) -> None:
    other = PostgresStore(postgres_db)
    try:
        other.insert(snapshot("r1"))
        other.insert(snapshot("r2"))
        w1, w2 = Wakes(), Wakes()
        stop1 = pg.on_change("r1", w1)
        stop2 = pg.on_change("r2", w2)
        assert stop1 is not None and stop2 is not None
        assert w1.wait_for(1, 5) and w2.wait_for(1, 5)  # once, on listening
        assert len(_listen_threads()) == 1  # one connection and thread for the store
        time.sleep(0.1)
        before1, before2 = w1.calls, w2.calls
        other.update("r1", expected_version=1, status=None, updated_at=2.0, meta=None)
        assert w1.wait_for(before1 + 1, 2)
        time.sleep(0.2)
        assert w2.calls == before2  # another run's write does not wake it
        stop1()
        stop1()  # twice is harmless
        other.update("r1", expected_version=2, status=None, updated_at=3.0, meta=None)
        other.delete("r2")  # a delete notifies too
        assert w2.wait_for(before2 + 1, 2)
        time.sleep(0.2)
        assert w1.calls == before1 + 1  # unsubscribed: not woken again
        assert len(_listen_threads()) == 1
        stop2()  # the last subscriber left: the thread and its connection stop
        assert _gone()
        again = Wakes()
        assert pg.on_change("r1", again) is not None  # a new subscription starts anew
        assert again.wait_for(1, 5) and len(_listen_threads()) == 1
    finally:
        other.close()
        pg.close()
    assert _gone(0)  # close() waited for it
    assert pg.on_change("r1", Wakes()) is None  # a closed store does not push


def test_close_stops_the_listening_thread(postgres_db: str) -> None:
    before = set(threading.enumerate())
    store = PostgresStore(postgres_db)
    store.insert(snapshot("r1"))
    wakes = Wakes()
    store.on_change("r1", wakes)  # never unsubscribed
    assert wakes.wait_for(1, 5) and len(_listen_threads()) == 1
    store.close()
    assert set(threading.enumerate()) <= before  # no thread of the store left (pool's too)


def test_an_idle_listener_costs_no_cpu(pg: PostgresStore) -> None:
    pg.insert(snapshot("r1"))
    wakes = Wakes()
    unsubscribe = pg.on_change("r1", wakes)
    assert unsubscribe is not None and wakes.wait_for(1, 5)
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep(1.5)
    share = (time.process_time() - cpu) / (time.monotonic() - wall)
    assert share < 0.01  # the goal for a watcher of an idle run: <= 1% of a core
    unsubscribe()


def test_a_server_restart_does_not_stop_the_listener(own_server: PostgresServer,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="flownb")
    store = PostgresStore(own_server.conninfo, timeout=1.0)
    try:
        store.insert(snapshot("r1"))
        wakes = Wakes()
        unsubscribe = store.on_change("r1", wakes)
        assert unsubscribe is not None and wakes.wait_for(1, 5)
        own_server.stop("immediate")
        time.sleep(0.5)  # the listener notices and retries while the server is down
        assert len(_listen_threads()) == 1
        own_server.start()
        assert wakes.wait_for(2, 15)  # back: it listens again and wakes the watcher once
        seen = wakes.calls
        writer = PostgresStore(own_server.conninfo)
        try:
            writer.update("r1", expected_version=1, status=None, updated_at=2.0, meta=None)
        finally:
            writer.close()
        assert wakes.wait_for(seen + 1, 5)
        assert any("listening to" in r.getMessage() for r in caplog.records
                   if r.levelno == logging.DEBUG)
        unsubscribe()
        assert _gone()
    finally:
        store.close()


# -- choosing it -----------------------------------------------------------------------------


def test_flownb_storage_selects_postgres_and_import_loads_no_psycopg(
        monkeypatch: pytest.MonkeyPatch, postgres_db: str) -> None:
    for url in (postgres_db, "postgres://" + postgres_db.split("://", 1)[1]):
        monkeypatch.setattr(config, "_configured", config._UNSET)
        monkeypatch.setenv("FLOWNB_STORAGE", url)
        store = config.resolve_store(None)
        assert isinstance(store, PostgresStore)
        assert config.resolve_store(None) is store  # one store (one pool) per URI
    code = ("import sys, flownb, flownb.storage, flownb.config; "
            "print(sorted(m for m in sys.modules if m.startswith('psycopg')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(REPO)}).stdout
    assert out.strip() == "[]"


def test_a_missing_server_binary_skips_with_a_reason() -> None:
    # On this machine the binaries are there (else every test above was skipped).
    assert unavailable() == "" or "PostgreSQL is not installed" in unavailable()
