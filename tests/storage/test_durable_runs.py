"""Durable runs: default store, reattaching, other processes, exactly-once, crash restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

import flownb
from flownb import (
    ConcurrentRunError,
    RunNotFoundError,
    WorkflowDefinitionError,
    create_step,
    create_workflow,
)
from flownb.storage import MemoryStore, SQLiteStore

REPO = Path(__file__).resolve().parents[2]


class Doc(BaseModel):
    text: str


class Review(BaseModel):
    approved: bool


def approval(storage=None, wf_id="approval"):
    def review(input_data: Doc, resume_data: Review | None, suspend):
        if resume_data is None:
            return suspend({"text": input_data.text})
        return {"text": f"{input_data.text}:{resume_data.approved}"}

    step = create_step(id="review", input_schema=Doc, output_schema=Doc, resume_schema=Review,
                       execute=review)
    done = create_step(id="done", input_schema=Doc, output_schema=Doc,
                       execute=lambda input_data: {"text": input_data.text + "!"})
    return (create_workflow(id=wf_id, input_schema=Doc, output_schema=Doc, storage=storage)
            .then(step).then(done).commit())


# -- where runs go -----------------------------------------------------------------------------


def test_default_store_is_sqlite_in_dot_flownb(monkeypatch, tmp_path):
    from flownb import config

    monkeypatch.setattr(config, "_configured", config._UNSET)
    wf = approval()
    result = wf.invoke({"text": "x"})
    assert result.status == "suspended"
    db = tmp_path / ".flownb" / "runs.db"
    assert db.exists()
    assert SQLiteStore(db).load(result.run_id).status == "suspended"


def test_flownb_storage_env_selects_the_store(monkeypatch, tmp_path):
    from flownb import config

    monkeypatch.setattr(config, "_configured", config._UNSET)
    monkeypatch.setenv("FLOWNB_STORAGE", str(tmp_path / "elsewhere.db"))
    result = approval().invoke({"text": "x"})
    assert SQLiteStore(tmp_path / "elsewhere.db").load(result.run_id) is not None
    monkeypatch.setenv("FLOWNB_STORAGE", ":memory:")
    result = approval().invoke({"text": "y"})
    assert config.resolve_store(None).load(result.run_id) is not None
    assert not (tmp_path / ".flownb").exists()


def test_workflow_storage_overrides_configure(store):
    own = MemoryStore()
    result = approval(storage=own).invoke({"text": "x"})
    assert own.load(result.run_id) is not None
    assert store.load(result.run_id) is None
    flownb.configure(storage=False)
    result = approval().invoke({"text": "x"})
    assert store.load(result.run_id) is None


def test_no_persistence_still_resumes_in_process():
    wf = approval(storage=False)
    run = wf.create_run()
    assert flownb.run_sync(run.start({"text": "x"})).status == "suspended"
    assert flownb.run_sync(run.resume({"approved": True})).result == Doc(text="x:True!")
    assert wf.runs() == []
    again = wf.create_run(run_id=run.run_id)  # nothing stored: a new run with that id
    assert again.status == "pending"
    with pytest.raises(RunNotFoundError, match="never started"):
        flownb.run_sync(again.resume({"approved": True}))


# -- reattaching -------------------------------------------------------------------------------


async def test_reattach_by_run_id_and_resume(store):
    wf = approval()
    first = wf.create_run()
    await first.start({"text": "x"})
    again = approval().create_run(run_id=first.run_id)  # a fresh definition, as after a restart
    assert again.status == "suspended"
    assert again.result.suspended == [["review"]]
    result = await again.resume({"approved": True})
    assert result.result == Doc(text="x:True!")
    assert store.load(first.run_id).status == "success"


async def test_an_unknown_run_id_makes_a_new_run_with_that_id(store):
    wf = approval()
    fresh = wf.create_run(run_id="nope")
    assert fresh.run_id == "nope" and fresh.status == "pending"
    with pytest.raises(RunNotFoundError, match="'nope'.*never started"):
        await fresh.resume({"approved": True})
    with pytest.raises(RunNotFoundError, match="no stored run 'nope'"):
        await fresh.restart()
    assert store.load("nope") is None
    assert (await fresh.start({"text": "x"})).status == "suspended"
    assert store.load("nope").status == "suspended"
    with pytest.raises(ConcurrentRunError, match="already started"):
        await wf.create_run(run_id="nope").start({"text": "y"})
    first, second = approval().create_run(run_id="twin"), approval().create_run(run_id="twin")
    await first.start({"text": "a"})
    with pytest.raises(ConcurrentRunError, match="already stored"):
        await second.start({"text": "b"})  # started elsewhere since it was created
    assert second.status == "pending"


async def test_reattach_with_a_changed_definition_works_but_resume_is_refused(store):
    run = approval().create_run()
    await run.start({"text": "x"})
    before = store.load(run.run_id)
    changed = (create_workflow(id="approval", input_schema=Doc)
               .then(create_step(id="other", input_schema=Doc, output_schema=Doc,
                                 execute=lambda input_data: input_data))
               .commit())
    again = changed.create_run(run_id=run.run_id)  # reattaching never fails
    assert again.status == "suspended"
    with pytest.raises(WorkflowDefinitionError, match="'review' ran in the stored run but "
                                                      "is not in the workflow now"):
        await again.resume({"approved": True}, step="review")
    assert store.load(run.run_id) == before
    result = await approval().create_run(run_id=run.run_id).resume({"approved": True})
    assert result.status == "success"


async def test_runs_lists_run_info_newest_first_and_filters_by_status():
    wf = approval()
    suspended = await wf.create_run().start({"text": "a"})
    run = wf.create_run()
    await run.start({"text": "b"})
    done = await run.resume({"approved": True})
    infos = wf.runs()
    assert [i.run_id for i in infos] == [done.run_id, suspended.run_id]
    assert [i.status for i in wf.runs(status="suspended")] == ["suspended"]
    info = wf.runs(status="suspended")[0]
    assert info.workflow_id == "approval" and info.suspended == [["review"]]
    assert info.created_at <= info.updated_at
    assert approval(wf_id="other").runs() == []


async def test_snapshot_is_json_with_everything_a_viewer_needs(store):
    wf = approval()
    result = await wf.create_run().start({"text": "x"})
    doc = json.loads(store.load(result.run_id).dumps())
    assert doc["schema_version"] == 2
    assert doc["workflow_id"] == "approval" and doc["status"] == "suspended"
    assert doc["input"] == {"text": "x"}
    assert doc["steps"]["review"]["suspend_payload"] == {"text": "x"}
    assert doc["meta"]["suspended_paths"] == [["review"]]
    assert [e["step"]["id"] for e in doc["graph"]["entries"]] == ["review", "done"]
    assert doc["graph"]["entries"][0]["step"]["resume_schema"]["required"] == ["approved"]
    assert doc["version"] >= 2


# -- other processes ---------------------------------------------------------------------------

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

    class Review(BaseModel):
        approved: bool

    def log(name):
        with open(HERE / "calls.log", "a") as fh:
            fh.write(name + "\\n")

    def first(input_data: Doc):
        log("first")
        return {"text": input_data.text + "+1"}

    def slow(input_data: Doc):
        log("slow")
        if (HERE / "hang").exists():
            (HERE / "slow-started").write_text("yes")
            time.sleep(120)
        return {"text": input_data.text + "+2"}

    def review(input_data: Doc, resume_data: Review | None, suspend):
        log("review-resumed" if resume_data else "review")
        if resume_data is None:
            return suspend(None)
        if (HERE / "go").exists():
            while not (HERE / "go").read_text():
                time.sleep(0.005)
        time.sleep(0.3)  # long enough for the other resume to try
        return {"text": input_data.text + f"+{resume_data.approved}"}

    def last(input_data: Doc):
        log("last")
        return {"text": input_data.text + "+end"}

    step = lambda id, fn, **kw: create_step(id=id, input_schema=Doc, output_schema=Doc,
                                            execute=fn, **kw)
    wf = (create_workflow(id="durable", input_schema=Doc, output_schema=Doc)
          .then(step("first", first))
          .then(step("slow", slow))
          .then(step("review", review, resume_schema=Review))
          .then(step("last", last))
          .commit())

    if __name__ == "__main__":
        cmd = sys.argv[1]
        if cmd == "start":
            run = wf.create_run()
            print(run.run_id, flush=True)
            print(flownb.run_sync(run.start({"text": "doc"})).status, flush=True)
        elif cmd == "resume":
            from flownb import ConcurrentRunError
            (HERE / f"ready-{os.getpid()}").write_text("")
            while not (HERE / "go").read_text():
                time.sleep(0.002)
            try:
                res = flownb.run_sync(wf.create_run(run_id=sys.argv[2]).resume({"approved": True}))
                print("won", res.status, res.result.text, flush=True)
            except ConcurrentRunError as exc:
                print("lost", exc, flush=True)
''')


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "wfmod.py").write_text(MODULE)
    return tmp_path


def _env(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["WORKDIR"] = str(workdir)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(workdir)])
    env.pop("FLOWNB_STORAGE", None)
    return env


def _spawn(workdir: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(workdir / "wfmod.py"), *args], cwd=workdir,
                            env=_env(workdir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _calls(workdir: Path) -> list[str]:
    return (workdir / "calls.log").read_text().split()


def _import_wfmod(workdir: Path, monkeypatch):
    monkeypatch.setenv("WORKDIR", str(workdir))
    monkeypatch.syspath_prepend(str(workdir))
    sys.modules.pop("wfmod", None)
    import wfmod

    return wfmod


def test_resume_in_a_second_process_after_the_first_exits(workdir, monkeypatch):
    proc = _spawn(workdir, "start")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    run_id, status = out.split()
    assert status == "suspended"

    (workdir / "go").write_text("go")
    proc = _spawn(workdir, "resume", run_id)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.split()[:3] == ["won", "success", "doc+1+2+True+end"]
    assert _calls(workdir) == ["first", "slow", "review", "review-resumed", "last"]


def test_concurrent_resumes_from_two_processes_exactly_one_wins(workdir):
    proc = _spawn(workdir, "start")
    out, _err = proc.communicate(timeout=60)
    run_id = out.split()[0]
    (workdir / "go").write_text("")
    racers = [_spawn(workdir, "resume", run_id) for _ in range(2)]
    deadline = time.monotonic() + 60
    while len(list(workdir.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    (workdir / "go").write_text("go")
    outputs = [p.communicate(timeout=60) for p in racers]
    verdicts = sorted(o.split()[0] for o, _ in outputs)
    assert verdicts == ["lost", "won"], outputs
    assert _calls(workdir).count("review-resumed") == 1
    assert _calls(workdir).count("last") == 1
    store = SQLiteStore(workdir / "runs.db")
    assert store.load(run_id).status == "success"


def test_kill_minus_nine_mid_run_then_restart(workdir, monkeypatch):
    (workdir / "hang").write_text("")
    proc = _spawn(workdir, "start")
    run_id = proc.stdout.readline().strip()
    deadline = time.monotonic() + 60
    while not (workdir / "slow-started").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (workdir / "slow-started").exists()
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)

    store = SQLiteStore(workdir / "runs.db")
    snap = store.load(run_id)
    assert snap.status == "running"
    assert snap.steps["first"]["status"] == "success"
    assert snap.steps["first"]["output"] == {"text": "doc+1"}
    assert "slow" not in snap.steps or snap.steps["slow"]["status"] == "running"

    (workdir / "hang").unlink()
    wfmod = _import_wfmod(workdir, monkeypatch)
    run = wfmod.wf.create_run(run_id=run_id)
    result = flownb.run_sync(run.restart())
    assert result.status == "suspended" and result.suspended == [["review"]]
    assert _calls(workdir) == ["first", "slow", "slow", "review"]
    (workdir / "go").write_text("go")
    result = flownb.run_sync(run.resume({"approved": False}))
    assert result.result.text == "doc+1+2+False+end"
    assert _calls(workdir).count("first") == 1


def test_restart_refuses_a_run_that_is_not_running(workdir, monkeypatch):
    from flownb import ResumeError

    wfmod = _import_wfmod(workdir, monkeypatch)
    result = wfmod.wf.invoke({"text": "x"})
    with pytest.raises(ResumeError, match="suspended; restart"):
        flownb.run_sync(wfmod.wf.create_run(run_id=result.run_id).restart())


async def test_invalid_resume_data_leaves_the_sqlite_snapshot_byte_identical(tmp_path):
    from flownb import ResumeValidationError

    store = SQLiteStore(tmp_path / "runs.db")
    run = approval(storage=store).create_run()
    await run.start({"text": "x"})
    before = store.load(run.run_id).dumps()
    again = approval(storage=SQLiteStore(tmp_path / "runs.db")).create_run(run_id=run.run_id)
    with pytest.raises(ResumeValidationError, match="approved"):
        await again.resume({"approved": "perhaps"})
    assert store.load(run.run_id).dumps() == before
    assert (await again.resume({"approved": True})).result == Doc(text="x:True!")


async def test_a_finished_branch_is_stored_while_its_sibling_still_runs(store):
    import asyncio

    release = asyncio.Event()

    async def slow(input_data: Doc):
        await release.wait()
        return input_data

    fast = create_step(id="fast", input_schema=Doc, output_schema=Doc,
                       execute=lambda input_data: {"text": input_data.text + "!"})
    wf = (create_workflow(id="par", input_schema=Doc)
          .parallel([fast, create_step(id="slow", input_schema=Doc, output_schema=Doc,
                                       execute=slow)])
          .commit())
    run = wf.create_run()
    task = asyncio.ensure_future(run.start({"text": "x"}))
    for _ in range(100):
        await asyncio.sleep(0.005)
        snap = store.load(run.run_id)
        if snap is not None and snap.steps.get("fast", {}).get("status") == "success":
            break
    assert snap.status == "running"
    assert snap.steps["fast"]["output"] == {"text": "x!"}
    assert not task.done()
    release.set()
    assert (await task).status == "success"
    assert store.load(run.run_id).status == "success"
