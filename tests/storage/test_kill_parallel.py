"""``kill -9`` during a ``.parallel`` whose sibling already finished (SPEC §2 "Stored
siblings are not re-run by restart()", §3 restart, §4 durability).

A process runs ``prep`` then ``.parallel([sib, hang])`` then ``after``: ``sib`` finishes at
once, ``hang`` blocks. Once the store shows ``sib`` as success, the process is killed with
SIGKILL; ``restart()`` in the test process finishes the run, running ``hang`` again but not
``sib`` nor ``prep`` (executions are counted in a file the steps append to).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import flownb
from flownb.storage import SQLiteStore

REPO = Path(__file__).resolve().parents[2]

MODULE = textwrap.dedent('''
    import asyncio, os, sys, time
    from pathlib import Path
    from pydantic import BaseModel
    import flownb
    from flownb import create_step, create_workflow

    HERE = Path(os.environ["WORKDIR"])
    flownb.configure(storage=str(HERE / "runs.db"))

    class Doc(BaseModel):
        text: str

    def log(name):
        with open(HERE / "calls.log", "a") as fh:
            fh.write(name + "\\n")

    def prep(input_data: Doc):
        log("prep")
        return {"text": input_data.text + "+prep"}

    def sib(input_data: Doc):
        log("sib")
        return {"text": input_data.text + "+sib"}

    async def sib_async(input_data: Doc):
        log("sib-async")
        return {"text": input_data.text + "+sib-async"}

    def hang(input_data: Doc):
        log("hang")
        if (HERE / "hang").exists():
            (HERE / "hang-started").write_text("yes")
            time.sleep(120)
        return {"text": input_data.text + "+hang"}

    def after(input_data: dict):
        log("after")
        return {"text": " | ".join(sorted(v.text for v in input_data.values()))}

    step = lambda id, fn: create_step(id=id, input_schema=Doc, output_schema=Doc, execute=fn)
    wf = (create_workflow(id="killpar", input_schema=Doc, output_schema=Doc)
          .then(step("prep", prep))
          .parallel([step("sib", sib), step("sib-async", sib_async), step("hang", hang)])
          .then(create_step(id="after", input_schema=dict[str, Doc], output_schema=Doc,
                            execute=after))
          .commit())

    if __name__ == "__main__":
        run = wf.create_run()
        print(run.run_id, flush=True)
        print(flownb.run_sync(run.start({"text": "doc"})).status, flush=True)
''')


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "killpar.py").write_text(MODULE)
    return tmp_path


def _spawn(workdir: Path) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env["WORKDIR"] = str(workdir)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(workdir)])
    env.pop("FLOWNB_STORAGE", None)
    return subprocess.Popen([sys.executable, str(workdir / "killpar.py")], cwd=workdir,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _calls(workdir: Path) -> list[str]:
    return (workdir / "calls.log").read_text().split()


def _import_module(workdir: Path, monkeypatch):
    monkeypatch.setenv("WORKDIR", str(workdir))
    monkeypatch.syspath_prepend(str(workdir))
    sys.modules.pop("killpar", None)
    import killpar

    return killpar


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_kill_minus_nine_during_parallel_then_restart_does_not_rerun_the_finished_sibling(
        workdir, monkeypatch):
    (workdir / "hang").write_text("")
    proc = _spawn(workdir)
    try:
        run_id = proc.stdout.readline().strip()
        assert run_id, proc.stderr.read() if proc.poll() is not None else "no run id"
        store = SQLiteStore(workdir / "runs.db")

        def siblings_stored() -> bool:
            snap = store.load(run_id)
            return snap is not None and all(
                snap.steps.get(s, {}).get("status") == "success" for s in ("sib", "sib-async"))

        assert _wait_for(lambda: (workdir / "hang-started").exists()), "hang never started"
        assert _wait_for(siblings_stored), store.load(run_id)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)

    snap = store.load(run_id)
    assert snap.status == "running"
    assert snap.steps["sib"]["output"] == {"text": "doc+prep+sib"}
    assert snap.steps.get("hang", {}).get("status") in (None, "running")
    assert sorted(_calls(workdir)) == ["hang", "prep", "sib", "sib-async"]
    store.close()

    (workdir / "hang").unlink()
    mod = _import_module(workdir, monkeypatch)
    run = mod.wf.create_run(run_id=run_id)
    result = flownb.run_sync(run.restart())
    assert result.status == "success", result.error
    assert result.result.text == "doc+prep+hang | doc+prep+sib | doc+prep+sib-async"
    calls = _calls(workdir)
    assert calls.count("sib") == 1, f"the finished sibling ran again: {calls}"
    assert calls.count("sib-async") == 1, f"the finished sibling ran again: {calls}"
    assert calls.count("prep") == 1, calls
    assert calls.count("hang") == 2, calls
    assert calls.count("after") == 1, calls
    assert result.steps["sib"].status == "success"
    assert result.steps["sib"].output.text == "doc+prep+sib"
    final = SQLiteStore(workdir / "runs.db")
    try:
        assert final.load(run_id).status == "success"
    finally:
        final.close()
