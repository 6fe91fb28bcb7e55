"""Storage faults against real files: each raises ``StorageError`` naming the file and the
operation, a failed write changes nothing, and the store works again once the fault is gone.

Tests run as root here, and root ignores permission bits; what makes SQLite fail as root is
the immutable attribute (``chattr +i``), a read-only mount, and a small tmpfs that fills up.
Where those are not available the test says so and skips.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import flownb
from flownb import StorageError, create_step, create_workflow
from flownb.storage import Snapshot, SQLiteStore
from flownb.storage import sqlite as sqlite_module

# -- helpers -----------------------------------------------------------------------------------


def snapshot(run_id: str = "r1", *, input: Any = None) -> Snapshot:
    return Snapshot(run_id=run_id, workflow_id="wf", status="running", version=1,
                    created_at=1.0, updated_at=1.0, input=input or {"x": 1}, graph={},
                    steps={"a": {"status": "success", "output": 1}})


def flownb_file(path: Path, *run_ids: str) -> Path:
    store = SQLiteStore(path)
    for run_id in run_ids:
        store.insert(snapshot(run_id))
    store.close()
    return path


def named(path: Path) -> str:
    return f"SQLite database '{path}'"


def files_of(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@pytest.fixture
def immutable() -> Iterator[Any]:
    """``immutable(path)``: ``chattr +i`` (read-only even for root), undone at teardown."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed: cannot make a file read-only for root")
    done: list[Path] = []

    def make(path: Path) -> None:
        out = run(["chattr", "+i", str(path)])
        if out.returncode != 0:
            pytest.skip(f"chattr +i failed here ({out.stderr.strip()}): the file system or "
                        "the container does not allow the immutable attribute")
        done.append(path)

    yield make
    for path in reversed(done):
        run(["chattr", "-i", str(path)])


class Disk:
    """A small tmpfs mounted for one test: ``fill(leave=…)`` and ``free()``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.filler = root / "filler.bin"

    def available(self) -> int:
        st = os.statvfs(self.root)
        return st.f_bavail * st.f_frsize

    def fill(self, *, leave: int) -> None:
        """Write a filler file so that about ``leave`` bytes stay free."""
        with self.filler.open("ab") as f:
            f.write(b"\0" * max(0, self.available() - leave))

    def fill_up(self) -> None:
        with self.filler.open("ab", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass

    def free(self) -> None:
        self.filler.unlink()

    def remount_read_only(self) -> None:
        out = run(["mount", "-o", "remount,ro", str(self.root)])
        if out.returncode != 0:
            pytest.skip(f"cannot remount the tmpfs read-only: {out.stderr.strip()}")


def _mount_tmpfs(root: Path, size: str) -> Iterator[Disk]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs (a disk that fills up) needs root")
    root.mkdir()
    out = run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(root)])
    if out.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {out.stderr.strip()}")
    try:
        yield Disk(root)
    finally:
        if run(["umount", str(root)]).returncode != 0:
            run(["umount", "-l", str(root)])  # a connection the test leaked: detach anyway


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Disk]:
    yield from _mount_tmpfs(tmp_path / "disk", "512k")


@pytest.fixture
def big_disk(tmp_path: Path) -> Iterator[Disk]:
    yield from _mount_tmpfs(tmp_path / "disk", "2m")


# -- files that are not a flownb database -------------------------------------------------------


def test_random_bytes_are_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    path.write_bytes(random.Random(14).randbytes(8192))
    before = files_of(tmp_path)
    with pytest.raises(StorageError) as caught:
        SQLiteStore(path)
    err = caught.value
    assert str(err) == (
        f"{named(path)}: opening failed: the file is not an SQLite database (file is not a "
        "database). It is some other file, or a damaged one: choose another path.")
    assert (err.store, err.operation, err.run_id) == (named(path), "opening", None)
    assert isinstance(err.__cause__, sqlite3.DatabaseError)
    assert files_of(tmp_path) == before


@pytest.mark.parametrize("keep", [50, 0.5], ids=["header-cut", "half"])
def test_a_truncated_flownb_file_is_refused_untouched(tmp_path: Path, keep: float) -> None:
    path = flownb_file(tmp_path / "runs.db", *(f"r{i}" for i in range(40)))
    data = path.read_bytes()
    path.write_bytes(data[:keep if isinstance(keep, int) else int(len(data) * keep)])
    before = files_of(tmp_path)
    with pytest.raises(StorageError) as caught:
        SQLiteStore(path)
    assert str(caught.value) == (
        f"{named(path)}: opening failed: the file is damaged (database disk image is "
        "malformed). Restore it from a backup, or choose another path.")
    assert files_of(tmp_path) == before


def test_a_text_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    path.write_text("run_id,status\nr1,success\n")
    with pytest.raises(StorageError, match=r"opening failed: the file is not an SQLite "):
        SQLiteStore(path)
    assert path.read_text() == "run_id,status\nr1,success\n"
    assert [p.name for p in tmp_path.iterdir()] == ["runs.db"]


# Other applications' SQLite files, each refused before flownb writes a byte to it.
_FOREIGN = {
    "own-runs-table": (
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, title TEXT, km REAL);"
        "CREATE TABLE shoes (id INTEGER PRIMARY KEY, name TEXT);"
        "INSERT INTO runs VALUES (1, 'morning', 5.2);",
        "it is an SQLite database of another application (it has the tables 'runs', "
        "'shoes' and no flownb 'schema_version' table)"),
    "schema-version-too": (
        "CREATE TABLE schema_version (version INTEGER NOT NULL);"
        "INSERT INTO schema_version VALUES (2);"
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, title TEXT);",
        "it is an SQLite database of another application (its table 'runs' is not "
        "flownb's)"),
    "other-schema-version": (
        "CREATE TABLE schema_version (major INTEGER, minor INTEGER);"
        "INSERT INTO schema_version VALUES (1, 1);",
        "it is an SQLite database of another application (its 'schema_version' table is "
        "not flownb's)"),
}


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
@pytest.mark.parametrize("kind", list(_FOREIGN))
def test_an_sqlite_file_of_another_application_stays_byte_for_byte_unchanged(
        tmp_path: Path, kind: str, journal_mode: str) -> None:
    path = tmp_path / "app.db"
    script, why = _FOREIGN[kind]
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode = {journal_mode}")
    conn.executescript(script)
    conn.commit()
    conn.close()
    before, mtime = files_of(tmp_path), path.stat().st_mtime_ns
    with pytest.raises(StorageError) as caught:
        SQLiteStore(path)
    assert str(caught.value) == (
        f"{named(path)}: opening failed: {why}. flownb keeps its runs only in a file of its "
        "own and leaves this one unchanged: choose another path.")
    assert files_of(tmp_path) == before and path.stat().st_mtime_ns == mtime
    conn = sqlite3.connect(path)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert not tables & {"run_bodies", "run_meta", "run_records"}
    finally:
        conn.close()


def test_a_path_whose_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a directory")
    for path in (tmp_path / "notes.txt" / "runs.db", tmp_path / "notes.txt" / "sub" / "r.db"):
        with pytest.raises(StorageError) as caught:
            SQLiteStore(path)
        message = str(caught.value)
        assert message.startswith(f"{named(path)}: opening failed: a part of its path is a "
                                  "file, not a directory ([Errno ")
        assert message.endswith("). Choose another path.")
        assert isinstance(caught.value.__cause__, OSError)
    assert (tmp_path / "notes.txt").read_text() == "not a directory"


def test_a_relative_path_is_named_absolute(tmp_path: Path) -> None:
    (tmp_path / "runs.db").write_text("x" * 200)
    with pytest.raises(StorageError) as caught:
        SQLiteStore("runs.db")  # the conftest runs each test in its tmp_path
    assert caught.value.store == named(tmp_path / "runs.db")


# -- read-only -----------------------------------------------------------------------------------


def test_a_read_only_file_can_be_read_and_refuses_writes_until_writable(
        tmp_path: Path, immutable: Any) -> None:
    path = flownb_file(tmp_path / "runs.db", "r1")
    immutable(path)
    store = SQLiteStore(path)  # SQLite opens it read-only: loading and listing work
    try:
        assert store.load("r1") == snapshot("r1")
        assert [info.run_id for info in store.list_runs()] == ["r1"]
        with pytest.raises(StorageError) as caught:
            store.insert(snapshot("r2"))
        assert str(caught.value) == (
            f"{named(path)}: inserting run 'r2' failed: the database is read-only (attempt to "
            "write a readonly database). Check the permissions of the file and its directory "
            "(and that neither is immutable nor on a read-only file system), or choose "
            "another path. Nothing of this change was stored.")
        assert (caught.value.operation, caught.value.run_id) == ("inserting run 'r2'", "r2")
        with pytest.raises(StorageError, match=r"updating run 'r1' failed: the database is "
                                               r"read-only"):
            store.update("r1", expected_version=1, status="success", updated_at=2.0, meta={})
        with pytest.raises(StorageError, match=r"deleting run 'r1' failed: the database is "):
            store.delete("r1")
        assert store.load("r1") == snapshot("r1") and store.load("r2") is None
        run(["chattr", "-i", str(path)])  # the fault is gone: the same store writes again
        store.insert(snapshot("r2"))
        assert store.update("r1", expected_version=1, status="success", updated_at=2.0,
                            meta={}) == 2
    finally:
        store.close()
    assert SQLiteStore(path).load("r1").status == "success"  # type: ignore[union-attr]


def test_a_read_only_directory(tmp_path: Path, immutable: Any) -> None:
    folder = tmp_path / "runs"
    flownb_file(folder / "kept.db", "r1")
    immutable(folder)
    for path in (folder / "kept.db", folder / "new.db"):  # SQLite needs its -wal file there
        with pytest.raises(StorageError) as caught:
            SQLiteStore(path)
        assert str(caught.value) == (
            f"{named(path)}: opening failed: the file cannot be opened (unable to open "
            "database file). Check that its directory exists and is writable (SQLite keeps "
            "'-wal' and '-shm' files next to the database) and that the file is readable "
            "and writable, or choose another path.")
    with pytest.raises(StorageError, match=r"opening failed: the directory cannot be "
                                           r"created \(\[Errno 1\] Operation not permitted"):
        SQLiteStore(folder / "sub" / "runs.db")
    assert [p.name for p in folder.iterdir()] == ["kept.db"]


def test_a_read_only_file_system(disk: Disk) -> None:
    path = flownb_file(disk.root / "runs.db", "r1")
    disk.remount_read_only()
    with pytest.raises(StorageError, match=r"opening failed: the file cannot be opened"):
        SQLiteStore(path)
    with pytest.raises(StorageError, match=r"Read-only file system.*Check the permissions"):
        SQLiteStore(disk.root / "sub" / "runs.db")


# -- locked ----------------------------------------------------------------------------------------


def test_a_database_locked_past_the_busy_timeout(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(sqlite_module, "BUSY_TIMEOUT_MS", 50)
    path = flownb_file(tmp_path / "runs.db", "r1")
    store = SQLiteStore(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        with pytest.raises(StorageError) as caught:
            store.update("r1", expected_version=1, status="success", updated_at=2.0, meta={})
        assert str(caught.value) == (
            f"{named(path)}: updating run 'r1' failed: the database stayed locked by another "
            "connection for 0.05 s (database is locked). Another process is writing to it or "
            "holds a transaction open: try again when it is done. Nothing of this change was "
            "stored.")
        assert store.load("r1") == snapshot("r1")  # readers are not blocked (WAL)
        other.execute("ROLLBACK")
        assert store.update("r1", expected_version=1, status="success", updated_at=2.0,
                            meta={}) == 2
    finally:
        other.close()
        store.close()


# -- a full disk, store level -----------------------------------------------------------------


def test_a_full_disk_rolls_each_write_back_and_the_store_works_once_space_is_freed(
        disk: Disk) -> None:
    path = disk.root / "runs.db"
    store = SQLiteStore(path)
    try:
        store.insert(snapshot("r1"))
        disk.fill_up()
        big = {"blob": "x" * 100_000}
        with pytest.raises(StorageError) as caught:
            store.insert(snapshot("r2", input=big))
        assert str(caught.value) == (
            f"{named(path)}: inserting run 'r2' failed: the disk is full (database or disk "
            "is full). Free disk space, then try again. Nothing of this change was stored.")
        with pytest.raises(StorageError, match=r"updating run 'r1' failed: the disk is full"):
            store.update("r1", expected_version=1, status=None, updated_at=2.0, meta=None,
                         steps={"b": {"status": "success", "output": big}})
        # Reads still work, and show exactly what was there before the failed writes.
        assert store.load("r2") is None and store.load("r1") == snapshot("r1")
        assert [info.run_id for info in store.list_runs()] == ["r1"]
        disk.free()
        store.insert(snapshot("r2", input=big))
        assert store.update("r1", expected_version=1, status=None, updated_at=2.0, meta=None,
                            steps={"b": {"status": "success", "output": big}}) == 2
    finally:
        store.close()
    store = SQLiteStore(path)
    try:
        assert list(store.load("r1").steps) == ["a", "b"]  # type: ignore[union-attr]
        assert store.load("r2").input == big  # type: ignore[union-attr]
    finally:
        store.close()


def test_a_full_disk_while_creating_the_tables(disk: Disk) -> None:
    disk.fill_up()
    path = disk.root / "runs.db"
    with pytest.raises(StorageError) as caught:
        SQLiteStore(path)
    assert caught.value.operation in ("opening", "creating tables")
    assert str(caught.value).startswith(f"{named(path)}: ")
    assert "the disk is full" in str(caught.value)
    disk.free()
    store = SQLiteStore(path)  # what the failed attempt left behind is set up now
    store.insert(snapshot("r1"))
    store.close()


# -- a full disk, run level --------------------------------------------------------------------


class Chunk(BaseModel):
    n: int
    data: str


STEPS = 12
CHUNK = 24_000  # a step's record holds its input and output: twelve steps write ~600 KB


def chunky_workflow(store: SQLiteStore, executed: list[str]) -> Any:
    def make(i: int) -> Any:
        def grow(input_data: Chunk) -> dict[str, Any]:
            executed.append(f"s{i}")
            return {"n": input_data.n + 1, "data": str(i % 10) * CHUNK}

        return create_step(id=f"s{i}", input_schema=Chunk, output_schema=Chunk, execute=grow)

    wf = create_workflow(id="chunky", input_schema=Chunk, output_schema=Chunk, storage=store)
    for i in range(STEPS):
        wf = wf.then(make(i))
    return wf.commit()


async def test_a_run_on_a_filling_disk_raises_storage_error_and_restarts_once_space_is_freed(
        big_disk: Disk) -> None:
    path = big_disk.root / "runs.db"
    store = SQLiteStore(path)
    executed: list[str] = []
    wf = chunky_workflow(store, executed)
    big_disk.fill(leave=300_000)
    run_ = wf.create_run()
    try:
        with pytest.raises(StorageError) as caught:
            await run_.start({"n": 0, "data": ""})
        err = caught.value
        assert type(err) is StorageError and str(path) in str(err)
        assert "the disk is full" in str(err) and err.run_id == run_.run_id
        first = list(executed)
        assert 1 < len(first) < STEPS  # the fault came mid-run
        stored = store.load(run_.run_id)
        assert stored is not None and stored.status == "running"
        done = [path_ for path_, record in stored.steps.items()
                if record["status"] == "success"]
        # Every step that finished before the fault is stored, but the one whose write
        # failed (it runs again).
        assert done == first[:len(done)] and len(first) - len(done) <= 1
        big_disk.free()
        executed.clear()
        result = await wf.create_run(run_id=run_.run_id).restart()
        assert result.status == "success" and result.result.n == STEPS
        assert not set(executed) & set(done)  # nothing stored ran again
        assert executed == [f"s{i}" for i in range(len(done), STEPS)]
        assert store.load(run_.run_id).status == "success"  # type: ignore[union-attr]
    finally:
        store.close()


async def test_a_run_started_on_a_full_disk_raises_storage_error_and_nothing_runs(
        big_disk: Disk) -> None:
    path = big_disk.root / "runs.db"
    store = SQLiteStore(path)
    executed: list[str] = []
    wf = chunky_workflow(store, executed)
    big_disk.fill_up()
    run_ = wf.create_run()
    try:
        with pytest.raises(StorageError) as caught:
            await run_.start({"n": 0, "data": "x" * 200_000})
        assert type(caught.value) is StorageError
        assert str(caught.value).startswith(
            f"run '{run_.run_id}' of workflow '{wf.id}': {named(path)}: inserting run "
            f"{run_.run_id!r} failed: the disk is full")
        assert (caught.value.workflow_id, caught.value.run_id) == (wf.id, run_.run_id)
        assert executed == [] and store.load(run_.run_id) is None
        big_disk.free()
        result = await wf.create_run().start({"n": 0, "data": ""})
        assert result.status == "success" and len(executed) == STEPS
    finally:
        store.close()


def test_a_newer_flownb_file_is_a_storage_error_too(tmp_path: Path) -> None:
    path = flownb_file(tmp_path / "runs.db", "r1")
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE schema_version SET version = ?",
                     (sqlite_module.STORAGE_SCHEMA_VERSION + 1,))
    conn.close()
    with pytest.raises(StorageError) as caught:
        SQLiteStore(path)
    assert (caught.value.store, caught.value.operation) == (named(path), "opening")
    assert "written by a newer flownb: upgrade flownb" in str(caught.value)


def test_storage_error_keeps_the_context_of_every_flownb_error() -> None:
    err = StorageError("boom", store="SQLite database '/x.db'", operation="listing runs",
                       run_id="r1", workflow_id="wf")
    assert isinstance(err, flownb.FlownbError) and "StorageError" in flownb.errors.__all__
    assert (err.message, err.store, err.operation, err.run_id, err.workflow_id) == (
        "boom", "SQLite database '/x.db'", "listing runs", "r1", "wf")
