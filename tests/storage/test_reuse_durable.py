"""Reuse across processes (SPEC §3d): a run in a second process reuses the steps a first
process ran and stored in the same SQLite file, and the stored record of a reused step
names where it ran (``cached_from``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import flownb
from flownb.storage import SQLiteStore

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent('''
    import json
    import sys

    from pydantic import BaseModel

    import flownb
    from flownb import create_step, create_workflow


    class Num(BaseModel):
        n: int


    class Calls:
        def __init__(self):
            self.n = {}

        def hit(self, name):
            self.n[name] = self.n.get(name, 0) + 1


    calls = Calls()


    def adder(id, k):
        def execute(input_data: Num) -> Num:
            calls.hit(id)
            return Num(n=input_data.n + k)
        return create_step(id=id, input_schema=Num, output_schema=Num, execute=execute)


    flownb.configure(storage=sys.argv[1], cache=True)
    wf = (create_workflow(id="durable", input_schema=Num, output_schema=Num)
          .then(adder("a", 1)).then(adder("b", int(sys.argv[3]))).then(adder("c", 100))
          .commit())
    result = wf.invoke({"n": int(sys.argv[2])})
    print(json.dumps({
        "status": result.status,
        "run_id": result.run_id,
        "result": result.result.n if result.result is not None else None,
        "calls": calls.n,
        "cached_from": {p: sr.cached_from for p, sr in result.steps.items()},
    }))
''')


def _has_sqlite_cache() -> bool:
    return "cache_find" in vars(SQLiteStore)


pytestmark = pytest.mark.skipif(not _has_sqlite_cache(),
                                reason="SQLiteStore has no step cache yet")


@pytest.fixture(autouse=True)
def _cache_default_off():
    flownb.configure(cache=None)
    yield
    flownb.configure(cache=None)


def run_script(tmp_path: Path, db: Path, n: int, k: int = 10) -> dict:
    script = tmp_path / "durable_reuse.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FLOWNB_STORAGE", None)
    done = subprocess.run([sys.executable, str(script), str(db), str(n), str(k)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_second_process_reuses_the_first_ones_steps(tmp_path):
    db = tmp_path / "runs.db"
    first = run_script(tmp_path, db, 1)
    assert first["status"] == "success" and first["result"] == 112
    assert first["calls"] == {"a": 1, "b": 1, "c": 1}
    assert all(v is None for v in first["cached_from"].values())

    second = run_script(tmp_path, db, 1)
    assert second["status"] == "success" and second["result"] == 112
    assert second["calls"] == {}
    assert second["cached_from"] == {p: {"run_id": first["run_id"], "path": p}
                                     for p in ("a", "b", "c")}

    store = SQLiteStore(str(db))
    try:
        stored = store.load(second["run_id"])
        assert stored is not None and stored.status == "success"
        for path in ("a", "b", "c"):
            assert stored.steps[path]["status"] == "success"
            assert stored.steps[path]["cached_from"] == {"run_id": first["run_id"],
                                                         "path": path}
        assert store.load(first["run_id"]).steps["a"].get("cached_from") is None
    finally:
        store.close()


def test_second_process_runs_only_what_changed(tmp_path):
    db = tmp_path / "runs.db"
    first = run_script(tmp_path, db, 1, k=10)
    changed = run_script(tmp_path, db, 1, k=20)  # b's closure value changed
    assert changed["result"] == 122
    assert changed["calls"] == {"b": 1, "c": 1}
    assert changed["cached_from"]["a"] == {"run_id": first["run_id"], "path": "a"}
    assert changed["cached_from"]["b"] is None


def test_cleared_cache_and_deleted_runs_are_forgotten_across_processes(tmp_path):
    db = tmp_path / "runs.db"
    first = run_script(tmp_path, db, 1)
    store = SQLiteStore(str(db))
    try:
        assert store.delete(first["run_id"])
    finally:
        store.close()
    again = run_script(tmp_path, db, 1)
    assert again["calls"] == {"a": 1, "b": 1, "c": 1}
    store = SQLiteStore(str(db))
    try:
        assert store.clear_cache() >= 3
    finally:
        store.close()
    third = run_script(tmp_path, db, 1)
    assert third["calls"] == {"a": 1, "b": 1, "c": 1}
