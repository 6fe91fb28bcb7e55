"""Forks and ``run.changes()`` across processes, through SQLite (SPEC §3d, §4b)."""

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

MODULE = textwrap.dedent('''
    import json, os, sys
    from pathlib import Path

    import flownb
    from pydantic import BaseModel
    from flownb import create_step, create_workflow
    from flownb.storage import SQLiteStore

    HERE = Path(os.environ["WORKDIR"])
    EDITED = os.environ.get("EDITED") == "1"

    class Num(BaseModel):
        n: int

    def log(name):
        with open(HERE / "calls.log", "a") as fh:
            fh.write(name + "\\n")

    def a(input_data: Num):
        log(f"a:{input_data.n}")
        return {"n": input_data.n + 1}

    def b(input_data: Num):
        log(f"b:{input_data.n}")
        return {"n": input_data.n + 10}

    def b_edited(input_data: Num):
        log(f"b-edited:{input_data.n}")
        return {"n": input_data.n + 20}

    def c(input_data: Num):
        log(f"c:{input_data.n}")
        return {"n": input_data.n + 100}

    step = lambda id, fn: create_step(id=id, input_schema=Num, output_schema=Num, execute=fn)
    wf = (create_workflow(id="forky", input_schema=Num, output_schema=Num,
                          storage=SQLiteStore(HERE / "runs.db"))
          .then(step("a", a))
          .then(step("b", b_edited if EDITED else b))
          .then(step("c", c))
          .commit())

    def report(run, result):
        print(json.dumps({"run_id": run.run_id, "status": result.status,
                          "result": result.result.n if result.result else None,
                          "parent": run.parent_run_id, "forked_at": run.forked_at}),
              flush=True)

    if __name__ == "__main__":
        cmd = sys.argv[1]
        if cmd == "start":
            run = wf.create_run()
            report(run, flownb.run_sync(run.start({"n": int(sys.argv[2])})))
        elif cmd == "fork-and-start":
            fork = wf.create_run(run_id=sys.argv[2]).fork("b", input_data={"n": 5})
            report(fork, flownb.run_sync(fork.start()))
        elif cmd == "fork":
            fork = wf.create_run(run_id=sys.argv[2]).fork("c")
            print(json.dumps({"run_id": fork.run_id}), flush=True)
        elif cmd == "start-fork":
            fork = wf.create_run(run_id=sys.argv[2])
            report(fork, flownb.run_sync(fork.start()))
        elif cmd == "changes":
            print(json.dumps(wf.create_run(run_id=sys.argv[2]).changes()), flush=True)
''')


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "forkmod.py").write_text(MODULE)
    return tmp_path


def _run(workdir: Path, *args: str, edited: bool = False) -> dict:
    env = dict(os.environ)
    env["WORKDIR"] = str(workdir)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(workdir)])
    env.pop("FLOWNB_STORAGE", None)
    env["EDITED"] = "1" if edited else "0"
    proc = subprocess.run([sys.executable, str(workdir / "forkmod.py"), *args], cwd=workdir,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _calls(workdir: Path) -> list[str]:
    return (workdir / "calls.log").read_text().split()


def _import(workdir: Path, monkeypatch, *, edited: bool = False):
    monkeypatch.setenv("WORKDIR", str(workdir))
    monkeypatch.setenv("EDITED", "1" if edited else "0")
    monkeypatch.syspath_prepend(str(workdir))
    sys.modules.pop("forkmod", None)
    import forkmod

    return forkmod


def test_a_run_stored_by_one_process_is_forked_and_started_by_another(workdir):
    first = _run(workdir, "start", "0")
    assert first["status"] == "success" and first["result"] == 111
    store = SQLiteStore(workdir / "runs.db")
    before = store.load(first["run_id"]).to_json()

    fork = _run(workdir, "fork-and-start", first["run_id"])
    assert fork["status"] == "success" and fork["result"] == 115
    assert fork["parent"] == first["run_id"] and fork["forked_at"] == "b"
    assert _calls(workdir) == ["a:0", "b:1", "c:11", "b:5", "c:15"]  # a was copied

    store = SQLiteStore(workdir / "runs.db")
    assert store.load(first["run_id"]).to_json() == before
    stored = store.load(fork["run_id"])
    assert stored.status == "success" and stored.meta["result"] == {"n": 115}
    assert {i.run_id: i.parent_run_id for i in store.list_runs(workflow_id="forky")} == {
        first["run_id"]: None, fork["run_id"]: first["run_id"]}


def test_a_fork_made_here_of_another_process_run_is_started_by_a_third(workdir,
                                                                        monkeypatch):
    first = _run(workdir, "start", "0")
    forkmod = _import(workdir, monkeypatch)
    fork = forkmod.wf.create_run(run_id=first["run_id"]).fork("c", input_data={"n": 1})
    assert SQLiteStore(workdir / "runs.db").load(fork.run_id).status == "pending"
    assert _calls(workdir) == ["a:0", "b:1", "c:11"]  # fork() ran nothing

    started = _run(workdir, "start-fork", fork.run_id)
    assert started["status"] == "success" and started["result"] == 101
    assert _calls(workdir)[3:] == ["c:1"]
    from flownb import ConcurrentRunError

    with pytest.raises(ConcurrentRunError):  # the other process won the start
        flownb.run_sync(fork.start())


def test_a_fork_made_in_another_process_is_started_here_with_the_current_definition(
        workdir, monkeypatch):
    first = _run(workdir, "start", "0")
    made = _run(workdir, "fork", first["run_id"])
    forkmod = _import(workdir, monkeypatch, edited=True)  # b edited: not re-run (before c)
    run = forkmod.wf.create_run(run_id=made["run_id"])
    assert run.status == "pending" and run.parent_run_id == first["run_id"]
    result = flownb.run_sync(run.start())
    assert result.status == "success" and result.result.n == 111
    assert _calls(workdir)[3:] == ["c:11"]

    made = _run(workdir, "fork-and-start", first["run_id"], edited=True)
    assert made["result"] == 125  # b ran with its edited code
    assert _calls(workdir)[4:] == ["b-edited:5", "c:25"]


def test_changes_in_a_second_process_with_a_changed_definition(workdir, monkeypatch):
    first = _run(workdir, "start", "0")
    assert _run(workdir, "changes", first["run_id"]) == []
    changes = _run(workdir, "changes", first["run_id"], edited=True)
    assert [(c["path"], c["kind"]) for c in changes] == [("b", "code")]
    assert "fork" in changes[0]["detail"]
    forkmod = _import(workdir, monkeypatch, edited=True)
    assert forkmod.wf.create_run(run_id=first["run_id"]).changes() == changes
